/**
 * Pure rules for what the client's widget says about its own actions and its session's safety
 * plan (contract §7, §9.2, §9.4): where each press, answer or shared location stands (kept on
 * this device, on its way, stored, seen by the therapist), and which resources and links the
 * session offers. Nothing here touches the DOM or the network; tested in Node.
 */
import { RETRACT_WINDOW_MS } from './state.js';

/** At most this many resources are shown (contract §9.2). */
export const MAX_RESOURCES = 5;
/** A press stored this long after it was made says when it was made. */
export const LATE_SEND_MS = 60_000;

/**
 * Where one of the client's own actions stands, by its send id:
 *   queued     kept on this device, waiting for a connection;
 *   sending    on its way (connected, not yet acked);
 *   rejected   the service refused it (error {code, message}); it will not be sent again;
 *   stored     the service acked it (delivered): `late` when §9.4 marked an answer late;
 *   seen       a therapist acknowledged it;
 *   retracted  the client withdrew it.
 * Returns null for an id this device knows nothing about (e.g. a press undone before sending).
 *
 * @param id       the send id
 * @param outbox   the connection's outbox entries {id, type, data, t}
 * @param acked    the connection's acked records {id: {seq, t, pressed, type, data}}
 * @param events   the log as this client sees it
 * @param index    indexLog(events)
 * @param online   whether the connection is up
 * @param rejected Map id -> {entry, error} for sends the service refused
 */
export function actionStatus(id, { outbox, acked, events, index, online, rejected }) {
  if (!id) return null;
  const refusal = rejected && rejected.get(id);
  if (refusal) {
    const { entry, error } = refusal;
    return { id, state: 'rejected', error, type: entry.type, data: entry.data || {}, pressedAt: entry.t ?? null };
  }
  const queued = outbox.find((entry) => entry.id === id);
  if (queued) {
    return {
      id,
      state: online ? 'sending' : 'queued',
      type: queued.type,
      data: queued.data || {},
      pressedAt: queued.t ?? null,
      storedAt: null,
    };
  }
  const record = acked[id];
  const event = findEvent(events, id);
  if (!record && !event) return null;
  const seq = event ? event.seq : record.seq;
  const status = {
    id,
    seq,
    type: event ? event.type : record.type,
    data: (event ? event.data : record.data) || {},
    pressedAt: record?.pressed ?? (event ? pressedAtOf(event) ?? Date.parse(event.at) : null),
    storedAt: record?.t ?? (event ? Date.parse(event.at) : null),
  };
  if (index.retracted.has(seq)) return { ...status, state: 'retracted' };
  if (index.acknowledged.has(seq)) return { ...status, state: 'seen' };
  return { ...status, state: 'stored', late: !!(event && event.data && event.data.late) };
}

/** An event's `pressed_at` (the client's own press time: docs/protocol.md) in ms, or null. */
export function pressedAtOf(event) {
  const value = event?.data?.pressed_at;
  if (typeof value !== 'string') return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

function findEvent(events, id) {
  for (let i = events.length - 1; i >= 0; i -= 1) if (events[i].id === id) return events[i];
  return null;
}

/** True when the client may still undo an action: not yet seen, and within the undo window. */
export function canUndo(status, nowMs) {
  if (!status || !['queued', 'sending', 'stored'].includes(status.state)) return false;
  const since = status.storedAt ?? status.pressedAt ?? 0;
  return nowMs - since < RETRACT_WINDOW_MS;
}

/** True when a stored press reached the service long after it was made (it waited offline). */
export function sentLate(status) {
  return !!status && status.pressedAt != null && status.storedAt != null && status.storedAt - status.pressedAt >= LATE_SEND_MS;
}

/**
 * The session's safety plan as the widget uses it, from `welcome.session.settings.safety`
 * (docs/widgets.md; null when the session has none). Anything malformed is left out, never guessed.
 * Returns {askLocation: boolean, resources: [{label, links: [{kind, href, text}]}]}.
 */
export function safetyPlan(welcome) {
  const safety = welcome?.session?.settings?.safety;
  if (!safety || typeof safety !== 'object') return null;
  const resources = Array.isArray(safety.resources) ? safety.resources : [];
  return {
    askLocation: safety.ask_location === true,
    resources: resources
      .map(resourceView)
      .filter((r) => r && r.links.length)
      .slice(0, MAX_RESOURCES),
  };
}

function resourceView(resource) {
  if (!resource || typeof resource !== 'object') return null;
  const label = typeof resource.label === 'string' ? resource.label.trim() : '';
  if (!label || label.length > 80) return null;
  const links = [];
  const phone = dialable(resource.phone);
  if (phone) links.push({ kind: 'call', href: `tel:${phone}`, text: String(resource.phone).trim() });
  const sms = dialable(resource.sms);
  if (sms) links.push({ kind: 'text', href: `sms:${sms}`, text: String(resource.sms).trim() });
  const url = httpsUrl(resource.url);
  if (url) links.push({ kind: 'open', href: url, text: url });
  return { label, links };
}

/**
 * A phone number as a tel:/sms: URI may carry it (RFC 3966: digits, a leading +, * and #, and
 * the visual separators - . ( )); spaces are dropped. Null when nothing dialable is left.
 */
export function dialable(value) {
  if (typeof value !== 'string') return null;
  const compact = value.trim().replace(/\s+/g, '');
  if (!/^\+?[0-9*#().-]{1,32}$/.test(compact) || !/[0-9]/.test(compact)) return null;
  return compact;
}

/** Only https: links are offered (a javascript: or data: URL is never put in an href). */
export function httpsUrl(value) {
  if (typeof value !== 'string') return null;
  try {
    const url = new URL(value.trim());
    return url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

/** The client's latest `location_shared` in the log, or null. */
export function sharedLocation(events, clientId) {
  for (let i = events.length - 1; i >= 0; i -= 1) {
    const e = events[i];
    if (e.type === 'location_shared' && e.actor?.id === clientId) return e;
  }
  return null;
}

/** The location text as the contract takes it (1–200 characters), or null. */
export function locationText(value) {
  const text = String(value ?? '').trim();
  if (!text || [...text].length > 200) return null;
  return text;
}
