// The summary view's model (widgets/src/therapist/summary-model.js): names by id whatever the id,
// and a pause's time told truthfully while it is still open.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pausedWords, summaryModel, summaryText, zoneHow } from '../src/therapist/summary-model.js';
import en from '../src/locales/en.js';

const words = {
  ...en.therapist.summaryView,
  zoneNames: en.therapist.zoneValues,
  severity: en.therapist.severity,
  rule: (r) => r,
  exercise: (e) => e,
};
const clock = (ms) => new Date(ms).toISOString().slice(11, 16);
const FROM = '2026-12-02T14:02:00.000Z';

/** A summary as the service sends it (parsed JSON, so "__proto__" is an own key). */
function summary({ state = 'live', spans = [] } = {}) {
  const client = { suds: [], zones: [], pauses: spans.length, paused_seconds: 65, grounding: [], pause_spans: spans };
  return JSON.parse(
    JSON.stringify({
      session: {
        state,
        started_at: '2026-12-02T14:00:00.000Z',
        ended_at: state === 'ended' ? '2026-12-02T14:30:00.000Z' : null,
        participants: [
          { id: 'toString', role: 'client', display_name: 'Tess' },
          { id: 'constructor', role: 'client', display_name: null },
        ],
      },
      // A computed key is an own property (a literal `__proto__:` would set the prototype).
      clients: { ['__proto__']: client, toString: client, constructor: client },
      cues: [{ seq: 9, at: '2026-12-02T14:03:00.000Z', data: { severity: 'warn', rule: 'x', client_id: '__proto__' } }],
      counts: {},
    }),
  );
}

test('names are read by id whatever the id; a host object never lends a prototype member', () => {
  const model = summaryModel(summary(), { names: { other: 'X' } });
  assert.deepEqual(
    model.clients.map((c) => [c.id, c.name]),
    [
      ['__proto__', '__proto__'],
      ['toString', 'Tess'],
      ['constructor', 'constructor'],
    ],
  );
  assert.equal(typeof model.names.toString, 'string');
  const text = summaryText(model, words, clock, clock);
  assert.doesNotMatch(text, /\[object Object\]|function|native code/);
  assert.match(text, /x \(__proto__\)/);
});

test('an open pause is "paused just now", then "paused since"; a closed one is its total', () => {
  const at = Date.parse(FROM);
  const live = summaryModel(summary({ spans: [{ seq: 3, from: FROM, to: null }] }), { now: at });
  const tess = live.clients.find((c) => c.id === 'toString');
  assert.equal(pausedWords(tess, words, clock, { final: false, nowMs: at + 1_000 }), 'paused just now');
  assert.equal(pausedWords(tess, words, clock, { final: false, nowMs: at + 120_000 }), 'paused since 14:02');
  assert.match(summaryText(live, words, clock, clock, at + 1_000), /Pauses: 1 \(paused just now\)/);
  const ended = summaryModel(summary({ state: 'ended', spans: [{ seq: 3, from: FROM, to: null }] }));
  const after = ended.clients.find((c) => c.id === 'toString');
  assert.equal(pausedWords(after, words, clock, { final: true, nowMs: at }), '1 min 5 s paused');
});

test('a zone made at another minute than it arrived says when it was made', () => {
  const sent = JSON.parse(JSON.stringify(summary()));
  sent.clients.toString.zones = [
    { seq: 4, at: '2026-12-02T14:05:00.000Z', zone: 'too_much', source: 'signal', pressed_at: '2026-12-02T14:02:00.000Z' },
    { seq: 5, at: '2026-12-02T14:06:20.000Z', zone: 'okay', source: 'answer', pressed_at: '2026-12-02T14:06:09.000Z' },
  ];
  const tess = summaryModel(sent).clients.find((c) => c.id === 'toString');
  assert.equal(zoneHow(tess.zones[0], words, clock), 'pressed at 14:02');
  assert.equal(zoneHow(tess.zones[1], words, clock), 'answered', 'the same minute: nothing to add');
});
