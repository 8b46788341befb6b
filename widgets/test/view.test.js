// What the therapist panel's rows say in words of their own (widgets/src/therapist/view.js):
// the note over Needs attention while the panel may be behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import en from '../src/locales/en.js';
import es from '../src/locales/es.js';
import { behindText, formatClock } from '../src/therapist/view.js';

const never = { since: null, offline: true };

test('a panel that never connected says what needs attention is still to come only when it shows none', () => {
  assert.equal(
    behindText(en.therapist, never, 0),
    'Not connected yet: what needs attention will show here once it connects.',
  );
  assert.equal(
    behindText(es.therapist, never, 0),
    'Aún sin conexión: lo que requiera atención aparecerá aquí al conectar.',
  );
});

test('rows kept from before a reload are said to have come in earlier, not to be still to come', () => {
  for (const shown of [1, 3]) {
    assert.equal(
      behindText(en.therapist, never, shown),
      'Not connected yet: these came in earlier; anything new will show here once it connects.',
    );
    assert.equal(
      behindText(es.therapist, never, shown),
      'Aún sin conexión: esto llegó antes; lo nuevo aparecerá aquí al conectar.',
    );
  }
});

test('a panel that was caught up before names the time, with or without rows', () => {
  const since = Date.parse('2026-03-01T14:02:00Z');
  const time = formatClock(since, en.therapist.locale);
  for (const shown of [0, 2]) {
    assert.equal(
      behindText(en.therapist, { since, offline: true }, shown),
      `Reconnecting: anything since ${time} will show here when the connection is back.`,
    );
    assert.equal(
      behindText(en.therapist, { since, offline: false }, shown),
      `Catching up on what came in since ${time}…`,
    );
  }
});
