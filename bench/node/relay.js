// The bare Node socket.io relay: the second reference next to bench/baseline_relay.py.
//
// Same event shapes as the service (`welcome`, `send` with an ack, `event` to the session's
// room), and nothing else: no auth (the "token" is `room|participant|role`), no validation, no
// storage, no replay. A per-room counter gives events a `seq` so the generator can count gaps.
//
// With --redis-url, several relay processes form one deployment through @socket.io/redis-adapter
// (node-redis 4 clients, as the adapter's README sets them up): every room emit is published on
// Redis and each process delivers it to its own members. The seq counter stays per process; the
// scale-out scenario has every sender of a room on one process, so it stays gap-free.
//
// Usage: node relay.js --port 8101 [--redis-url redis://127.0.0.1:6379]
"use strict";

const http = require("http");
const { Server } = require("socket.io");

const args = process.argv.slice(2);
const option = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const port = Number(option("--port") || 8101);
const redisUrl = option("--redis-url");

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

async function main() {
  if (redisUrl) {
    const { createClient } = require("redis");
    const { createAdapter } = require("@socket.io/redis-adapter");
    const pubClient = createClient({ url: redisUrl });
    const subClient = pubClient.duplicate();
    await Promise.all([pubClient.connect(), subClient.connect()]);
    ioServer.adapter(createAdapter(pubClient, subClient));
  }
  server.listen(port, "127.0.0.1", () => {
    process.stdout.write(`relay listening on 127.0.0.1:${port}${redisUrl ? " (redis)" : ""}\n`);
  });
}

main().catch((err) => {
  process.stderr.write(`relay failed: ${err}\n`);
  process.exit(1);
});
