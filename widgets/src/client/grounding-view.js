/**
 * Grounding on the client's side: the therapist's suggestion (offered, never started for the
 * client; after ten minutes it says it is from earlier instead of vanishing) and the exercises
 * panel with the running exercise (<comfort-grounding>). In a live session the exercises are
 * logged; after the end they just run here.
 */
import { html, nothing } from 'lit';
import { EXERCISES } from '../state.js';
import { tile } from './tiles.js';

/** How long a therapist's grounding suggestion counts as fresh; after that it says "earlier". */
export const SUGGESTION_FRESH_MS = 10 * 60_000;

/** The latest suggestion the client has neither handled nor answered by starting an exercise. */
export function currentSuggestion(host, events) {
  const me = host._me;
  const handled = new Set(host.connection.note('suggestionsHandled') || []);
  let lastOwnGrounding = 0;
  let suggestion = null;
  for (const e of events) {
    if (e.actor?.id === me && e.type === 'grounding_started') lastOwnGrounding = e.seq;
    if (e.type === 'suggest_grounding') suggestion = e;
  }
  if (!suggestion || handled.has(suggestion.seq) || suggestion.seq < lastOwnGrounding) return null;
  return suggestion;
}

export function renderSuggestion(host, t, suggestion) {
  const c = t.client;
  const exercise = suggestion.data.exercise;
  const name = c.exercises[exercise] || exercise;
  // An old suggestion is not dropped silently: it says it is from earlier, and when.
  const at = Date.parse(suggestion.at);
  const text = Date.now() - at > SUGGESTION_FRESH_MS ? c.suggestionEarlier(name, host._time(at)) : c.suggestion(name);
  return html`<div class="card checkin" part="suggestion" role="group" aria-labelledby="suggestion-text">
    <p id="suggestion-text">${text}</p>
    <div class="row">
      <button class="primary" @click=${() => host._startExercise(exercise, suggestion.seq)}>${c.startExercise}</button>
      <button class="quiet" @click=${() => host._dismissSuggestion(suggestion.seq)}>${c.notNow}</button>
    </div>
  </div>`;
}

/** The exercises; in a live session they are logged, after the end they just run here. */
export function renderGrounding(host, t, { live }) {
  const c = t.client;
  const exercise = host._exercise;
  const title = exercise ? c.exercises[exercise] : c.groundingTitle;
  return html`<section class="card panel" part="grounding-panel" id="grounding-panel" aria-labelledby="grounding-title">
    <div class="panel-head">
      <h3 id="grounding-title" tabindex="-1">${title}</h3>
      ${live && !exercise
        ? html`<button class="quiet" @click=${() => host._toggleGrounding()}>${c.hideExercises}</button>`
        : nothing}
    </div>
    ${exercise
      ? html`<comfort-grounding
          exportparts="breath-circle, grounding: grounding-exercise"
          .exercise=${exercise}
          .strings=${c}
          ?reduced-motion=${host._reducedMotion}
          @grounding-finish=${host._finishExercise}
          @grounding-close=${host._closeExercise}
        ></comfort-grounding>`
      : html`<p class="muted small">${c.groundingIntro}</p>
          <div class="exercises">
            ${EXERCISES.map((ex) =>
              tile(`exercise-${ex}`, c.exercises[ex], c.exerciseHints[ex], () => host._startExercise(ex), {
                className: 'exercise',
                part: 'tile',
              }),
            )}
          </div>`}
  </section>`;
}
