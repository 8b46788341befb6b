/**
 * The client's screens when nothing more can be sent: the ended session (a closing word, the
 * exercises still usable and the resources; never a blank) and a refused connection (what
 * happened in the client's words, what to do meanwhile; nothing to press).
 */
import { html, nothing } from 'lit';
import { indexLog } from '../state.js';
import { renderGrounding } from './grounding-view.js';
import { renderSupport } from './help-view.js';
import { renderCameraControl } from './privacy.js';

/** The ended session: never a blank — a closing word, the exercises and the resources. */
export function renderClosing(host, t, mine) {
  const c = t.client;
  const unsent = [...host._refusedSends.values()].some(({ error }) => error.code === 'session_ended');
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
    ${renderGrounding(host, t, { live: false })} ${renderSupport(host, t, indexLog(host.connection.events), { live: false })}
  </section>`;
}

/**
 * A refused connection: what happened in the client's words, what to do; nothing to press.
 * The session's resources, if this tab saw them before (a link that expired mid-session).
 */
export function renderRefused(host, t) {
  const c = t.client;
  const code = host.connection.error?.code;
  const known = host._safety.resources.length > 0;
  return html`<section class="base" part="base" aria-labelledby="comfort-title">
    <header>
      <h2 id="comfort-title">${c.title}</h2>
    </header>
    <div class="card notice" part="refused">
      <p role="status" class="refusal" part="status" tabindex="-1" data-focus-fallback>
        ${c.refused[code] || c.refused.default}
      </p>
      <p>${c.whatToDo}</p>
      ${known ? nothing : html`<p>${c.emergency}</p>`} ${renderCameraControl(host, t)}
    </div>
    ${known ? renderSupport(host, t, indexLog(host.connection.events), { live: false }) : nothing}
  </section>`;
}
