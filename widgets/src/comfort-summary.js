/**
 * <comfort-summary>: the session summary for the therapist — live during the session, final
 * after it — as the panel's "Summary" view, or alone on a vendor's page. It reads the summary
 * route with the therapist's own join token (no vendor key in the browser) and draws a timeline
 * with a key (each client one colour AND one line pattern, marker and pause fill, named by the
 * display name the vendor gave), each client's SUDS, zones, pauses and grounding, the cues and
 * the counts, with a print stylesheet and a plain-text copy for the clinical note.
 *
 * Attributes: token (a therapist's join token), server (default: this module's origin),
 * session-id (default: the token's `sid`), lang. Properties: log (the panel's log, to fill in
 * what the JSON leaves out), head (the log's last seq: while the session runs, a new head asks
 * for the summary again, a moment later), names ({id: display name}).
 */
import { LitElement, html, css, nothing, svg } from 'lit';
import { tokenClaims } from './connection.js';
import { MODULE_ORIGIN } from './connection-controller.js';
import { stringsForElement } from './locales/index.js';
import { tokens } from './styles.js';
import {
  JUST_NOW_MS,
  duration,
  fetchSummary,
  madeEarlier,
  pausedWords,
  summaryModel,
  summaryText,
  zoneHow,
} from './therapist/summary-model.js';

/** How long the live view waits after the log grows before it asks for the summary again. */
const REFRESH_AFTER_MS = 2_000;
const SEVERITY_COLOURS = { urgent: 'var(--_urgent)', warn: 'var(--_warn)', info: 'var(--_info)' };

export class ComfortSummary extends LitElement {
  static properties = {
    token: { type: String },
    server: { type: String },
    sessionId: { type: String, attribute: 'session-id' },
    log: { attribute: false },
    head: { type: Number },
    names: { attribute: false },
    _result: { state: true },
    _loading: { state: true },
    _width: { state: true },
    _notice: { state: true },
    _copyText: { state: true },
  };

  static styles = [
    tokens,
    css`
      :host {
        display: block;
      }
      .summary {
        display: grid;
        gap: var(--_gap);
      }
      .head {
        display: flex;
        flex-wrap: wrap;
        align-items: baseline;
        justify-content: space-between;
        gap: 4px 12px;
      }
      h3 {
        font-size: 1.05em;
      }
      h4 {
        margin: 0 0 4px;
        font-size: 0.95em;
      }
      .state {
        font-size: 0.85em;
        color: var(--_muted);
      }
      .state strong {
        color: var(--_text);
      }
      .tools {
        display: flex;
        flex-wrap: wrap;
        gap: 6px;
      }
      .tools button {
        min-height: 36px;
        padding: 4px 12px;
      }
      figure {
        margin: 0;
        padding: 8px;
        background: var(--_surface);
        border: 1px solid var(--_border);
        border-radius: 10px;
      }
      svg.timeline {
        display: block;
        width: 100%;
        height: auto;
        font-family: inherit;
      }
      .axis text,
      .lane-label {
        font-size: 11px;
        fill: var(--_muted);
      }
      .grid line {
        stroke: var(--_border);
      }
      figcaption {
        display: grid;
        gap: 4px;
        margin-top: 6px;
        font-size: 0.8em;
        color: var(--_muted);
      }
      .key {
        display: flex;
        flex-wrap: wrap;
        gap: 4px 14px;
        margin: 0;
        padding: 0;
        list-style: none;
      }
      .key li {
        display: inline-flex;
        align-items: center;
        gap: 6px;
        color: var(--_text);
      }
      .key svg {
        width: 56px;
        height: 16px;
        flex: none;
      }
      .clients {
        display: grid;
        gap: 8px;
        grid-template-columns: repeat(auto-fill, minmax(260px, 1fr));
      }
      .client {
        padding: 8px 10px;
        background: var(--_surface);
        border: 1px solid var(--_border);
        border-inline-start: 6px solid var(--look);
        border-radius: 10px;
      }
      .client h4 {
        display: flex;
        align-items: center;
        gap: 6px;
      }
      dl {
        display: grid;
        grid-template-columns: auto 1fr;
        gap: 2px 10px;
        margin: 0;
        font-size: 0.9em;
      }
      dt {
        color: var(--_muted);
      }
      dd {
        margin: 0;
      }
      .late {
        font-size: 0.85em;
        padding: 0 4px;
        border: 1px solid var(--_muted);
        border-radius: 4px;
        color: var(--_muted);
      }
      .cues ul,
      .counts dl {
        margin: 0;
        padding: 0;
        list-style: none;
        font-size: 0.9em;
      }
      .cues ul {
        display: grid;
        grid-template-columns: max-content 1fr;
        gap: 2px 10px;
      }
      .cues li {
        display: grid;
        grid-column: 1 / -1;
        grid-template-columns: subgrid;
      }
      .cues .sev {
        white-space: nowrap;
      }
      .counts dl {
        grid-template-columns: repeat(auto-fill, minmax(150px, auto));
        gap: 2px 14px;
      }
      .counts dl div {
        display: flex;
        justify-content: space-between;
        gap: 8px;
      }
      .sev-urgent {
        color: var(--_urgent);
      }
      .sev-warn {
        color: var(--_warn);
      }
      .sev-info {
        color: var(--_info);
      }
      textarea {
        width: 100%;
        min-height: 10em;
        font: 0.85em/1.4 ui-monospace, monospace;
      }
      .problem {
        display: flex;
        flex-wrap: wrap;
        gap: 8px;
        align-items: center;
      }
      @media print {
        :host {
          color: #000;
          font-size: 11pt;
        }
        .tools,
        textarea,
        .status {
          display: none !important;
        }
        figure,
        .client {
          border-block-color: #888;
          border-inline-end-color: #888;
          break-inside: avoid;
          -webkit-print-color-adjust: exact;
          print-color-adjust: exact;
        }
        .clients {
          grid-template-columns: 1fr 1fr;
        }
      }
    `,
  ];

  constructor() {
    super();
    this.token = '';
    this.server = '';
    this.sessionId = '';
    this.log = [];
    this.head = 0;
    this.names = {};
    this._result = null;
    this._loading = false;
    this._width = 640;
    this._notice = '';
    this._copyText = '';
    this._asked = 0;
  }

  connectedCallback() {
    super.connectedCallback();
    this._resize = new ResizeObserver((entries) => {
      const width = Math.round(entries[0]?.contentRect?.width || 0);
      if (width && Math.abs(width - this._width) > 4) this._width = width;
    });
    this._resize.observe(this);
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    this._resize?.disconnect();
    clearTimeout(this._refresh);
    clearTimeout(this._wake);
  }

  updated(changed) {
    if (changed.has('token') || changed.has('server') || changed.has('sessionId')) {
      this.load();
    } else if (changed.has('head') && this._result?.ok && this._result.summary.session?.state !== 'ended') {
      clearTimeout(this._refresh);
      this._refresh = setTimeout(() => this.load(), REFRESH_AFTER_MS);
    }
    // "paused just now" stays true: draw again when it becomes "paused since …".
    clearTimeout(this._wake);
    if (this._wakeAt != null) this._wake = setTimeout(() => this.requestUpdate(), Math.max(0, this._wakeAt - Date.now()) + 50);
  }

  get _sid() {
    return this.sessionId || tokenClaims(this.token)?.sid || '';
  }

  /** Asks the service for the summary; the newest answer wins. */
  async load() {
    if (!this.token || !this._sid) return;
    const asked = ++this._asked;
    this._loading = true;
    const result = await fetchSummary({ server: this.server || MODULE_ORIGIN, token: this.token, sessionId: this._sid });
    if (asked !== this._asked) return;
    this._loading = false;
    // A failed refresh keeps the summary already shown, and says so.
    if (!result.ok && this._result?.ok) {
      this._notice = this._strings.failed;
      return;
    }
    this._result = { ...result, at: Date.now() };
    if (result.ok) this._notice = '';
  }

  get _t() {
    return stringsForElement(this);
  }

  /** The summary's words, with the functions the plain-text note needs. */
  get _strings() {
    const t = this._t;
    const th = t.therapist;
    return {
      ...th.summaryView,
      zoneNames: th.zoneValues,
      severity: th.severity,
      rule: (rule) => th.rules[rule] || rule,
      exercise: (ex) => t.client.exercises[ex] || ex,
    };
  }

  _clock(ms) {
    if (ms == null) return '';
    return new Date(ms).toLocaleTimeString(this._t.therapist.locale, { hour: '2-digit', minute: '2-digit' });
  }

  _date(ms) {
    return new Date(ms).toLocaleDateString(this._t.therapist.locale, { day: 'numeric', month: 'short', year: 'numeric' });
  }

  async _copy(model) {
    const text = summaryText(model, this._strings, (ms) => this._clock(ms), (ms) => this._date(ms));
    try {
      await navigator.clipboard.writeText(text);
      this._notice = this._strings.copied;
      this._copyText = '';
    } catch {
      // Clipboard access is often refused inside iframes: show the text to copy by hand.
      this._notice = this._strings.copyFailed;
      this._copyText = text;
      await this.updateComplete;
      this.renderRoot.querySelector('textarea')?.select();
    }
  }

  render() {
    const sm = this._strings;
    const result = this._result;
    if (!result) {
      return html`<section class="summary" part="summary" aria-labelledby="summary-h">
        <h3 id="summary-h">${sm.title}</h3>
        <p role="status" class="state" part="summary-status">${this.token ? sm.loading : sm.refused}</p>
      </section>`;
    }
    if (!result.ok) {
      const refused = result.status === 401 || result.status === 403;
      return html`<section class="summary" part="summary" aria-labelledby="summary-h">
        <h3 id="summary-h">${sm.title}</h3>
        <div class="problem">
          <p role="status" part="summary-status">${refused ? sm.refused : sm.failed}</p>
          ${refused ? nothing : html`<button part="summary-button" @click=${() => this.load()}>${sm.retry}</button>`}
        </div>
      </section>`;
    }
    const model = summaryModel(result.summary, { log: this.log || [], names: this.names || {}, now: result.at });
    const young = model.final
      ? []
      : model.clients.flatMap((c) => c.spans).filter((s) => s.open && s.from != null && Date.now() - s.from < JUST_NOW_MS);
    this._wakeAt = young.length ? Math.min(...young.map((s) => s.from)) + JUST_NOW_MS : null;
    return html`<section class="summary" part="summary" aria-labelledby="summary-h">
      <div class="head" part="summary-head">
        <h3 id="summary-h">${sm.title}</h3>
        <p class="state">
          <strong>${model.final ? sm.final : sm.live}</strong> · ${sm.updated(this._clock(result.at))}
        </p>
      </div>
      <p class="when">
        ${sm.when(
          this._date(model.start),
          this._clock(model.start),
          this._clock(model.end),
          Math.round((model.end - model.start) / 60_000),
          model.scheduled,
        )}
      </p>
      <div class="tools" part="summary-tools">
        <button part="summary-button" @click=${() => window.print()}>${sm.print}</button>
        <button part="summary-button" @click=${() => this._copy(model)}>${sm.copy}</button>
        ${model.final ? nothing : html`<button part="summary-button" @click=${() => this.load()}>${sm.refresh}</button>`}
      </div>
      <p role="status" class="status small muted" part="summary-status">${this._notice}</p>
      ${this._copyText
        ? html`<textarea readonly aria-label=${sm.copy} .value=${this._copyText}></textarea>`
        : nothing}
      ${this._timeline(model, sm)} ${this._clients(model, sm)} ${this._cues(model, sm)} ${this._counts(model, sm)}
    </section>`;
  }

  // ---- the timeline ------------------------------------------------------------------------

  _timeline(model, sm) {
    const W = Math.max(300, this._width - 18);
    const left = 74;
    const right = 10;
    const cuesY = 14;
    const chartTop = 34;
    const chartH = 110;
    const laneTop = chartTop + chartH + 12;
    const laneH = 24;
    const axisY = laneTop + laneH * model.clients.length + 6;
    const H = axisY + 22;
    const span = Math.max(model.end - model.start, 60_000);
    const x = (t) => left + ((Math.min(Math.max(t, model.start), model.end) - model.start) / span) * (W - left - right);
    const y = (v) => chartTop + ((10 - v) / 10) * chartH;
    const ticks = timeTicks(model.start, model.end, W > 480 ? 6 : 3);
    return html`<figure part="summary-timeline">
      <svg
        class="timeline"
        viewBox="0 0 ${W} ${H}"
        width=${W}
        height=${H}
        role="img"
        aria-label=${sm.timelineLabel(model.clients.length)}
      >
        ${svg`<defs>${model.clients.map((c, i) => fillPattern(`fill-${i}`, c.look))}</defs>
        <g class="grid">
          ${[0, 5, 10].map((v) => svg`<line x1=${left} x2=${W - right} y1=${y(v)} y2=${y(v)}></line>`)}
          ${model.clients.map((_, i) => svg`<line x1=${left} x2=${W - right} y1=${laneTop + laneH * (i + 1) - 1} y2=${laneTop + laneH * (i + 1) - 1}></line>`)}
        </g>
        <g class="axis">
          <text x=${left - 8} y=${cuesY + 4} text-anchor="end">${sm.cuesRow}</text>
          <text x=${left - 30} y=${chartTop + chartH / 2 + 4} text-anchor="end">${sm.suds}</text>
          ${[0, 5, 10].map((v) => svg`<text x=${left - 6} y=${y(v) + 4} text-anchor="end">${v}</text>`)}
          ${ticks.map((t) => svg`<text x=${x(t)} y=${axisY + 14} text-anchor="middle">${this._clock(t)}</text>`)}
        </g>
        <g class="cues">${spread(model.cues.map((c) => x(c.t)), 15).map((cx, i) => cueMark(cx, cuesY, model.cues[i].severity))}</g>
        ${model.clients.map((c, i) => this._lane(c, i, { x, y, left, laneTop, laneH, W, right }))}
        ${model.clients.map((c) => sudsLine(c, x, y))}`}
      </svg>
      <figcaption>
        <ul class="key" part="summary-key" aria-label=${sm.key}>
          ${model.clients.map(
            (c, i) => html`<li>
              <svg viewBox="0 0 56 16" aria-hidden="true">
                ${svg`<defs>${fillPattern(`key-${i}`, c.look)}</defs>
                <rect x="0" y="2" width="16" height="12" fill="url(#key-${i})" stroke=${c.look.colour}></rect>
                <line x1="22" x2="54" y1="8" y2="8" stroke=${c.look.colour} stroke-width="2" stroke-dasharray=${c.look.dash || 'none'}></line>
                ${marker(c.look.marker, 38, 8, c.look.colour, false)}`}
              </svg>
              <span>${c.name}</span>
            </li>`,
          )}
        </ul>
        <p>${sm.keyLegend}</p>
        ${model.clients.some((c) => !c.spansKnown && c.pauses) ? html`<p>${sm.pausesUnknown}</p>` : nothing}
      </figcaption>
    </figure>`;
  }

  _lane(client, i, { x, left, laneTop, laneH }) {
    const top = laneTop + laneH * i;
    const mid = top + laneH / 2;
    const colour = client.look.colour;
    return svg`<g class="lane">
      <text class="lane-label" x=${left - 8} y=${mid + 4} text-anchor="end">${shorten(client.name, 11)}</text>
      ${client.spans.map(
        (s) => svg`<rect x=${x(s.from)} y=${top + 3} width=${Math.max(x(s.to) - x(s.from), 3)} height=${laneH - 7}
          fill="url(#fill-${i})" stroke=${colour} stroke-width="1.5"></rect>`,
      )}
      ${client.zones.map((z) => zoneMark(x(z.t), mid, z.zone, colour, z.late))}
      ${client.help.map((h) => svg`<g transform="translate(${x(h.t)} ${mid})">
        <rect x="-6" y="-6" width="12" height="12" transform="rotate(45)" fill="var(--_urgent)"></rect>
        <text y="3.5" text-anchor="middle" font-size="9" font-weight="800" fill="#fff">!</text></g>`)}
    </g>`;
  }

  // ---- the facts -----------------------------------------------------------------------

  _clients(model, sm) {
    return html`<div class="clients" part="summary-clients">
      ${model.clients.map(
        (c) => html`<section class="client" part="summary-client" style="--look:${c.look.colour}" aria-label=${c.name}>
          <h4>${c.name}</h4>
          <dl>
            <dt>${sm.suds}</dt>
            <dd>
              ${c.suds.length
                ? c.suds.map(
                    (p, i) => html`${i ? ', ' : ''}<strong>${p.value}</strong> ${this._clock(p.t)}${madeEarlier(p, (ms) => this._clock(ms))
                        ? ` (${sm.madeAt(sm.sources.answer, this._clock(p.pressed))})`
                        : ''}${p.late
                        ? html` <span class="late" part="summary-late">${sm.late}</span>`
                        : nothing}`,
                  )
                : sm.none}
            </dd>
            <dt>${sm.zones}</dt>
            <dd>
              ${c.zones.length
                ? c.zones.map(
                    (z, i) => html`${i ? ', ' : ''}<strong>${sm.zoneNames[z.zone] || z.zone}</strong>
                      ${this._clock(z.t)}${parenthesised(zoneHow(z, sm, (ms) => this._clock(ms)))}${z.late
                        ? html` <span class="late" part="summary-late">${sm.late}</span>`
                        : nothing}`,
                  )
                : sm.none}
            </dd>
            <dt>${sm.pauses}</dt>
            <dd>
              ${c.pauses}${c.pauses
                ? ` · ${pausedWords(c, sm, (ms) => this._clock(ms), { final: model.final, nowMs: Date.now() })}`
                : ''}
            </dd>
            ${c.help.length
              ? html`<dt>${sm.help}</dt>
                  <dd>${c.help.map((h) => this._clock(h.t)).join(', ')}</dd>`
              : nothing}
            <dt>${sm.grounding}</dt>
            <dd>
              ${c.grounding.length
                ? c.grounding
                    .map((g) => `${sm.exercise(g.exercise)} (${g.completed ? sm.completed : sm.stoppedEarly}, ${duration(g.duration_s, sm)})`)
                    .join(', ')
                : sm.none}
            </dd>
          </dl>
        </section>`,
      )}
    </div>`;
  }

  _cues(model, sm) {
    const icons = { urgent: '‼', warn: '▲', info: '●' };
    return html`<section class="cues" part="summary-cues" aria-labelledby="summary-cues-h">
      <h4 id="summary-cues-h">${sm.cues}</h4>
      ${model.cues.length
        ? html`<ul>
            ${model.cues.map(
              (c) => html`<li>
                <span class="sev sev-${c.severity}"
                  ><span aria-hidden="true">${icons[c.severity]}</span> ${sm.severity[c.severity]}</span
                >
                <span>${this._clock(c.t)} · ${sm.rule(c.rule)}${c.clientId ? ` · ${model.names[c.clientId] || c.clientId}` : ''}</span>
              </li>`,
            )}
          </ul>`
        : html`<p class="small muted">${sm.noCues}</p>`}
    </section>`;
  }

  _counts(model, sm) {
    const shown = Object.keys(sm.countNames).filter((type) => model.counts[type]);
    return html`<section class="counts" part="summary-counts" aria-labelledby="summary-counts-h">
      <h4 id="summary-counts-h">${sm.counts}</h4>
      <dl>
        ${shown.map(
          (type) => html`<div>
            <dt>${sm.countNames[type]}</dt>
            <dd>${model.counts[type]}</dd>
          </div>`,
        )}
      </dl>
    </section>`;
  }
}

/** " (words)", or nothing for no words. */
function parenthesised(words) {
  return words ? ` (${words})` : '';
}

/** Round clock times (every 1, 5, 10, 15, 30 or 60 minutes) between start and end, at most `max`. */
export function timeTicks(start, end, max) {
  const minutes = (end - start) / 60_000;
  const step = [1, 5, 10, 15, 30, 60, 120].find((s) => minutes / s <= max) || 240;
  const stepMs = step * 60_000;
  const ticks = [];
  for (let t = Math.ceil(start / stepMs) * stepMs; t <= end; t += stepMs) ticks.push(t);
  return ticks.length ? ticks : [start];
}

/** Moves x positions (in order) apart so that marks at about the same time do not overlap. */
export function spread(xs, gap) {
  const out = [];
  for (const x of xs) out.push(out.length && x - out[out.length - 1] < gap ? out[out.length - 1] + gap : x);
  return out;
}

function shorten(name, n) {
  const chars = [...String(name)];
  return chars.length > n ? `${chars.slice(0, n - 1).join('')}…` : name;
}

function fillPattern(id, look) {
  const c = look.colour;
  const shapes = {
    diagonal: svg`<path d="M-1,1 l2,-2 M0,6 l6,-6 M5,7 l2,-2" stroke=${c} stroke-width="1.4"></path>`,
    dots: svg`<circle cx="3" cy="3" r="1.3" fill=${c}></circle>`,
    horizontal: svg`<path d="M0,3 h6" stroke=${c} stroke-width="1.4"></path>`,
    cross: svg`<path d="M0,0 l6,6 M6,0 l-6,6" stroke=${c} stroke-width="1.1"></path>`,
    vertical: svg`<path d="M3,0 v6" stroke=${c} stroke-width="1.4"></path>`,
  };
  return svg`<pattern id=${id} patternUnits="userSpaceOnUse" width="6" height="6">
    <rect width="6" height="6" fill="#fff"></rect>${shapes[look.fill]}</pattern>`;
}

function marker(shape, cx, cy, colour, hollow) {
  const fill = hollow ? '#fff' : colour;
  const common = { fill, stroke: colour };
  switch (shape) {
    case 'square':
      return svg`<rect x=${cx - 4} y=${cy - 4} width="8" height="8" fill=${common.fill} stroke=${common.stroke} stroke-width="1.5"></rect>`;
    case 'diamond':
      return svg`<path d="M${cx},${cy - 5} L${cx + 5},${cy} L${cx},${cy + 5} L${cx - 5},${cy} Z" fill=${common.fill} stroke=${common.stroke} stroke-width="1.5"></path>`;
    case 'triangle':
      return svg`<path d="M${cx},${cy - 5} L${cx + 5},${cy + 4} L${cx - 5},${cy + 4} Z" fill=${common.fill} stroke=${common.stroke} stroke-width="1.5"></path>`;
    case 'cross':
      return svg`<path d="M${cx - 4},${cy - 4} L${cx + 4},${cy + 4} M${cx + 4},${cy - 4} L${cx - 4},${cy + 4}" stroke=${colour} stroke-width="2.2"></path>`;
    default:
      return svg`<circle cx=${cx} cy=${cy} r="4.2" fill=${common.fill} stroke=${common.stroke} stroke-width="1.5"></circle>`;
  }
}

function sudsLine(client, x, y) {
  const points = client.suds.filter((p) => p.t != null);
  const look = client.look;
  return svg`<g class="suds">
    ${points.length > 1
      ? svg`<polyline points=${points.map((p) => `${x(p.t)},${y(p.value)}`).join(' ')} fill="none"
          stroke=${look.colour} stroke-width="2" stroke-dasharray=${look.dash || 'none'}></polyline>`
      : nothing}
    ${points.map((p) => marker(look.marker, x(p.t), y(p.value), look.colour, p.late))}
  </g>`;
}

/** A zone on a client's lane: a chevron up (too much), down (shut down), a ring (okay). */
function zoneMark(cx, cy, zone, colour, late) {
  if (zone === 'okay') return svg`<circle cx=${cx} cy=${cy} r="4" fill="#fff" stroke=${colour} stroke-width="2"></circle>`;
  const d = zone === 'too_much' ? `M${cx - 5},${cy + 3} L${cx},${cy - 4} L${cx + 5},${cy + 3}` : `M${cx - 5},${cy - 3} L${cx},${cy + 4} L${cx + 5},${cy - 3}`;
  return svg`<path d=${d} fill="none" stroke=${colour} stroke-width="2.6" stroke-dasharray=${late ? '2 2' : 'none'}
    stroke-linecap="round" stroke-linejoin="round"></path>`;
}

/** A cue on the top row: a circle with !! (urgent), a triangle with ! (attention), a ring (info). */
function cueMark(cx, cy, severity) {
  const colour = SEVERITY_COLOURS[severity] || SEVERITY_COLOURS.info;
  if (severity === 'urgent') {
    return svg`<g><circle cx=${cx} cy=${cy} r="7" fill=${colour}></circle>
      <text x=${cx} y=${cy + 3.5} text-anchor="middle" font-size="9" font-weight="800" fill="#fff">!!</text></g>`;
  }
  if (severity === 'warn') {
    return svg`<g><path d="M${cx},${cy - 7} L${cx + 7},${cy + 6} L${cx - 7},${cy + 6} Z" fill=${colour}></path>
      <text x=${cx} y=${cy + 5} text-anchor="middle" font-size="9" font-weight="800" fill="#fff">!</text></g>`;
  }
  return svg`<circle cx=${cx} cy=${cy} r="4" fill="none" stroke=${colour} stroke-width="2"></circle>`;
}

customElements.define('comfort-summary', ComfortSummary);
