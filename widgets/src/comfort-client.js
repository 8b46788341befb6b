/**
 * <comfort-client>: the client's widget (contract §7, §9.2, §9.4). Pause and Help now, always in
 * view; Keep going, Slow down, Grounding and a window-of-tolerance choice; answers check-ins;
 * the location question and the session's resources; a short undo; "Your therapist saw this".
 * Every press and answer says where it stands — kept on this device, sent, seen — and never
 * more than is true. Calm by design: no red, no countdowns, nothing that vanishes without a word.
 *
 * Attributes: token, server (default: this module's origin), lang.
 * Property: platformAdapter — optional {setLocalVideo(on), isLocalVideoOn?()} or a privacy
 * controller {pause(), resume()}; a pause turns the camera off through it, "Ready to go on"
 * turns it back on only if the pause did, and the offline notice offers it as a button.
 * Events: comfort:signal (a press), comfort:event (a new log event), comfort:error (it cannot
 * work: contract §9.7); all bubble and compose. Keyboard: Alt+Shift+P pauses (docs/widgets.md).
 *
 * This module is the element: its state, the actions and focus, and the screen put together.
 * The parts of the screen are in client/ (tiles, feedback and offline notice, check-in,
 * grounding, help and safety plan, closing and refusal); where a press stands is read in
 * client/press-state.js, and what a pause does to the video in client/privacy.js.
 */
import { LitElement, html, nothing } from 'lit';
import { tokenClaims } from './connection.js';
import { ConnectionController } from './connection-controller.js';
import { langOf, locales, stringsFor } from './locales/index.js';
import { tokens } from './styles.js';
import { clientStyles } from './client-styles.js';
import { indexLog } from './state.js';
import { locationText, safetyPlan } from './client-state.js';
import { currentCheckin, renderCheckin } from './client/checkin-view.js';
import { renderClosing, renderRefused } from './client/closing-view.js';
import { renderFeedback, renderOffline } from './client/feedback-view.js';
import { currentSuggestion, renderGrounding, renderSuggestion } from './client/grounding-view.js';
import { renderHelpTile, renderLocationQuestion, renderSupport } from './client/help-view.js';
import { isPauseShortcut, neverConnected, ownState } from './client/press-state.js';
import { hideVideo, restoreVideo } from './client/privacy.js';
import { renderChoices, renderPaused, renderPauseTile, renderResumeTile, renderZones } from './client/tiles.js';
import './comfort-grounding.js';

export class ComfortClient extends LitElement {
  static properties = {
    token: { type: String },
    server: { type: String },
    platformAdapter: { attribute: false },
    _tick: { state: true },
    _panel: { state: true },
    _exercise: { state: true },
    _choice: { state: true },
    _notice: { state: true },
    _reducedMotion: { state: true },
    _hidden: { state: true },
    _askLocation: { state: true },
  };

  static styles = [tokens, clientStyles];

  constructor() {
    super();
    this.token = '';
    this.server = '';
    this.platformAdapter = null;
    this._link = new ConnectionController(this, {
      on: {
        event: (e) => this._relay('comfort:event', e.detail),
        signal: (e) => this._relay('comfort:signal', e.detail),
        rejected: (e) => this._rejected(e.detail),
      },
    });
    this._tick = 0;
    this._panel = null; // null | "grounding"
    this._exercise = null;
    this._choice = null; // the answer being chosen in an open check-in
    this._notice = null; // {text, at}: a short message about the last action, e.g. "Undone."
    this._hidden = null; // what this widget hid through the platform adapter: null | 'video' | 'controller'
    this._askLocation = false; // the client asked to (re)share where they are
    this._shownCheckin = null; // seq of the check-in on screen (it stays until answered/dismissed)
    this._lastAction = null; // id of the client's latest press, answer or shared location
    this._lastHelp = null; // id of the latest help_now
    this._refusedSends = new Map(); // send id -> {entry, error}, for sends the service refused
    this._focusNext = null; // a selector to focus after the next render
    this._motionQuery = null;
    this._reducedMotion = false;
    this._onKey = (e) => this._shortcut(e);
  }

  /** The live ComfortConnection (read-only; null without a token). */
  get connection() {
    return this._link.connection;
  }

  connectedCallback() {
    super.connectedCallback();
    if (typeof matchMedia === 'function') {
      this._motionQuery = matchMedia('(prefers-reduced-motion: reduce)');
      this._reducedMotion = this._motionQuery.matches;
      this._onMotion = () => {
        this._reducedMotion = this._motionQuery.matches;
      };
      this._motionQuery.addEventListener('change', this._onMotion);
    }
    // The undo window, the offline notice and "sent" feedback depend on time passing.
    this._clock = setInterval(() => {
      this._tick += 1;
    }, 1000);
    globalThis.addEventListener?.('keydown', this._onKey);
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    clearInterval(this._clock);
    this._motionQuery?.removeEventListener('change', this._onMotion);
    globalThis.removeEventListener?.('keydown', this._onKey);
  }

  willUpdate() {
    this._focusedBefore = this.shadowRoot?.activeElement ?? null;
  }

  /**
   * Focus never drops to <body>: an action that replaces the focused control says where focus
   * goes (`_focusNext`); if a render removed the focused control anyway (a check-in closed by
   * the service, the session ending), focus moves to this screen's fallback.
   */
  updated() {
    const next = this._focusNext;
    this._focusNext = null;
    if (next) {
      this.renderRoot.querySelector(next)?.focus();
      return;
    }
    const before = this._focusedBefore;
    if (before && !before.isConnected) this.renderRoot.querySelector('[data-focus-fallback]')?.focus();
  }

  _relay(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }

  _rejected({ entry, error }) {
    this._refusedSends.set(entry.id, { entry, error });
    if (entry.type === 'retract' && error.code === 'forbidden') this._say(this._t.client.tooLateToUndo);
    this.requestUpdate();
  }

  /** Shows a short message in the feedback line for a few seconds. */
  _say(text) {
    this._notice = { text, at: Date.now() };
  }

  get _t() {
    return stringsFor(this._lang);
  }

  /** The language tag in use: a supported one, else English (so dates match the words). */
  get _lang() {
    const tag = langOf(this);
    return locales[String(tag).toLowerCase().split('-')[0]] ? tag : 'en';
  }

  _time(ms) {
    try {
      return new Intl.DateTimeFormat(this._lang, { hour: 'numeric', minute: '2-digit' }).format(new Date(ms));
    } catch {
      return new Date(ms).toISOString().slice(11, 16);
    }
  }

  get _me() {
    // Before the first welcome (offline since the page loaded) the token says who we are.
    return this.connection?.welcome?.participant?.id ?? tokenClaims(this.token)?.sub ?? null;
  }

  /** Sends only while the session can take it; an ended or refused widget sends nothing. */
  get _canSend() {
    const status = this.connection?.status;
    return !!this.connection && status !== 'ended' && status !== 'refused';
  }

  /**
   * The session's safety plan: from the welcome, else as last seen in this tab (so a reload
   * after the end still shows the resources). Kept without a re-render: this runs in render.
   */
  get _safety() {
    const conn = this.connection;
    const plan = safetyPlan(conn?.welcome);
    const notes = conn.memory.data.notes;
    if (plan && JSON.stringify(notes.safety) !== JSON.stringify(plan)) {
      notes.safety = plan;
      conn.memory.save();
    }
    return plan || notes.safety || { askLocation: false, resources: [] };
  }

  // ---- actions -------------------------------------------------------------------------

  _send(type, data = {}) {
    if (!this._canSend) return null;
    this._notice = null;
    return this.connection.send(type, data);
  }

  _press(type, data = {}) {
    const entry = this._send(type, data);
    if (!entry) return;
    this._lastAction = entry.id;
    if (type === 'pause') this._cameraOff();
    if (type === 'resume') this._cameraRestore();
    // Pause and "Ready to go on" replace each other: keep keyboard focus on the one now shown.
    if (type === 'pause') this._focusNext = '[part~="resume"]';
    if (type === 'resume') this._focusNext = '[part~="pause"]';
  }

  _shortcut(e) {
    if (!isPauseShortcut(e) || e.defaultPrevented || !this._canSend) return;
    e.preventDefault();
    const mine = ownState(this.connection, this._me);
    if (mine.paused) this.renderRoot.querySelector('[part~="resume"]')?.focus();
    else this._press('pause');
  }

  _helpNow() {
    const entry = this._send('help_now');
    if (!entry) return;
    this._lastHelp = entry.id;
    // The resources at once, with the state of the request above them.
    this._focusNext = '#support-title';
    this.updateComplete.then(() => this.renderRoot.querySelector('#support')?.scrollIntoView?.({ block: 'nearest' }));
  }

  /**
   * Pause hides the client's own video through the host's adapter. Two shapes are accepted
   * (integrations/sdk-contract.js): a privacy controller with pause()/resume(), or a platform
   * adapter with setLocalVideo(on) resolving to a Result {ok}. Only what this widget changed
   * is undone.
   */
  async _cameraOff() {
    if (!this.platformAdapter || this._hidden) return;
    const hidden = await hideVideo(this.platformAdapter);
    if (hidden) this._hidden = hidden;
  }

  async _cameraRestore() {
    const hidden = this._hidden;
    this._hidden = null;
    await restoreVideo(this.platformAdapter, hidden);
  }

  _undo(status) {
    if (!this.connection) return;
    const outcome = this.connection.retract(status.id);
    const t = this._t.client;
    if (outcome === 'cancelled') this._say(t.undone);
    else if (outcome === 'retracting') this._say(t.retracted);
    if (status.type === 'pause') this._cameraRestore();
    this._focusNext = '#feedback';
  }

  /** Grounding is a disclosure: its tile says whether the exercises are shown (aria-expanded). */
  _toggleGrounding() {
    this._panel = this._panel === 'grounding' ? null : 'grounding';
    if (!this._panel) {
      this._exercise = null;
      this._focusNext = '[part~="grounding-button"]';
    }
  }

  _startExercise(exercise, suggestionSeq) {
    if (suggestionSeq != null) this._dismissSuggestion(suggestionSeq);
    this._panel = 'grounding';
    this._exercise = exercise;
    this._send('grounding_started', { exercise });
    this._focusNext = '#grounding-title';
  }

  _finishExercise(e) {
    const { exercise, completed, duration_s } = e.detail;
    this._send('grounding_finished', { exercise, completed, duration_s });
    if (!completed) {
      this._exercise = null;
      this._focusNext = '#grounding-title';
    }
  }

  _closeExercise() {
    this._exercise = null;
    this._focusNext = '#grounding-title';
  }

  _dismissSuggestion(seq) {
    const seen = this.connection.note('suggestionsHandled') || [];
    this.connection.setNote('suggestionsHandled', [...seen, seq]);
    this._focusNext ??= '#feedback';
  }

  _answer(checkin) {
    if (this._choice == null) {
      this._say(this._t.client.chooseFirst);
      return;
    }
    const value = checkin.data.instrument === 'suds' ? Number(this._choice) : this._choice;
    const entry = this._send('checkin_response', { checkin_seq: checkin.seq, value });
    if (entry) this._lastAction = entry.id;
    this._finishCheckin(checkin.seq);
  }

  _finishCheckin(seq) {
    const done = this.connection.note('checkinsHandled') || [];
    this.connection.setNote('checkinsHandled', [...done, seq]);
    this._shownCheckin = null;
    this._choice = null;
    this._focusNext = '#feedback';
  }

  _shareLocation(form) {
    const text = locationText(form.querySelector('input')?.value);
    if (!text) {
      this._say(this._t.client.locationEmpty);
      return;
    }
    const entry = this._send('location_shared', { text });
    if (!entry) return;
    this._lastAction = entry.id;
    this._closeLocation();
  }

  /** Closes the location question: after Share, focus goes to what the feedback line says;
   * after Skip (nothing to say), to the button that asks again, which takes the form's place. */
  _closeLocation({ skipped = false } = {}) {
    this.connection.setNote('locationAsked', true);
    this._askLocation = false;
    this._focusNext = skipped ? '#location-again' : '#feedback';
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
    if (conn.status === 'refused') return renderRefused(this, t);
    const index = indexLog(conn.events);
    const mine = ownState(conn, this._me);
    if (conn.status === 'ended') return renderClosing(this, t, mine);
    const paused = !!mine.paused;
    const checkin = currentCheckin(this, mine, index);
    const suggestion = currentSuggestion(this, conn.events);
    const zoneAsked = checkin && !checkin.closed && checkin.data.instrument === 'zone';
    return html`<section class="base" part="base" aria-labelledby="comfort-title">
      <header>
        <h2 id="comfort-title">${t.client.title}</h2>
        <p role="status" class="status" part="status">${this._statusText(t)}</p>
      </header>
      <div class="bar" part="bar">
        ${paused ? renderResumeTile(this, t) : renderPauseTile(this, t)} ${renderHelpTile(this, t)}
      </div>
      ${renderOffline(this, t)} ${paused ? renderPaused(t) : nothing}
      <div class="feedback" part="feedback">${renderFeedback(this, t, index)}</div>
      ${renderLocationQuestion(this, t)} ${checkin ? renderCheckin(this, t, checkin) : nothing}
      ${suggestion && !this._exercise ? renderSuggestion(this, t, suggestion) : nothing}
      ${renderChoices(this, t)} ${this._panel === 'grounding' ? renderGrounding(this, t, { live: true }) : nothing}
      ${zoneAsked ? nothing : renderZones(this, t, mine)} ${renderSupport(this, t, index, { live: true })}
      <p class="muted small">${t.client.intro}</p>
      <p class="muted small" id="shortcut-hint">${t.client.shortcut}</p>
    </section>`;
  }

  _statusText(t) {
    const conn = this.connection;
    const dot = html`<span class="dot ${conn.status === 'online' ? 'online' : ''}" aria-hidden="true"></span>`;
    // A page that never had its welcome is connecting, not reconnecting: nothing dropped.
    if (neverConnected(conn)) return html`${dot}${t.client.connecting}`;
    if (conn.status === 'offline') return html`${dot}${t.client.reconnecting}`;
    return html`${dot}${t.connection[conn.status] || t.connection.connecting}`;
  }
}

customElements.define('comfort-client', ComfortClient);
