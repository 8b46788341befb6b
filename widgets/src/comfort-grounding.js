/**
 * <comfort-grounding>: one grounding exercise, guided (used inside <comfort-client>).
 * Breathing exercises animate a circle that can be made to wait and stopped at any time
 * (WCAG 2.2.2) and stays still under prefers-reduced-motion, where the words carry the rhythm
 * instead; each new phase is announced in a live region ("Breathe in for 4"). 5-4-3-2-1 senses
 * is a set of gentle steps at the client's own pace. Focus never drops to <body> when a
 * control it was on goes away (the exercise finishing by itself, say).
 *
 * It fires non-bubbling `grounding-finish` events (detail {exercise, completed, duration_s})
 * to its parent; the parent sends the log events.
 */
import { LitElement, html, css, nothing } from 'lit';
import { styleMap } from 'lit/directives/style-map.js';
import { tokens } from './styles.js';
import { breathingPhase, clampRate } from './state.js';

const TICK_MS = 250;

export class ComfortGrounding extends LitElement {
  static properties = {
    exercise: { type: String },
    strings: { attribute: false },
    reducedMotion: { type: Boolean, attribute: 'reduced-motion', reflect: true },
    _elapsed: { state: true },
    _running: { state: true },
    _rate: { state: true },
    _step: { state: true },
    _finished: { state: true },
  };

  static styles = [
    tokens,
    css`
      :host {
        display: block;
      }
      .wrap {
        display: grid;
        gap: var(--_gap);
        justify-items: center;
        text-align: center;
      }
      .stage {
        width: 168px;
        height: 168px;
        display: grid;
        place-items: center;
        position: relative;
      }
      .circle {
        position: absolute;
        inset: 0;
        border-radius: 50%;
        background: radial-gradient(circle at 40% 35%, var(--_calm-soft), var(--_accent-soft));
        border: 2px solid var(--_calm);
        transform: scale(0.6);
        animation-timing-function: ease-in-out;
        animation-fill-mode: forwards;
      }
      @keyframes comfort-in {
        from { transform: scale(0.6); }
        to { transform: scale(1); }
      }
      @keyframes comfort-out {
        from { transform: scale(1); }
        to { transform: scale(0.6); }
      }
      @keyframes comfort-hold-full {
        from { transform: scale(1); }
        to { transform: scale(1); }
      }
      @keyframes comfort-hold-empty {
        from { transform: scale(0.6); }
        to { transform: scale(0.6); }
      }
      :host([reduced-motion]) .circle {
        animation: none !important;
        transform: scale(0.8);
      }
      .phase {
        position: relative;
        font-size: 1.25em;
        font-weight: 600;
      }
      .count {
        position: relative;
        display: block;
        font-size: 2em;
        font-weight: 300;
        font-variant-numeric: tabular-nums;
      }
      .senses {
        font-size: 1.15em;
        max-width: 28ch;
      }
      .big {
        font-size: 3em;
        font-weight: 300;
        line-height: 1;
        color: var(--_calm);
      }
      label {
        display: grid;
        gap: 4px;
        font-weight: 600;
      }
      input[type='range'] {
        width: min(260px, 100%);
        min-height: 32px;
        accent-color: var(--_accent);
      }
    `,
  ];

  constructor() {
    super();
    this.exercise = null;
    this.strings = null;
    this.reducedMotion = false;
    this._elapsed = 0;
    this._running = true;
    this._rate = 6;
    this._step = 0;
    this._finished = false;
    this._timer = null;
    this._last = 0;
    this._startedAt = Date.now();
  }

  connectedCallback() {
    super.connectedCallback();
    this._startedAt = Date.now();
    this._startTimer();
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    clearInterval(this._timer);
  }

  willUpdate() {
    this._focusedBefore = this.shadowRoot?.activeElement ?? null;
  }

  updated() {
    const before = this._focusedBefore;
    if (before && !before.isConnected) this.renderRoot.querySelector('button')?.focus();
  }

  get breathing() {
    return this.exercise && this.exercise !== 'five_senses';
  }

  _startTimer() {
    clearInterval(this._timer);
    this._last = performance.now();
    this._timer = setInterval(() => this._tick(), TICK_MS);
  }

  _tick() {
    const now = performance.now();
    const delta = now - this._last;
    this._last = now;
    if (!this.breathing || !this._running || this._finished) return;
    this._elapsed += delta;
    const phase = breathingPhase(this.exercise, this._elapsed, this._rate);
    if (phase.done) this._finish(true);
  }

  _finish(completed) {
    if (this._finished) return;
    this._finished = true;
    this._running = false;
    const duration_s = Math.round((Date.now() - this._startedAt) / 100) / 10;
    this.dispatchEvent(
      new CustomEvent('grounding-finish', { detail: { exercise: this.exercise, completed, duration_s } }),
    );
  }

  _toggleHold() {
    this._running = !this._running;
    this._last = performance.now();
  }

  _close() {
    this.dispatchEvent(new CustomEvent('grounding-close'));
  }

  render() {
    const t = this.strings;
    if (!t || !this.exercise) return nothing;
    if (this._finished) {
      return html`<div class="wrap" part="grounding-done">
        <p role="status">${t.wellDone}</p>
        <button class="primary" @click=${this._close}>${t.done}</button>
      </div>`;
    }
    return this.breathing ? this._renderBreathing(t) : this._renderSenses(t);
  }

  _renderBreathing(t) {
    const p = breathingPhase(this.exercise, this._elapsed, this._rate);
    const name =
      p.phase === 'hold' ? (this._previousWasIn(p) ? 'comfort-hold-full' : 'comfort-hold-empty') : `comfort-${p.phase}`;
    const circleStyle = {
      animationName: this.reducedMotion ? 'none' : name,
      animationDuration: `${p.phaseSeconds}s`,
      animationPlayState: this._running ? 'running' : 'paused',
    };
    return html`<div class="wrap" part="grounding">
      ${this.exercise === 'breathing_478' ? html`<p class="small muted">${t.sitDown}</p>` : nothing}
      <div class="stage" aria-hidden="true">
        <div class="circle" part="breath-circle" data-phase=${p.phase} style=${styleMap(circleStyle)}></div>
        <span class="phase">${t.phases[p.phase]}<span class="count">${p.remaining}</span></span>
      </div>
      <p class="visually-hidden" role="status">${t.phaseFor(t.phases[p.phase], Math.round(p.phaseSeconds))}</p>
      <p class="muted small">${t.cycle(p.round, p.rounds)}</p>
      ${this.reducedMotion ? html`<p class="muted small">${t.motionReduced}</p>` : nothing}
      ${this.exercise === 'paced_breathing'
        ? html`<label
            >${t.rateLabel}: ${this._rate}
            <input
              type="range"
              min="4.5"
              max="7"
              step="0.5"
              .value=${String(this._rate)}
              aria-valuetext=${t.rateValue(this._rate)}
              @input=${(e) => {
                this._rate = clampRate(e.target.value);
              }}
          /></label>`
        : nothing}
      <div class="row">
        <button @click=${this._toggleHold}>${this._running ? t.wait : t.carryOn}</button>
        <button @click=${() => this._finish(false)}>${t.stop}</button>
      </div>
    </div>`;
  }

  _previousWasIn(p) {
    // Box breathing holds twice: after breathing in (full) and after breathing out (empty).
    const before = breathingPhase(this.exercise, Math.max(0, this._elapsed - p.phaseSeconds * 1000), this._rate);
    return before.phase === 'in';
  }

  _renderSenses(t) {
    const steps = t.senses;
    const step = steps[this._step];
    const last = this._step === steps.length - 1;
    return html`<div class="wrap" part="grounding">
      <p class="muted small">${t.step(this._step + 1, steps.length)}</p>
      <p class="big" aria-hidden="true">${step.count}</p>
      <p class="senses" role="status">${step.text}</p>
      <div class="row">
        ${this._step > 0
          ? html`<button @click=${() => { this._step -= 1; }}>${t.back}</button>`
          : nothing}
        ${last
          ? html`<button class="primary" @click=${() => this._finish(true)}>${t.done}</button>`
          : html`<button class="primary" @click=${() => { this._step += 1; }}>${t.next}</button>`}
        <button @click=${() => this._finish(false)}>${t.stop}</button>
      </div>
    </div>`;
  }
}

customElements.define('comfort-grounding', ComfortGrounding);
