/**
 * <comfort-therapist>: the therapist's cue panel (contract §7), made to be glanced at while
 * talking. First, under a one-line header, *Needs attention* (contract §9.7): what needs the
 * therapist now, urgent before warn, one compact row per client and kind, each with the one
 * response it asks for (therapist/attention.js says which and what clears it). A row stays until
 * its acknowledgement is stored: while it is kept on this device or on its way the row says so
 * (therapist/acks.js). Then one card per
 * client (connected, paused, pace, zone, last SUDS with a trend line, grounding, location), the
 * actions, and the feed of everything else, newest first, each event once. Under the actions one
 * line says where the latest check-in or suggestion stands (therapist/requests.js): not sent yet
 * while it is kept on this device, then sent once the service has it. "Summary" switches
 * to the session summary (<comfort-summary>), live during the session and final after it.
 * Severity is shown by shape and words as well as colour. Quiet by default; a soft sound is
 * opt-in. A session that is gone (erased, or this link refused) leaves nothing in the browser:
 * the panel forgets its sessionStorage entry for it (`_refused`), and an ended panel asks again
 * whether the session is still there whenever the tab is shown again.
 *
 * Attributes: token, server (default: this module's origin), lang.
 * Events: comfort:event (each new log event), comfort:signal (each send of this panel).
 */
import { LitElement, html, nothing } from 'lit';
import { ConnectionController } from './connection-controller.js';
import { stringsForElement } from './locales/index.js';
import { tokens } from './styles.js';
import { EXERCISES, clientStates, idMap, sessionClock } from './state.js';
import { ackStates } from './therapist/acks.js';
import { panelView, rowSeqs } from './therapist/attention.js';
import { FocusKeeper } from './therapist/focus.js';
import { panelNames } from './therapist/names.js';
import {
  SENT_NOTICE_MS,
  requestNoticeShown,
  requestStatus,
  requestText,
  waitingRequest,
} from './therapist/requests.js';
import { panelStyles } from './therapist/styles.js';
import { renderAttention, renderClients, renderFeed } from './therapist/view.js';
import './comfort-summary.js';

/** How many feed rows to draw; the full log stays in memory and in the summary. */
const FEED_LIMIT = 200;

export class ComfortTherapist extends LitElement {
  static properties = {
    token: { type: String },
    server: { type: String },
    platformAdapter: { attribute: false },
    _now: { state: true },
    _open: { state: true },
    _target: { state: true },
    _sound: { state: true },
    _view: { state: true },
  };

  static styles = [tokens, panelStyles];

  constructor() {
    super();
    this.token = '';
    this.server = '';
    this.platformAdapter = null;
    this._link = new ConnectionController(this, {
      on: {
        event: (e) => this._received(e.detail),
        signal: (e) => this._relay('comfort:signal', e.detail),
        refused: (e) => this._refused(e.detail),
        acked: (e) => this._requestAcked(e.detail),
        rejected: (e) => this._rejected.set(e.detail.entry.id, e.detail),
      },
      opened: (conn) => {
        this._sound = !!conn.note('sound');
      },
    });
    this._now = Date.now();
    this._open = null; // null | "checkin" | "grounding"
    this._target = ''; // '' = all clients
    this._request = null; // send id of the latest check-in or suggestion, for the line under the actions
    this._rejected = new Map(); // send id -> {entry, error}: sends the service refused (for this page)
    this._sound = false;
    this._view = null; // null: live while the session runs, the summary once it has ended
    this._focus = new FocusKeeper(this);
    this._onVisible = () => {
      if (globalThis.document?.visibilityState !== 'hidden') this.connection?.recheck();
    };
  }

  /** The live ComfortConnection (read-only; null without a token). */
  get connection() {
    return this._link.connection;
  }

  connectedCallback() {
    super.connectedCallback();
    this._clock = setInterval(() => {
      this._now = Date.now();
    }, 15_000);
    globalThis.document?.addEventListener('visibilitychange', this._onVisible);
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    clearInterval(this._clock);
    clearTimeout(this._fadeTimer);
    globalThis.document?.removeEventListener('visibilitychange', this._onVisible);
  }

  get _t() {
    return stringsForElement(this);
  }

  _relay(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }

  /**
   * The session is gone for this panel — erased (`session_not_found`), or the link refused
   * (`invalid_token`, `token_expired`, `origin_not_allowed`): nothing of it stays in this
   * browser, no client's pause or zone. An ended session (`session_ended`) keeps its log for
   * the summary until the tab closes.
   */
  _refused({ code }) {
    if (code !== 'session_ended') this.connection?.forget();
  }

  _received(event) {
    this._relay('comfort:event', event);
    // Sound only for what happens now, never for history replayed after a reload.
    const fresh = Date.now() - Date.parse(event.at) < 30_000;
    const loud =
      event.type === 'pause' || event.type === 'help_now' || (event.type === 'cue' && event.data?.severity === 'urgent');
    if (this._sound && fresh && loud) chime();
  }

  // ---- actions -------------------------------------------------------------------------

  _send(type, data) {
    this.connection?.send(type, data);
  }

  /**
   * Acknowledges every signal of a row (the client sees "Your therapist saw this" once the
   * service has it). The row stays, its button replaced by where the acknowledgement stands,
   * so focus goes to the row itself, and to the Needs attention heading once the row leaves.
   */
  _acknowledge(row) {
    const self = row.kind === 'event' ? `li[data-seq="${row.event.seq}"]` : `li[data-key="${CSS.escape(row.key)}"]`;
    this._focus.keep(self, '#attention-h');
    const seqs = new Set(row.ackSeqs);
    // Pressed again after a refusal: the new press speaks for the signal, not the old refusal.
    for (const [id, { entry }] of this._rejected) {
      if (entry.type === 'acknowledge' && seqs.has(entry.data?.seq)) this._rejected.delete(id);
    }
    for (const seq of seqs) this._send('acknowledge', { seq });
    if (row.dismissSeqs.length) this._putAway(row.dismissSeqs);
  }

  /**
   * "Got it": puts a row away in this tab where the service has no signal to acknowledge (and,
   * once the session has ended, where acknowledging is no longer possible).
   */
  _dismiss(row, ended = false) {
    this._focus.keep('#attention-h');
    this._putAway(ended ? rowSeqs(row) : row.dismissSeqs);
  }

  /** Remembers `seqs` as put away in this tab (kept with the log in sessionStorage). */
  _putAway(seqs) {
    const dismissed = this.connection.note('dismissedCues') || [];
    this.connection.setNote('dismissedCues', [...new Set([...dismissed, ...seqs])]);
  }

  /** Check in and Suggest grounding wait for the panel's first welcome (it names the clients). */
  get _canRequest() {
    return !!this.connection?.welcome;
  }

  _toggle(which) {
    if (!this._canRequest) return; // aria-disabled: the description says why
    this._open = this._open === which ? null : which;
    // Opening a menu puts away a settled line ("sent", "could not be sent"), never a request
    // that is still on its way or kept on this device.
    const status = this._requestStatus();
    if (!status || status.state === 'stored' || status.state === 'rejected') this._request = null;
  }

  _checkIn(instrument) {
    const data = { instrument };
    if (this._target) data.to = [this._target];
    this._sendRequest('checkin_request', data, '#checkin-toggle');
  }

  _suggest(exercise) {
    const data = { exercise };
    if (this._target) data.to = [this._target];
    this._sendRequest('suggest_grounding', data, '#grounding-toggle');
  }

  /**
   * Sends a check-in or suggestion and closes its menu; the line under the actions then follows
   * the send (requests.js). Focus goes back to the menu's button, not to the page.
   */
  _sendRequest(type, data, toggle) {
    const entry = this.connection?.send(type, data);
    if (!entry) return;
    this._focus.keep(toggle);
    this._request = entry.id;
    this._open = null;
  }

  _requestStatus() {
    const conn = this.connection;
    if (!conn || !this._request) return null;
    return requestStatus(conn, this._request, this._rejected);
  }

  /** "Sent" stays SENT_NOTICE_MS from the ack, then the line empties (a render at that time). */
  _requestAcked({ entry }) {
    if (entry.id !== this._request) return;
    clearTimeout(this._fadeTimer);
    this._fadeTimer = setTimeout(() => {
      this._now = Date.now();
    }, SENT_NOTICE_MS + 100);
  }

  willUpdate() {
    // After a reload the outbox still holds what was pressed: the line speaks of it until it is sent.
    if (!this._request && this.connection) this._request = waitingRequest(this.connection.outbox);
  }

  _setSound(on) {
    this._sound = on;
    this.connection?.setNote('sound', on);
    if (on) chime();
  }

  // ---- view ----------------------------------------------------------------------------

  render() {
    const t = this._t;
    const conn = this.connection;
    if (!conn) {
      return html`<section class="base" part="base">
        <p role="status" class="status" part="status">${t.connection.noToken}</p>
      </section>`;
    }
    const th = t.therapist;
    if (conn.status === 'refused') {
      return html`<section class="base" part="base">
        <h2>${th.title}</h2>
        <p role="status" class="status" part="status">${this._statusText(t)}</p>
      </section>`;
    }
    const events = conn.events;
    const acks = ackStates(conn, this._rejected);
    const view = panelView(events, { dismissed: conn.note('dismissedCues') || [], acks });
    const states = clientStates(conn.welcome, events);
    // Before the welcome (a reload that cannot connect) "Client", never an id: names come with it.
    const names = panelNames(conn.welcome, events, th.placeholderName);
    // After the end nothing can be sent: rows are put away with "Got it", and no actions.
    const ended = conn.status === 'ended' || events.some((e) => e.type === 'session_ended');
    const ctx = {
      th,
      ended,
      // Set while the panel may not hold every event: then nothing it shows is "all clear".
      behind: ended || conn.current ? null : { since: conn.behindSince, offline: conn.status !== 'online' },
      names,
      clientIds: Object.keys(states),
      now: this._now,
      locations: view.locations,
      bySeq: view.index.bySeq,
      index: view.index,
      acks,
      // Whether this page has had its welcome: what waits goes out "when the connection is
      // back", or, before that, "once the panel connects".
      connectedBefore: !!conn.welcome,
      exerciseName: (ex) => this._exerciseName(ex),
      onAck: (row) => this._acknowledge(row),
      onDismiss: (row, afterEnd) => this._dismiss(row, afterEnd),
    };
    const summary = (this._view || (ended ? 'summary' : 'live')) === 'summary';
    return html`<section
      class="base ${summary ? 'view-summary' : ''}"
      part="base"
      aria-labelledby="comfort-therapist-title"
    >
      <header part="header">
        <h2 id="comfort-therapist-title">${th.title}</h2>
        <div class="switch" role="group" aria-label=${th.views} part="view-switch">
          <button aria-pressed=${String(!summary)} @click=${() => { this._view = 'live'; }}>${th.live}</button>
          <button aria-pressed=${String(summary)} @click=${() => { this._view = 'summary'; }}>${th.summary}</button>
        </div>
        <p class="headline">
          <span role="status" class="status" part="status">${this._statusText(t)}</span>
          ${ended ? nothing : html`<span class="clock" part="clock">${this._clockText(th, events)}</span>`}
        </p>
      </header>
      ${renderAttention(ctx, view.attention)}
      ${summary
        ? html`<comfort-summary
            exportparts="summary, summary-head, summary-status, summary-tools, summary-button, summary-timeline, summary-key, summary-clients, summary-client, summary-late, summary-cues, summary-counts"
            .token=${this.token}
            .server=${this.server}
            .log=${events}
            .head=${conn.lastSeq}
            .names=${conn.welcome ? names : idMap() /* the service's summary names them, or by id */}
          ></comfort-summary>`
        : html`<div class="layout">
            <div class="col">${renderClients(ctx, states, events)} ${ended ? nothing : this._renderActions(th, names)}</div>
            <div class="col">${renderFeed(ctx, view.feed.slice(0, FEED_LIMIT))}</div>
          </div>`}
      <footer>
        <p class="note">${th.privacyNote}</p>
        <label class="sound">
          <input type="checkbox" .checked=${this._sound} @change=${(e) => this._setSound(e.target.checked)} />
          ${th.sound}
        </label>
      </footer>
    </section>`;
  }

  _statusText(t) {
    const conn = this.connection;
    const dot = html`<span class="dot ${conn.status === 'online' ? 'online' : ''}" aria-hidden="true"></span>`;
    if (conn.status === 'refused') {
      return html`${dot}${t.connection.refused[conn.error?.code] || t.connection.refused.default}`;
    }
    // A panel that never had its welcome is connecting, not reconnecting: it was never there.
    const status = conn.status === 'offline' && !conn.welcome ? 'connecting' : conn.status;
    return html`${dot}${t.connection[status] || t.connection.connecting}`;
  }

  _clockText(th, events) {
    const session = this.connection.welcome?.session;
    if (!session) return '';
    const started = session.started_at || events.find((e) => e.type === 'session_started')?.at;
    const ended = session.ended_at || events.find((e) => e.type === 'session_ended')?.at;
    const clock = sessionClock(session, started, ended, this._now);
    if (clock.state === 'ended') return th.clockEnded;
    if (clock.state === 'waiting') return th.clockNotStarted(clock.planned);
    if (clock.state === 'over') return th.clockOver(clock.elapsed, clock.over);
    return th.clockRunning(clock.elapsed, clock.left);
  }

  _exerciseName(exercise) {
    return stringsForElement(this).client.exercises[exercise] || exercise;
  }

  /** A button that opens one of the action menus; before the first welcome it says why it waits. */
  _menuToggle(which, label, ready) {
    return html`<button
      id="${which}-toggle"
      aria-expanded=${String(ready && this._open === which)}
      aria-controls="${which}-choices"
      aria-disabled=${ready ? nothing : 'true'}
      aria-describedby=${ready ? nothing : 'actions-wait'}
      @click=${() => this._toggle(which)}
    >
      ${label}
    </button>`;
  }

  _renderActions(th, names) {
    const ready = this._canRequest;
    const status = this._requestStatus();
    const notice = requestNoticeShown(status, Date.now()) ? requestText(th, status, ready) : '';
    const clientIds = Object.keys(names).filter((id) =>
      (this.connection.welcome?.session?.participants || []).some((p) => p.id === id && p.role === 'client'),
    );
    const who = html`<label class="who"
      >${th.who}
      <select @change=${(e) => { this._target = e.target.value; }}>
        <option value="" ?selected=${this._target === ''}>${th.everyone}</option>
        ${clientIds.map((id) => html`<option value=${id} ?selected=${this._target === id}>${names[id]}</option>`)}
      </select></label
    >`;
    return html`<section class="card actions" part="actions" aria-labelledby="actions-h">
      <h3 id="actions-h">${th.actionsHeading}</h3>
      <div class="row">
        ${this._menuToggle('checkin', th.checkIn, ready)} ${this._menuToggle('grounding', th.suggestGrounding, ready)}
      </div>
      ${ready ? nothing : html`<p id="actions-wait" class="small muted">${th.actionsWait}</p>`}
      ${ready && this._open === 'checkin'
        ? html`<div class="choices" id="checkin-choices">
            ${who}
            <div class="row">
              <button class="primary" @click=${() => this._checkIn('suds')}>${th.checkInSuds}</button>
              <button class="primary" @click=${() => this._checkIn('zone')}>${th.checkInZone}</button>
            </div>
          </div>`
        : nothing}
      ${ready && this._open === 'grounding'
        ? html`<div class="choices" id="grounding-choices">
            ${who}
            <div class="row">
              ${EXERCISES.map(
                (ex) => html`<button class="primary" @click=${() => this._suggest(ex)}>${this._exerciseName(ex)}</button>`,
              )}
            </div>
          </div>`
        : nothing}
      <p role="status" class="small muted request" data-state=${notice ? status.state : nothing}>${notice}</p>
    </section>`;
  }
}

/** A soft two-note chime, generated (no audio file, nothing fetched). */
function chime() {
  try {
    const Ctx = globalThis.AudioContext || globalThis.webkitAudioContext;
    if (!Ctx) return;
    const ctx = (chime.ctx ||= new Ctx());
    const start = ctx.currentTime;
    [523.25, 659.25].forEach((freq, i) => {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = 'sine';
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0, start + i * 0.18);
      gain.gain.linearRampToValueAtTime(0.08, start + i * 0.18 + 0.03);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + i * 0.18 + 0.6);
      osc.connect(gain).connect(ctx.destination);
      osc.start(start + i * 0.18);
      osc.stop(start + i * 0.18 + 0.65);
    });
  } catch {
    /* sound is optional */
  }
}

customElements.define('comfort-therapist', ComfortTherapist);
