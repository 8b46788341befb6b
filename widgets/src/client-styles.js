/**
 * The look of <comfort-client>, on top of the shared tokens (styles.js). Calm by design: no
 * red, no countdowns. Pause and Help now sit in a bar that stays in view (sticky) whatever is
 * open, at 200 % zoom and at 320 px; every control's boundary is at least 3:1 against what it
 * sits on (WCAG 1.4.11), through --comfort-control-border.
 */
import { css } from 'lit';

export const clientStyles = css`
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
  h3 {
    font-size: 1em;
  }
  [tabindex='-1']:focus {
    outline: none;
  }
  [tabindex='-1']:focus-visible {
    outline: 3px solid var(--_focus);
    outline-offset: 2px;
  }
  .status {
    font-size: 0.875em;
    color: var(--_muted);
  }
  /* Pause and Help now: always in view while the widget is (WCAG 2.4.11, 1.4.10). */
  .bar {
    position: sticky;
    top: 0;
    z-index: 2;
    display: grid;
    grid-template-columns: minmax(0, 2fr) minmax(0, 1fr);
    gap: 8px;
    margin-inline: calc(-1 * var(--_gap));
    padding: 6px var(--_gap);
    background: var(--_bg);
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
    border: 1.5px solid var(--_control-border);
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
    box-shadow: none;
  }
  .tile:has(button:focus-visible) {
    outline: 3px solid var(--_focus);
    outline-offset: 2px;
    box-shadow: 0 0 0 2px var(--_focus-gap);
  }
  .tile:hover {
    border-color: var(--_accent);
    background: var(--_accent-soft);
  }
  .tile .hint {
    font-size: 0.78em;
    color: var(--_muted);
    overflow-wrap: break-word;
    hyphens: auto;
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
  .tile.resume {
    background: var(--_calm-soft);
    border-color: var(--_calm);
    border-width: 2px;
  }
  .tile.resume button {
    color: var(--_text);
    font-size: 1.15em;
  }
  .tile.help {
    border-color: var(--_calm);
    border-width: 2px;
    border-radius: var(--_radius);
  }
  /* Dark words, not green: they keep 4.5:1 on the hover fill too. */
  .tile.help button {
    color: var(--_text);
  }
  .tiles,
  .zones {
    display: grid;
    grid-template-columns: repeat(3, minmax(0, 1fr));
    gap: 8px;
  }
  /* The Grounding tile while its exercises are shown (aria-expanded), and a chosen zone. */
  .tile:has(button[aria-expanded='true']) {
    background: var(--_calm-soft);
    border-color: var(--_calm);
  }
  .tile.zone button[aria-pressed='true'] {
    color: var(--_text);
  }
  .tile.zone:has(button[aria-pressed='true']) {
    background: var(--_calm-soft);
    border-color: var(--_calm);
    border-width: 2px;
  }
  .feedback {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    justify-content: space-between;
    gap: 8px;
    min-height: 44px;
  }
  /* Nothing to say yet: take no room, not even a grid gap (the live regions stay in the DOM,
     so what they say later is announced). */
  .feedback:has(> p:empty):not(:has(button)),
  .support > p[role='status']:empty {
    position: absolute;
    min-height: 0;
  }
  .seen {
    color: var(--_calm);
    font-weight: 600;
  }
  .paused,
  .closing {
    background: var(--_calm-soft);
    border-color: var(--_calm);
    display: grid;
    gap: 8px;
  }
  .notice {
    display: grid;
    gap: 8px;
    border-color: var(--_accent);
    border-width: 2px;
  }
  .refusal {
    font-weight: 650;
  }
  .panel {
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
    border: 1.5px solid var(--_control-border);
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
    box-shadow: 0 0 0 2px var(--_focus-gap);
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
    border: 1.5px solid var(--_control-border);
    border-radius: 10px;
    background: var(--_surface);
    cursor: pointer;
  }
  .zone-answers .hint {
    font-size: 0.85em;
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
  .support {
    display: grid;
    gap: 8px;
  }
  .resources {
    list-style: none;
    margin: 0;
    padding: 0;
    display: grid;
    gap: 8px;
  }
  .resources li {
    display: grid;
    gap: 4px;
  }
  .resources .label {
    font-weight: 650;
  }
  .links {
    display: flex;
    flex-wrap: wrap;
    gap: 6px 16px;
  }
  a {
    color: var(--_accent);
    font-weight: 600;
    text-underline-offset: 3px;
    display: inline-flex;
    align-items: center;
    min-height: 32px;
    overflow-wrap: anywhere;
  }
  a:focus-visible {
    outline: 3px solid var(--_focus);
    outline-offset: 2px;
    box-shadow: 0 0 0 2px var(--_focus-gap);
    border-radius: 2px;
  }
  .location {
    display: grid;
    gap: 8px;
    border-color: var(--_accent);
    border-width: 2px;
  }
  .location label {
    font-weight: 650;
  }
  input[type='text'] {
    min-height: 44px;
    padding: 8px 10px;
    border: 1.5px solid var(--_control-border);
    border-radius: 10px;
    background: var(--_surface);
    width: 100%;
  }
  /* Narrow side panels and 320 px screens: one tile a row, so words are never cut; eleven
     24 px targets still fit down to about 300 px. */
  @container (max-width: 340px) {
    .tiles,
    .zones {
      grid-template-columns: 1fr;
    }
  }
  @container (max-width: 300px) {
    .scale {
      grid-template-columns: repeat(6, minmax(0, 1fr));
    }
  }
  @container (max-width: 220px) {
    .bar {
      grid-template-columns: 1fr;
    }
  }
`;
