/**
 * A therapist's check-in on the client's side: which request is on screen (it stays until the
 * client answers or says "Not now", also after the service closed it, which it then says
 * gently: WCAG 2.2.1) and the question itself, SUDS 0–10 or the three zones, with Send.
 */
import { html, nothing } from 'lit';
import { ZONES } from '../state.js';

/**
 * The check-in to show: the one already on screen while it is not handled, else the oldest open
 * one the client has not handled. Returns the request event with `closed` (the service closed it
 * meanwhile), or null. Remembers the one it chose on the host (`_shownCheckin`).
 */
export function currentCheckin(host, mine, index) {
  const conn = host.connection;
  const handled = new Set(conn.note('checkinsHandled') || []);
  const shown = host._shownCheckin;
  if (shown != null && !handled.has(shown) && index.bySeq.has(shown)) {
    return { ...index.bySeq.get(shown), closed: !(mine?.open_checkins || []).includes(shown) };
  }
  const open = (mine?.open_checkins || []).filter((seq) => !handled.has(seq) && index.bySeq.has(seq));
  if (!open.length) return null;
  host._shownCheckin = open[0];
  return { ...index.bySeq.get(open[0]), closed: false };
}

export function renderCheckin(host, t, checkin) {
  const c = t.client;
  const suds = checkin.data.instrument === 'suds';
  const close = () => host._finishCheckin(checkin.seq);
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
      host._answer(checkin);
    }}
  >
    <h3 id="checkin-title">${c.checkinTitle}</h3>
    ${suds ? renderSuds(host, c) : renderZoneAnswer(host, c)}
    <div class="row">
      <button class="primary" type="submit">${c.send}</button>
      <button type="button" class="quiet" @click=${close}>${c.notNow}</button>
    </div>
  </form>`;
}

function renderSuds(host, c) {
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
            .checked=${host._choice === String(v)}
            aria-describedby=${v in c.sudsAnchors ? `anchor-${v}` : nothing}
            @change=${() => {
              host._choice = String(v);
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

function renderZoneAnswer(host, c) {
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
            .checked=${host._choice === zone}
            aria-describedby="zone-answer-hint-${zone}"
            @change=${() => {
              host._choice = zone;
            }}
          />${c.zones[zone]}
          <span class="hint" id="zone-answer-hint-${zone}">— ${c.zoneHints[zone]}</span></label
        >`,
      )}
    </div>
  </fieldset>`;
}
