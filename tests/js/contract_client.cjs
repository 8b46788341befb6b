// Drives the service with the official JavaScript socket.io-client, as a vendor's page would.
// Usage: node contract_client.cjs URL THERAPIST_TOKEN CLIENT_TOKEN  -> prints a JSON report.
"use strict";
const path = require("node:path");
const { createRequire } = require("node:module");
const requireFromWidgets = createRequire(path.join(__dirname, "../../widgets/package.json"));
const { io } = requireFromWidgets("socket.io-client");

const [url, therapistToken, clientToken] = process.argv.slice(2);
const report = { welcome: {}, therapistEvents: [], clientEvents: [], acks: {}, errors: {} };

function connect(name, auth, events) {
  return new Promise((resolve, reject) => {
    const socket = io(url, { auth, transports: ["websocket"], reconnection: false });
    socket.on("welcome", (w) => { report.welcome[name] = w; resolve(socket); });
    socket.on("event", (e) => events.push(e));
    socket.on("connect_error", (err) => reject(err));
  });
}

function refused(auth) {
  return new Promise((resolve) => {
    const socket = io(url, { auth, transports: ["websocket"], reconnection: false });
    socket.on("connect_error", (err) => { socket.close(); resolve({ message: err.message, data: err.data }); });
    socket.on("welcome", () => { socket.close(); resolve(null); });
  });
}

const wait = (ms) => new Promise((r) => setTimeout(r, ms));

(async () => {
  const timer = setTimeout(() => { console.error("timeout"); process.exit(2); }, 15000);
  const therapist = await connect("therapist", { token: therapistToken, last_seq: 0 }, report.therapistEvents);
  const client = await connect("client", { token: clientToken, last_seq: 0 }, report.clientEvents);
  report.acks.pause = await client.timeout(5000).emitWithAck("send", { id: "js-press-1", type: "pause", data: {} });
  report.acks.again = await client.timeout(5000).emitWithAck("send", { id: "js-press-1", type: "pause" });
  report.acks.bad = await client.timeout(5000).emitWithAck("send", { id: "js-bad", type: "zone", data: { zone: "nope" } });
  // The therapist names the pause by the session's seq, as it received it; the client's ack
  // gave the client's own position of it (contract §9.1).
  let pressed;
  while (!(pressed = report.therapistEvents.find((e) => e.id === "js-press-1"))) await wait(20);
  report.acks.acknowledge = await therapist.timeout(5000).emitWithAck("send", { id: "js-ack-1", type: "acknowledge", data: { seq: pressed.seq } });
  await wait(300);
  report.errors.forged = await refused({ token: "eyJhbGciOiJub25lIn0.e30." });
  report.errors.none = await refused(undefined);
  therapist.close();
  client.close();
  clearTimeout(timer);
  process.stdout.write(JSON.stringify(report));
})().catch((err) => { console.error(String(err && err.stack || err)); process.exit(1); });
