/**
 * Help now and the safety plan on the client's side (contract §9.2): the Help now tile, the
 * *Help and support* section (where a help request stands, the emergency line, the session's
 * resources with call, text and open links, what the client shared of their location) and the
 * location question (at the session's start with `ask_location`; skippable, askable again).
 */
import { html, nothing } from 'lit';
import { canUndo, sharedLocation } from '../client-state.js';
import { pressStatus } from './press-state.js';

export function renderHelpTile(host, t) {
  return html`<div class="tile help" part="help-tile">
    <button part="button help" aria-describedby="help-hint" aria-controls="support" @click=${() => host._helpNow()}>
      ${t.client.helpNow}
    </button>
    <span class="hint" id="help-hint">${t.client.helpHint}</span>
  </div>`;
}

/** The location question shows at the session's start (ask_location) and when asked again. */
export function locationAsked(host) {
  const conn = host.connection;
  if (!host._safety.askLocation) return false;
  return host._askLocation || !(conn.note('locationAsked') || sharedLocation(conn.events, host._me));
}

export function renderLocationQuestion(host, t) {
  const c = t.client;
  if (!locationAsked(host)) return nothing;
  return html`<form
    class="card location"
    part="location"
    @submit=${(e) => {
      e.preventDefault();
      host._shareLocation(e.currentTarget);
    }}
  >
    <label for="location-input">${c.locationQuestion}</label>
    <p class="muted small" id="location-why">${c.locationWhy}</p>
    <input id="location-input" type="text" maxlength="200" autocomplete="off" aria-describedby="location-why" />
    <div class="row">
      <button class="primary" type="submit">${c.share}</button>
      <button type="button" class="quiet" @click=${() => host._closeLocation({ skipped: true })}>${c.skip}</button>
    </div>
  </form>`;
}

/** Help and support: the state of a help request, the session's resources, the location. */
export function renderSupport(host, t, index, { live }) {
  const c = t.client;
  const conn = host.connection;
  const safety = host._safety;
  const help = live ? pressStatus(conn, host._lastHelp, index, host._refusedSends) : null;
  const shared = sharedLocation(conn.events, host._me);
  return html`<section class="card support" part="support" id="support" aria-labelledby="support-title">
    <h3 id="support-title" tabindex="-1">${c.supportTitle}</h3>
    <p role="status">${help ? describeHelp(c, help) : ''}</p>
    ${help && canUndo(help, Date.now())
      ? html`<div class="row">
          <button class="quiet" part="undo-help" @click=${() => host._undo(help)}>${c.takeBack}</button>
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
    ${live && safety.askLocation && !locationAsked(host)
      ? html`<div class="row">
          <button
            class="quiet"
            id="location-again"
            @click=${() => {
              host._askLocation = true;
              host._focusNext = '#location-input';
            }}
          >
            ${c.locationAgain}
          </button>
        </div>`
      : nothing}
  </section>`;
}

function describeHelp(c, status) {
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
