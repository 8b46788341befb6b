/**
 * Keeps keyboard focus from being lost when the control that had it goes away: acknowledging
 * a row of Needs attention removes the row, and a feed row's Acknowledge turns into "Sending…".
 * After each render, if the control that had focus is gone and nothing else took focus, focus
 * moves to a fallback: the Needs attention heading, or the feed row itself. Never to the next
 * row's button: a second Enter must not acknowledge another client's signal.
 */
export class FocusKeeper {
  constructor(host) {
    this.host = host;
    this.element = null;
    this.fallback = null;
    host.addController(this);
  }

  /** Call before an action that may remove the focused control; `fallback` is a selector. */
  keep(fallback) {
    this.element = this.host.renderRoot.activeElement;
    this.fallback = fallback;
  }

  hostUpdated() {
    const element = this.element;
    if (!element) return;
    const root = this.host.renderRoot;
    if (element.isConnected) {
      if (root.activeElement !== element) this.element = null; // the therapist moved on
      return;
    }
    this.element = null;
    const active = root.activeElement;
    if (active && active.isConnected) return;
    root.querySelector(this.fallback)?.focus();
  }
}
