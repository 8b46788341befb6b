/**
 * Where the panel's own requests stand — a check-in or a grounding suggestion — and the words of
 * the line under the actions: not sent yet (kept on this device while the panel is not
 * connected), sending, sent (the service stored it: its ack), or not sent (refused). Never
 * "sent" before the ack. The states are the client's own (client-state.js actionStatus); no DOM.
 */
import { actionStatus } from '../client-state.js';

/** The sends the actions make; the rest of the panel's sends (acknowledge) show on their rows. */
export const REQUEST_TYPES = new Set(['checkin_request', 'suggest_grounding']);
/** How long "Check-in sent." stays once the service has it. Nothing unsettled ever fades. */
export const SENT_NOTICE_MS = 10_000;

/** The id of the latest request still waiting in the outbox (what a reloaded panel had pressed). */
export function waitingRequest(outbox) {
  for (let i = outbox.length - 1; i >= 0; i -= 1) if (REQUEST_TYPES.has(outbox[i].type)) return outbox[i].id;
  return null;
}

/** Nobody acknowledges or withdraws a therapist's request: once stored, it stays sent. */
const NO_RESPONSES = { acknowledged: new Map(), retracted: new Set() };

/**
 * Where request `id` stands on connection `conn`: {state: "queued" | "sending" | "stored" |
 * "rejected", type, storedAt, error}, or null for an id this device knows nothing of.
 * `rejected`: Map id -> {entry, error} of the sends the service refused.
 */
export function requestStatus(conn, id, rejected) {
  return actionStatus(id, {
    outbox: conn.outbox,
    acked: conn.memory.data.acked,
    events: conn.events,
    index: NO_RESPONSES,
    online: conn.status === 'online',
    rejected,
  });
}

/** Whether the line still speaks of it: always while unsettled or refused; "sent" for a while. */
export function requestNoticeShown(status, nowMs) {
  if (!status) return false;
  if (status.state !== 'stored') return true;
  return status.storedAt != null && nowMs - status.storedAt < SENT_NOTICE_MS;
}

/**
 * The line's words. `connectedBefore`: whether this page has had its welcome (a request kept
 * before then goes out once the panel connects, not "when the connection is back").
 */
export function requestText(th, status, connectedBefore) {
  const words = th.requests[status.type === 'checkin_request' ? 'checkin' : 'suggestion'];
  switch (status.state) {
    case 'queued':
      return connectedBefore ? th.requests.whenBack(words.notYet) : th.requests.onceConnected(words.notYet);
    case 'sending':
      return words.sending;
    case 'rejected':
      return words.notSent;
    default:
      return words.sent;
  }
}
