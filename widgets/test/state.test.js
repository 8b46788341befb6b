// What the widgets show, derived from the log: per-client state on top of the welcome snapshot,
// which signals still wait for an acknowledgement, urgent cues, the clock and the exercises.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  breathingPhase,
  breathingPlan,
  clientStates,
  lastPress,
  openUrgentCues,
  pressGap,
  sessionClock,
  sparklinePoints,
  sudsHistory,
  unacknowledgedSignals,
} from '../src/state.js';
import { event } from './fakes.js';

const therapist = { id: 't-1', role: 'therapist' };
const system = { id: 'system', role: 'system' };
const welcome = (headSeq, clients = { 'c-1': {} }) => ({
  head_seq: headSeq,
  session: { participants: [{ id: 't-1', role: 'therapist' }, { id: 'c-1', role: 'client' }] },
  state: { clients },
});

test('client state applies only events after the welcome snapshot', () => {
  const w = welcome(2, { 'c-1': { paused: true, unacknowledged: [1], open_checkins: [] } });
  const events = [event(1, 'pause'), event(2, 'keep_going'), event(3, 'resume'), event(4, 'zone', { data: { zone: 'too_much' } })];
  const c = clientStates(w, events)['c-1'];
  assert.equal(c.paused, false);
  assert.equal(c.pace, null, 'seq 2 is already in the snapshot, not applied again');
  assert.equal(c.zone, 'too_much');
  assert.deepEqual(c.unacknowledged, [1, 4]);
});

test('acknowledge and retract clear unacknowledged; a check-in opens and closes', () => {
  const events = [
    event(1, 'pause'),
    event(2, 'slow_down'),
    event(3, 'acknowledge', { actor: therapist, data: { seq: 1 }, to: ['c-1'] }),
    event(4, 'retract', { data: { seq: 2 } }),
    event(5, 'checkin_request', { actor: therapist, data: { instrument: 'suds' } }),
  ];
  let c = clientStates(welcome(0), events)['c-1'];
  assert.deepEqual(c.unacknowledged, []);
  assert.deepEqual(c.open_checkins, [5]);
  c = clientStates(welcome(0), [...events, event(6, 'checkin_response', { data: { checkin_seq: 5, value: 6 } })])['c-1'];
  assert.deepEqual(c.open_checkins, []);
  assert.equal(c.last_suds, 6);
  c = clientStates(welcome(0), [...events, event(6, 'checkin_expired', { actor: system, data: { checkin_seq: 5 } })])['c-1'];
  assert.deepEqual(c.open_checkins, []);
});

test('a check-in addressed to another client does not open for this one', () => {
  const w = welcome(0, { 'c-1': {}, 'c-2': {} });
  const c = clientStates(w, [event(1, 'checkin_request', { actor: therapist, to: ['c-2'], data: { instrument: 'zone', to: ['c-2'] } })]);
  assert.deepEqual(c['c-1'].open_checkins, []);
  assert.deepEqual(c['c-2'].open_checkins, [1]);
});

test('presence follows widget joins and leaves, not platform ones', () => {
  const joined = (seq, via) => event(seq, 'participant_joined', { actor: system, data: { participant: { id: 'c-1', role: 'client' }, via } });
  assert.equal(clientStates(welcome(0), [joined(1, 'widget')])['c-1'].connected, true);
  assert.equal(clientStates(welcome(0), [joined(1, 'platform')])['c-1'].connected, false);
});

test('every client signal waits for an acknowledgement unless retracted', () => {
  const events = [
    event(1, 'keep_going'),
    event(2, 'pause'),
    event(3, 'acknowledge', { actor: therapist, data: { seq: 2 } }),
    event(4, 'zone', { data: { zone: 'okay' } }),
    event(5, 'retract', { data: { seq: 4 } }),
    event(6, 'checkin_request', { actor: therapist, data: { instrument: 'suds' } }),
  ];
  assert.deepEqual(unacknowledgedSignals(events).map((e) => e.seq), [1]);
});

test('an urgent cue stays open until its pause is acknowledged or it is dismissed', () => {
  const cue = event(2, 'cue', { actor: system, data: { rule: 'pause_unacknowledged', severity: 'urgent', client_id: 'c-1', related_seq: [1], message: '' } });
  const events = [event(1, 'pause'), cue];
  assert.deepEqual(openUrgentCues(events).map((e) => e.seq), [2]);
  assert.deepEqual(openUrgentCues(events, [2]), []);
  assert.deepEqual(openUrgentCues([...events, event(3, 'acknowledge', { actor: therapist, data: { seq: 1 } })]), []);
  const disconnected = event(4, 'cue', { actor: system, data: { rule: 'disconnected_in_distress', severity: 'urgent', related_seq: [], message: '' } });
  assert.deepEqual(openUrgentCues([disconnected]).map((e) => e.seq), [4], 'no signal to acknowledge: stays until dismissed');
});

test('the last press shows queued, sent, seen and undone', () => {
  const outbox = [{ id: 'x', type: 'pause', data: {}, t: 5 }];
  assert.equal(lastPress([], outbox, 'c-1').status, 'queued');
  const events = [event(1, 'slow_down')];
  assert.equal(lastPress(events, [], 'c-1').status, 'sent');
  assert.equal(lastPress([...events, event(2, 'acknowledge', { actor: therapist, data: { seq: 1 } })], [], 'c-1').seen, true);
  assert.equal(lastPress([...events, event(2, 'retract', { data: { seq: 1 } })], [], 'c-1').status, 'retracted');
  assert.equal(lastPress(events, [], 'c-2'), null, 'only the own presses count');
});

test('SUDS history and its trend line', () => {
  const events = [
    event(1, 'checkin_response', { data: { checkin_seq: 9, value: 2 } }),
    event(2, 'checkin_response', { data: { checkin_seq: 9, value: 'okay' } }),
    event(3, 'checkin_response', { data: { checkin_seq: 9, value: 8 } }),
  ];
  assert.deepEqual(sudsHistory(events, 'c-1'), [2, 8]);
  assert.equal(sparklinePoints([0, 10], 80, 24, 10, 2), '2,22 78,2');
  assert.equal(sparklinePoints([5], 80, 24), '40,12');
  assert.equal(sparklinePoints([]), '');
});

test('the session clock counts from started_at against scheduled_minutes', () => {
  const session = { scheduled_minutes: 50, state: 'live' };
  const start = '2025-01-01T10:00:00Z';
  const at = (min) => Date.parse(start) + min * 60000;
  assert.deepEqual(sessionClock(session, null, null, at(0)), { state: 'waiting', planned: 50 });
  assert.deepEqual(sessionClock(session, start, null, at(12.5)), { state: 'running', elapsed: 12, left: 38, planned: 50 });
  assert.deepEqual(sessionClock(session, start, null, at(53)), { state: 'over', elapsed: 53, over: 3, planned: 50 });
  assert.equal(sessionClock(session, start, '2025-01-01T10:40:00Z', at(60)).state, 'ended');
});

test('box breathing is 4-4-4-4; 4-7-8 stops after four rounds', () => {
  assert.deepEqual(
    [0, 4, 8, 12].map((s) => breathingPhase('box_breathing', s * 1000).phase),
    ['in', 'hold', 'out', 'hold'],
  );
  assert.equal(breathingPhase('box_breathing', 1000).remaining, 3);
  const cycle478 = 4 + 7 + 8;
  assert.equal(breathingPhase('breathing_478', (cycle478 * 4 - 1) * 1000).round, 4);
  assert.equal(breathingPhase('breathing_478', cycle478 * 4 * 1000).done, true);
  assert.equal(breathingPlan('breathing_478').rounds, 4);
});

test('paced breathing defaults to 6 a minute and keeps to 4.5–7', () => {
  const six = breathingPlan('paced_breathing');
  assert.equal(six.phases.reduce((s, [, d]) => s + d, 0), 10);
  const slow = breathingPlan('paced_breathing', 2);
  assert.equal(Math.round(slow.phases.reduce((s, [, d]) => s + d, 0) * 10) / 10, Math.round((60 / 4.5) * 10) / 10);
  const fast = breathingPlan('paced_breathing', 99);
  assert.equal(Math.round(fast.phases.reduce((s, [, d]) => s + d, 0) * 10) / 10, Math.round((60 / 7) * 10) / 10);
});

test('pressGap says when a press waited: pressed_at more than a few seconds before at', () => {
  const at = '2026-12-02T14:05:00.000Z';
  const pressed = (value) => ({ at, data: { pressed_at: value } });
  assert.deepEqual(pressGap(pressed('2026-12-02T14:02:00.000Z')), {
    pressed: Date.parse('2026-12-02T14:02:00.000Z'),
    arrived: Date.parse(at),
  });
  assert.equal(pressGap(pressed('2026-12-02T14:04:55.000Z')), null, 'a few seconds is not worth saying');
  assert.equal(pressGap(pressed('2026-12-02T14:06:00.000Z')), null);
  assert.equal(pressGap(pressed('soon')), null);
  assert.equal(pressGap({ at, data: {} }), null);
});
