/**
 * Where the panel's acknowledgements stand, by the seq of the signal each acknowledges, and the
 * words their rows say: not sent yet (kept on this device while the panel is not connected),
 * sending, or not sent (refused). Stored (the service acked it) is done: the signal leaves
 * Needs attention then, never before. The states are the check-ins' own (requests.js); no DOM.
 */
import { requestStatus } from './requests.js';

/** Ack states that keep a signal in Needs attention, with words of their own on its row. */
export const ACK_UNSENT = new Set(['queued', 'sending']);

/**
 * Map seq -> "queued" | "sending" | "stored" | "rejected" for the signals this panel has pressed
 * Acknowledge on and whose acknowledgement is not in the log yet (the log's own say wins then).
 * `rejected`: Map send id -> {entry, error} of the sends the service refused. A later press
 * on the same signal speaks over an earlier refusal.
 */
export function ackStates(conn, rejected) {
  const states = new Map();
  for (const { entry } of rejected.values()) {
    if (entry.type === 'acknowledge') states.set(entry.data?.seq, 'rejected');
  }
  for (const press of conn.pendingPresses()) {
    if (press.type !== 'acknowledge') continue;
    const status = requestStatus(conn, press.id, rejected);
    if (status) states.set(press.data?.seq, status.state);
  }
  return states;
}

/**
 * The words a row says of its acknowledgement in `state`, or '' when it says nothing.
 * `connectedBefore`: whether this page has had its welcome (one kept before then goes out once
 * the panel connects, not "when the connection is back").
 */
export function ackText(th, state, connectedBefore) {
  switch (state) {
    case 'queued':
      return connectedBefore ? th.requests.whenBack(th.acks.notYet) : th.requests.onceConnected(th.acks.notYet);
    case 'sending':
      return th.acks.sending;
    case 'rejected':
      return th.acks.notSent;
    default:
      return '';
  }
}
