/**
 * <comfort-client>: the client's widget (contract §7). Pause, Keep going, Slow down,
 * Grounding and a window-of-tolerance choice; answers check-ins; offers a short undo; shows
 * "Your therapist saw this". Calm by design: no red, no countdowns, nothing that expires
 * without the client's say.
 *
 * Attributes: token, server (default: this module's origin), lang.
 * Property: platformAdapter — optional {setLocalVideo(on), isLocalVideoOn?()}; a pause turns
 * the camera off through it, and "Ready to go on" turns it back on only if the pause did.
 * Events: comfort:signal (a press), comfort:event (a new log event); both bubble and compose.
 */
import { LitElement, html, css, nothing } from 'lit';
import { tokenClaims } from './connection.js';
import { ConnectionController } from './connection-controller.js';
import { stringsForElement } from './locales/index.js';
import { tokens } from './styles.js';
import {
  EXERCISES,
  RETRACT_WINDOW_MS,
  ZONES,
  clientStates,
  indexLog,
  lastPress,
} from './state.js';
import './comfort-grounding.js';

/** How long a therapist's grounding suggestion is still offered after it was sent. */
const SUGGESTION_FRESH_MS = 10 * 60_000;

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
  };

  static styles = [
    tokens,
    css`
      .base {
        display: grid;
        gap: var(--_gap);
        padding: var(--_gap);
        background: var(--_bg);
        border-radius: var(--_radius);
        max-width: 560px;
        margin-inline: auto;
      }
      header {
        display: flex;
        justify-content: space-between;
        align-items: baseline;
        gap: 8px;
        flex-wrap: wrap;
      }
      h2 {
        font-size: 1.1em;
        font-weight: 650;
      }
      .status {
        font-size: 0.875em;
        color: var(--_muted);
      }
      .tile {
        position: relative;
        display: grid;
        align-content: center;
        justify-items: center;
        gap: 2px;
        min-height: 64px;
        padding: 8px;
        text-align: center;
        line-height: 1.2;
        background: var(--_surface);
        border: 1.5px solid var(--_border);
        border-radius: calc(var(--_radius) * 0.7);
        transition: background-color 120ms ease, border-color 120ms ease;
      }
      .tile button {
        min-height: 0;
        min-width: 0;
        padding: 0;
        border: 0;
        background: transparent;
        color: var(--_accent);
        font-weight: 650;
        position: static;
      }
      .tile button::after {
        content: '';
        position: absolute;
        inset: 0;
        border-radius: inherit;
        cursor: pointer;
      }
      .tile button:focus-visible {
        outline: none;
      }
      .tile:has(button:focus-visible) {
        outline: 3px solid var(--_focus);
        outline-offset: 2px;
      }
      .tile:hover {
        border-color: var(--_accent);
        background: var(--_accent-soft);
      }
      .tile .hint {
        font-size: 0.78em;
        color: var(--_muted);
      }
      .tile.pause {
        min-height: 76px;
        background: var(--_accent);
        border-color: var(--_accent);
        border-radius: var(--_radius);
      }
      .tile.pause:hover {
        filter: brightness(1.08);
      }
      .tile.pause button {
        color: var(--_accent-text);
        font-size: 1.35em;
      }
      .tile.pause .hint {
        color: var(--_accent-text);
        font-size: 0.85em;
      }
      .tiles {
        display: grid;
        grid-template-columns: repeat(3, minmax(0, 1fr));
        gap: 8px;
      }
      .zones {
        display: grid;
        grid-template-columns: repeat(3, minmax(0, 1fr));
        gap: 8px;
      }
      .zones button {
        padding: 6px 4px;
        font-size: 0.95em;
        line-height: 1.2;
      }
      .zones button[aria-pressed='true'] {
        background: var(--_calm-soft);
        border-color: var(--_calm);
        color: var(--_text);
      }
      .feedback {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        justify-content: space-between;
        gap: 8px;
        min-height: 44px;
      }
      /* Nothing to say yet: take no room (the live region itself stays in the DOM). */
      .feedback:has(> p:empty):not(:has(button)) {
        min-height: 0;
      }
      .seen {
        color: var(--_calm);
        font-weight: 600;
      }
      .paused {
        background: var(--_calm-soft);
        border-color: var(--_calm);
        display: grid;
        gap: 8px;
      }
      .checkin {
        border-color: var(--_accent);
        border-width: 2px;
        display: grid;
        gap: var(--_gap);
      }
      .scale {
        display: grid;
        grid-template-columns: repeat(11, minmax(0, 1fr));
        gap: 4px;
      }
      .scale label {
        display: grid;
        place-items: center;
        min-height: 44px;
        min-width: 24px;
        border: 1.5px solid var(--_border);
        border-radius: 10px;
        background: var(--_surface);
        font-weight: 600;
        cursor: pointer;
        position: relative;
      }
      .scale input,
      .zone-answers input {
        position: absolute;
        opacity: 0;
        inset: 0;
        width: 100%;
        height: 100%;
        margin: 0;
        cursor: pointer;
        z-index: 1;
      }
      .scale label:has(input:checked),
      .zone-answers label:has(input:checked) {
        background: var(--_accent);
        border-color: var(--_accent);
        color: var(--_accent-text);
      }
      .scale label:has(input:focus-visible),
      .zone-answers label:has(input:focus-visible) {
        outline: 3px solid var(--_focus);
        outline-offset: 2px;
      }
      .anchors {
        display: grid;
        grid-template-columns: 1fr 1fr 1fr;
        gap: 8px;
        font-size: 0.8em;
        color: var(--_muted);
        margin-top: 6px;
      }
      .anchors span:nth-child(2) {
        text-align: center;
      }
      .anchors span:nth-child(3) {
        text-align: end;
      }
      .zone-answers {
        display: grid;
        gap: 8px;
      }
      .zone-answers label {
        position: relative;
        display: block;
        padding: 10px 12px;
        min-height: 44px;
        border: 1.5px solid var(--_border);
        border-radius: 10px;
        background: var(--_surface);
        cursor: pointer;
      }
      .zone-answers .hint {
        font-size: 0.85em;
        opacity: 0.85;
      }
      .exercises {
        display: grid;
        gap: 8px;
        grid-template-columns: repeat(auto-fit, minmax(200px, 1fr));
      }
      .tile.exercise {
        justify-items: start;
        text-align: start;
        padding: 10px 14px;
      }
      .panel-head {
        display: flex;
        justify-content: space-between;
        align-items: center;
        gap: 8px;
      }
      h3 {
        font-size: 1em;
      }
      /* Narrow side panels: eleven 24 px targets still fit down to about 300 px. */
      @container (max-width: 300px) {
        .tiles,
        .zones {
          grid-template-columns: 1fr;
        }
        .scale {
          grid-template-columns: repeat(6, minmax(0, 1fr));
        }
      }
    `,
  ];

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
    this._hidden = null; // what pause hid through the platform adapter: null | 'video' | 'controller'
    this._shownCheckin = null; // seq of the check-in on screen (it stays until answered/dismissed)
    this._motionQuery = null;
    this._reducedMotion = false;
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
    // The undo window and "sent" feedback depend on time passing.
    this._clock = setInterval(() => {
      this._tick += 1;
    }, 1000);
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    clearInterval(this._clock);
    this._motionQuery?.removeEventListener('change', this._onMotion);
  }

  _relay(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }

  _rejected({ entry, error }) {
    const t = this._t;
    if (entry.type === 'retract' && error.code === 'forbidden') this._say(t.client.tooLateToUndo);
    else if (entry.type !== 'checkin_response' || error.code !== 'not_found') this._say(t.client.notSent);
  }

  /** Shows a short message in the feedback line for a few seconds. */
  _say(text) {
    this._notice = { text, at: Date.now() };
  }

  get _t() {
    return stringsForElement(this);
  }

  get _me() {
    // Before the first welcome (offline since the page loaded) the token says who we are.
    return this.connection?.welcome?.participant?.id ?? tokenClaims(this.token)?.sub ?? null;
  }

  // ---- actions -------------------------------------------------------------------------

  _press(type, data = {}) {
    if (!this.connection) return;
    this._notice = null;
    this.connection.send(type, data);
    if (type === 'pause') this._cameraOff();
    if (type === 'resume') this._cameraRestore();
    // Pause and "Ready to go on" replace each other: keep keyboard focus on the one now shown.
    if (type === 'pause' || type === 'resume') {
      const next = type === 'pause' ? 'resume' : 'pause';
      this.updateComplete.then(() => this.renderRoot.querySelector(`[part~="${next}"]`)?.focus());
    }
  }

  /**
   * Pause hides the client's own video through the host's adapter. Two shapes are accepted
   * (integrations/sdk-contract.js): a privacy controller with pause()/resume(), or a platform
   * adapter with setLocalVideo(on) resolving to a Result {ok}. Only what pause changed is undone.
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
      if (typeof adapter.setLocalVideo !== 'function' || adapter.capabilities?.video === false) return;
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

  _undo(press) {
    if (!this.connection) return;
    const outcome = this.connection.retract(press.id);
    const t = this._t.client;
    if (outcome === 'cancelled') this._say(t.undone);
    else if (outcome === 'retracting') this._say(t.retracted);
    if (press.type === 'pause') this._cameraRestore();
  }

  _startExercise(exercise, suggestionSeq) {
    if (suggestionSeq != null) this._dismissSuggestion(suggestionSeq);
    this._panel = 'grounding';
    this._exercise = exercise;
    this._press('grounding_started', { exercise });
  }

  _finishExercise(e) {
    const { exercise, completed, duration_s } = e.detail;
    this._press('grounding_finished', { exercise, completed, duration_s });
    if (!completed) this._exercise = null;
  }

  _dismissSuggestion(seq) {
    const seen = this.connection.note('suggestionsHandled') || [];
    this.connection.setNote('suggestionsHandled', [...seen, seq]);
  }

  _answer(checkin) {
    if (this._choice == null) {
      this._say(this._t.client.chooseFirst);
      return;
    }
    const value = checkin.data.instrument === 'suds' ? Number(this._choice) : this._choice;
    this.connection.send('checkin_response', { checkin_seq: checkin.seq, value });
    this._finishCheckin(checkin.seq);
    this._say(this._t.client.checkinThanks);
  }

  _finishCheckin(seq) {
    const done = this.connection.note('checkinsHandled') || [];
    this.connection.setNote('checkinsHandled', [...done, seq]);
    this._shownCheckin = null;
    this._choice = null;
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
    const me = this._me;
    const events = conn.events;
    const index = indexLog(events);
    const mine = optimistic((me && clientStates(conn.welcome, events)[me]) || {}, conn.pendingPresses());
    const paused = !!mine?.paused;
    // Ended, or refused for good (bad or expired link): controls would only mislead.
    const ended = conn.status === 'ended' || conn.status === 'refused';
    const checkin = this._currentCheckin(mine, index);
    const suggestion = this._currentSuggestion(events);
    const press = lastPress(events, conn.outbox, me, index);
    return html`<section class="base" part="base" aria-labelledby="comfort-title">
      <header>
        <h2 id="comfort-title">${t.client.title}</h2>
        <p role="status" class="status" part="status">${this._statusText(t)}</p>
      </header>
      ${ended
        ? nothing
        : html`
            ${checkin ? this._renderCheckin(t, checkin, index) : nothing}
            ${suggestion && !this._exercise ? this._renderSuggestion(t, suggestion) : nothing}
            ${paused ? this._renderPaused(t) : this._renderPauseButton(t)}
            <div class="feedback" part="feedback">${this._renderFeedback(t, press)}</div>
            ${this._panel === 'grounding' ? this._renderGrounding(t) : this._renderChoices(t, mine)}
            <p class="muted small">${t.client.intro}</p>
          `}
    </section>`;
  }

  _statusText(t) {
    const conn = this.connection;
    const dot = html`<span class="dot ${conn.status === 'online' ? 'online' : ''}" aria-hidden="true"></span>`;
    if (conn.status === 'refused') {
      const code = conn.error?.code;
      return html`${dot}${t.connection.refused[code] || t.connection.refused.default}`;
    }
    return html`${dot}${t.connection[conn.status] || t.connection.connecting}`;
  }

  _renderPauseButton(t) {
    // The hint sits beside the button, not inside it, so the accessible name is exactly "Pause";
    // the button's ::after stretches over the whole tile, so the tile is one big target.
    return html`<div class="tile pause" part="pause-tile">
      <button part="button pause" aria-describedby="pause-hint" @click=${() => this._press('pause')}>
        ${t.client.pause}
      </button>
      <span class="hint" id="pause-hint">${t.client.pauseHint}</span>
    </div>`;
  }

  _renderPaused(t) {
    return html`<div class="card paused" part="paused">
      <p><strong>${t.client.pausedTitle}</strong></p>
      <p>${t.client.pausedBody}</p>
      <div class="row">
        <button class="primary" part="button resume" @click=${() => this._press('resume')}>${t.client.resume}</button>
      </div>
    </div>`;
  }

  _renderChoices(t, mine) {
    const c = t.client;
    const tile = (type, label, hint, extra = {}) => html`<div class="tile" part="tile">
      <button
        part="button ${type}"
        aria-describedby="hint-${type}"
        aria-expanded=${extra.expanded === undefined ? nothing : String(extra.expanded)}
        @click=${extra.onClick || (() => this._press(type))}
      >
        ${label}
      </button>
      <span class="hint" id="hint-${type}">${hint}</span>
    </div>`;
    return html`
      <div class="tiles">
        ${tile('keep_going', c.keepGoing, c.keepGoingHint)}
        ${tile('slow_down', c.slowDown, c.slowDownHint)}
        ${tile('grounding', c.grounding, c.groundingHint, {
          expanded: false,
          onClick: () => {
            this._panel = 'grounding';
          },
        })}
      </div>
      <fieldset part="zone">
        <legend>${c.zoneLegend}</legend>
        <div class="zones">
          ${ZONES.map(
            (zone) => html`<button
              part="button zone-${zone}"
              aria-pressed=${String(mine?.zone === zone)}
              aria-describedby="zone-hint-${zone}"
              @click=${() => this._press('zone', { zone })}
            >
              ${c.zones[zone]}
            </button>`,
          )}
        </div>
        ${ZONES.map((zone) => html`<span class="visually-hidden" id="zone-hint-${zone}">${c.zoneHints[zone]}</span>`)}
      </fieldset>
    `;
  }

  _renderFeedback(t, press) {
    // One live region that stays in the DOM, so screen readers hear each change politely.
    const c = t.client;
    const notice = this._notice && Date.now() - this._notice.at < 8000 ? this._notice.text : null;
    let text = nothing;
    let canUndo = false;
    if (notice) {
      text = notice;
    } else if (press) {
      const what =
        press.type === 'zone' ? c.pressed.zone(c.zones[press.data.zone] || press.data.zone) : c.pressed[press.type];
      let state;
      if (press.status === 'queued') state = this.connection.status === 'online' ? c.sending : c.queued;
      else if (press.status === 'retracted') state = c.retracted;
      else if (press.seen) state = html`<span class="seen">✓ ${c.seen}</span>`;
      else state = c.sent;
      text = html`${what} ${state}`;
      const sentAt = this.connection.ackedAt(press.id) || press.atMs || 0;
      canUndo = press.status !== 'retracted' && Date.now() - sentAt < RETRACT_WINDOW_MS;
    }
    return html`<p role="status">${text}</p>
      ${canUndo
        ? html`<button class="quiet" part="undo" @click=${() => this._undo(press)}>${c.undo}</button>`
        : nothing}`;
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
    if (Date.now() - Date.parse(suggestion.at) > SUGGESTION_FRESH_MS) return null;
    return suggestion;
  }

  _renderSuggestion(t, suggestion) {
    const c = t.client;
    const exercise = suggestion.data.exercise;
    return html`<div class="card checkin" part="suggestion" role="group" aria-labelledby="suggestion-text">
      <p id="suggestion-text">${c.suggestion(c.exercises[exercise] || exercise)}</p>
      <div class="row">
        <button class="primary" @click=${() => this._startExercise(exercise, suggestion.seq)}>
          ${c.startExercise}
        </button>
        <button class="quiet" @click=${() => this._dismissSuggestion(suggestion.seq)}>${c.notNow}</button>
      </div>
    </div>`;
  }

  _renderGrounding(t) {
    const c = t.client;
    const close = () => {
      this._panel = null;
      this._exercise = null;
      this.updateComplete.then(() => this.renderRoot.querySelector('[part~="grounding"]')?.focus());
    };
    return html`<section class="card" part="grounding-panel" aria-labelledby="grounding-title">
      <div class="panel-head">
        <h3 id="grounding-title">${c.groundingTitle}</h3>
        ${this._exercise ? nothing : html`<button class="quiet" @click=${close}>${c.closeGrounding}</button>`}
      </div>
      ${this._exercise
        ? html`<comfort-grounding
            exportparts="breath-circle, grounding"
            .exercise=${this._exercise}
            .strings=${c}
            ?reduced-motion=${this._reducedMotion}
            @grounding-finish=${this._finishExercise}
            @grounding-close=${close}
          ></comfort-grounding>`
        : html`<p class="muted small">${c.groundingIntro}</p>
            <div class="exercises">
              ${EXERCISES.map(
                (ex) => html`<div class="tile exercise" part="tile">
                  <button aria-describedby="ex-hint-${ex}" @click=${() => this._startExercise(ex)}>
                    ${c.exercises[ex]}
                  </button>
                  <span class="hint" id="ex-hint-${ex}">${c.exerciseHints[ex]}</span>
                </div>`,
              )}
            </div>`}
    </section>`;
  }
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
