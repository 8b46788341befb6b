/**
 * The public surface of the three elements that the analyzer cannot read from Lit's code: what
 * each property means, the `comfort:*` events and their `detail`, the CSS parts and the
 * `--comfort-*` custom properties. custom-elements-manifest.config.mjs merges it into the
 * manifest (and fails the build when a public property of the source is missing here, or one
 * named here is gone); tests/widgets/test_package.py holds it to the rendered parts, the styles,
 * types/comfort.d.ts and docs/widgets.md.
 */

/** Detail types, as written in types/comfort.d.ts. */
const SIGNAL = 'CustomEvent<ComfortSignalDetail>';
const EVENT = 'CustomEvent<ComfortLogEvent>';
const ERROR = 'CustomEvent<ComfortErrorDetail>';

const connectionEvents = (who) => [
  {
    name: 'comfort:signal',
    type: SIGNAL,
    description: `${who} pressed something; fired as soon as the press is queued, before the service has it. detail {id, type, data}: id equals the id of the Event that later arrives as comfort:event. Bubbles, composed.`,
  },
  {
    name: 'comfort:event',
    type: EVENT,
    description: 'A log event this element had not seen (replays after a reconnect included, never twice). detail: the Event {seq, id, type, at, actor, to, data}. Bubbles, composed.',
  },
  {
    name: 'comfort:error',
    type: ERROR,
    description: 'The element cannot work and has stopped trying (contract §9.7). detail {code, message}; code is origin_not_allowed, invalid_token, token_expired, session_not_found or session_ended. One console.warn per code goes with it. Bubbles, composed.',
  },
];

/** The --comfort-* custom properties (widgets/src/styles.js), with their defaults. */
export const CSS_PROPERTIES = [
  ['--comfort-font', "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", 'all text'],
  ['--comfort-font-size', '1rem', 'base size; everything scales from it'],
  ['--comfort-bg', '#f5f8f7', "the widget's background"],
  ['--comfort-surface', '#ffffff', 'cards and buttons'],
  ['--comfort-text', '#1d2a30', 'body text'],
  ['--comfort-muted', '#4a5a62', 'secondary text (keep at least 4.5:1 on the surface)'],
  ['--comfort-border', '#c6d4d6', 'decorative borders (cards)'],
  ['--comfort-control-border', '#6e8087', 'the boundary of every control: keep at least 3:1 against white, the background and the soft fills (WCAG 1.4.11)'],
  ['--comfort-accent', '#2d6a78', 'primary buttons (Pause, Send), links, the trend line'],
  ['--comfort-accent-text', '#ffffff', 'text on the accent'],
  ['--comfort-accent-soft', '#e2eff0', 'hover backgrounds'],
  ['--comfort-calm', '#3f7a5a', '"Your therapist saw this", the paused card, the breathing circle'],
  ['--comfort-calm-soft', '#e5f2ea', "the paused card's and a chosen zone's background"],
  ['--comfort-focus', '#1b5fa8', 'focus outlines'],
  ['--comfort-focus-gap', '#ffffff', 'a band drawn inside the focus outline'],
  ['--comfort-radius', '14px', 'corner radius'],
  ['--comfort-gap', '12px', 'spacing'],
  ['--comfort-urgent', '#8f1d1d', 'therapist panel: urgent items (never used on the client side)'],
  ['--comfort-urgent-soft', '#fbe9e7', 'therapist panel: urgent backgrounds'],
  ['--comfort-warn', '#6e4a00', 'therapist panel: attention items'],
  ['--comfort-warn-soft', '#fdf1d6', 'therapist panel: attention backgrounds'],
  ['--comfort-info', '#23507a', 'therapist panel: info items'],
  ['--comfort-info-soft', '#e7f0f8', 'therapist panel: info backgrounds'],
].map(([name, fallback, description]) => ({ name, default: fallback, description }));

const EXERCISES = ['box_breathing', 'breathing_478', 'paced_breathing', 'five_senses'];
const ZONES = ['too_much', 'okay', 'shut_down'];

const parts = (list) => list.map(([name, description]) => ({ name, description }));

const SUMMARY_PARTS = [
  ['summary', 'the summary'],
  ['summary-head', 'its title and whether it is live or final'],
  ['summary-status', 'its status lines (loading, refused, copied)'],
  ['summary-tools', 'Print, Copy as text and Refresh'],
  ['summary-button', 'each of those buttons (and Try again)'],
  ['summary-timeline', 'the timeline, with its key'],
  ['summary-key', 'the key under the timeline'],
  ['summary-clients', "the clients' facts"],
  ['summary-client', "each client's facts"],
  ['summary-late', 'each Late tag'],
  ['summary-cues', 'the cues'],
  ['summary-counts', 'the counts'],
];

export const ELEMENTS = {
  'comfort-client': {
    className: 'ComfortClient',
    description:
      "The client's widget (contract §7, §9.2): Pause and Help now, Keep going, Slow down, Grounding, the window-of-tolerance zones, check-in answers, the safety plan, a short undo and \"Your therapist saw this\".",
    properties: {
      token: "the participant's join token (required); changing it reconnects as that participant",
      server: "the service's origin, e.g. https://comfort.example.com; default: the origin the module was loaded from",
      platformAdapter: 'optional: a platform adapter (setLocalVideo, isLocalVideoOn) or a privacy controller (pause, resume); docs/widgets.md §4',
      connection: 'the live ComfortConnection (read-only; for diagnostics)',
    },
    events: connectionEvents('The client'),
    parts: parts([
      ['base', 'the whole widget'],
      ['status', 'the connection line, or the refusal'],
      ['bar', 'the sticky Pause and Help now bar'],
      ['pause-tile', 'the Pause (or Ready to go on) tile'],
      ['help-tile', 'the Help now tile'],
      ['button', 'every main button'],
      ['pause', 'the Pause button'],
      ['resume', 'the Ready to go on button'],
      ['help', 'the Help now button'],
      ['keep_going', 'the Keep going button'],
      ['slow_down', 'the Slow down button'],
      ['grounding-button', 'the Grounding button'],
      ['grounding', 'the Grounding button (the per-button name, as keep_going and slow_down); it no longer matches the running exercise: that is grounding-exercise'],
      ...ZONES.map((z) => [`zone-${z}`, `the ${z} zone button`]),
      ...EXERCISES.map((e) => [`exercise-${e}`, `the ${e} exercise button`]),
      ['camera', 'the camera button of the offline and refusal notices'],
      ['tile', 'every tile around a main button'],
      ['paused', 'the "take a moment" card'],
      ['offline', 'the offline notice'],
      ['refused', 'the refusal notice'],
      ['feedback', 'the line that says where the latest press stands'],
      ['undo', 'the Undo button'],
      ['zone', 'the window-of-tolerance group'],
      ['checkin', 'a check-in question'],
      ['suggestion', "the therapist's grounding suggestion"],
      ['location', 'the location question'],
      ['support', 'Help and support'],
      ['undo-help', 'Take it back (a Help now press)'],
      ['closing', "the ended session's words"],
      ['grounding-panel', 'the grounding exercises panel'],
      ['grounding-exercise', 'the running exercise'],
      ['breath-circle', 'the breathing circle'],
    ]),
  },
  'comfort-therapist': {
    className: 'ComfortTherapist',
    description:
      "The therapist's panel (contract §7, §9.7): Needs attention first, one card per client, Check in, Suggest grounding, the feed, the session clock and the Summary view.",
    properties: {
      token: "the therapist's join token (required); changing it reconnects as that participant",
      server: "the service's origin; default: the origin the module was loaded from",
      platformAdapter: 'accepted for symmetry with <comfort-client>; the panel does not use it',
      connection: 'the live ComfortConnection (read-only; for diagnostics)',
    },
    events: connectionEvents('The therapist'),
    parts: parts([
      ['base', 'the whole panel'],
      ['header', 'the one-line header'],
      ['view-switch', 'Live / Summary'],
      ['clock', 'the session clock'],
      ['status', 'the connection line'],
      ['attention', 'the Needs attention region'],
      ['attention-behind', 'the note while the panel reconnects or catches up (no all-clear then)'],
      ['attention-item', 'each row of Needs attention'],
      ['attention-item-urgent', 'an urgent row'],
      ['attention-item-warn', 'an attention row'],
      ['clients', 'the clients section'],
      ['client-row', "each client's card"],
      ['actions', 'Check in and Suggest grounding'],
      ['feed', 'the feed'],
      ['feed-item', 'each feed row'],
      ['feed-item-urgent', 'an urgent feed row'],
      ['feed-item-warn', 'an attention feed row'],
      ['feed-item-info', 'an info feed row'],
      ['acknowledge', 'every Acknowledge button'],
      ['dismiss', 'every Got it button'],
      ['ack-state', "where a signal's acknowledgement stands, on its row (not sent yet, sending, not sent)"],
      // The Summary view's <comfort-summary> gives its parts out under the same names (exportparts).
      ...SUMMARY_PARTS.map(([name, description]) => [name, `Summary view: ${description}`]),
    ]),
  },
  'comfort-summary': {
    className: 'ComfortSummary',
    description:
      "A session's summary (contract §5) drawn from GET /api/v1/sessions/{id}/summary with a therapist's join token: the timeline with its key, each client's SUDS, zones, pauses and grounding, the cues and counts, Print and Copy as text.",
    properties: {
      token: "a therapist's join token (sent as Authorization: Bearer; never the vendor's API key)",
      server: "the service's origin; default: the origin the module was loaded from",
      sessionId: "the session to summarise; default: the token's sid",
      head: 'the last seq the caller has seen; a change refetches the summary',
      log: 'optional: the session log the caller holds (Event[]), used where the summary JSON leaves something out',
      names: 'optional: display names by participant id',
      load: 'fetches the summary again',
    },
    events: [],
    parts: parts(SUMMARY_PARTS),
  },
};

/** `lang` is the global HTML attribute; each element reads it (docs/widgets.md §1). */
export const LANG_ATTRIBUTE = {
  name: 'lang',
  type: { text: "'en' | 'es'" },
  description: 'en or es. Default: the nearest lang up the page, then the browser language, then English.',
};
