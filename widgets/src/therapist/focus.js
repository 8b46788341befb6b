/**
 * Keeps keyboard focus from being lost when the control that had it goes away: acknowledging
 * a row turns its Acknowledge into words saying where the acknowledgement stands (the row
 * stays until the service has it, then leaves), and "Got it" removes a row. After each render,
 * if the element being watched is gone and nothing else took focus, focus moves to the first
 * fallback still there — the row itself, say, then the Needs attention heading once the row
 * leaves too — and that one is watched in turn. Never to the next row's button: a second Enter
 * must not acknowledge another client's signal.
 */
export class FocusKeeper {
  constructor(host) {
    this.host = host;
    this.element = null;
    this.fallbacks = [];
    host.addController(this);
  }

  /**
   * Call before an action that may remove the focused control. `fallbacks` are selectors, in
   * the order they are tried.
   */
  keep(...fallbacks) {
    this.element = this.host.renderRoot.activeElement;
    this.fallbacks = fallbacks;
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
    while (this.fallbacks.length) {
      const next = root.querySelector(this.fallbacks.shift());
      if (!next) continue;
      next.focus();
      // Watched in turn while it has focus: a row that leaves later hands focus on again.
      if (this.fallbacks.length && root.activeElement === next) this.element = next;
      return;
    }
  }
}
