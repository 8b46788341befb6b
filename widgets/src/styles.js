/**
 * Shared look of both widgets. Every colour, size and font is a documented `--comfort-*`
 * custom property with a calm default (docs/widgets.md lists them), so a vendor restyles the
 * widgets from outside without forking; parts are exposed with `part="…"` for ::part().
 * Defaults meet WCAG AA contrast on white and keep every target at least 24 px (most 44 px).
 */
import { css } from 'lit';

export const tokens = css`
  :host {
    --_font: var(--comfort-font, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif);
    --_bg: var(--comfort-bg, #f5f8f7);
    --_surface: var(--comfort-surface, #ffffff);
    --_text: var(--comfort-text, #1d2a30);
    --_muted: var(--comfort-muted, #4a5a62);
    --_border: var(--comfort-border, #c6d4d6);
    /* Boundaries of controls (buttons, tiles, inputs): at least 3:1 against white, the
       background and the soft fills (WCAG 1.4.11); --_border stays for decorative lines. */
    --_control-border: var(--comfort-control-border, #6e8087);
    --_accent: var(--comfort-accent, #2d6a78);
    --_accent-text: var(--comfort-accent-text, #ffffff);
    --_accent-soft: var(--comfort-accent-soft, #e2eff0);
    --_calm: var(--comfort-calm, #3f7a5a);
    --_calm-soft: var(--comfort-calm-soft, #e5f2ea);
    --_focus: var(--comfort-focus, #1b5fa8);
    /* The focus ring is drawn with a band of this colour inside it, so it stands out against
       the control it surrounds even when that control is as dark as the ring (the Pause tile). */
    --_focus-gap: var(--comfort-focus-gap, #ffffff);
    --_radius: var(--comfort-radius, 14px);
    --_gap: var(--comfort-gap, 12px);
    --_font-size: var(--comfort-font-size, 1rem);
    --_urgent: var(--comfort-urgent, #8f1d1d);
    --_urgent-soft: var(--comfort-urgent-soft, #fbe9e7);
    --_warn: var(--comfort-warn, #6e4a00);
    --_warn-soft: var(--comfort-warn-soft, #fdf1d6);
    --_info: var(--comfort-info, #23507a);
    --_info-soft: var(--comfort-info-soft, #e7f0f8);
    display: block;
    box-sizing: border-box;
    font-family: var(--_font);
    font-size: var(--_font-size);
    line-height: 1.45;
    color: var(--_text);
    container-type: inline-size;
  }
  :host([hidden]) {
    display: none;
  }
  *,
  *::before,
  *::after {
    box-sizing: inherit;
  }
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    margin: -1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
    border: 0;
  }
  h2,
  h3,
  p {
    margin: 0;
  }
  button,
  select,
  input {
    font: inherit;
    color: inherit;
  }
  button {
    min-height: 44px;
    min-width: 44px;
    padding: 8px 16px;
    border-radius: calc(var(--_radius) * 0.7);
    border: 1.5px solid var(--_control-border);
    background: var(--_surface);
    color: var(--_accent);
    font-weight: 600;
    cursor: pointer;
    transition: background-color 120ms ease, border-color 120ms ease;
  }
  button:hover {
    border-color: var(--_accent);
    background: var(--_accent-soft);
  }
  button.primary {
    background: var(--_accent);
    border-color: var(--_accent);
    color: var(--_accent-text);
  }
  button.primary:hover {
    filter: brightness(1.08);
  }
  button.quiet {
    min-height: 32px;
    padding: 4px 12px;
    border-color: transparent;
    background: transparent;
    text-decoration: underline;
    text-underline-offset: 3px;
  }
  button:focus-visible,
  select:focus-visible,
  input:focus-visible,
  [tabindex]:focus-visible {
    outline: 3px solid var(--_focus);
    outline-offset: 2px;
    box-shadow: 0 0 0 2px var(--_focus-gap);
  }
  button[disabled] {
    opacity: 0.55;
    cursor: not-allowed;
  }
  .card {
    background: var(--_surface);
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    padding: var(--_gap);
  }
  .row {
    display: flex;
    flex-wrap: wrap;
    gap: 8px;
    align-items: center;
  }
  .muted {
    color: var(--_muted);
  }
  .small {
    font-size: 0.875em;
  }
  fieldset {
    border: 0;
    margin: 0;
    padding: 0;
    min-width: 0;
  }
  legend {
    padding: 0;
    font-weight: 600;
    margin-bottom: 8px;
  }
  .dot {
    display: inline-block;
    width: 0.6em;
    height: 0.6em;
    border-radius: 50%;
    margin-inline-end: 0.4em;
    vertical-align: 0.05em;
    background: var(--_muted);
  }
  .dot.online {
    background: var(--_calm);
  }
  @media (prefers-reduced-motion: reduce) {
    * {
      transition: none !important;
      animation: none !important;
    }
  }
`;
