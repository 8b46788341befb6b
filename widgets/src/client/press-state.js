/**
 * Where the client's own presses stand, as the widget reads them from its connection: the
 * client's state with its not-yet-logged presses applied (so a pause shows at once, also
 * offline), the status of one press or answer by its send id, which one the feedback line
 * speaks of, and when the offline notice is due. No DOM here; the words are in feedback-view.js.
 */
import { actionStatus } from '../client-state.js';
import { clientStates, lastPress } from '../state.js';

/** A short drop (a reload, a network blip) does not need a notice. */
export const OFFLINE_NOTICE_AFTER_MS = 3_000;

/** The keyboard shortcut for Pause: Alt+Shift+P (Option+Shift+P), checked against the video
 * platforms' own lists in docs/widgets.md. `code` is the physical key, so layouts agree. */
export function isPauseShortcut(e) {
  return e.altKey && e.shiftKey && !e.ctrlKey && !e.metaKey && e.code === 'KeyP';
}

/** The client's own state with its not-yet-logged presses applied, so the view answers at once. */
export function optimistic(mine, pending) {
  if (!mine) return mine;
  const view = { ...mine };
  for (const press of pending) {
    if (press.type === 'pause') view.paused = true;
    else if (press.type === 'resume') view.paused = false;
    else if (press.type === 'zone') view.zone = press.data.zone;
  }
  return view;
}

/** The state of client `me` as this connection knows it, presses still on their way included. */
export function ownState(conn, me) {
  const states = me ? clientStates(conn.welcome, conn.events) : null;
  return optimistic((states && states[me]) || {}, conn.pendingPresses());
}

/** Where one of the client's own actions stands (client-state.js actionStatus), by send id. */
export function pressStatus(conn, id, index, rejected) {
  return actionStatus(id, {
    outbox: conn.outbox,
    acked: conn.memory.data.acked,
    events: conn.events,
    index,
    online: conn.status === 'online',
    rejected,
  });
}

/**
 * What the feedback line speaks of: the client's latest action this page knows of (`lastAction`);
 * after a reload, its latest press in the log. Help now has its own line (help-view.js).
 */
export function feedbackStatus(conn, me, lastAction, index, rejected) {
  const status = pressStatus(conn, lastAction, index, rejected);
  if (status) return status;
  const notHelp = (e) => e.type !== 'help_now';
  const press = lastPress(conn.events.filter(notHelp), conn.outbox.filter(notHelp), me, index);
  return press ? pressStatus(conn, press.id, index, rejected) : null;
}

/**
 * True while this page is offline and has never had its welcome: it is connecting, not
 * reconnecting (nothing dropped), so its words say so.
 */
export function neverConnected(conn) {
  return conn.status === 'offline' && !conn.welcome;
}

/** The offline notice shows after a few seconds offline, or at once when a press is waiting. */
export function offlineNoticeDue(conn, nowMs) {
  if (conn.status !== 'offline') return false;
  const long = conn.offlineSince != null && nowMs - conn.offlineSince >= OFFLINE_NOTICE_AFTER_MS;
  return long || conn.outbox.length > 0;
}
