// What the client's widget says about its own actions (kept here → sent → seen, never ahead of
// the truth) and which of the session's resources it offers, with which links.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { actionStatus, canUndo, dialable, httpsUrl, locationText, safetyPlan, sentLate, sharedLocation } from '../src/client-state.js';
import { indexLog } from '../src/state.js';
import { event } from './fakes.js';

const therapist = { id: 't-1', role: 'therapist' };

function statusOf(id, { outbox = [], acked = {}, events = [], online = true, rejected = new Map() } = {}) {
  return actionStatus(id, { outbox, acked, events, index: indexLog(events), online, rejected });
}

test('a press is kept on this device offline, on its way online, never "stored" before the ack', () => {
  const outbox = [{ id: 'p1', type: 'pause', data: {}, t: 100 }];
  assert.equal(statusOf('p1', { outbox, online: false }).state, 'queued');
  assert.equal(statusOf('p1', { outbox, online: false }).pressedAt, 100);
  assert.equal(statusOf('p1', { outbox, online: true }).state, 'sending');
  assert.equal(statusOf('unknown'), null);
  assert.equal(statusOf(null), null);
});

test('acked is stored; acknowledged is seen; retracted is retracted; refused says why', () => {
  const acked = { p1: { seq: 4, t: 5_000, pressed: 1_000, type: 'pause', data: {} } };
  const stored = statusOf('p1', { acked });
  assert.equal(stored.state, 'stored');
  assert.equal(stored.seq, 4);
  assert.equal(stored.pressedAt, 1_000);
  const pause = event(4, 'pause', { id: 'p1' });
  assert.equal(statusOf('p1', { acked, events: [pause] }).state, 'stored');
  const ack = event(5, 'acknowledge', { actor: therapist, data: { seq: 4 } });
  assert.equal(statusOf('p1', { acked, events: [pause, ack] }).state, 'seen');
  const retract = event(5, 'retract', { data: { seq: 4 } });
  assert.equal(statusOf('p1', { acked, events: [pause, retract] }).state, 'retracted');
  const rejected = new Map([['p2', { entry: { id: 'p2', type: 'help_now', data: {}, t: 7 }, error: { code: 'unknown_type' } }]]);
  const refused = statusOf('p2', { rejected });
  assert.deepEqual([refused.state, refused.type, refused.error.code], ['rejected', 'help_now', 'unknown_type']);
});

test('a press read back from the log keeps the time it was pressed (pressed_at)', () => {
  // Another tab, or this one after its memory was cleared: no acked record, only the event.
  const pause = event(4, 'pause', { id: 'p1', at: '2025-01-01T10:05:00.000Z', data: { pressed_at: '2025-01-01T10:02:00.000Z' } });
  const status = statusOf('p1', { events: [pause] });
  assert.equal(status.pressedAt, Date.parse('2025-01-01T10:02:00.000Z'));
  assert.equal(status.storedAt, Date.parse('2025-01-01T10:05:00.000Z'));
  assert.equal(sentLate(status), true);
  const plain = event(5, 'pause', { id: 'p2', data: { pressed_at: 'not a time' } });
  assert.equal(statusOf('p2', { events: [plain] }).pressedAt, Date.parse(plain.at));
});

test('a late answer (contract §9.4) is stored and says so', () => {
  const answer = event(7, 'checkin_response', { id: 'a1', data: { checkin_seq: 3, value: 9, late: true } });
  const status = statusOf('a1', { events: [answer] });
  assert.equal(status.state, 'stored');
  assert.equal(status.late, true);
  const onTime = event(8, 'checkin_response', { id: 'a2', data: { checkin_seq: 3, value: 2 } });
  assert.equal(statusOf('a2', { events: [onTime] }).late, false);
});

test('undo is offered within 30 s and never once the therapist saw it', () => {
  const stored = { state: 'stored', storedAt: 10_000, pressedAt: 9_000 };
  assert.equal(canUndo(stored, 39_999), true);
  assert.equal(canUndo(stored, 40_000), false);
  assert.equal(canUndo({ ...stored, state: 'seen' }, 10_001), false);
  assert.equal(canUndo({ state: 'queued', storedAt: null, pressedAt: 1 }, 2), true);
  assert.equal(canUndo({ state: 'rejected' }, 0), false);
  assert.equal(canUndo(null, 0), false);
});

test('a press stored a minute or more after it was made says when it was made', () => {
  assert.equal(sentLate({ pressedAt: 0, storedAt: 59_999 }), false);
  assert.equal(sentLate({ pressedAt: 0, storedAt: 60_000 }), true);
  assert.equal(sentLate({ pressedAt: null, storedAt: 60_000 }), false);
});

test("the safety plan comes from the welcome's session settings; nothing is invented", () => {
  assert.equal(safetyPlan(null), null);
  assert.equal(safetyPlan({ session: { settings: {} } }), null);
  const plan = safetyPlan({
    session: {
      settings: {
        safety: {
          ask_location: true,
          resources: [
            { label: 'Lifeline', phone: '988', sms: '988', url: 'https://988lifeline.org' },
            { label: 'Bad link only', url: 'javascript:alert(1)' },
            { label: '', phone: '1' },
            { label: 'x'.repeat(81), phone: '1' },
            { label: 'Clinic', phone: '+1 (555) 010-0199' },
            ...Array.from({ length: 6 }, (_, i) => ({ label: `Extra ${i}`, phone: `${i}` })),
          ],
        },
      },
    },
  });
  assert.equal(plan.askLocation, true);
  assert.deepEqual(
    plan.resources.map((r) => r.label),
    ['Lifeline', 'Clinic', 'Extra 0', 'Extra 1', 'Extra 2'],
    'at most 5, malformed ones left out',
  );
  assert.deepEqual(plan.resources[0].links, [
    { kind: 'call', href: 'tel:988', text: '988' },
    { kind: 'text', href: 'sms:988', text: '988' },
    { kind: 'open', href: 'https://988lifeline.org/', text: 'https://988lifeline.org/' },
  ]);
  assert.equal(plan.resources[1].links[0].href, 'tel:+1(555)010-0199');
  assert.equal(safetyPlan({ session: { settings: { safety: { ask_location: 'yes' } } } }).askLocation, false);
});

test('only dialable numbers and https: links reach an href', () => {
  assert.equal(dialable('116 123'), '116123');
  assert.equal(dialable('+44 (0) 20-7'), '+44(0)20-7');
  assert.equal(dialable('call me'), null);
  assert.equal(dialable('tel:988'), null);
  assert.equal(dialable('---'), null);
  assert.equal(dialable(988), null);
  assert.equal(httpsUrl('https://example.org/help'), 'https://example.org/help');
  for (const bad of ['http://example.org', 'javascript:alert(1)', 'data:text/html,x', 'not a url', null]) {
    assert.equal(httpsUrl(bad), null, String(bad));
  }
});

test('the location text is 1–200 characters, trimmed; the latest shared one is found', () => {
  assert.equal(locationText('  Home  '), 'Home');
  assert.equal(locationText('   '), null);
  assert.equal(locationText('😀'.repeat(200)), '😀'.repeat(200), 'characters, not UTF-16 units');
  assert.equal(locationText('a'.repeat(201)), null);
  const events = [
    event(1, 'location_shared', { data: { text: 'Home' } }),
    event(2, 'location_shared', { data: { text: 'Work' } }),
    event(3, 'location_shared', { actor: { id: 'c-2', role: 'client' }, data: { text: 'Elsewhere' } }),
  ];
  assert.equal(sharedLocation(events, 'c-1').data.text, 'Work');
  assert.equal(sharedLocation(events, 'c-9'), null);
});
