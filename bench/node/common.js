// Helpers shared by the generator workers (gen.js, soak.js).
"use strict";

const { performance, monitorEventLoopDelay } = require("perf_hooks");
const { io } = require("socket.io-client");

// Epoch milliseconds with sub-millisecond resolution (send times travel in event ids).
const now = () => performance.timeOrigin + performance.now();

// One JSON line on stdout: how a worker speaks to bench/generator.py.
function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function loopDelayMonitor() {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  return delay;
}

// Writes a worker's `result` (with its event-loop delay) to `out`, says `done`, and exits.
function writeResult(out, result, loopDelay, code) {
  result.loop_delay_p99_ms = loopDelay.percentile(99) / 1e6;
  result.loop_delay_max_ms = loopDelay.max / 1e6;
  require("fs").writeFileSync(out, JSON.stringify(result));
  emit({ phase: "done" });
  setTimeout(() => process.exit(code), 200);
}

// A websocket-only socket.io-client socket with the service's connect auth; no automatic
// reconnection (the workers reconnect themselves, with their last seq).
function open(url, token, lastSeq, epoch) {
  const auth = { token, last_seq: lastSeq || 0 };
  if (epoch) auth.epoch = epoch;
  return io(url, {
    transports: ["websocket"],
    auth,
    reconnection: false,
    forceNew: true,
    timeout: 30000,
  });
}

// How long a busy service (`connect_error` code `busy`, an addition of the service) asked a
// refused connect to wait, as a widget waits it: 0.9-1.1 x `retry_after_s`, at most a minute.
// null for any other failure.
function busyWaitMs(err) {
  const data = (err && err.data) || {};
  const asked = Number(data.retry_after_s);
  if (data.code !== "busy" || !Number.isFinite(asked) || asked <= 0) return null;
  return Math.min(asked * 1000, 60000) * (0.9 + 0.2 * Math.random());
}

// Runs `fn` over `items`, `width` at a time.
async function pool(items, width, fn) {
  let next = 0;
  const runners = [];
  for (let k = 0; k < Math.min(width, items.length); k++) {
    runners.push(
      (async () => {
        while (next < items.length) {
          const item = items[next++];
          await fn(item);
        }
      })(),
    );
  }
  await Promise.all(runners);
}

// Obeys JSON commands read from stdin, one a line: `handlers[cmd](msg)`; `onClose` when stdin ends.
function commands(handlers, onClose) {
  const rl = require("readline").createInterface({ input: process.stdin });
  rl.on("line", (line) => {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      return;
    }
    const handler = handlers[msg && msg.cmd];
    if (handler) handler(msg);
  });
  rl.on("close", onClose);
}

module.exports = { now, emit, loopDelayMonitor, writeResult, open, pool, commands, busyWaitMs };
