/**
 * The client's buttons as tiles: the sticky bar's Pause (or Ready to go on) and Help now, Keep
 * going, Slow down and Grounding, and the window-of-tolerance zones. Template functions of the
 * element (`host`) and its strings; the element keeps the actions.
 */
import { html, nothing } from 'lit';
import { ZONES } from '../state.js';

/**
 * A tile: a button whose accessible name is exactly its label, with its hint beside it (not
 * inside, so names stay exact) and the whole tile as its target.
 */
export function tile(type, label, hint, onClick, { expanded, controls, pressed, className = '', part = 'tile' } = {}) {
  return html`<div class="tile ${className}" part=${part}>
    <button
      part="button ${type}${type === 'grounding' ? ' grounding-button' : ''}"
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

export function renderPauseTile(host, t) {
  // The hint sits beside the button, not inside it, so the accessible name is exactly "Pause";
  // the button's ::after stretches over the whole tile, so the tile is one big target.
  return html`<div class="tile pause" part="pause-tile">
    <button
      part="button pause"
      aria-describedby="pause-hint"
      aria-keyshortcuts="Alt+Shift+P"
      @click=${() => host._press('pause')}
    >
      ${t.client.pause}
    </button>
    <span class="hint" id="pause-hint">${t.client.pauseHint}</span>
  </div>`;
}

export function renderResumeTile(host, t) {
  return html`<div class="tile resume" part="pause-tile">
    <button part="button resume" @click=${() => host._press('resume')}>${t.client.resume}</button>
  </div>`;
}

export function renderPaused(t) {
  return html`<div class="card paused" part="paused">
    <p><strong>${t.client.pausedTitle}</strong></p>
    <p>${t.client.pausedBody}</p>
  </div>`;
}

export function renderChoices(host, t) {
  const c = t.client;
  const open = host._panel === 'grounding';
  return html`<div class="tiles">
    ${tile('keep_going', c.keepGoing, c.keepGoingHint, () => host._press('keep_going'))}
    ${tile('slow_down', c.slowDown, c.slowDownHint, () => host._press('slow_down'))}
    ${tile('grounding', c.grounding, c.groundingHint, () => host._toggleGrounding(), {
      expanded: open,
      controls: 'grounding-panel',
    })}
  </div>`;
}

export function renderZones(host, t, mine) {
  const c = t.client;
  // The hints are visible, so "Shut down" reads as a feeling, not as ending the session.
  return html`<fieldset part="zone">
    <legend>${c.zoneLegend}</legend>
    <div class="zones">
      ${ZONES.map((zone) =>
        tile(`zone-${zone}`, c.zones[zone], c.zoneHints[zone], () => host._press('zone', { zone }), {
          pressed: mine?.zone === zone,
          className: 'zone',
        }),
      )}
    </div>
  </fieldset>`;
}
