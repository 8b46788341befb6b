// Load generator worker: socket.io-client sockets driven by bench/run.py.
//
// Usage: node gen.js CONFIG.json. The worker connects its sessions (one therapist and one client
// socket each), prints `{"phase": "connected", ...}` on stdout, and then obeys JSON commands read
// from stdin, one a line. Every wait is bounded; the worker always exits by itself.
//
// Modes (config.mode):
//   latency: on {"cmd": "start", "at": EPOCH_MS} every client sends a `keep_going` every
//            `intervalMs` (random phase). The send time travels in the event id (`L.<ms>.<n>`),
//            so the therapist measures send -> receive from the sender's timestamp. Only sends
//            made inside [at + warmupMs, at + warmupMs + measureMs] are counted.
//   idle:    connect and hold until {"cmd": "stop"} (or holdMs), for the capacity scenario.
//   storm:   on {"cmd": "storm"}: every therapist disconnects, each client sends `signals`
//            signals, then every therapist reconnects with its last seq; counts the time until
//            each therapist has every seq up to its client's last ack, gaps and duplicates.
//   soak:    see soak.js (sessions that live, reconnect, end and are replaced).
//
// Therapists connect to `urlT` and clients to `urlC` when they are given (two processes of one
// deployment, so every signal crosses processes); both default to `url`.
"use strict";

const fs = require("fs");
const { now, emit, loopDelayMonitor, writeResult, open, pool, commands, busyWaitMs } = require("./common");

const cfg = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const HARD_LIMIT_MS = cfg.hardLimitMs || 600000;
setTimeout(() => finish({ error: "hard time limit" }, 3), HARD_LIMIT_MS).unref();

const loopDelay = loopDelayMonitor();

let finished = false;
function finish(result, code = 0) {
  if (finished) return;
  finished = true;
  for (const s of sessions) {
    for (const sock of [s.t, s.c]) if (sock) sock.disconnect();
  }
  writeResult(cfg.out, result, loopDelay, code);
}

const URL_FOR = { t: cfg.urlT || cfg.url, c: cfg.urlC || cfg.url };

// One session: therapist and client sockets and what each has seen.
const sessions = cfg.sessions.map((s, i) => ({
  i,
  tToken: s.t,
  cToken: s.c,
  t: null,
  c: null,
  epoch: null,
  tSeqs: new Set(), // seqs the therapist received (storm)
  tMax: 0,
  tDup: 0,
  sent: 0,
  lastAck: 0,
}));

const errors = {};
function countError(code) {
  errors[code] = (errors[code] || 0) + 1;
}

// Connects one socket and resolves on its `welcome` (or rejects on a refusal or timeout). A
// service that is busy (`connect_error` code `busy`, an addition of the service) is asked again
// after the `retry_after_s` it named, as the widgets do; each such refusal is counted.
function connectSocket(s, role, lastSeq, onEvent) {
  return new Promise((resolve, reject) => {
    const sock = open(URL_FOR[role], role === "t" ? s.tToken : s.cToken, lastSeq, s.epoch);
    s[role] = sock;
    const timer = setTimeout(() => reject(new Error("welcome timeout")), 30000);
    sock.on("welcome", (w) => {
      clearTimeout(timer);
      if (w && w.epoch) s.epoch = w.epoch;
      resolve(w);
    });
    sock.on("connect_error", (err) => {
      clearTimeout(timer);
      const wait = busyWaitMs(err);
      if (wait !== null) {
        countError("connect_error: busy");
        sock.disconnect();
        setTimeout(() => connectSocket(s, role, lastSeq, onEvent).then(resolve, reject), wait);
        return;
      }
      reject(new Error("connect_error: " + (err && err.message)));
    });
    if (onEvent) sock.on("event", onEvent);
  });
}

// ---- latency ----------------------------------------------------------------------------------

const lat = {
  receive: [],
  ack: [],
  sent: 0,
  acked: 0,
  received: 0,
  duplicates: 0,
  pending: new Map(),
  seen: new Set(),
};
let windowStart = Infinity;
let windowEnd = -Infinity;

function onTherapistEventLatency(ev) {
  if (!ev || typeof ev.id !== "string" || ev.id[0] !== "L") return;
  const t0 = parseFloat(ev.id.split(".", 3).slice(1, 3).join("."));
  if (t0 >= windowStart && t0 <= windowEnd) {
    if (lat.seen.has(ev.id)) {
      lat.duplicates++;
      return;
    }
    lat.seen.add(ev.id);
    lat.receive.push(now() - t0);
    lat.received++;
    lat.pending.delete(ev.id);
  }
}

function clientSendLoop(s, stopAt) {
  let n = 0;
  const tick = () => {
    if (finished || now() >= stopAt) return;
    const t0 = now();
    const id = "L." + t0.toFixed(3) + "." + s.i + "-" + n++;
    const counted = t0 >= windowStart && t0 <= windowEnd;
    if (counted) {
      lat.sent++;
      lat.pending.set(id, t0);
    }
    s.c.emit("send", { id, type: "keep_going", data: {} }, (ack) => {
      if (!counted) return;
      if (ack && ack.ok) {
        lat.acked++;
        lat.ack.push(now() - t0);
      } else {
        countError((ack && ack.error && ack.error.code) || "bad_ack");
      }
    });
  };
  setTimeout(
    () => {
      tick();
      const timer = setInterval(() => {
        if (finished || now() >= stopAt) clearInterval(timer);
        else tick();
      }, cfg.intervalMs);
    },
    Math.random() * cfg.intervalMs,
  );
}

function runLatency(at) {
  windowStart = at + cfg.warmupMs;
  windowEnd = windowStart + cfg.measureMs;
  const startIn = Math.max(0, at - now());
  setTimeout(() => {
    // only whole sessions send: a signal whose therapist never connected is not a loss
    for (const s of sessions) if (s.ok) clientSendLoop(s, windowEnd);
  }, startIn);
  // Results after the window and a grace for the last deliveries.
  setTimeout(
    () => {
      finish({
        mode: "latency",
        sessions: sessions.length,
        receive_ms: lat.receive,
        ack_ms: lat.ack,
        sent: lat.sent,
        acked: lat.acked,
        received: lat.received,
        lost: lat.pending.size,
        duplicates: lat.duplicates,
        errors,
        window_s: cfg.measureMs / 1000,
      });
    },
    windowEnd - now() + (cfg.graceMs || 3000),
  );
}

// ---- storm ------------------------------------------------------------------------------------

function therapistTracker(s) {
  return (ev) => {
    if (!ev || typeof ev.seq !== "number") return;
    if (s.tSeqs.has(ev.seq)) s.tDup++;
    s.tSeqs.add(ev.seq);
    if (ev.seq > s.tMax) s.tMax = ev.seq;
    if (s.waiting && s.tDone === undefined && covered(s)) s.tDone = now();
  };
}

function covered(s) {
  for (let q = s.lastSeen + 1; q <= s.lastAck; q++) if (!s.tSeqs.has(q)) return false;
  return true;
}

async function runStorm() {
  const started = now();
  // 1. every therapist drops at once, remembering the last seq it saw
  for (const s of sessions) {
    s.lastSeen = s.tMax;
    s.t.disconnect();
    s.t = null;
  }
  const dropped = now();
  // 2. every client sends `signals` signals (10 a second, within the service's send allowance)
  const spacing = cfg.signalSpacingMs;
  await Promise.all(
    sessions.map(async (s) => {
      await new Promise((r) => setTimeout(r, Math.random() * spacing));
      for (let k = 0; k < cfg.signals; k++) {
        const ack = await new Promise((resolve) => {
          s.c
            .timeout(15000)
            .emit("send", { id: "S." + s.i + "." + k, type: "keep_going", data: {} }, (err, a) =>
              resolve(err ? null : a),
            );
        });
        if (ack && ack.ok) {
          s.sent++;
          if (ack.seq > s.lastAck) s.lastAck = ack.seq;
        } else countError((ack && ack.error && ack.error.code) || "ack_timeout");
        if (k + 1 < cfg.signals) await new Promise((r) => setTimeout(r, spacing));
      }
    }),
  );
  const sentAll = now();
  // 3. every therapist reconnects at once with its last seq; done when it has every seq up to
  //    its client's last acknowledged send.
  const reconnectAt = now();
  for (const s of sessions) s.waiting = true;
  let refused = 0;
  await Promise.all(
    sessions.map((s) =>
      connectSocket(s, "t", s.lastSeen, therapistTracker(s)).then(
        () => {
          if (s.tDone === undefined && covered(s)) s.tDone = now();
        },
        (err) => {
          refused++;
          countError(String(err.message).slice(0, 60));
        },
      ),
    ),
  );
  const reconnectedAt = now();
  const deadline = reconnectAt + (cfg.stormTimeoutMs || 30000);
  while (now() < deadline && sessions.some((s) => s.tDone === undefined)) {
    await new Promise((r) => setTimeout(r, 20));
  }
  let gaps = 0;
  let duplicates = 0;
  let done = 0;
  let last = reconnectAt;
  for (const s of sessions) {
    for (let q = s.lastSeen + 1; q <= s.lastAck; q++) if (!s.tSeqs.has(q)) gaps++;
    duplicates += s.tDup;
    if (s.tDone !== undefined) {
      done++;
      if (s.tDone > last) last = s.tDone;
    }
  }
  finish({
    mode: "storm",
    reconnects: sessions.length,
    completed: done,
    refused,
    // null when some therapist never got all it missed (a relay without a log, say)
    seconds: done === sessions.length ? (last - reconnectAt) / 1000 : null,
    reconnect_s: (reconnectedAt - reconnectAt) / 1000,
    timed_out: done < sessions.length,
    gaps,
    duplicates,
    signals_acked: sessions.reduce((a, s) => a + s.sent, 0),
    send_phase_s: (sentAll - dropped) / 1000,
    drop_s: (dropped - started) / 1000,
    errors,
  });
}

// ---- main -------------------------------------------------------------------------------------

async function main() {
  const t0 = now();
  let failed = 0;
  await pool(sessions, cfg.connectWidth || 100, async (s) => {
    try {
      const onEvent = cfg.mode === "latency" ? onTherapistEventLatency : null;
      const tracker = cfg.mode === "storm" ? therapistTracker(s) : onEvent;
      const w = await connectSocket(s, "t", 0, tracker);
      if (w && typeof w.head_seq === "number" && w.head_seq > s.tMax) s.tMax = w.head_seq;
      await connectSocket(s, "c", 0, null);
      s.ok = true;
    } catch (err) {
      failed++;
      countError(String(err.message).slice(0, 60));
    }
  });
  emit({
    phase: "connected",
    sockets: sessions.length * 2 - failed,
    failed,
    seconds: (now() - t0) / 1000,
    errors,
  });
  if (cfg.mode === "idle" && cfg.holdMs) {
    setTimeout(() => finish({ mode: "idle", failed, errors }), cfg.holdMs);
  }
}

commands(
  {
    start: (msg) => runLatency(msg.at),
    storm: () => runStorm(),
    stop: () => finish({ mode: cfg.mode, errors }),
  },
  () => finish({ mode: cfg.mode, error: "stdin closed", errors }),
);

main().catch((err) => {
  emit({ phase: "error", message: String(err) });
  finish({ error: String(err) }, 1);
});
