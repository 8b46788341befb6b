/**
 * The therapist panel's own look, on top of the shared tokens (styles.js). Built narrow first:
 * in a 320–400 px side panel everything stacks with Needs attention right under the header;
 * from 760 px of the element's own width (a container query, so it follows the panel, not the
 * window) clients and actions sit beside the feed, under a full-width Needs attention.
 */
import { css } from 'lit';

export const panelStyles = css`
  .base {
    display: grid;
    gap: var(--_gap);
    padding: var(--_gap);
    background: var(--_bg);
    border-radius: var(--_radius);
  }
  header {
    display: grid;
    grid-template-columns: 1fr auto;
    gap: 2px 12px;
    align-items: center;
  }
  h2 {
    font-size: 1.1em;
  }
  h3 {
    font-size: 0.95em;
    font-weight: 650;
  }
  .headline {
    grid-column: 1 / -1;
    display: flex;
    flex-wrap: wrap;
    gap: 0 12px;
    font-size: 0.875em;
    color: var(--_muted);
  }
  .clock {
    font-variant-numeric: tabular-nums;
    font-weight: 600;
    color: var(--_text);
  }
  .switch {
    display: inline-flex;
    border: 1.5px solid var(--_border);
    border-radius: 999px;
    overflow: hidden;
  }
  .switch button {
    min-height: 32px;
    min-width: 0;
    padding: 2px 12px;
    border: 0;
    border-radius: 0;
    font-size: 0.875em;
  }
  .switch button[aria-pressed='true'] {
    background: var(--_accent);
    color: var(--_accent-text);
  }
  .layout,
  .col {
    display: grid;
    gap: var(--_gap);
    align-content: start;
    min-width: 0;
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

  /* ---- severity: a shape, a word and a colour ---- */
  .sev-icon {
    display: inline-grid;
    place-items: center;
    flex: none;
    width: 22px;
    height: 22px;
    font-size: 12px;
    font-weight: 800;
    line-height: 1;
    color: #fff;
  }
  .sev-icon.urgent {
    border-radius: 50%;
    background: var(--_urgent);
    letter-spacing: -1px;
  }
  .sev-icon.warn {
    background: var(--_warn);
    clip-path: polygon(50% 0, 100% 100%, 0 100%);
    padding-top: 6px;
  }
  .sev-icon.info {
    border-radius: 50%;
    border: 2px solid var(--_info);
    color: var(--_info);
    font-style: italic;
    font-family: Georgia, serif;
  }
  .sev-word {
    font-size: 0.8em;
    font-weight: 750;
    text-transform: uppercase;
    letter-spacing: 0.03em;
  }
  .sev-urgent .sev-word,
  .tag.sev-urgent {
    color: var(--_urgent);
  }
  .sev-warn .sev-word,
  .tag.sev-warn {
    color: var(--_warn);
  }
  .sev-info .sev-word,
  .tag.sev-info {
    color: var(--_info);
  }
  .badge {
    display: inline-flex;
    align-items: center;
    gap: 4px;
    padding: 1px 8px 1px 2px;
    border-radius: 999px;
    font-size: 0.85em;
    font-weight: 650;
    border: 1px solid currentColor;
  }
  .badge .sev-icon {
    width: 16px;
    height: 16px;
    font-size: 9px;
  }
  .badge .sev-icon.warn {
    padding-top: 4px;
  }
  .badge.sev-urgent {
    color: var(--_urgent);
    background: var(--_urgent-soft);
  }
  .badge.sev-warn {
    color: var(--_warn);
    background: var(--_warn-soft);
  }
  .tag {
    display: inline-block;
    font-size: 0.8em;
    font-weight: 650;
    white-space: nowrap;
  }
  .tag.late {
    padding: 0 6px;
    border: 1px solid var(--_muted);
    border-radius: 4px;
    color: var(--_muted);
  }

  /* ---- Needs attention ---- */
  .attention {
    container-type: inline-size;
    display: grid;
    gap: 8px;
    padding: 10px;
    border-radius: var(--_radius);
    background: var(--_surface);
    border: 2px solid var(--_warn);
  }
  .attention.has-urgent {
    border-color: var(--_urgent);
  }
  .attention.calm {
    padding: 6px 10px;
    border: 1px solid var(--_border);
    grid-template-columns: auto 1fr;
    align-items: center;
    gap: 12px;
  }
  /* Reconnecting or catching up: not an all-clear, so not the calm green; dashed, as unsure. */
  .attention.behind {
    padding: 6px 10px;
    border: 2px dashed var(--_muted);
  }
  .behind-note {
    color: var(--_muted);
    font-size: 0.9em;
    font-weight: 600;
  }
  .attention-head {
    display: flex;
    align-items: center;
    gap: 8px;
  }
  .attention h3 {
    font-size: 1em;
  }
  .attention h3:focus {
    outline: none;
  }
  .attention h3:focus-visible {
    outline: 3px solid var(--_focus);
    outline-offset: 2px;
  }
  .count {
    min-width: 22px;
    padding: 0 6px;
    border-radius: 999px;
    background: var(--_text);
    color: var(--_surface);
    font-size: 0.8em;
    font-weight: 700;
    text-align: center;
  }
  .all-clear {
    color: var(--_calm);
    font-size: 0.9em;
    font-weight: 600;
  }
  .needs {
    display: grid;
    gap: 6px;
  }
  .need {
    display: grid;
    grid-template-columns: auto minmax(0, 1fr) auto;
    grid-template-areas:
      'icon line act'
      'icon meta meta'
      'icon ack ack'
      'icon loc loc';
    gap: 0 10px;
    align-items: center;
    padding: 6px 8px;
    border-radius: 10px;
    border: 1px solid transparent;
    border-inline-start-width: 4px;
  }
  .need > .sev-icon {
    grid-area: icon;
    align-self: start;
    margin-top: 6px;
  }
  .need > .line {
    grid-area: line;
  }
  .need > button {
    grid-area: act;
  }
  .need > .meta {
    grid-area: meta;
  }
  .need > .ack-state {
    grid-area: ack;
  }
  .need > .location {
    grid-area: loc;
  }
  /* Under 300 px (a 320 px panel) the button goes under the words rather than squeeze them. */
  @container (max-width: 300px) {
    .need {
      grid-template-columns: auto minmax(0, 1fr);
      grid-template-areas:
        'icon line'
        'icon meta'
        'icon ack'
        'icon loc'
        'icon act';
    }
    .need > button {
      justify-self: start;
      margin-top: 4px;
    }
  }
  .need.sev-urgent {
    background: var(--_urgent-soft);
    border-color: var(--_urgent);
  }
  .need.sev-warn {
    background: var(--_warn-soft);
    border-color: var(--_warn);
  }
  .need.sev-info {
    background: var(--_info-soft);
    border-color: var(--_info);
  }
  .line,
  .location {
    overflow-wrap: break-word;
  }
  .need .line {
    font-weight: 650;
  }
  .need .who {
    font-weight: 750;
  }
  .need .who::after {
    content: ' ·';
    font-weight: 400;
  }
  .meta {
    font-size: 0.8em;
    color: var(--_muted);
  }
  time {
    white-space: nowrap;
  }
  .need .meta {
    color: var(--_text);
  }
  .need .location {
    font-size: 0.9em;
    font-weight: 600;
  }
  .location .label {
    font-weight: 400;
    color: var(--_muted);
  }
  .need button,
  .item button {
    min-height: 36px;
    padding: 4px 12px;
  }
  .need button[part~='acknowledge'] {
    background: var(--_accent);
    border-color: var(--_accent);
    color: var(--_accent-text);
  }
  /* Where an acknowledgement stands, on its signal's row. Not sent yet is no quiet note: full
     colour and a dashed edge (not done, as the panel's other "not yet" marks), 3:1 against the
     row's soft fill; sending is quiet (it lasts a moment); refused is marked as not sent. */
  .ack-state[data-state] {
    margin-top: 4px;
    font-size: 0.85em;
    font-weight: 600;
  }
  .ack-state[data-state='queued'],
  .ack-state[data-state='rejected'] {
    padding: 2px 8px;
    border: 1.5px dashed var(--_control-border);
    border-radius: 6px;
    background: var(--_surface);
    color: var(--_text);
  }
  .ack-state[data-state='rejected'] {
    border-style: solid;
    border-inline-start: 4px solid var(--_warn);
  }
  .ack-state[data-state='sending'] {
    color: var(--_muted);
  }

  /* ---- clients ---- */
  .clients-section,
  .feed-section {
    display: grid;
    gap: 6px;
  }
  .clients {
    display: grid;
    gap: 6px;
  }
  .client {
    display: grid;
    gap: 4px;
    padding: 8px 10px;
    background: var(--_surface);
    border: 1px solid var(--_border);
    border-radius: 10px;
  }
  .client-name {
    display: flex;
    justify-content: space-between;
    gap: 8px;
  }
  .facts {
    display: grid;
    grid-template-columns: repeat(auto-fill, minmax(96px, 1fr));
    gap: 2px 10px;
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
  svg.trend {
    width: 64px;
    height: 20px;
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

  /* ---- actions ---- */
  .actions {
    display: grid;
    gap: 8px;
    padding: 10px;
  }
  .actions .choices {
    display: grid;
    gap: 8px;
    padding: 8px;
    border-inline-start: 3px solid var(--_accent-soft);
  }
  /* Before the first connection: still focusable, so the description is heard (aria-disabled).
     Dimmed by colour and a dashed edge, not opacity, which would dim the focus ring too. */
  .actions button[aria-disabled='true'],
  .actions button[aria-disabled='true']:hover {
    color: var(--_muted);
    border-style: dashed;
    border-color: var(--_control-border);
    background: var(--_bg);
    font-weight: 500;
    cursor: not-allowed;
  }
  /* A request not sent (yet) is not a quiet confirmation: it reads in full colour, marked. */
  .actions .request[data-state='queued'],
  .actions .request[data-state='rejected'] {
    color: var(--_text);
    font-weight: 600;
    padding-inline-start: 8px;
    border-inline-start: 3px solid var(--_warn);
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

  /* ---- feed ---- */
  .feed {
    display: grid;
    gap: 4px;
  }
  .item {
    display: grid;
    grid-template-columns: auto minmax(0, 1fr) auto;
    gap: 0 8px; /* no row gap: an empty .ack-state line takes no room */
    align-items: center;
    min-height: 32px;
    padding: 3px 8px;
    background: var(--_surface);
    border: 1px solid var(--_border);
    border-radius: 8px;
  }
  .item.sev-urgent {
    border-color: var(--_urgent);
    border-inline-start-width: 4px;
  }
  .item.sev-warn {
    border-color: var(--_warn);
    border-inline-start-width: 4px;
  }
  .item .sev-icon {
    width: 18px;
    height: 18px;
    font-size: 10px;
  }
  .item .sev-icon.warn {
    padding-top: 5px;
  }
  .bullet {
    width: 18px;
    display: grid;
    place-items: center;
  }
  .bullet::before {
    content: '';
    width: 6px;
    height: 6px;
    border-radius: 50%;
    background: var(--_muted);
  }
  .item .line {
    font-size: 0.95em;
  }
  .item .what {
    font-weight: 600;
  }
  .item .meta {
    font-size: 0.85em;
  }
  .item.withdrawn .what {
    text-decoration: line-through;
  }
  .item > .ack-state {
    grid-column: 2 / -1;
  }

  footer {
    display: grid;
    gap: 6px;
  }
  .note {
    font-size: 0.8em;
    color: var(--_muted);
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

  @media print {
    .base.view-summary > :not(comfort-summary):not(header),
    .base.view-summary header .switch,
    .base.view-summary .headline {
      display: none !important;
    }
    .base {
      background: none;
      padding: 0;
    }
  }
`;
