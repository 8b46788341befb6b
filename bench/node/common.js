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

module.exports = { now, emit, loopDelayMonitor, open, pool };
