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
 */
import { LitElement, html, nothing } from 'lit';
import { tokenClaims } from './connection.js';
import { ConnectionController } from './connection-controller.js';
import { langOf, locales, stringsFor } from './locales/index.js';
import { tokens } from './styles.js';
import { clientStyles } from './client-styles.js';
import { EXERCISES, ZONES, clientStates, indexLog, lastPress } from './state.js';
import { actionStatus, canUndo, locationText, safetyPlan, sentLate, sharedLocation } from './client-state.js';
import './comfort-grounding.js';

/** How long a therapist's grounding suggestion counts as fresh; after that it says "earlier". */
const SUGGESTION_FRESH_MS = 10 * 60_000;
/** A short drop (a reload, a network blip) does not need a notice. */
const OFFLINE_NOTICE_AFTER_MS = 3_000;

/** The keyboard shortcut for Pause: Alt+Shift+P (Option+Shift+P), checked against the video
 * platforms' own lists in docs/widgets.md. `code` is the physical key, so layouts agree. */
function isPauseShortcut(e) {
  return e.altKey && e.shiftKey && !e.ctrlKey && !e.metaKey && e.code === 'KeyP';
}

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
    const mine = this._mine();
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
    const adapter = this.platformAdapter;
    if (!adapter || this._hidden) return;
    try {
      if (typeof adapter.pause === 'function' && typeof adapter.resume === 'function') {
        await adapter.pause();
        this._hidden = 'controller';
        return;
      }
      if (!hasCamera(adapter)) return;
      // A camera that is already off stays as it is, and resume leaves it off.
      if (typeof adapter.isLocalVideoOn === 'function' && (await adapter.isLocalVideoOn()) === false) return;
      const result = await adapter.setLocalVideo(false);
      if (result === true || (result && result.ok)) this._hidden = 'video';
    } catch {
      /* adapters should not throw; if one does, the pause signal has still been sent */
    }
  }

  async _cameraRestore() {
    const adapter = this.platformAdapter;
    const hidden = this._hidden;
    this._hidden = null;
    if (!adapter || !hidden) return;
    try {
      if (hidden === 'controller') await adapter.resume();
      else await adapter.setLocalVideo(true);
    } catch {
      /* the client can turn the camera on in the platform itself */
    }
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
      this._focusNext = '[part~="grounding"]';
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

  // ---- what the view is made of ------------------------------------------------------------

  _mine() {
    const conn = this.connection;
    const me = this._me;
    return optimistic((me && clientStates(conn.welcome, conn.events)[me]) || {}, conn.pendingPresses());
  }

  _status(id, index) {
    const conn = this.connection;
    return actionStatus(id, {
      outbox: conn.outbox,
      acked: conn.memory.data.acked,
      events: conn.events,
      index,
      online: conn.status === 'online',
      rejected: this._refusedSends,
    });
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
    if (conn.status === 'refused') return this._renderRefused(t);
    const index = indexLog(conn.events);
    const mine = this._mine();
    if (conn.status === 'ended') return this._renderClosing(t, mine);
    const paused = !!mine.paused;
    const checkin = this._currentCheckin(mine, index);
    const suggestion = this._currentSuggestion(conn.events);
    const zoneAsked = checkin && !checkin.closed && checkin.data.instrument === 'zone';
    return html`<section class="base" part="base" aria-labelledby="comfort-title">
      <header>
        <h2 id="comfort-title">${t.client.title}</h2>
        <p role="status" class="status" part="status">${this._statusText(t)}</p>
      </header>
      <div class="bar" part="bar">
        ${paused ? this._renderResumeTile(t) : this._renderPauseTile(t)} ${this._renderHelpTile(t)}
      </div>
      ${this._renderOffline(t)} ${paused ? this._renderPaused(t) : nothing}
      <div class="feedback" part="feedback">${this._renderFeedback(t, index)}</div>
      ${this._renderLocationQuestion(t)} ${checkin ? this._renderCheckin(t, checkin) : nothing}
      ${suggestion && !this._exercise ? this._renderSuggestion(t, suggestion) : nothing}
      ${this._renderChoices(t)} ${this._panel === 'grounding' ? this._renderGrounding(t, { live: true }) : nothing}
      ${zoneAsked ? nothing : this._renderZones(t, mine)} ${this._renderSupport(t, index, { live: true })}
      <p class="muted small">${t.client.intro}</p>
      <p class="muted small" id="shortcut-hint">${t.client.shortcut}</p>
    </section>`;
  }

  _statusText(t) {
    const conn = this.connection;
    const dot = html`<span class="dot ${conn.status === 'online' ? 'online' : ''}" aria-hidden="true"></span>`;
    if (conn.status === 'offline') return html`${dot}${t.client.reconnecting}`;
    return html`${dot}${t.connection[conn.status] || t.connection.connecting}`;
  }

  _renderPauseTile(t) {
    // The hint sits beside the button, not inside it, so the accessible name is exactly "Pause";
    // the button's ::after stretches over the whole tile, so the tile is one big target.
    return html`<div class="tile pause" part="pause-tile">
      <button
        part="button pause"
        aria-describedby="pause-hint"
        aria-keyshortcuts="Alt+Shift+P"
        @click=${() => this._press('pause')}
      >
        ${t.client.pause}
      </button>
      <span class="hint" id="pause-hint">${t.client.pauseHint}</span>
    </div>`;
  }

  _renderResumeTile(t) {
    return html`<div class="tile resume" part="pause-tile">
      <button part="button resume" @click=${() => this._press('resume')}>${t.client.resume}</button>
    </div>`;
  }

  _renderHelpTile(t) {
    return html`<div class="tile help" part="help-tile">
      <button part="button help" aria-describedby="help-hint" aria-controls="support" @click=${() => this._helpNow()}>
        ${t.client.helpNow}
      </button>
      <span class="hint" id="help-hint">${t.client.helpHint}</span>
    </div>`;
  }

  _renderPaused(t) {
    return html`<div class="card paused" part="paused">
      <p><strong>${t.client.pausedTitle}</strong></p>
      <p>${t.client.pausedBody}</p>
    </div>`;
  }

  /** While the connection is down: what is kept, and what to do meanwhile (issue 14). */
  _renderOffline(t) {
    const conn = this.connection;
    if (conn.status !== 'offline') return nothing;
    const long = conn.offlineSince != null && Date.now() - conn.offlineSince >= OFFLINE_NOTICE_AFTER_MS;
    if (!long && !conn.outbox.length) return nothing;
    const c = t.client;
    return html`<div class="card notice" part="offline">
      <p><strong>${c.offlineTitle}</strong></p>
      <p>${c.offlineBody}</p>
      <p>${c.whatToDo}</p>
      ${this._renderCameraControl(t)}
    </div>`;
  }

  _renderCameraControl(t) {
    const adapter = this.platformAdapter;
    const controller = adapter && typeof adapter.pause === 'function' && typeof adapter.resume === 'function';
    if (!adapter || (!controller && !hasCamera(adapter))) return nothing;
    const c = t.client;
    return this._hidden
      ? html`<p>${c.cameraIsOff}</p>
          <div class="row">
            <button part="button camera" @click=${() => this._cameraRestore()}>${c.cameraOn}</button>
          </div>`
      : html`<div class="row">
          <button part="button camera" @click=${() => this._cameraOff()}>${c.cameraOff}</button>
        </div>`;
  }

  /** One live region that stays in the DOM, so screen readers hear each change politely. */
  _renderFeedback(t, index) {
    const c = t.client;
    const notice = this._notice && Date.now() - this._notice.at < 8000 ? this._notice.text : null;
    const status = notice ? null : this._feedbackStatus(index);
    const text = notice ?? (status ? this._describe(c, status) : '');
    const undo = status && status.type !== 'checkin_response' && status.type !== 'location_shared' && canUndo(status, Date.now());
    return html`<p role="status" id="feedback" tabindex="-1" data-focus-fallback>${text}</p>
      ${undo ? html`<button class="quiet" part="undo" @click=${() => this._undo(status)}>${c.undo}</button>` : nothing}`;
  }

  /** The client's latest action this page knows of; after a reload, its latest press in the log. */
  _feedbackStatus(index) {
    const status = this._status(this._lastAction, index);
    if (status) return status;
    const conn = this.connection;
    const notHelp = (e) => e.type !== 'help_now';
    const press = lastPress(conn.events.filter(notHelp), conn.outbox.filter(notHelp), this._me, index);
    return press ? this._status(press.id, index) : null;
  }

  _describe(c, status) {
    if (status.type === 'checkin_response') return this._describeAnswer(c, status);
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
        return `${what} ${c.keptSince(this._time(status.pressedAt))} ${c.queued}`;
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
          ? `${what} ${c.sentLate(this._time(status.storedAt), this._time(status.pressedAt))}`
          : `${what} ${c.sent}`;
    }
  }

  _describeAnswer(c, status) {
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

  _renderChoices(t) {
    const c = t.client;
    const open = this._panel === 'grounding';
    return html`<div class="tiles">
      ${tile('keep_going', c.keepGoing, c.keepGoingHint, () => this._press('keep_going'))}
      ${tile('slow_down', c.slowDown, c.slowDownHint, () => this._press('slow_down'))}
      ${tile('grounding', c.grounding, c.groundingHint, () => this._toggleGrounding(), {
        expanded: open,
        controls: 'grounding-panel',
      })}
    </div>`;
  }

  _renderZones(t, mine) {
    const c = t.client;
    // The hints are visible, so "Shut down" reads as a feeling, not as ending the session.
    return html`<fieldset part="zone">
      <legend>${c.zoneLegend}</legend>
      <div class="zones">
        ${ZONES.map((zone) =>
          tile(`zone-${zone}`, c.zones[zone], c.zoneHints[zone], () => this._press('zone', { zone }), {
            pressed: mine?.zone === zone,
            className: 'zone',
          }),
        )}
      </div>
    </fieldset>`;
  }

  _currentCheckin(mine, index) {
    const conn = this.connection;
    const handled = new Set(conn.note('checkinsHandled') || []);
    const shown = this._shownCheckin;
    if (shown != null && !handled.has(shown) && index.bySeq.has(shown)) {
      return { ...index.bySeq.get(shown), closed: !(mine?.open_checkins || []).includes(shown) };
    }
    const open = (mine?.open_checkins || []).filter((seq) => !handled.has(seq) && index.bySeq.has(seq));
    if (!open.length) return null;
    this._shownCheckin = open[0];
    return { ...index.bySeq.get(open[0]), closed: false };
  }

  _renderCheckin(t, checkin) {
    const c = t.client;
    const suds = checkin.data.instrument === 'suds';
    const close = () => this._finishCheckin(checkin.seq);
    if (checkin.closed) {
      return html`<div class="card checkin" part="checkin">
        <p>${c.checkinClosed}</p>
        <div class="row"><button @click=${close}>${c.close}</button></div>
      </div>`;
    }
    return html`<form
      class="card checkin"
      part="checkin"
      aria-labelledby="checkin-title"
      @submit=${(e) => {
        e.preventDefault();
        this._answer(checkin);
      }}
    >
      <h3 id="checkin-title">${c.checkinTitle}</h3>
      ${suds ? this._renderSuds(c) : this._renderZoneAnswer(c)}
      <div class="row">
        <button class="primary" type="submit">${c.send}</button>
        <button type="button" class="quiet" @click=${close}>${c.notNow}</button>
      </div>
    </form>`;
  }

  _renderSuds(c) {
    const values = Array.from({ length: 11 }, (_, i) => i);
    return html`<fieldset role="radiogroup" aria-describedby="suds-anchors">
      <legend>${c.sudsLegend}</legend>
      <div class="scale">
        ${values.map(
          (v) => html`<label
            >${v}<input
              type="radio"
              name="suds"
              .value=${String(v)}
              .checked=${this._choice === String(v)}
              aria-describedby=${v in c.sudsAnchors ? `anchor-${v}` : nothing}
              @change=${() => {
                this._choice = String(v);
              }}
          /></label>`,
        )}
      </div>
      <div class="anchors" id="suds-anchors">
        <span id="anchor-0">0 — ${c.sudsAnchors[0]}</span>
        <span id="anchor-5">5 — ${c.sudsAnchors[5]}</span>
        <span id="anchor-10">10 — ${c.sudsAnchors[10]}</span>
      </div>
    </fieldset>`;
  }

  _renderZoneAnswer(c) {
    return html`<fieldset role="radiogroup">
      <legend>${c.zoneQuestion}</legend>
      <div class="zone-answers">
        ${ZONES.map(
          (zone) => html`<label
            ><input
              type="radio"
              name="zone"
              aria-label=${c.zones[zone]}
              .value=${zone}
              .checked=${this._choice === zone}
              aria-describedby="zone-answer-hint-${zone}"
              @change=${() => {
                this._choice = zone;
              }}
            />${c.zones[zone]}
            <span class="hint" id="zone-answer-hint-${zone}">— ${c.zoneHints[zone]}</span></label
          >`,
        )}
      </div>
    </fieldset>`;
  }

  _currentSuggestion(events) {
    const me = this._me;
    const handled = new Set(this.connection.note('suggestionsHandled') || []);
    let lastOwnGrounding = 0;
    let suggestion = null;
    for (const e of events) {
      if (e.actor?.id === me && e.type === 'grounding_started') lastOwnGrounding = e.seq;
      if (e.type === 'suggest_grounding') suggestion = e;
    }
    if (!suggestion || handled.has(suggestion.seq) || suggestion.seq < lastOwnGrounding) return null;
    return suggestion;
  }

  _renderSuggestion(t, suggestion) {
    const c = t.client;
    const exercise = suggestion.data.exercise;
    const name = c.exercises[exercise] || exercise;
    // An old suggestion is not dropped silently: it says it is from earlier, and when.
    const at = Date.parse(suggestion.at);
    const text = Date.now() - at > SUGGESTION_FRESH_MS ? c.suggestionEarlier(name, this._time(at)) : c.suggestion(name);
    return html`<div class="card checkin" part="suggestion" role="group" aria-labelledby="suggestion-text">
      <p id="suggestion-text">${text}</p>
      <div class="row">
        <button class="primary" @click=${() => this._startExercise(exercise, suggestion.seq)}>${c.startExercise}</button>
        <button class="quiet" @click=${() => this._dismissSuggestion(suggestion.seq)}>${c.notNow}</button>
      </div>
    </div>`;
  }

  /** The exercises; in a live session they are logged, after the end they just run here. */
  _renderGrounding(t, { live }) {
    const c = t.client;
    const title = this._exercise ? c.exercises[this._exercise] : c.groundingTitle;
    return html`<section class="card panel" part="grounding-panel" id="grounding-panel" aria-labelledby="grounding-title">
      <div class="panel-head">
        <h3 id="grounding-title" tabindex="-1">${title}</h3>
        ${live && !this._exercise
          ? html`<button class="quiet" @click=${() => this._toggleGrounding()}>${c.hideExercises}</button>`
          : nothing}
      </div>
      ${this._exercise
        ? html`<comfort-grounding
            exportparts="breath-circle, grounding"
            .exercise=${this._exercise}
            .strings=${c}
            ?reduced-motion=${this._reducedMotion}
            @grounding-finish=${this._finishExercise}
            @grounding-close=${this._closeExercise}
          ></comfort-grounding>`
        : html`<p class="muted small">${c.groundingIntro}</p>
            <div class="exercises">
              ${EXERCISES.map((ex) =>
                tile(`exercise-${ex}`, c.exercises[ex], c.exerciseHints[ex], () => this._startExercise(ex), {
                  className: 'exercise',
                  part: 'tile',
                }),
              )}
            </div>`}
    </section>`;
  }

  /** The location question shows at the session's start (ask_location) and when asked again. */
  get _locationAsked() {
    const conn = this.connection;
    if (!this._safety.askLocation) return false;
    return this._askLocation || !(conn.note('locationAsked') || sharedLocation(conn.events, this._me));
  }

  _renderLocationQuestion(t) {
    const c = t.client;
    if (!this._locationAsked) return nothing;
    return html`<form
      class="card location"
      part="location"
      @submit=${(e) => {
        e.preventDefault();
        this._shareLocation(e.currentTarget);
      }}
    >
      <label for="location-input">${c.locationQuestion}</label>
      <p class="muted small" id="location-why">${c.locationWhy}</p>
      <input id="location-input" type="text" maxlength="200" autocomplete="off" aria-describedby="location-why" />
      <div class="row">
        <button class="primary" type="submit">${c.share}</button>
        <button type="button" class="quiet" @click=${() => this._closeLocation({ skipped: true })}>${c.skip}</button>
      </div>
    </form>`;
  }

  /** Help and support: the state of a help request, the session's resources, the location. */
  _renderSupport(t, index, { live }) {
    const c = t.client;
    const safety = this._safety;
    const help = live ? this._status(this._lastHelp, index) : null;
    const shared = sharedLocation(this.connection.events, this._me);
    return html`<section class="card support" part="support" id="support" aria-labelledby="support-title">
      <h3 id="support-title" tabindex="-1">${c.supportTitle}</h3>
      <p role="status">${help ? this._describeHelp(c, help) : ''}</p>
      ${help && canUndo(help, Date.now())
        ? html`<div class="row">
            <button class="quiet" part="undo-help" @click=${() => this._undo(help)}>${c.takeBack}</button>
          </div>`
        : nothing}
      <p>${c.emergency}</p>
      ${safety.resources.length
        ? html`<p>${c.resourcesIntro}</p>
            <ul class="resources">
              ${safety.resources.map(
                (r, i) => html`<li>
                  <span class="label" id="resource-${i}">${r.label}</span>
                  <span class="links">
                    ${r.links.map((link) => {
                      const visible = link.kind === 'open' ? c.open : c[link.kind](link.text);
                      const external = link.kind === 'open';
                      return html`<a
                        href=${link.href}
                        aria-label=${c.linkName(visible, r.label)}
                        target=${external ? '_blank' : nothing}
                        rel=${external ? 'noopener noreferrer' : nothing}
                        >${visible}</a
                      >`;
                    })}
                  </span>
                </li>`,
              )}
            </ul>`
        : nothing}
      ${shared ? html`<p class="small">${c.youShared(shared.data?.text ?? '')}</p>` : nothing}
      ${live && safety.askLocation && !this._locationAsked
        ? html`<div class="row">
            <button
              class="quiet"
              id="location-again"
              @click=${() => {
                this._askLocation = true;
                this._focusNext = '#location-input';
              }}
            >
              ${c.locationAgain}
            </button>
          </div>`
        : nothing}
    </section>`;
  }

  _describeHelp(c, status) {
    switch (status.state) {
      case 'queued':
        return c.helpKept;
      case 'sending':
        return c.helpSending;
      case 'rejected':
        return c.helpNotSent;
      case 'retracted':
        return c.helpTakenBack;
      case 'seen':
        return c.helpSeen;
      default:
        return c.helpSent;
    }
  }

  /** The ended session: never a blank — a closing word, the exercises and the resources. */
  _renderClosing(t, mine) {
    const c = t.client;
    const unsent = [...this._refusedSends.values()].some(({ error }) => error.code === 'session_ended');
    return html`<section class="base" part="base" aria-labelledby="comfort-title">
      <header>
        <h2 id="comfort-title">${c.title}</h2>
        <p role="status" class="status" part="status">${t.connection.ended}</p>
      </header>
      <div class="card closing" part="closing">
        <h3 id="closing-title" tabindex="-1" data-focus-fallback>${c.closingTitle}</h3>
        ${mine.paused ? html`<p>${c.closingPaused}</p>` : nothing}
        <p>${c.closingBody}</p>
        ${unsent ? html`<p>${c.closingUnsent}</p>` : nothing}
      </div>
      ${this._renderGrounding(t, { live: false })} ${this._renderSupport(t, indexLog(this.connection.events), { live: false })}
    </section>`;
  }

  /**
   * A refused connection: what happened in the client's words, what to do; nothing to press.
   * The session's resources, if this tab saw them before (a link that expired mid-session).
   */
  _renderRefused(t) {
    const c = t.client;
    const code = this.connection.error?.code;
    const known = this._safety.resources.length > 0;
    return html`<section class="base" part="base" aria-labelledby="comfort-title">
      <header>
        <h2 id="comfort-title">${c.title}</h2>
      </header>
      <div class="card notice" part="refused">
        <p role="status" class="refusal" part="status" tabindex="-1" data-focus-fallback>
          ${c.refused[code] || c.refused.default}
        </p>
        <p>${c.whatToDo}</p>
        ${known ? nothing : html`<p>${c.emergency}</p>`} ${this._renderCameraControl(t)}
      </div>
      ${known ? this._renderSupport(t, indexLog(this.connection.events), { live: false }) : nothing}
    </section>`;
  }
}

/**
 * A tile: a button whose accessible name is exactly its label, with its hint beside it (not
 * inside, so names stay exact) and the whole tile as its target.
 */
function tile(type, label, hint, onClick, { expanded, controls, pressed, className = '', part = 'tile' } = {}) {
  return html`<div class="tile ${className}" part=${part}>
    <button
      part="button ${type}"
      aria-describedby="hint-${type}"
      aria-expanded=${expanded === undefined ? nothing : String(expanded)}
      aria-controls=${controls ?? nothing}
      aria-pressed=${pressed === undefined ? nothing : String(pressed)}
      @click=${onClick}
    >
      ${label}
    </button>
    <span class="hint" id="hint-${type}">${hint}</span>
  </div>`;
}

function hasCamera(adapter) {
  return typeof adapter.setLocalVideo === 'function' && adapter.capabilities?.video !== false;
}

/** The client's own state with its not-yet-logged presses applied, so the view answers at once. */
function optimistic(mine, pending) {
  if (!mine) return mine;
  const view = { ...mine };
  for (const press of pending) {
    if (press.type === 'pause') view.paused = true;
    else if (press.type === 'resume') view.paused = false;
    else if (press.type === 'zone') view.zone = press.data.zone;
  }
  return view;
}

customElements.define('comfort-client', ComfortClient);
