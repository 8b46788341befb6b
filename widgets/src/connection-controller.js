/**
 * The connection lifecycle both widgets share, as one Lit ReactiveController: open a
 * ComfortConnection when the element joins the page (and has a token), re-render on each of its
 * "change" events, open a new one when `token` or `server` changes, and close it when the element
 * leaves the page. The element keeps its view; this keeps the socket's set-up and teardown.
 * When the connection cannot work (contract §9.7) it tells the host page: a `comfort:error`
 * event (bubbles, composed; detail {code, message}) and one console message for the vendor's
 * developer.
 *
 *   this._link = new ConnectionController(this, {
 *     on: { event: (e) => …, signal: (e) => …, rejected: (e) => … }, // ComfortConnection events
 *     opened: (conn) => …,                                             // after each open, before connect()
 *   });
 *   get connection() { return this._link.connection; }
 *
 * The host supplies `token` and `server` (an empty `server` means the origin this module was
 * loaded from). Handlers are called with the host as `this`.
 */
import { ComfortConnection } from './connection.js';

/** The origin the bundle was served from: the default `server`. */
export const MODULE_ORIGIN = (() => {
  try {
    return new URL(import.meta.url).origin;
  } catch {
    return undefined;
  }
})();

export class ConnectionController {
  /**
   * @param host  the element (a ReactiveControllerHost with `token` and `server`)
   * @param on    {eventName: handler} for the ComfortConnection's events ("change" always re-renders)
   * @param opened  called with each new connection before it connects
   * @param create  builds a ComfortConnection from {token, server} (replaceable in tests)
   */
  constructor(host, { on = {}, opened = null, create = (options) => new ComfortConnection(options) } = {}) {
    this.host = host;
    this.connection = null;
    this._create = create;
    this._opened = opened;
    this._told = new Set(); // error codes already reported to the developer's console
    const own = { change: () => host.requestUpdate(), refused: (e) => this._tellHost(e.detail) };
    this._handlers = [...new Set([...Object.keys(own), ...Object.keys(on)])].map((name) => [
      name,
      (e) => {
        on[name]?.call(host, e);
        own[name]?.(e);
      },
    ]);
    host.addController(this);
  }

  /** The host page learns why the element cannot work: an event, and one console line. */
  _tellHost({ code, message }) {
    this.host.dispatchEvent(
      new CustomEvent('comfort:error', { detail: { code, message }, bubbles: true, composed: true }),
    );
    if (this._told.has(code)) return;
    this._told.add(code);
    console.warn(`<${this.host.localName}> ${code}: ${message} (see docs/widgets.md, "Errors")`);
  }

  /** The service origin the host asks for, or this module's own. */
  get server() {
    return this.host.server || MODULE_ORIGIN;
  }

  hostConnected() {
    this.open();
  }

  hostDisconnected() {
    this.close();
  }

  /** A changed `token` or `server` reconnects as that participant, to that service. */
  hostUpdated() {
    if (!this.host.isConnected) return;
    const conn = this.connection;
    const same = conn && conn.token === this.host.token && conn.server === this.server;
    if (!same && (conn || this.host.token)) {
      this.close();
      this.open();
      this.host.requestUpdate();
    }
  }

  open() {
    if (this.connection || !this.host.token) return;
    const conn = this._create({ token: this.host.token, server: this.server });
    for (const [name, listener] of this._handlers) conn.addEventListener(name, listener);
    this.connection = conn;
    if (this._opened) this._opened.call(this.host, conn);
    conn.connect();
  }

  close() {
    const conn = this.connection;
    if (!conn) return;
    for (const [name, listener] of this._handlers) conn.removeEventListener(name, listener);
    conn.close();
    this.connection = null;
  }
}
