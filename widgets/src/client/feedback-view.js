/**
 * The lines that say where things stand: the feedback line under the bar (the latest press or
 * answer: kept on this device, sending, sent, seen, withdrawn, refused, and a short undo) and
 * the offline notice (what is kept, and what to do meanwhile). Never ahead of the truth.
 */
import { html, nothing } from 'lit';
import { canUndo, sentLate } from '../client-state.js';
import { feedbackStatus, neverConnected, offlineNoticeDue } from './press-state.js';
import { renderCameraControl } from './privacy.js';

/** How long a short message ("Undone.") stays in the feedback line. */
const NOTICE_MS = 8000;

/** One live region that stays in the DOM, so screen readers hear each change politely. */
export function renderFeedback(host, t, index) {
  const c = t.client;
  const notice = host._notice && Date.now() - host._notice.at < NOTICE_MS ? host._notice.text : null;
  const conn = host.connection;
  const status = notice ? null : feedbackStatus(conn, host._me, host._lastAction, index, host._refusedSends);
  const text = notice ?? (status ? describe(host, c, status) : '');
  const undo = status && status.type !== 'checkin_response' && status.type !== 'location_shared' && canUndo(status, Date.now());
  return html`<p role="status" id="feedback" tabindex="-1" data-focus-fallback>${text}</p>
    ${undo ? html`<button class="quiet" part="undo" @click=${() => host._undo(status)}>${c.undo}</button>` : nothing}`;
}

function describe(host, c, status) {
  if (status.type === 'checkin_response') return describeAnswer(c, status);
  if (status.type === 'location_shared') {
    if (status.state === 'queued') return c.locationKept;
    if (status.state === 'sending') return c.sending;
    if (status.state === 'rejected') return c.locationNotSent;
    return c.locationSent;
  }
  const data = status.data || {};
  const what = status.type === 'zone' ? c.pressed.zone(c.zones[data.zone] || data.zone) : c.pressed[status.type] || '';
  switch (status.state) {
    case 'queued':
      return `${what} ${c.keptSince(host._time(status.pressedAt))} ${c.queued}`;
    case 'sending':
      return `${what} ${c.sending}`;
    case 'rejected':
      return `${what} ${c.notSent}`;
    case 'retracted':
      return `${what} ${c.retracted}`;
    case 'seen':
      return html`${what} <span class="seen">✓ ${c.seen}</span>`;
    default:
      return sentLate(status)
        ? `${what} ${c.sentLate(host._time(status.storedAt), host._time(status.pressedAt))}`
        : `${what} ${c.sent}`;
  }
}

function describeAnswer(c, status) {
  switch (status.state) {
    case 'queued':
      return `${c.answerKept} ${c.queued}`;
    case 'sending':
      return c.answerSending;
    case 'rejected':
      return status.error?.code === 'not_found' ? c.answerClosed : c.answerNotSent;
    default:
      return status.late ? c.answerLate : c.checkinThanks;
  }
}

/**
 * While the connection is down: what is kept, and what to do meanwhile (issue 14). A page that
 * never connected says it is not connected yet, not that the connection dropped.
 */
export function renderOffline(host, t) {
  const conn = host.connection;
  if (!offlineNoticeDue(conn, Date.now())) return nothing;
  const c = t.client;
  const never = neverConnected(conn);
  return html`<div class="card notice" part="offline">
    <p><strong>${never ? c.notConnectedTitle : c.offlineTitle}</strong></p>
    <p>${never ? c.notConnectedBody : c.offlineBody}</p>
    <p>${c.whatToDo}</p>
    ${renderCameraControl(host, t)}
  </div>`;
}
