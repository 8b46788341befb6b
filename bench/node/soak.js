// Soak worker: sessions that live, reconnect, end and are replaced, driven by bench/soak.py.
//
// Usage: node soak.js CONFIG.json. The worker creates `sessions` sessions through the REST API
// (`apiUrl`, `apiKey`), connects a therapist (`urlT`) and a client (`urlC`) to each, prints
// `{"phase": "connected", ...}`, and on {"cmd": "start", "at": EPOCH_MS} runs for `durationMs`:
//
//   - every client sends a signal every `intervalMs` (random phase): mostly keep_going, also
//     slow_down, zone (sometimes out of window), grounding started/finished, pause and resume,
//     and now and then retracts its last slow_down;
//   - therapists acknowledge a share (`ackPauseShare`) of pauses after 2-8 s; the rest fire
//     `pause_unacknowledged` 20 s later;
//   - every therapist requests a check-in (suds or zone) every `checkinEveryS` (random phase);
//     clients answer a share (`answerShare`) of them after 1-6 s (some answers are high enough to
//     fire distress cues); the others expire (`checkin_unanswered`);
//   - every socket drops and reconnects with its last seq and epoch every `reconnectMinS` to
//     `reconnectMaxS` seconds, after a 0.5-3 s gap;
//   - every session ends (`end_session` by its therapist) after `lifeMinS` to `lifeMaxS` seconds
//     (its scheduled length, so `time_remaining` fires a minute before), and a new session is
//     created and connected in its place.
//
// Signal ids carry their send time (`L.<epoch ms>.<n>`): the therapist measures send -> receive
// for events delivered live (not those replayed after its own reconnect), per minute of the send.
// At the end each session's streams are checked: the therapist's seqs and the client's own seqs
// must be 1..max with no gap and nothing twice, and every acknowledged signal must have reached the
// therapist. The results go to `out`, then `{"phase": "done"}`.
"use strict";

const fs = require("fs");
const { now, emit, loopDelayMonitor, writeResult, open, pool, commands, busyWaitMs } = require("./common");

const cfg = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
setTimeout(() => finish({ error: "hard time limit" }, 3), cfg.hardLimitMs || 1800000).unref();
const loopDelay = loopDelayMonitor();
const BOOT = now();

const rand = (a, b) => a + Math.random() * (b - a);
const pick = (weights) => {
  let r = Math.random() * weights.reduce((a, [, w]) => a + w, 0);
  for (const [value, w] of weights) if ((r -= w) < 0) return value;
  return weights[weights.length - 1][0];
};

const SIGNALS = [
  ["keep_going", 50],
  ["slow_down", 10],
  ["zone_okay", 12],
  ["zone_out", 3],
  ["grounding", 5],
  ["pause", 4],
];

let running = false;
let finished = false;
let startAt = Infinity;
let stopAt = Infinity;
let sessionCounter = 0;
let traced = 0;
// Traces of the first traced sessions with each kind of anomaly (at most 5 of each).
const anomalies = [];
const anomalyKinds = {};

// What a traced session saw, for the anomalies report: [ms since start, role, what, detail].
function trace(s, role, what, detail) {
  if (!s.trace) return;
  s.trace.push([Math.round(now() - BOOT), role, what, detail]);
}
const live = new Set(); // sessions not yet ended
const closed = []; // summaries of ended sessions

const counts = {
  sessions_created: 0,
  sessions_ended: 0,
  create_failed: 0,
  connect_failed: 0,
  reconnects: 0,
  reconnect_failed: 0,
  unexpected_disconnects: 0,
  signals_sent: 0,
  signals_acked: 0,
  acks_lost_with_socket: 0,
  skipped_while_reconnecting: 0,
  acknowledged: 0,
  checkins_requested: 0,
  checkins_answered: 0,
  retracted: 0,
  replayed_to_therapist: 0,
  therapist_duplicates: 0,
  client_duplicates: 0,
  therapist_gaps: 0,
  client_gaps: 0,
  lost: 0,
  // of the lost: beyond what the therapist's stream reached when checked (still to come), or
  // within it (a gap in the stream names it too); and checked at the session's end or the run's
  lost_beyond_stream: 0,
  lost_at_session_end: 0,
  lost_at_run_end: 0,
  unverified_sessions: 0,
  // sessions still live when the load stopped whose connected therapist had not yet seen every
  // acknowledged signal: when the load stopped, and after the drain (then counted as lost)
  behind_when_load_stopped: 0,
  // sessions whose connected therapist had not seen every acknowledged signal 20 s into its end
  therapist_late_at_end: 0,
  not_caught_up_at_run_end: 0,
};
const cues = {};
const errors = {};
const countError = (code) => (errors[code] = (errors[code] || 0) + 1);
const minutes = []; // minutes[k] = {receive: [], ack: []}, k = minute of the send since `at`
const bucket = (t0) => {
  const k = Math.floor((t0 - startAt) / 60000);
  if (k < 0) return null;
  return (minutes[k] = minutes[k] || { receive: [], ack: [] });
};

async function createSession() {
  const body = {
    platform: "generic",
    external_id: `soak-${process.pid}-${sessionCounter++}-${Date.now()}`,
    scheduled_minutes: 0,
    participants: [
      { id: "t-1", role: "therapist" },
      { id: "c-1", role: "client" },
    ],
    settings: { cues: { time_remaining: { before_end_s: 60 } } },
  };
  const lifeS = rand(cfg.lifeMinS, cfg.lifeMaxS);
  body.scheduled_minutes = Math.max(1, Math.round(lifeS / 60));
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const resp = await fetch(cfg.apiUrl + "/api/v1/sessions", {
        method: "POST",
        headers: { authorization: `Bearer ${cfg.apiKey}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const answer = await resp.json();
      if (resp.status === 201) {
        counts.sessions_created++;
        const s = newSession(answer.tokens["t-1"], answer.tokens["c-1"], lifeS);
        s.id = answer.session.id;
        if (traced < (cfg.traceSessions ?? 50)) {
          traced++;
          s.trace = [];
        }
        return s;
      }
      countError(`create_${resp.status}`);
    } catch (err) {
      countError("create: " + String(err.message).slice(0, 40));
    }
    await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
  }
  counts.create_failed++;
  return null;
}

function newSession(tToken, cToken, lifeS) {
  return {
    tToken,
    cToken,
    lifeS,
    t: null,
    c: null,
    tUp: false,
    cUp: false,
    tUpAt: 0,
    epoch: null,
    tSeen: new Set(),
    cSeen: new Set(),
    tMax: 0,
    cMax: 0,
    received: new Set(), // signal ids the therapist got
    acked: new Map(), // signal id acknowledged ok -> [its seq, when it was acknowledged]
    lastAckedSeq: 0,
    tEventAt: 0, // when the therapist's last new event came
    tWelcome: null, // [when, head_seq] of the therapist's last welcome
    lastSlowDown: null, // {seq (own numbering), at}
    paused: false,
    grounding: null,
    n: 0,
    ending: false,
    ended: false,
    timers: [],
    connecting: { t: false, c: false },
    conn: { t: 0, c: 0 }, // connections made, per role (for the traces)
  };
}

function later(s, ms, fn) {
  const timer = setTimeout(() => {
    if (!finished) fn();
  }, ms);
  s.timers.push(timer);
  return timer;
}

function send(s, role, type, data, onAck) {
  const sock = s[role];
  if (!sock || !sock.connected || s.ended || (s.ending && type !== "end_session")) return false;
  const id = `${role}.${process.pid}.${sessionCounter}.${s.n++}.${Math.random().toString(36).slice(2, 8)}`;
  sock.timeout(15000).emit("send", { id, type, data }, (err, ack) => {
    if (err && (s[role] !== sock || !sock.connected)) counts.acks_lost_with_socket++;
    else if (err) countError("ack_timeout");
    else if (!ack || !ack.ok) countError((ack && ack.error && ack.error.code) || "bad_ack");
    if (onAck) onAck(err ? null : ack);
  });
  return true;
}

// ---- what each side sees -----------------------------------------------------------------------

// Records a delivered event in its role's stream; false for a duplicate (or no event).
function firstTime(s, role, ev, tag) {
  if (!ev || typeof ev.seq !== "number") return false;
  trace(s, tag, ev.type, ev.seq);
  const seen = s[role + "Seen"];
  if (seen.has(ev.seq)) {
    counts[role === "t" ? "therapist_duplicates" : "client_duplicates"]++;
    s[role + "Dups"] = (s[role + "Dups"] || 0) + 1;
    return false;
  }
  seen.add(ev.seq);
  if (ev.seq > s[role + "Max"]) s[role + "Max"] = ev.seq;
  return true;
}

function onTherapistEvent(s, ev, tag) {
  if (!firstTime(s, "t", ev, tag)) return;
  s.tEventAt = now();
  if (typeof ev.id === "string" && ev.id.startsWith("L.")) {
    s.received.add(ev.id);
    const t0 = parseFloat(ev.id.split(".", 3).slice(1, 3).join("."));
    if (t0 < s.tUpAt) counts.replayed_to_therapist++;
    else if (running) {
      const b = bucket(t0);
      if (b) b.receive.push(now() - t0);
    }
  }
  if (ev.type === "cue") {
    const rule = (ev.data && ev.data.rule) || "?";
    cues[rule] = (cues[rule] || 0) + 1;
  } else if (ev.type === "pause" && running && Math.random() < cfg.ackPauseShare) {
    later(s, rand(2000, 8000), () => {
      if (send(s, "t", "acknowledge", { seq: ev.seq })) counts.acknowledged++;
    });
  } else if (ev.type === "session_ended") {
    s.ended = true;
    s.tSawEnd = true;
  }
}

function onClientEvent(s, ev, tag) {
  if (!firstTime(s, "c", ev, tag)) return;
  if (ev.type === "checkin_request" && running && Math.random() < cfg.answerShare) {
    const suds = ev.data && ev.data.instrument === "suds";
    later(s, rand(1000, 6000), () => {
      const value = suds
        ? Math.random() < 0.1
          ? 7 + Math.floor(Math.random() * 4)
          : Math.floor(Math.random() * 6)
        : pick([
            ["okay", 8],
            ["too_much", 1],
            ["shut_down", 1],
          ]);
      if (send(s, "c", "checkin_response", { checkin_seq: ev.seq, value })) {
        counts.checkins_answered++;
      }
    });
  } else if (ev.type === "session_ended") {
    s.ended = true;
  }
}

// ---- connecting --------------------------------------------------------------------------------

// One connection of `role` at a time: resolves on its welcome.
async function connect(s, role) {
  if (s.connecting[role]) throw new Error("already connecting");
  s.connecting[role] = true;
  try {
    return await connectOnce(s, role);
  } finally {
    s.connecting[role] = false;
  }
}

function connectOnce(s, role) {
  return new Promise((resolve, reject) => {
    const url = role === "t" ? cfg.urlT : cfg.urlC;
    const last = role === "t" ? s.tMax : s.cMax;
    const sock = open(url, role === "t" ? s.tToken : s.cToken, last, s.epoch);
    s[role] = sock;
    const tag = role + "#" + ++s.conn[role];
    // A socket given up on is closed: left open, it could still be welcomed and deliver the
    // same events as the socket that replaces it (counted as duplicates the service never sent
    // twice to one socket).
    const timer = setTimeout(() => {
      sock.disconnect();
      reject(new Error("welcome timeout"));
    }, 30000);
    sock.on("welcome", (w) => {
      clearTimeout(timer);
      trace(s, tag, "welcome", w && w.head_seq);
      if (w && w.epoch) s.epoch = w.epoch;
      s[role + "Up"] = true;
      if (role === "t") {
        s.tUpAt = now();
        s.tWelcome = [now(), w && w.head_seq];
      }
      resolve(w);
    });
    sock.on("connect_error", (err) => {
      clearTimeout(timer);
      sock.disconnect();
      const refused = new Error("connect_error: " + ((err && err.data && err.data.code) || err.message));
      refused.busyWaitMs = busyWaitMs(err);
      reject(refused);
    });
    sock.on("event", (ev) => {
      if (s[role] !== sock) return; // a socket replaced since: what the widget would drop too
      role === "t" ? onTherapistEvent(s, ev, tag) : onClientEvent(s, ev, tag);
    });
    sock.on("disconnect", (reason) => {
      trace(s, tag, "disconnect", reason);
      if (s[role] !== sock) return;
      s[role + "Up"] = false;
      if (role === "t") s.tUpAt = Infinity; // what is sent from now on arrives as a replay
      if (reason === "io client disconnect" || s.ended || s.ending || finished) return;
      // The server closed it without the session ending: reconnect as a widget would.
      counts.unexpected_disconnects++;
      countError("disconnect: " + reason);
      later(s, rand(500, 3000), () => reconnect(s, role, false));
    });
  });
}

// How long a widget waits before it tries a failed connect again: what a busy service asked
// (`busyWaitMs`), otherwise a few seconds (the widget: socket.io's back-off of 0.5-4 s for a
// transport failure, 3 s for a refusal).
function retryDelay(err) {
  return (err && err.busyWaitMs) || rand(1000, 5000);
}

async function reconnect(s, role, planned, ending = false) {
  if (s.ended || (s.ending && !ending) || finished) return;
  if (planned) {
    const sock = s[role];
    s[role + "Up"] = false;
    if (role === "t") s.tUpAt = Infinity;
    if (sock) sock.disconnect();
    await new Promise((r) => later(s, rand(500, 3000), r));
    if (s.ended || (s.ending && !ending) || finished) return;
  }
  try {
    trace(s, role, "reconnect", role === "t" ? s.tMax : s.cMax);
    await connect(s, role);
    counts.reconnects++;
  } catch (err) {
    if (!s.ended && !s.ending && err.message !== "already connecting") {
      counts.reconnect_failed++;
      countError(String(err.message).slice(0, 60));
      // As a widget does: try again after a while, until the session is over.
      later(s, retryDelay(err), () => reconnect(s, role, false));
    }
  }
}

// ---- behaviour ---------------------------------------------------------------------------------

function clientTick(s) {
  if (!running || s.ending || s.ended || now() >= stopAt) return;
  if (!s.cUp) {
    counts.skipped_while_reconnecting++;
    return;
  }
  let kind = pick(SIGNALS);
  if (s.paused && Math.random() < 0.5) kind = "resume";
  if (s.grounding) kind = "grounding_finished";
  if (kind === "slow_down" && s.lastSlowDown && Math.random() < 0.1) {
    const target = s.lastSlowDown;
    s.lastSlowDown = null;
    if (now() - target.at < 25000) {
      if (send(s, "c", "retract", { seq: target.seq })) counts.retracted++;
      return;
    }
  }
  let type = kind;
  let data = {};
  if (kind === "zone_okay" || kind === "zone_out") {
    type = "zone";
    data = { zone: kind === "zone_okay" ? "okay" : pick([["too_much", 1], ["shut_down", 1]]) };
  } else if (kind === "grounding") {
    type = "grounding_started";
    s.grounding = pick([["box_breathing", 1], ["breathing_478", 1], ["paced_breathing", 1], ["five_senses", 1]]);
    data = { exercise: s.grounding };
  } else if (kind === "grounding_finished") {
    data = { exercise: s.grounding, completed: Math.random() < 0.8, duration_s: rand(20, 120) };
    s.grounding = null;
  } else if (kind === "pause") {
    s.paused = true;
  } else if (kind === "resume") {
    s.paused = false;
  }
  const t0 = now();
  const id = `L.${t0.toFixed(3)}.${process.pid}-${s.n++}`;
  counts.signals_sent++;
  const sock = s.c;
  sock.timeout(15000).emit("send", { id, type, data }, (err, ack) => {
    if (err && (s.c !== sock || !sock.connected)) {
      // its socket was closed before the answer came (our own reconnect, or the session's end):
      // a widget would send it again with the same id; here it only counts
      counts.acks_lost_with_socket++;
      return;
    }
    if (err || !ack || !ack.ok) {
      countError(err ? "ack_timeout" : (ack && ack.error && ack.error.code) || "bad_ack");
      return;
    }
    counts.signals_acked++;
    s.acked.set(id, [ack.seq, now()]);
    if (ack.seq > s.lastAckedSeq) s.lastAckedSeq = ack.seq;
    const b = bucket(t0);
    if (b) b.ack.push(now() - t0);
    if (type === "slow_down") s.lastSlowDown = { seq: ack.seq, at: t0 };
  });
}

function checkinTick(s) {
  if (!running || s.ending || s.ended || !s.tUp || now() >= stopAt) return;
  const instrument = Math.random() < 0.5 ? "suds" : "zone";
  if (send(s, "t", "checkin_request", { instrument })) counts.checkins_requested++;
}

function every(s, ms, fn) {
  later(s, Math.random() * ms, () => {
    fn();
    const timer = setInterval(() => (finished || s.ended ? clearInterval(timer) : fn()), ms);
    s.timers.push(timer);
  });
}

function scheduleReconnects(s, role) {
  later(s, rand(cfg.reconnectMinS, cfg.reconnectMaxS) * 1000, async () => {
    if (!running || s.ended || s.ending || now() >= stopAt) return;
    await reconnect(s, role, true);
    scheduleReconnects(s, role);
  });
}

// `why`: "end" (the session ended, or was given up on at its end) or "run" (the run's end).
function close(s, why) {
  for (const timer of s.timers) {
    clearTimeout(timer);
    clearInterval(timer);
  }
  s.timers = [];
  live.delete(s);
  // Check the streams: 1..max, no gap; every acknowledged signal reached the therapist. A session
  // whose therapist neither saw its end nor is connected at its close (its reconnect failed, and
  // the generator does not retry one) cannot be checked: what it missed was never asked for.
  if (!s.tSawEnd && !s.tUp) {
    counts.unverified_sessions++;
    for (const sock of [s.t, s.c]) if (sock) sock.disconnect();
    return;
  }
  let tGaps = 0;
  for (let q = 1; q <= s.tMax; q++) if (!s.tSeen.has(q)) tGaps++;
  let cGaps = 0;
  for (let q = 1; q <= s.cMax; q++) if (!s.cSeen.has(q)) cGaps++;
  const lostIds = [...s.acked.keys()].filter((id) => !s.received.has(id));
  const lost = lostIds.length;
  counts.therapist_gaps += tGaps;
  counts.client_gaps += cGaps;
  counts.lost += lost;
  counts[why === "run" ? "lost_at_run_end" : "lost_at_session_end"] += lost;
  for (const id of lostIds) if (s.acked.get(id)[0] > s.tMax) counts.lost_beyond_stream++;
  closed.push({ tMax: s.tMax, cMax: s.cMax, tGaps, cGaps, lost, ended: s.ended });
  const kind = lost
    ? "lost"
    : s.tDups
      ? "therapist_duplicate"
      : tGaps
        ? "therapist_gap"
        : s.cDups
          ? "client_duplicate"
          : cGaps
            ? "client_gap"
            : null;
  const keep = cfg.anomaliesPerKind ?? 5;
  if (s.trace && kind && (anomalyKinds[kind] = (anomalyKinds[kind] || 0) + 1) <= keep) {
    const missing = (seen, max) => {
      const out = [];
      for (let q = 1; q <= max && out.length < 20; q++) if (!seen.has(q)) out.push(q);
      return out;
    };
    anomalies.push({
      kind,
      session: s.id,
      therapist_missing: missing(s.tSeen, s.tMax),
      client_missing: missing(s.cSeen, s.cMax),
      why,
      lost: lostIds.slice(0, 10).map((id) => {
        const [seq, at] = s.acked.get(id);
        return { id, seq, acked_ms_ago: Math.round(now() - at) };
      }),
      therapist: {
        max_seq: s.tMax,
        up: s.tUp,
        saw_end: !!s.tSawEnd,
        last_event_ms_ago: s.tEventAt ? Math.round(now() - s.tEventAt) : null,
        welcome_ms_ago: s.tWelcome ? Math.round(now() - s.tWelcome[0]) : null,
        welcome_head_seq: s.tWelcome ? s.tWelcome[1] : null,
      },
      trace: s.trace && s.trace.slice(-60),
    });
  }
  for (const sock of [s.t, s.c]) if (sock) sock.disconnect();
}

async function endAndReplace(s) {
  if (s.ending || s.ended || finished) return;
  s.ending = true;
  // The therapist ends it (waiting for its socket if it is reconnecting right now).
  const deadline = now() + 20000;
  let ack = null;
  while (!s.ended && now() < deadline && !(ack && ack.ok)) {
    if (!s.tUp) {
      if (!s.connecting.t) await reconnect(s, "t", false, true);
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    ack = await new Promise((resolve) => {
      if (!send(s, "t", "end_session", {}, resolve)) resolve(null);
    });
  }
  // session_ended reaches both sockets before the server closes them
  // (the therapist's stream is checked at close: while it is connected, wait for its end too)
  const over = () => s.tSawEnd || (s.ended && !s.tUp);
  while (!over() && now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (!s.ended) {
    countError("session_ended not seen");
    trace(s, "end", "session_ended not seen");
  }
  // A connected therapist still taking in a replay at saturation is late, not missing events:
  // it gets as long again (then what has not come counts as lost).
  if (!over() && s.tUp && s.tMax < s.lastAckedSeq) {
    counts.therapist_late_at_end++;
    const more = now() + 20000;
    while (!over() && s.tUp && now() < more) await new Promise((r) => setTimeout(r, 100));
  }
  s.ended = true;
  counts.sessions_ended++;
  close(s, "end");
  if (running && now() < stopAt - 5000) {
    const next = await createSession();
    if (next) await begin(next);
  }
}

async function begin(s) {
  live.add(s);
  for (const role of ["t", "c"]) {
    try {
      await connect(s, role);
    } catch (err) {
      counts.connect_failed++;
      countError(String(err.message).slice(0, 60));
      later(s, retryDelay(err), () => reconnect(s, role, false)); // as a widget does
    }
  }
  if (running) activate(s);
}

function activate(s) {
  every(s, cfg.intervalMs, () => clientTick(s));
  every(s, cfg.checkinEveryS * 1000, () => checkinTick(s));
  scheduleReconnects(s, "t");
  scheduleReconnects(s, "c");
  later(s, s.lifeS * 1000, () => endAndReplace(s));
}

// ---- main --------------------------------------------------------------------------------------

let finishing = false;
function results() {
  for (const s of [...live]) close(s, "run");
  return {
    mode: "soak",
    counts,
    cues,
    errors,
    minutes: Array.from(minutes, (m) => m || { receive: [], ack: [] }),
    anomalies,
    sessions_closed: closed.length,
  };
}

function finish(result, code = 0) {
  if (finished) return;
  finished = true;
  writeResult(cfg.out, result, loopDelay, code);
}

function run(at) {
  startAt = at;
  stopAt = at + cfg.durationMs;
  setTimeout(
    () => {
      running = true;
      for (const s of live) activate(s);
    },
    Math.max(0, at - now()),
  );
  setTimeout(
    async () => {
      if (finishing) return;
      finishing = true;
      running = false;
      // The load has stopped: give every connected therapist time to take in what its client
      // had acknowledged (a stream may still be catching up after a reconnect at saturation);
      // what has not come by the deadline counts as lost.
      const behind = () =>
        [...live].filter((s) => s.tUp && !s.ended && s.tMax < s.lastAckedSeq).length;
      counts.behind_when_load_stopped = behind();
      const deadline = now() + (cfg.drainMs ?? 30000);
      while (behind() && now() < deadline) await new Promise((r) => setTimeout(r, 200));
      counts.not_caught_up_at_run_end = behind();
      finish(results());
    },
    stopAt - now() + (cfg.graceMs || 5000),
  );
}

async function main() {
  const t0 = now();
  const initial = [];
  await pool(
    Array.from({ length: cfg.sessions }, (_, i) => i),
    cfg.createWidth || 16,
    async () => {
      const s = await createSession();
      if (s) initial.push(s);
    },
  );
  await pool(initial, cfg.connectWidth || 50, begin);
  emit({
    phase: "connected",
    sockets: [...live].reduce((a, s) => a + (s.tUp ? 1 : 0) + (s.cUp ? 1 : 0), 0),
    failed: counts.connect_failed + counts.create_failed,
    seconds: (now() - t0) / 1000,
    errors,
  });
}

commands({ start: (msg) => run(msg.at), stop: () => finish(results()) }, () =>
  finish({ mode: "soak", error: "stdin closed", counts, errors }),
);

main().catch((err) => {
  emit({ phase: "error", message: String(err) });
  finish({ error: String(err) }, 1);
});
