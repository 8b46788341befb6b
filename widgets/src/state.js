/**
 * Pure functions from what the connection holds (the `welcome` snapshot and the log) to what
 * the widgets show. Nothing here touches the DOM or the network, so the view is a function of
 * state and these rules are unit-tested in Node.
 */

/** Client events that are signals (contract §3): a therapist may acknowledge them. */
export const SIGNAL_TYPES = new Set([
  'pause',
  'resume',
  'keep_going',
  'slow_down',
  'zone',
  'grounding_started',
  'grounding_finished',
  'help_now',
]);

/** Presses a client may undo with `retract` within 30 s. */
export const RETRACTABLE_TYPES = new Set(['pause', 'resume', 'keep_going', 'slow_down', 'zone', 'help_now']);
export const RETRACT_WINDOW_MS = 30_000;

export const EXERCISES = ['box_breathing', 'breathing_478', 'paced_breathing', 'five_senses'];
export const ZONES = ['too_much', 'okay', 'shut_down'];

/**
 * A fresh object keyed by participant ids (or other ids from the log): it has no prototype, so an
 * id such as `__proto__`, `constructor` or `toString` is a key like any other, never a property
 * every object inherits. Every id-keyed object of the widgets is one of these (or a Map).
 */
export function idMap() {
  return Object.create(null);
}

/** `object[key]` when it is the object's own, else undefined (for objects a host page gives). */
export function ownValue(object, key) {
  return object != null && Object.prototype.hasOwnProperty.call(object, key) ? object[key] : undefined;
}

export function isSignal(event) {
  return !!event && event.actor && event.actor.role === 'client' && SIGNAL_TYPES.has(event.type);
}

/** True when a signal is one the service counts as needing acknowledgement (State.unacknowledged). */
export function needsAttention(event) {
  if (!isSignal(event)) return false;
  if (event.type === 'pause' || event.type === 'slow_down') return true;
  return event.type === 'zone' && event.data && event.data.zone !== 'okay';
}

/**
 * Indexes the log once: which signals were acknowledged (seq -> acknowledge event), which were
 * retracted, which check-ins were answered (request seq -> Set of client ids) or expired.
 */
export function indexLog(events) {
  const acknowledged = new Map();
  const retracted = new Set();
  const answered = new Map();
  const expired = new Set();
  const bySeq = new Map();
  for (const event of events) {
    bySeq.set(event.seq, event);
    const data = event.data || {};
    switch (event.type) {
      case 'acknowledge':
        if (!acknowledged.has(data.seq)) acknowledged.set(data.seq, event);
        break;
      case 'retract':
        retracted.add(data.seq);
        break;
      case 'checkin_response': {
        const set = answered.get(data.checkin_seq) || new Set();
        set.add(event.actor && event.actor.id);
        answered.set(data.checkin_seq, set);
        break;
      }
      case 'checkin_expired':
        expired.add(data.checkin_seq);
        break;
      default:
        break;
    }
  }
  return { acknowledged, retracted, answered, expired, bySeq };
}

/** Client signals with no acknowledgement and no retraction, oldest first. */
export function unacknowledgedSignals(events, index = indexLog(events)) {
  return events.filter(
    (e) => isSignal(e) && !index.acknowledged.has(e.seq) && !index.retracted.has(e.seq),
  );
}

function blankClient() {
  return {
    connected: false,
    paused: false,
    pace: null,
    zone: null,
    last_suds: null,
    grounding: null,
    open_checkins: [],
    unacknowledged: [],
  };
}

function addressed(event, clientIds) {
  const to = event.to || (event.data && event.data.to) || null;
  return to ? clientIds.filter((id) => to.includes(id)) : clientIds;
}

/**
 * Per-client state: the `welcome` snapshot (true as of its head_seq), with every later event
 * applied on top. Returns {clientId: State.clients entry} (contract §3), an `idMap`.
 */
export function clientStates(welcome, events) {
  const base = (welcome && welcome.state && welcome.state.clients) || {};
  const clients = idMap();
  for (const [id, entry] of Object.entries(base)) {
    clients[id] = { ...blankClient(), ...entry };
    clients[id].open_checkins = [...(entry.open_checkins || [])];
    clients[id].unacknowledged = [...(entry.unacknowledged || [])];
  }
  const participants = (welcome && welcome.session && welcome.session.participants) || [];
  for (const p of participants) {
    if (p.role === 'client' && !clients[p.id]) clients[p.id] = { ...blankClient(), connected: !!p.connected };
  }
  const headSeq = welcome ? welcome.head_seq || 0 : 0;
  const ids = () => Object.keys(clients);
  const marks = idMap();
  for (const event of events) {
    // Followed over the whole log: a retract after the snapshot may undo a press before it.
    const undone = followMarks(marks, event);
    if (event.seq <= headSeq) continue;
    applyEvent(clients, event, ids, undone);
  }
  return clients;
}

/**
 * Which event set each client's `paused`, `pace` and `zone`, as the service keeps them
 * (service/session.py): a retract undoes one of these only when it withdraws the event that
 * set it, and then leaves it empty (a withdrawn "Keep going" is no pace at all, not the pace
 * before it). Returns, for a retract, which of the three it undid.
 */
function followMarks(marks, event) {
  const actor = event.actor || {};
  if (actor.role !== 'client') return null;
  const mark = (marks[actor.id] ||= { pause: null, pace: null, zone: null });
  const data = event.data || {};
  switch (event.type) {
    case 'pause':
      mark.pause = event.seq;
      break;
    case 'resume':
      mark.pause = null;
      break;
    case 'keep_going':
    case 'slow_down':
      mark.pace = event.seq;
      break;
    case 'zone':
      mark.zone = event.seq;
      break;
    case 'checkin_response':
      if (typeof data.value === 'string') mark.zone = event.seq;
      break;
    case 'retract': {
      const undone = { pause: mark.pause === data.seq, pace: mark.pace === data.seq, zone: mark.zone === data.seq };
      for (const key of Object.keys(undone)) if (undone[key]) mark[key] = null;
      return undone;
    }
    default:
      break;
  }
  return null;
}

function applyEvent(clients, event, ids, undone) {
  const data = event.data || {};
  const actor = event.actor || {};
  const own = actor.role === 'client' ? (clients[actor.id] ||= blankClient()) : null;
  const removeUnack = (seq) => {
    for (const c of Object.values(clients)) c.unacknowledged = c.unacknowledged.filter((s) => s !== seq);
  };
  switch (event.type) {
    case 'pause':
      own.paused = true;
      own.unacknowledged.push(event.seq);
      break;
    case 'resume':
      own.paused = false;
      break;
    case 'keep_going':
      own.pace = 'keep_going';
      break;
    case 'slow_down':
      own.pace = 'slow_down';
      own.unacknowledged.push(event.seq);
      break;
    case 'zone':
      own.zone = data.zone;
      if (data.zone !== 'okay') own.unacknowledged.push(event.seq);
      break;
    case 'grounding_started':
      own.grounding = data.exercise;
      break;
    case 'grounding_finished':
      own.grounding = null;
      break;
    case 'checkin_response':
      if (!own) break;
      own.open_checkins = own.open_checkins.filter((s) => s !== data.checkin_seq);
      if (typeof data.value === 'number') own.last_suds = data.value;
      else if (typeof data.value === 'string') own.zone = data.value;
      break;
    case 'retract':
      if (own) {
        removeUnack(data.seq);
        if (undone?.pause) own.paused = false;
        if (undone?.pace) own.pace = null;
        if (undone?.zone) own.zone = null;
      }
      break;
    case 'checkin_request':
      for (const id of addressed(event, ids())) clients[id].open_checkins.push(event.seq);
      break;
    case 'checkin_expired':
      for (const c of Object.values(clients)) c.open_checkins = c.open_checkins.filter((s) => s !== data.checkin_seq);
      break;
    case 'acknowledge':
      removeUnack(data.seq);
      break;
    case 'participant_joined':
    case 'participant_left': {
      const who = data.participant || {};
      if (who.role === 'client' && data.via !== 'platform') {
        (clients[who.id] ||= blankClient()).connected = event.type === 'participant_joined';
      }
      break;
    }
    default:
      break;
  }
}

/** One client's SUDS answers in log order (for the trend line). */
export function sudsHistory(events, clientId) {
  return events
    .filter((e) => e.type === 'checkin_response' && e.actor && e.actor.id === clientId && typeof e.data?.value === 'number')
    .map((e) => e.data.value);
}

/**
 * Points for a small SVG trend line of values on 0..max, `width` x `height`, with `pad` inside.
 * One value gives a single point in the middle.
 */
export function sparklinePoints(values, width = 80, height = 24, max = 10, pad = 2) {
  if (!values.length) return '';
  const usableW = width - 2 * pad;
  const usableH = height - 2 * pad;
  const step = values.length > 1 ? usableW / (values.length - 1) : 0;
  return values
    .map((v, i) => {
      const x = values.length > 1 ? pad + i * step : width / 2;
      const y = pad + usableH * (1 - Math.max(0, Math.min(max, v)) / max);
      return `${round(x)},${round(y)}`;
    })
    .join(' ');
}

function round(n) {
  return Math.round(n * 10) / 10;
}

/** A press that arrived this much later than it was pressed says both times (docs/widgets.md). */
export const PRESS_GAP_SHOWN_MS = 5_000;

/**
 * When a client's press was made and when it arrived, for a press that waited (kept offline,
 * then sent): {pressed, arrived} in ms when its `pressed_at` is more than `PRESS_GAP_SHOWN_MS`
 * before its `at`; null otherwise (no `pressed_at`, an unreadable one, or a press sent at once).
 */
export function pressGap(event, minMs = PRESS_GAP_SHOWN_MS) {
  const value = event?.data?.pressed_at;
  if (typeof value !== 'string') return null;
  const pressed = Date.parse(value);
  const arrived = Date.parse(event.at);
  if (Number.isNaN(pressed) || Number.isNaN(arrived) || arrived - pressed <= minMs) return null;
  return { pressed, arrived };
}

/** Severity of a feed item: a cue's own, otherwise by what a signal means. */
export function severityOf(event) {
  if (event.type === 'cue') return event.data?.severity || 'info';
  if (event.type === 'pause') return 'urgent';
  if (needsAttention(event)) return 'warn';
  return 'info';
}

/**
 * Urgent cues still waiting: not dismissed by the therapist, and (when they point at signals)
 * not every related signal acknowledged or retracted yet.
 */
export function openUrgentCues(events, dismissed = [], index = indexLog(events)) {
  const gone = new Set(dismissed);
  return events.filter((e) => {
    if (e.type !== 'cue' || e.data?.severity !== 'urgent' || gone.has(e.seq)) return false;
    const related = (e.data.related_seq || []).filter((s) => isSignal(index.bySeq.get(s)));
    if (!related.length) return true;
    return related.some((s) => !index.acknowledged.has(s) && !index.retracted.has(s));
  });
}

/**
 * Session clock: minutes elapsed and left, from started_at and scheduled_minutes.
 * Returns {state: "waiting"|"running"|"over"|"ended", elapsed, left, over, planned}.
 */
export function sessionClock(session, startedAt, endedAt, nowMs) {
  const planned = (session && session.scheduled_minutes) || 50;
  if (endedAt || (session && session.state === 'ended')) return { state: 'ended', planned };
  if (!startedAt) return { state: 'waiting', planned };
  const elapsed = Math.max(0, Math.floor((nowMs - Date.parse(startedAt)) / 60000));
  if (elapsed <= planned) return { state: 'running', elapsed, left: planned - elapsed, planned };
  return { state: 'over', elapsed, over: elapsed - planned, planned };
}

/**
 * The client's most recent press that it can see feedback for: an entry still in the outbox
 * (newest), else its latest retractable signal in the log. Returns
 * {id, type, data, status: "queued"|"sent"|"retracted", seq, seen, atMs} or null.
 */
export function lastPress(events, outbox, clientId, index = indexLog(events)) {
  const pending = [...outbox].reverse().find((e) => RETRACTABLE_TYPES.has(e.type));
  if (pending) return { id: pending.id, type: pending.type, data: pending.data, status: 'queued', seq: null, seen: false, atMs: pending.t };
  for (let i = events.length - 1; i >= 0; i -= 1) {
    const e = events[i];
    if (e.actor?.id !== clientId || !RETRACTABLE_TYPES.has(e.type)) continue;
    return {
      id: e.id,
      type: e.type,
      data: e.data || {},
      status: index.retracted.has(e.seq) ? 'retracted' : 'sent',
      seq: e.seq,
      seen: index.acknowledged.has(e.seq),
      atMs: Date.parse(e.at),
    };
  }
  return null;
}

/**
 * Timing of a breathing exercise at `elapsedMs`: which phase, seconds left in it (counting
 * down), which round, and whether the exercise is complete.
 *
 *  box_breathing   in 4 · hold 4 · out 4 · hold 4, 8 rounds (about two minutes)
 *  breathing_478   in 4 · hold 7 · out 8, at most 4 rounds (the clinical limit for beginners)
 *  paced_breathing `rate` breaths a minute (4.5–7, default 6), in 40 % · out 60 %, 3 minutes
 */
export function breathingPlan(exercise, rate = 6) {
  if (exercise === 'box_breathing') {
    return { rounds: 8, phases: [['in', 4], ['hold', 4], ['out', 4], ['hold', 4]] };
  }
  if (exercise === 'breathing_478') {
    return { rounds: 4, phases: [['in', 4], ['hold', 7], ['out', 8]] };
  }
  const r = clampRate(rate);
  const cycle = 60 / r;
  return {
    rounds: Math.max(1, Math.round(3 * r)),
    phases: [['in', cycle * 0.4], ['out', cycle * 0.6]],
  };
}

export function clampRate(rate) {
  const r = Number(rate);
  if (!Number.isFinite(r)) return 6;
  return Math.min(7, Math.max(4.5, r));
}

export function breathingPhase(exercise, elapsedMs, rate = 6) {
  const plan = breathingPlan(exercise, rate);
  const cycleS = plan.phases.reduce((sum, [, s]) => sum + s, 0);
  const t = Math.max(0, elapsedMs / 1000);
  const round_ = Math.floor(t / cycleS);
  if (round_ >= plan.rounds) {
    return { done: true, round: plan.rounds, rounds: plan.rounds, phase: null, phaseSeconds: 0, remaining: 0 };
  }
  let within = t - round_ * cycleS;
  for (const [phase, seconds] of plan.phases) {
    if (within < seconds) {
      return {
        done: false,
        round: round_ + 1,
        rounds: plan.rounds,
        phase,
        phaseSeconds: seconds,
        remaining: Math.ceil(seconds - within),
      };
    }
    within -= seconds;
  }
  /* c8 ignore next */
  return { done: false, round: round_ + 1, rounds: plan.rounds, phase: 'in', phaseSeconds: plan.phases[0][1], remaining: 0 };
}
