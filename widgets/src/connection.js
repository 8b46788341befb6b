/**
 * The one connection both widgets use: a Socket.IO socket to the service (contract §3), an
 * outbox of presses kept in sessionStorage until the service acks them, and the session's log
 * as this participant sees it, kept with its `last_seq` and `epoch` so a reload replays only
 * what was missed. Events are deduplicated by `seq`.
 *
 * Elements listen for these events on a ComfortConnection (an EventTarget):
 *   "change"    something the view depends on changed (re-render);
 *   "event"     detail: a log event this connection had not seen before;
 *   "signal"    detail: {id, type, data} — a press was queued;
 *   "rejected"  detail: {entry, error} — the service refused a send (it will not be retried);
 *   "acked"     detail: {entry, seq, duplicate};
 *   "refused"   detail: {code, message} — the connection cannot work and is not retried: the
 *               service refused it (contract §3) or this page's origin is not allowed (§9.7).
 *
 * Browsers hide why a cross-origin handshake failed, so after a transport failure the
 * connection asks the service's `GET /widgets/origin` (CORS-open) whether this page's origin
 * is allowed, once per outage (docs/protocol.md).
 */
import { io as defaultIo } from 'socket.io-client';

import { SIGNAL_TYPES } from './state.js';

/** Send errors worth retrying with the same id; anything else is final (contract §3). */
const RETRYABLE = new Set(['internal', 'rate_limited']);
/** Connection refusals after which reconnecting cannot help. */
const FINAL_REFUSALS = new Set(['invalid_token', 'token_expired', 'session_not_found', 'session_ended']);
/** Where the service says whether the requesting page's origin may connect. */
const ORIGIN_CHECK_PATH = '/widgets/origin';
const ACK_TIMEOUT_MS = 10_000;
const RETRY_DELAY_MS = 1_500;
/** A refused connection is tried again after this long, unless the service says how long. */
const REFUSED_RETRY_MS = 3_000;
/** The longest `retry_after_s` (a `busy` refusal, an addition: docs/protocol.md) is obeyed. */
const MAX_RETRY_AFTER_MS = 60_000;
/**
 * Presses that may say when they were made (`pressed_at`, an addition: docs/protocol.md): the
 * client's signals and answers. Not `retract` (its window runs on the service's clock), nor
 * `location_shared`, nor anything a therapist sends.
 */
export const PRESS_TIME_TYPES = new Set([...SIGNAL_TYPES, 'checkin_response']);
/** A press that waited this long (a connection that looked up but was not) says when it was made. */
const STAMP_AFTER_MS = 2_000;

/**
 * The data a queued press is sent with: its own, plus `pressed_at` (ISO 8601 UTC, ms) when it
 * was queued while not connected or has waited a while, so the service and the therapist know
 * when it was pressed, not only when it arrived.
 */
export function dataToSend(entry, nowMs) {
  const data = entry.data || {};
  if (!PRESS_TIME_TYPES.has(entry.type) || !Number.isFinite(entry.t) || data.pressed_at != null) return data;
  if (!entry.offline && nowMs - entry.t < STAMP_AFTER_MS) return data;
  return { ...data, pressed_at: new Date(entry.t).toISOString() };
}

/** Decodes a JWT's claims without verifying them (the service verifies); null if unreadable. */
export function tokenClaims(token) {
  try {
    const part = String(token).split('.')[1];
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const json = typeof atob === 'function' ? atob(b64) : Buffer.from(b64, 'base64').toString('binary');
    return JSON.parse(decodeURIComponent(escape(json)));
  } catch {
    return null;
  }
}

/**
 * The sessionStorage key for one participant of one session, so two tabs of different sessions
 * (or a therapist and a client in one demo page) never share an outbox.
 */
export function storageKeyFor(token) {
  const claims = tokenClaims(token);
  if (claims && claims.sid && claims.sub) return `comfort:v1:${claims.sid}:${claims.sub}`;
  let hash = 0;
  for (const ch of String(token)) hash = (Math.imul(hash, 31) + ch.charCodeAt(0)) | 0;
  return `comfort:v1:token:${(hash >>> 0).toString(36)}`;
}

/** How long to wait before connecting again after a refusal with `data`. */
function refusedRetryMs(data) {
  const asked = Number(data && data.retry_after_s);
  if (!Number.isFinite(asked) || asked <= 0) return REFUSED_RETRY_MS;
  return Math.round(Math.min(asked * 1000, MAX_RETRY_AFTER_MS) * (0.9 + 0.2 * Math.random()));
}

/** A fresh id for a press: a UUID where the platform has one. */
export function newId() {
  if (globalThis.crypto && typeof globalThis.crypto.randomUUID === 'function') {
    return globalThis.crypto.randomUUID();
  }
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

function emptyMemory() {
  return { v: 1, epoch: null, lastSeq: 0, events: [], outbox: [], acked: {}, notes: {} };
}

/**
 * What survives a reload, in one sessionStorage entry so its parts never disagree: the log
 * (events by seq), last_seq, epoch, the outbox, ids already acked (id -> {seq, t}), and small
 * view notes (dismissed items) that the elements keep.
 */
export class SessionMemory {
  constructor(storage, key) {
    this.storage = storage;
    this.key = key;
    this.data = this.load();
  }

  load() {
    try {
      const raw = this.storage && this.storage.getItem(this.key);
      const parsed = raw ? JSON.parse(raw) : null;
      if (parsed && parsed.v === 1) return { ...emptyMemory(), ...parsed };
    } catch {
      // A corrupt entry is dropped: the service replays the whole log on last_seq 0.
    }
    return emptyMemory();
  }

  save() {
    if (!this.storage) return;
    try {
      this.storage.setItem(this.key, JSON.stringify(this.data));
    } catch {
      // Storage full: keep the outbox (it is what must not be lost) and drop the log cache,
      // which the service can replay from the start.
      try {
        const slim = { ...this.data, events: [], lastSeq: 0 };
        this.storage.setItem(this.key, JSON.stringify(slim));
      } catch {
        /* nothing more we can do; the in-memory copy still works for this page */
      }
    }
  }

  /**
   * Forgets everything: the entry leaves sessionStorage and nothing of it stays in memory (the
   * session is gone, or this link no longer opens it).
   */
  clear() {
    this.data = emptyMemory();
    try {
      this.storage?.removeItem(this.key);
    } catch {
      /* a storage that cannot remove cannot hold it either */
    }
  }

  /** Forgets the log (epoch changed, or the service's log is shorter than ours). */
  resetLog(epoch) {
    this.data.events = [];
    this.data.lastSeq = 0;
    this.data.epoch = epoch ?? null;
  }

  /**
   * Adds an event unless its seq is already held; keeps the log sorted by seq.
   * Returns true when the event was new.
   */
  addEvent(event) {
    const events = this.data.events;
    const seq = event.seq;
    if (!Number.isInteger(seq)) return false;
    // Events nearly always arrive in order: check the tail first, then fall back to a search.
    const last = events[events.length - 1];
    if (!last || last.seq < seq) {
      events.push(event);
    } else {
      let lo = 0;
      let hi = events.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (events[mid].seq < seq) lo = mid + 1;
        else hi = mid;
      }
      if (events[lo] && events[lo].seq === seq) return false;
      events.splice(lo, 0, event);
    }
    if (seq > this.data.lastSeq) this.data.lastSeq = seq;
    return true;
  }
}

/**
 * A participant's live link to one session.
 *
 * Options: token, server (origin URL), storage (a Storage; sessionStorage by default),
 * io (the socket.io-client factory; replaceable in tests), now (clock, for tests), fetch (for
 * the origin check; globalThis.fetch by default).
 */
export class ComfortConnection extends EventTarget {
  constructor({
    token,
    server,
    storage,
    io = defaultIo,
    now = () => Date.now(),
    // Called as a plain function: window.fetch throws "Illegal invocation" as a method of another object.
    fetch = (...args) => globalThis.fetch(...args),
  } = {}) {
    super();
    this.token = token;
    this.server = server;
    this.io = io;
    this.now = now;
    this.fetch = fetch;
    const store = storage !== undefined ? storage : globalThis.sessionStorage;
    this.memory = new SessionMemory(store, storageKeyFor(token));
    this.status = token ? 'idle' : 'refused';
    this.error = token ? null : { code: 'no_token' };
    this.welcome = null;
    this.socket = null;
    this.flushing = false;
    this.retryTimer = null;
    this.inflight = new Set();
    this.attempts = new Set();
    this.retractWhenAcked = new Set();
    this.closed = false;
    /** When the connection was last lost (ms), while it is offline; null otherwise. */
    this.offlineSince = null;
    /** When (ms) a `current` page last lost its connection (`behindSince`). */
    this.lostAt = null;
    /** Whether the open connection has had its welcome (replay follows it). */
    this.welcomed = false;
    this.originChecked = false;
    this.checkingOrigin = false;
  }

  // ---- reading -------------------------------------------------------------------------

  get events() {
    return this.memory.data.events;
  }

  get outbox() {
    return this.memory.data.outbox;
  }

  get lastSeq() {
    return this.memory.data.lastSeq;
  }

  /**
   * True while what this page holds is the log as it is now: connected, welcomed on this
   * connection, and every event up to the welcome's `head_seq` arrived (the replay is done;
   * `head_seq` is in this participant's own numbering, contract §9.1). Words that say "nothing
   * is waiting" or "not paused" are true only then.
   */
  get current() {
    return this.status === 'online' && this.welcomed && this.lastSeq >= (this.welcome?.head_seq ?? 0);
  }

  /**
   * Since when (ms) this page may not hold every event: from the loss of a connection while it
   * was current, through the replay of what was missed; null while `current`, and on a page
   * that has not been current yet (it knows no time to name).
   */
  get behindSince() {
    return this.current ? null : this.lostAt;
  }

  get epoch() {
    return this.memory.data.epoch;
  }

  /** The seq the service gave a press, once acked (or once its event came back). */
  seqOf(id) {
    const acked = this.memory.data.acked[id];
    if (acked) return acked.seq;
    const event = this.events.find((e) => e.id === id);
    return event ? event.seq : null;
  }

  /** Local time (ms) when a press was acked, if known. */
  ackedAt(id) {
    const acked = this.memory.data.acked[id];
    return acked ? acked.t : null;
  }

  /** Local time (ms) when a press was made on this device, if known (outbox or acked). */
  pressedAt(id) {
    const queued = this.outbox.find((entry) => entry.id === id);
    if (queued) return queued.t;
    const acked = this.memory.data.acked[id];
    return acked ? (acked.pressed ?? null) : null;
  }

  /** True while a press is on its way: emitted and not yet answered. */
  isInflight(id) {
    return this.inflight.has(id);
  }

  /**
   * This participant's presses whose events are not in the log yet, in press order: acked ones
   * whose event has not arrived, then the outbox. The view applies them optimistically, so a
   * pause shows as paused at once, also while offline.
   */
  pendingPresses() {
    const acked = Object.entries(this.memory.data.acked)
      .filter(([, a]) => a.type && a.seq > this.lastSeq)
      .sort((a, b) => a[1].seq - b[1].seq)
      .map(([id, a]) => ({ id, type: a.type, data: a.data || {}, t: a.t }));
    return [...acked, ...this.outbox];
  }

  isPending(id) {
    return this.outbox.some((entry) => entry.id === id);
  }

  note(name) {
    return this.memory.data.notes[name];
  }

  setNote(name, value) {
    this.memory.data.notes[name] = value;
    this.memory.save();
    this.changed();
  }

  // ---- lifecycle -----------------------------------------------------------------------

  /** Opens the socket; auth carries the stored last_seq and epoch on every (re)connect. */
  connect() {
    if (!this.token || this.socket) return;
    this.closed = false;
    this.status = 'connecting';
    const socket = this.io(this.server, {
      path: '/socket.io/',
      forceNew: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 4000,
      auth: (cb) => {
        const auth = { token: this.token, last_seq: this.lastSeq };
        if (this.epoch) auth.epoch = this.epoch;
        cb(auth);
      },
    });
    this.socket = socket;
    socket.on('connect', () => this.onConnect());
    socket.on('welcome', (welcome) => this.onWelcome(welcome));
    socket.on('event', (event) => this.onEvent(event));
    socket.on('connect_error', (err) => this.onConnectError(err));
    socket.on('disconnect', (reason) => this.onDisconnect(reason));
    this.changed();
  }

  /** Closes the socket for good (the element left the page). The outbox stays stored. */
  close() {
    this.closed = true;
    clearTimeout(this.retryTimer);
    if (this.socket) {
      this.socket.removeAllListeners?.();
      this.socket.disconnect();
      this.socket = null;
    }
    for (const finish of [...this.attempts]) finish('disconnected');
  }

  /**
   * Asks the service once more whether an ended session is still there: a connection it refuses
   * with `session_ended`, or with `session_not_found` once the session was erased (then the
   * connection is refused, and its owner may `forget`).
   */
  recheck() {
    if (this.closed || this.status !== 'ended' || !this.socket || this.socket.connected) return;
    this.socket.connect();
  }

  /**
   * Forgets what this participant's entry holds, here and in sessionStorage: the log (every
   * client's pauses and zones), the outbox, the notes. For a session that is gone.
   */
  forget() {
    this.memory.clear();
    this.welcome = null;
    this.changed();
  }

  onConnect() {
    this.status = 'online';
    this.error = null;
    this.offlineSince = null;
    this.welcomed = false; // until this connection's welcome, the page may be behind
    this.originChecked = false; // a later outage asks again
    this.changed();
    this.flush();
  }

  onWelcome(welcome) {
    if (!welcome || typeof welcome !== 'object') return;
    const { data } = this.memory;
    // A new epoch means the log was rebuilt, and a head below what we hold means it is not the
    // log we cached: either way the service replays from 0, so start the cache afresh.
    if ((data.epoch && welcome.epoch && welcome.epoch !== data.epoch) || welcome.head_seq < data.lastSeq) {
      this.memory.resetLog(welcome.epoch);
    }
    data.epoch = welcome.epoch ?? data.epoch;
    this.welcome = welcome;
    this.welcomed = true;
    if (welcome.session && welcome.session.state === 'ended') this.status = 'ended';
    this.memory.save();
    this.changed();
  }

  onEvent(event) {
    if (!event || typeof event !== 'object') return;
    if (!this.memory.addEvent(event)) return;
    if (event.type === 'session_ended') this.status = 'ended';
    this.memory.save();
    this.dispatchEvent(new CustomEvent('event', { detail: event }));
    this.changed();
  }

  onConnectError(err) {
    const code = err && err.data && err.data.code;
    if (code && FINAL_REFUSALS.has(code)) {
      this.refuse(code, err.data.message);
      return;
    }
    // A refusal with another code, or a transport failure: socket.io retries transport
    // failures itself; a server refusal it does not, so try again after a pause: as long as a
    // busy service asks (`retry_after_s`, spread a little more so a page's two widgets and
    // everyone refused with them do not come back at once), or a few seconds.
    this.goOffline();
    this.changed();
    if (code && this.socket && !this.closed) {
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.socket && !this.closed && this.socket.connect(), refusedRetryMs(err.data));
    }
    if (!code) this.checkOrigin();
  }

  /**
   * Gives up for good: reconnecting cannot help (a bad link, an ended session, a refused origin).
   * An ended session can still be refused for another reason later (erased: session_not_found).
   */
  refuse(code, message) {
    if (this.status === 'refused' || (this.status === 'ended' && this.error?.code === code)) {
      this.socket?.disconnect(); // a recheck's connection is not kept open
      return;
    }
    this.status = code === 'session_ended' ? 'ended' : 'refused';
    this.error = { code, message: message || code };
    this.offlineSince = null;
    clearTimeout(this.retryTimer);
    // Stop socket.io's own reconnection attempts (they would only be refused again).
    this.socket?.disconnect();
    this.changed();
    this.dispatchEvent(new CustomEvent('refused', { detail: { ...this.error } }));
  }

  goOffline() {
    // Everything before this moment is here; a page that was never current names no time.
    if (this.current) this.lostAt = this.now();
    if (this.status !== 'offline') this.offlineSince = this.now();
    this.status = 'offline';
  }

  /**
   * After a transport failure, asks the service whether this page's origin may connect
   * (a refused origin looks like any network failure to the page). Once per outage; a
   * network failure of the check itself is asked again on the next failure.
   */
  async checkOrigin() {
    if (this.originChecked || this.checkingOrigin || typeof this.fetch !== 'function') return;
    this.checkingOrigin = true;
    try {
      const url = new URL(ORIGIN_CHECK_PATH, this.server);
      const response = await this.fetch(url.href, { mode: 'cors', credentials: 'omit', cache: 'no-store' });
      this.originChecked = true; // any answer, even from an older service without the route
      const body = response.ok ? await response.json() : null;
      if (!this.closed && this.status !== 'online' && body && body.allowed === false) {
        const origin = body.origin || globalThis.location?.origin || 'this page';
        this.refuse(
          'origin_not_allowed',
          `The Comfort service at ${url.origin} does not allow connections from ${origin}: add it to COMFORT_ALLOWED_ORIGINS.`,
        );
      }
    } catch {
      /* the service is unreachable: an ordinary outage, asked again on the next failure */
    } finally {
      this.checkingOrigin = false;
    }
  }

  onDisconnect(reason) {
    for (const finish of [...this.attempts]) finish('disconnected');
    if (this.status !== 'ended' && this.status !== 'refused') this.goOffline();
    this.changed();
    // socket.io does not reconnect by itself after a server-side disconnect; the service does
    // that when a session ends or is deleted (then the reconnect is refused and we stop), but
    // also when it shuts down, and then we want to come back.
    if (reason === 'io server disconnect' && this.status === 'offline' && !this.closed) {
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.socket && !this.closed && this.socket.connect(), 1000);
    }
  }

  // ---- sending -------------------------------------------------------------------------

  /**
   * Queues a press: stored in the outbox first (so a reload cannot lose it), then sent. A press
   * queued while not connected is marked `offline`, and is sent with its press time
   * (`dataToSend`). Returns the entry {id, type, data, t, offline?}.
   */
  send(type, data = {}) {
    const entry = { id: newId(), type, data, t: this.now() };
    if (this.status !== 'online') entry.offline = true;
    this.outbox.push(entry);
    this.memory.save();
    this.dispatchEvent(new CustomEvent('signal', { detail: { id: entry.id, type, data } }));
    this.changed();
    this.flush();
    return entry;
  }

  /**
   * Undoes a press: a press still waiting in the outbox is simply dropped (nothing was sent);
   * a stored one is withdrawn with `retract`. Returns "cancelled", "retracting" or null.
   */
  retract(id) {
    const index = this.outbox.findIndex((entry) => entry.id === id);
    if (index >= 0 && !this.inflight.has(id)) {
      this.outbox.splice(index, 1);
      this.memory.save();
      this.changed();
      return 'cancelled';
    }
    if (index >= 0) {
      this.retractWhenAcked.add(id);
      return 'retracting';
    }
    const seq = this.seqOf(id);
    if (seq == null) return null;
    this.send('retract', { seq });
    return 'retracting';
  }

  /** Sends the outbox in order, one at a time, each under its own id, while connected. */
  async flush() {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.socket && this.socket.connected && !this.closed) {
        const entry = this.outbox.find((e) => !this.inflight.has(e.id));
        if (!entry) break;
        const outcome = await this.emitEntry(entry);
        if (outcome === 'retry') {
          this.scheduleRetry();
          break;
        }
        if (outcome === 'disconnected') break;
      }
    } finally {
      this.flushing = false;
    }
  }

  scheduleRetry() {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.flush(), RETRY_DELAY_MS);
  }

  emitEntry(entry) {
    this.inflight.add(entry.id);
    const payload = { id: entry.id, type: entry.type, data: dataToSend(entry, this.now()) };
    return new Promise((resolve) => {
      // A disconnect settles the attempt at once (see onDisconnect) rather than waiting for the
      // ack timeout, so a reconnect can resend straight away; a late ack is then ignored.
      let settled = false;
      const finish = (outcome) => {
        if (settled) return false;
        settled = true;
        this.attempts.delete(finish);
        this.inflight.delete(entry.id);
        resolve(outcome);
        return true;
      };
      this.attempts.add(finish);
      this.socket.timeout(ACK_TIMEOUT_MS).emit('send', payload, (err, ack) => {
        if (settled) return;
        if (err || !ack || typeof ack !== 'object') {
          finish('retry'); // no answer: keep it; the same id is sent again
          return;
        }
        if (ack.ok) {
          finish('ok');
          this.settle(entry);
          this.memory.data.acked[entry.id] = {
            seq: ack.seq,
            t: this.now(),
            pressed: entry.t,
            type: entry.type,
            data: entry.data,
          };
          this.memory.save();
          this.dispatchEvent(new CustomEvent('acked', { detail: { entry, seq: ack.seq, duplicate: !!ack.duplicate } }));
          if (this.retractWhenAcked.delete(entry.id)) this.send('retract', { seq: ack.seq });
          this.changed();
          return;
        }
        const error = ack.error || { code: 'internal' };
        if (RETRYABLE.has(error.code)) {
          finish('retry');
          return;
        }
        finish('rejected');
        this.settle(entry);
        this.memory.save();
        this.dispatchEvent(new CustomEvent('rejected', { detail: { entry, error } }));
        this.changed();
      });
    });
  }

  settle(entry) {
    const index = this.outbox.findIndex((e) => e.id === entry.id);
    if (index >= 0) this.outbox.splice(index, 1);
  }

  changed() {
    this.dispatchEvent(new Event('change'));
  }
}
