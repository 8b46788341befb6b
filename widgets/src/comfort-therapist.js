/**
 * <comfort-therapist>: the therapist's cue panel (contract §7), made to be glanced at while
 * talking. One row per client (connected, paused, pace, zone, last SUDS with a trend line,
 * grounding); "Needs attention" holds unacknowledged pauses, slow-downs, out-of-window zones
 * and urgent cues until they are acknowledged; the feed lists everything else, newest first.
 * Severity is shown by icon and words as well as colour. Quiet by default; a soft sound is
 * opt-in.
 *
 * Attributes: token, server (default: this module's origin), lang.
 * Events: comfort:event (each new log event), comfort:signal (each send of this panel).
 */
import { LitElement, html, css, nothing, svg } from 'lit';
import { ConnectionController } from './connection-controller.js';
import { stringsForElement } from './locales/index.js';
import { tokens } from './styles.js';
import {
  EXERCISES,
  clientStates,
  indexLog,
  isSignal,
  needsAttention,
  openUrgentCues,
  sessionClock,
  severityOf,
  sparklinePoints,
  sudsHistory,
} from './state.js';

/** How many feed items to draw; the full log stays in memory and in the REST summary. */
const FEED_LIMIT = 200;
const ICONS = { urgent: '‼', warn: '▲', info: '●' };

export class ComfortTherapist extends LitElement {
  static properties = {
    token: { type: String },
    server: { type: String },
    platformAdapter: { attribute: false },
    _now: { state: true },
    _open: { state: true },
    _target: { state: true },
    _notice: { state: true },
    _sound: { state: true },
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
      }
      header {
        display: flex;
        flex-wrap: wrap;
        justify-content: space-between;
        align-items: baseline;
        gap: 4px 16px;
      }
      h2 {
        font-size: 1.1em;
      }
      h3 {
        font-size: 0.95em;
        font-weight: 650;
        margin-bottom: 8px;
      }
      .clock {
        font-variant-numeric: tabular-nums;
        font-weight: 600;
      }
      .status {
        font-size: 0.875em;
        color: var(--_muted);
      }
      .note {
        font-size: 0.8em;
        color: var(--_muted);
      }
      .layout,
      .col {
        display: grid;
        gap: var(--_gap);
        align-content: start;
      }
      @container (min-width: 760px) {
        .layout {
          grid-template-columns: minmax(280px, 2fr) 3fr;
          align-items: start;
        }
      }
      ul {
        list-style: none;
        margin: 0;
        padding: 0;
      }
      .clients {
        display: grid;
        gap: 8px;
      }
      .client {
        display: grid;
        gap: 6px;
      }
      .client-name {
        display: flex;
        justify-content: space-between;
        gap: 8px;
        font-weight: 650;
      }
      .facts {
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(110px, 1fr));
        gap: 4px 12px;
        margin: 0;
        font-size: 0.9em;
      }
      .facts div {
        display: grid;
      }
      dt {
        color: var(--_muted);
        font-size: 0.85em;
      }
      dd {
        margin: 0;
        font-weight: 600;
        display: flex;
        align-items: center;
        gap: 6px;
      }
      .badge {
        display: inline-flex;
        align-items: center;
        gap: 4px;
        padding: 1px 8px;
        border-radius: 999px;
        font-size: 0.85em;
        font-weight: 650;
        border: 1px solid currentColor;
      }
      .sev-urgent {
        color: var(--_urgent);
        background: var(--_urgent-soft);
      }
      .sev-warn {
        color: var(--_warn);
        background: var(--_warn-soft);
      }
      .sev-info {
        color: var(--_info);
        background: var(--_info-soft);
      }
      svg.trend {
        width: 80px;
        height: 24px;
        overflow: visible;
      }
      svg.trend polyline {
        fill: none;
        stroke: var(--_accent);
        stroke-width: 2;
        stroke-linejoin: round;
        stroke-linecap: round;
      }
      svg.trend circle {
        fill: var(--_accent);
      }
      .actions {
        display: grid;
        gap: 8px;
      }
      .actions .choices {
        display: grid;
        gap: 8px;
        padding: 8px;
        border-inline-start: 3px solid var(--_accent-soft);
      }
      label.who {
        display: flex;
        gap: 8px;
        align-items: center;
        flex-wrap: wrap;
      }
      select {
        min-height: 36px;
        padding: 4px 8px;
        border-radius: 8px;
        border: 1.5px solid var(--_border);
        background: var(--_surface);
      }
      .feed {
        display: grid;
        gap: 6px;
      }
      .item {
        display: grid;
        grid-template-columns: auto 1fr auto;
        gap: 4px 10px;
        align-items: center;
        padding: 8px 10px;
        background: var(--_surface);
        border: 1px solid var(--_border);
        border-inline-start-width: 4px;
        border-radius: 10px;
      }
      .item.sev-urgent {
        border-color: var(--_urgent);
      }
      .item.sev-warn {
        border-color: var(--_warn);
      }
      .item.sev-info {
        border-color: var(--_border);
        background: var(--_surface);
        color: var(--_text);
      }
      .item .what {
        font-weight: 600;
      }
      .item.sev-info .what {
        font-weight: 500;
      }
      .item .meta {
        font-size: 0.8em;
        color: var(--_muted);
      }
      .item .sev {
        font-size: 0.75em;
        font-weight: 700;
        text-transform: uppercase;
        letter-spacing: 0.03em;
      }
      .item.withdrawn .what {
        text-decoration: line-through;
      }
      .item button {
        min-height: 36px;
        padding: 4px 12px;
      }
      .attention {
        border: 2px solid var(--_warn);
        background: var(--_warn-soft);
      }
      .attention.calm {
        border: 1px solid var(--_border);
        background: var(--_surface);
      }
      .sound {
        display: flex;
        gap: 8px;
        align-items: center;
        font-size: 0.875em;
        min-height: 24px;
      }
      .sound input {
        width: 20px;
        height: 20px;
        margin: 2px;
        accent-color: var(--_accent);
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
        event: (e) => this._received(e.detail),
        signal: (e) => this._relay('comfort:signal', e.detail),
      },
      opened: (conn) => {
        this._sound = !!conn.note('sound');
      },
    });
    this._now = Date.now();
    this._open = null; // null | "checkin" | "grounding"
    this._target = ''; // '' = all clients
    this._notice = null;
    this._sound = false;
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
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    clearInterval(this._clock);
  }

  get _t() {
    return stringsForElement(this);
  }

  _relay(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }

  _received(event) {
    this._relay('comfort:event', event);
    // Sound only for what happens now, never for history replayed after a reload.
    const fresh = Date.now() - Date.parse(event.at) < 30_000;
    const loud = event.type === 'pause' || (event.type === 'cue' && event.data?.severity === 'urgent');
    if (this._sound && fresh && loud) chime();
  }

  // ---- actions -------------------------------------------------------------------------

  _send(type, data) {
    this.connection?.send(type, data);
  }

  _acknowledge(seq) {
    this._send('acknowledge', { seq });
  }

  _toggle(which) {
    this._open = this._open === which ? null : which;
    this._notice = null;
  }

  _checkIn(instrument) {
    const data = { instrument };
    if (this._target) data.to = [this._target];
    this._send('checkin_request', data);
    this._open = null;
    this._say(this._t.therapist.checkinSent);
  }

  _suggest(exercise) {
    const data = { exercise };
    if (this._target) data.to = [this._target];
    this._send('suggest_grounding', data);
    this._open = null;
    this._say(this._t.therapist.suggestionSent);
  }

  /** A short confirmation under the actions, gone after a few seconds. */
  _say(text) {
    this._notice = { text, at: Date.now() };
    this._now = Date.now();
    setTimeout(() => {
      this._now = Date.now();
    }, 10_500);
  }

  _setSound(on) {
    this._sound = on;
    this.connection?.setNote('sound', on);
    if (on) chime();
  }

  _dismissCue(seq) {
    const dismissed = this.connection.note('dismissedCues') || [];
    this.connection.setNote('dismissedCues', [...dismissed, seq]);
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
    const index = indexLog(events);
    const welcome = conn.welcome;
    const states = clientStates(welcome, events);
    const names = this._names();
    const attention = this._attentionItems(events, index);
    const attentionSeqs = new Set(attention.map((e) => e.seq));
    const feed = events.filter((e) => !attentionSeqs.has(e.seq) && this._inFeed(e)).slice(-FEED_LIMIT).reverse();
    return html`<section class="base" part="base" aria-labelledby="comfort-therapist-title">
      <header part="header">
        <h2 id="comfort-therapist-title">${th.title}</h2>
        <span class="clock" part="clock">${this._clockText(th, events)}</span>
        <p role="status" class="status" part="status">${this._statusText(t)}</p>
      </header>
      <p class="note">${th.privacyNote}</p>
      <div class="layout">
        <div class="col">
          <section aria-labelledby="clients-h" part="clients">
            <h3 id="clients-h">${th.clientsHeading}</h3>
            <ul class="clients">
              ${Object.entries(states).map(([id, state]) => this._renderClient(th, id, state, names, events))}
            </ul>
          </section>
          ${this._renderActions(th, names)}
          <label class="sound">
            <input type="checkbox" .checked=${this._sound} @change=${(e) => this._setSound(e.target.checked)} />
            ${th.sound}
          </label>
        </div>
        <div class="col">
          <section
            class="card attention ${attention.length ? '' : 'calm'}"
            part="attention"
            aria-labelledby="attention-h"
          >
            <h3 id="attention-h">${th.attentionHeading}</h3>
            ${attention.length
              ? html`<ul class="feed">
                  ${[...attention].reverse().map((e) => this._renderItem(th, e, index, names))}
                </ul>`
              : html`<p class="muted small">${th.nothingNeedsAttention}</p>`}
          </section>
          <section aria-labelledby="feed-h" part="feed">
            <h3 id="feed-h">${th.feedHeading}</h3>
            ${feed.length
              ? html`<ul class="feed">
                  ${feed.map((e) => this._renderItem(th, e, index, names))}
                </ul>`
              : html`<p class="muted small">${th.feedEmpty}</p>`}
          </section>
        </div>
      </div>
    </section>`;
  }

  _statusText(t) {
    const conn = this.connection;
    const dot = html`<span class="dot ${conn.status === 'online' ? 'online' : ''}" aria-hidden="true"></span>`;
    if (conn.status === 'refused') {
      return html`${dot}${t.connection.refused[conn.error?.code] || t.connection.refused.default}`;
    }
    return html`${dot}${t.connection[conn.status] || t.connection.connecting}`;
  }

  _names() {
    const names = {};
    for (const p of this.connection.welcome?.session?.participants || []) names[p.id] = p.display_name || p.id;
    return names;
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

  /** Unacknowledged pauses, slow-downs and out-of-window zones, and open urgent cues. */
  _attentionItems(events, index) {
    const signals = events.filter(
      (e) => needsAttention(e) && !index.acknowledged.has(e.seq) && !index.retracted.has(e.seq),
    );
    const cues = openUrgentCues(events, this.connection.note('dismissedCues') || [], index);
    return [...signals, ...cues].sort((a, b) => a.seq - b.seq);
  }

  _inFeed(event) {
    // Acknowledgements and retractions show on the item they refer to, not as items of their own;
    // therapists' own comings and goings (a reload, say) are not news to the therapist.
    if (event.type === 'acknowledge' || event.type === 'retract') return false;
    const presence = event.type === 'participant_joined' || event.type === 'participant_left';
    return !(presence && event.data?.participant?.role === 'therapist');
  }

  _renderClient(th, id, state, names, events) {
    const suds = sudsHistory(events, id);
    const none = th.sudsNone;
    return html`<li class="card client" part="client-row">
      <div class="client-name">
        <span>${names[id] || id}</span>
        <span class="small muted"
          ><span class="dot ${state.connected ? 'online' : ''}" aria-hidden="true"></span>${state.connected
            ? th.connected
            : th.away}</span
        >
      </div>
      <dl class="facts">
        <div>
          <dt>${th.paused}</dt>
          <dd>
            ${state.paused
              ? html`<span class="badge sev-urgent"><span aria-hidden="true">${ICONS.urgent}</span>${th.paused}</span>`
              : html`<span class="muted">${th.notPaused}</span>`}
          </dd>
        </div>
        <div>
          <dt>${th.pace}</dt>
          <dd>${th.paceValues[state.pace] ?? none}</dd>
        </div>
        <div>
          <dt>${th.zone}</dt>
          <dd>
            ${state.zone && state.zone !== 'okay'
              ? html`<span class="badge sev-warn"><span aria-hidden="true">${ICONS.warn}</span>${th.zoneValues[state.zone]}</span>`
              : th.zoneValues[state.zone] ?? none}
          </dd>
        </div>
        <div>
          <dt>${th.suds}</dt>
          <dd>${state.last_suds ?? none} ${suds.length > 1 ? this._trend(th, suds) : nothing}</dd>
        </div>
        <div>
          <dt>${th.grounding}</dt>
          <dd>${state.grounding ? this._exerciseName(state.grounding) : th.groundingNone}</dd>
        </div>
      </dl>
    </li>`;
  }

  _trend(th, values) {
    const recent = values.slice(-12);
    const points = sparklinePoints(recent);
    const last = points.split(' ').pop().split(',');
    return html`<svg class="trend" viewBox="0 0 80 24" role="img" aria-label=${th.sudsTrend(recent)}>
      ${svg`<polyline points=${points}></polyline><circle cx=${last[0]} cy=${last[1]} r="2.5"></circle>`}
    </svg>`;
  }

  _exerciseName(exercise) {
    return stringsForElement(this).client.exercises[exercise] || exercise;
  }

  _renderActions(th, names) {
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
        <button aria-expanded=${String(this._open === 'checkin')} aria-controls="checkin-choices" @click=${() => this._toggle('checkin')}>
          ${th.checkIn}
        </button>
        <button
          aria-expanded=${String(this._open === 'grounding')}
          aria-controls="grounding-choices"
          @click=${() => this._toggle('grounding')}
        >
          ${th.suggestGrounding}
        </button>
      </div>
      ${this._open === 'checkin'
        ? html`<div class="choices" id="checkin-choices">
            ${who}
            <div class="row">
              <button class="primary" @click=${() => this._checkIn('suds')}>${th.checkInSuds}</button>
              <button class="primary" @click=${() => this._checkIn('zone')}>${th.checkInZone}</button>
            </div>
          </div>`
        : nothing}
      ${this._open === 'grounding'
        ? html`<div class="choices" id="grounding-choices">
            ${who}
            <div class="row">
              ${EXERCISES.map(
                (ex) => html`<button class="primary" @click=${() => this._suggest(ex)}>${this._exerciseName(ex)}</button>`,
              )}
            </div>
          </div>`
        : nothing}
      <p role="status" class="small muted">
        ${this._notice && this._now - this._notice.at < 10_000 ? this._notice.text : ''}
      </p>
    </section>`;
  }

  _describe(th, event, names) {
    const data = event.data || {};
    const zoneName = (z) => th.zoneValues[z] || z;
    const whoTo = (to) => (to && to.length ? to.map((id) => names[id] || id).join(', ') : th.everyone);
    if (isSignal(event)) {
      const label = th.signals[event.type];
      if (event.type === 'zone') return label(zoneName(data.zone));
      if (event.type === 'grounding_started') return label(this._exerciseName(data.exercise));
      if (event.type === 'grounding_finished') return label(this._exerciseName(data.exercise), data.completed);
      return label;
    }
    const ev = th.events;
    switch (event.type) {
      case 'checkin_request':
        return ev.checkin_request(th.instruments[data.instrument] || data.instrument, whoTo(event.to || data.to));
      case 'checkin_response':
        return typeof data.value === 'number' ? ev.checkin_response_suds(data.value) : ev.checkin_response_zone(zoneName(data.value));
      case 'suggest_grounding':
        return ev.suggest_grounding(this._exerciseName(data.exercise), whoTo(event.to || data.to));
      case 'participant_joined':
      case 'participant_left':
        return `${ev[event.type]}: ${names[data.participant?.id] || data.participant?.id || ''}`;
      case 'cue':
        return `${th.rules[data.rule] || data.rule}${data.client_id ? ` — ${names[data.client_id] || data.client_id}` : ''}${
          data.message ? `: ${data.message}` : ''
        }`;
      default:
        return typeof ev[event.type] === 'string' ? ev[event.type] : event.type;
    }
  }

  _renderItem(th, event, index, names) {
    const severity = severityOf(event);
    const signal = isSignal(event);
    const withdrawn = signal && index.retracted.has(event.seq);
    const acked = signal && index.acknowledged.has(event.seq);
    const actor = event.actor || {};
    const who = actor.role === 'system' ? th.system : names[actor.id] || actor.id;
    const time = formatTime(event.at);
    const id = `item-${event.seq}`;
    let side = nothing;
    if (signal && !acked && !withdrawn) {
      side = html`<button part="acknowledge" aria-describedby=${id} @click=${() => this._acknowledge(event.seq)}>
        ${th.acknowledge}
      </button>`;
    } else if (withdrawn) {
      side = html`<span class="small muted">${th.withdrawn}</span>`;
    } else if (acked) {
      side = html`<span class="small muted"><span aria-hidden="true">✓ </span>${th.acknowledged}</span>`;
    } else if (event.type === 'cue' && event.data?.severity === 'urgent' && this._isOpenUrgent(event, index)) {
      side = html`<button part="dismiss" aria-describedby=${id} @click=${() => this._dismissCue(event.seq)}>
        ${th.gotIt}
      </button>`;
    }
    return html`<li class="item sev-${severity} ${withdrawn ? 'withdrawn' : ''}" part="feed-item feed-item-${severity}" data-seq=${event.seq}>
      <span class="sev" aria-hidden="true">${ICONS[severity]}</span>
      <span id=${id}>
        <span class="sev">${th.severity[severity]}</span>
        <span class="what">${this._describe(th, event, names)}</span>
        <span class="meta">· ${signal || actor.role === 'therapist' ? `${who} · ` : ''}${time}</span>
      </span>
      ${side}
    </li>`;
  }

  _isOpenUrgent(event, index) {
    return openUrgentCues([event], this.connection.note('dismissedCues') || [], index).length > 0;
  }
}

function formatTime(at) {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
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
