// The bare Node socket.io relay: the second reference next to bench/baseline_relay.py.
//
// Same event shapes as the service (`welcome`, `send` with an ack, `event` to the session's
// room), and nothing else: no auth (the "token" is `room|participant|role`), no validation, no
// storage, no replay. A per-room counter gives events a `seq` so the generator can count gaps.
//
// Usage: node relay.js --port 8101
"use strict";

const http = require("http");
const { Server } = require("socket.io");

const args = process.argv.slice(2);
const port = Number(args[args.indexOf("--port") + 1] || 8101);

const server = http.createServer((req, res) => {
  res.writeHead(req.url === "/healthz" ? 200 : 404, { "content-type": "text/plain" });
  res.end("ok");
});
const ioServer = new Server(server, { pingInterval: 25000, pingTimeout: 20000 });
const heads = new Map();

ioServer.on("connection", (socket) => {
  const token = String((socket.handshake.auth && socket.handshake.auth.token) || "x|x|client");
  const [room, participant, role] = token.split("|");
  socket.join(room);
  socket.emit("welcome", {
    participant: { id: participant, role },
    head_seq: heads.get(room) || 0,
    epoch: "relay",
  });
  socket.on("send", (payload, ack) => {
    const seq = (heads.get(room) || 0) + 1;
    heads.set(room, seq);
    ioServer.to(room).emit("event", {
      seq,
      id: payload && payload.id,
      type: payload && payload.type,
      at: new Date().toISOString(),
      actor: { id: participant, role },
      to: null,
      data: (payload && payload.data) || {},
    });
    if (typeof ack === "function") ack({ ok: true, seq, duplicate: false });
  });
});

server.listen(port, "127.0.0.1", () => {
  process.stdout.write(`relay listening on 127.0.0.1:${port}\n`);
});
