// The therapist panel's rows, derived from the log: what Needs attention holds and in what
// order, what clears it, and that every event is shown once (widgets/src/therapist/attention.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { owesResponse, panelView, rowSeqs } from '../src/therapist/attention.js';
import { clientStates } from '../src/state.js';
import { event } from './fakes.js';

const therapist = { id: 't-1', role: 'therapist' };
const system = { id: 'system', role: 'system' };
const c2 = { id: 'c-2', role: 'client' };
const ack = (seq, target) => event(seq, 'acknowledge', { actor: therapist, data: { seq: target } });
const cue = (seq, rule, severity, related, client = 'c-1') =>
  event(seq, 'cue', { actor: system, data: { rule, severity, client_id: client, related_seq: related, message: '' } });
const request = (seq, instrument = 'suds') => event(seq, 'checkin_request', { actor: therapist, data: { instrument } });
const answer = (seq, checkin, value, extra = {}) =>
  event(seq, 'checkin_response', { data: { checkin_seq: checkin, value }, ...extra });
const kinds = (rows) => rows.map((r) => `${r.kind}:${r.clientId}`);

/** Every event with a row of its own or inside another row, once (acks and retracts aside). */
function assertEachShownOnce(events, view) {
  const seen = [...view.attention, ...view.feed].flatMap(rowSeqs);
  const expired = events.filter((e) => e.type === 'checkin_expired').map((e) => e.seq);
  assert.equal(new Set(seen).size, seen.length, `a seq is shown twice: ${seen}`);
  const expected = events
    .filter((e) => !['acknowledge', 'retract', 'checkin_expired'].includes(e.type))
    .map((e) => e.seq);
  assert.deepEqual([...seen].sort((a, b) => a - b), expected.filter((s) => !expired.includes(s)));
}

test('acknowledge is owed for pause, slow down, out-of-window zones and help now only', () => {
  const owed = ['pause', 'slow_down', 'help_now'].map((t) => owesResponse(event(1, t)));
  assert.deepEqual(owed, [true, true, true]);
  assert.equal(owesResponse(event(1, 'zone', { data: { zone: 'too_much' } })), true);
  for (const type of ['resume', 'keep_going', 'grounding_started', 'grounding_finished']) {
    assert.equal(owesResponse(event(1, type)), false, type);
  }
  assert.equal(owesResponse(event(1, 'zone', { data: { zone: 'okay' } })), false);
  assert.equal(owesResponse(event(1, 'pause', { actor: therapist })), false);
});

test('urgent rows come first, help now heading them, then warn rows, each oldest first', () => {
  const events = [
    event(1, 'slow_down'),
    request(2),
    answer(3, 2, 8, { actor: c2 }),
    cue(4, 'distress_high', 'warn', [3], 'c-2'),
    event(5, 'pause', { actor: c2 }),
    event(6, 'help_now'),
  ];
  const view = panelView(events);
  assert.deepEqual(kinds(view.attention), ['help:c-1', 'pause:c-2', 'pace:c-1', 'distress:c-2']);
  assert.deepEqual(view.attention.map((r) => r.severity), ['urgent', 'urgent', 'warn', 'warn']);
  assertEachShownOnce(events, view);
});

test('a cue about an event is folded into that row, never a row of its own', () => {
  const events = [
    event(1, 'pause'),
    cue(2, 'pause_unacknowledged', 'urgent', [1]),
    request(3),
    answer(4, 3, 9),
    cue(5, 'distress_high', 'warn', [4]),
    cue(6, 'distress_rising', 'warn', [0, 4]),
  ];
  const view = panelView(events);
  assert.deepEqual(kinds(view.attention), ['pause:c-1', 'distress:c-1']);
  assert.deepEqual(view.attention[0].cues.map((c) => c.seq), [2]);
  assert.deepEqual(view.attention[1].cues.map((c) => c.seq), [5, 6]);
  assert.deepEqual(view.attention[1].ackSeqs, [], 'an answer is not a signal: nothing to acknowledge');
  assert.deepEqual(view.attention[1].dismissSeqs, [5, 6]);
  assertEachShownOnce(events, view);
});

test('acknowledging a pause moves it, with its cues, to the feed; a resume alone does not', () => {
  const events = [event(1, 'pause'), cue(2, 'pause_unacknowledged', 'urgent', [1]), event(3, 'resume')];
  let view = panelView(events);
  assert.deepEqual(kinds(view.attention), ['pause:c-1']);
  assert.equal(view.attention[0].resumed.seq, 3, 'the row says the client is back, and stays');
  view = panelView([...events, ack(4, 1)]);
  assert.deepEqual(view.attention, []);
  const pause = view.feed.find((r) => r.event.seq === 1);
  assert.deepEqual(pause.cues.map((c) => c.seq), [2]);
  assert.deepEqual(pause.ackSeqs, []);
  assertEachShownOnce([...events, ack(4, 1)], view);
});

test('an acknowledgement kept on this device or on its way leaves the row in Needs attention, marked', () => {
  for (const state of ['queued', 'sending']) {
    const view = panelView([event(1, 'slow_down')], { acks: new Map([[1, state]]) });
    assert.deepEqual(kinds(view.attention), ['pace:c-1'], state);
    const [row] = view.attention;
    assert.equal(row.ackState, state);
    assert.deepEqual(row.ackSeqs, [], `${state}: nothing more to press`);
    assert.equal(view.feed.find((r) => r.event.seq === 1), undefined, 'not shown twice');
  }
});

test('a row leaves Needs attention once the service has its acknowledgement, before the log does', () => {
  const view = panelView([event(1, 'pause'), cue(2, 'pause_unacknowledged', 'urgent', [1])], {
    acks: new Map([[1, 'stored']]),
  });
  assert.deepEqual(view.attention, []);
  const pause = view.feed.find((r) => r.event.seq === 1);
  assert.deepEqual(pause.ackSeqs, []);
  assert.equal(pause.ackState, null);
  assert.deepEqual(pause.cues.map((c) => c.seq), [2]);
});

test('a refused acknowledgement leaves the row to be acknowledged again', () => {
  const [row] = panelView([event(1, 'help_now')], { acks: new Map([[1, 'rejected']]) }).attention;
  assert.equal(row.kind, 'help');
  assert.equal(row.ackState, 'rejected');
  assert.deepEqual(row.ackSeqs, [1]);
});

test('a pause that comes after one whose acknowledgement waits is acknowledged on its own', () => {
  const events = [event(1, 'pause'), event(2, 'resume'), event(3, 'pause')];
  const [row] = panelView(events, { acks: new Map([[1, 'queued']]) }).attention;
  assert.deepEqual(row.members.map((e) => e.seq), [1, 3], 'one row, the waiting one still in it');
  assert.deepEqual(row.ackSeqs, [3]);
  assert.equal(row.ackState, 'queued');
  const both = panelView(events, { acks: new Map([[1, 'sending'], [3, 'queued']]) }).attention[0];
  assert.equal(both.ackState, 'queued', 'the least sent speaks for the row');
  assert.deepEqual(both.ackSeqs, []);
});

test('a feed row says where its acknowledgement stands, and offers none while one waits', () => {
  const events = [event(1, 'slow_down'), event(2, 'keep_going')];
  const row = (acks) => panelView(events, { acks }).feed.find((r) => r.event.seq === 1);
  assert.deepEqual(row(new Map()).ackSeqs, [1]);
  assert.equal(row(new Map()).ackState, null);
  assert.deepEqual(row(new Map([[1, 'queued']])).ackSeqs, []);
  assert.equal(row(new Map([[1, 'queued']])).ackState, 'queued');
  assert.equal(row(new Map([[1, 'rejected']])).ackState, 'rejected');
  assert.deepEqual(row(new Map([[1, 'rejected']])).ackSeqs, [1]);
  assert.equal(row(new Map([[2, 'queued']])).ackState, null, 'only its own');
  assert.equal(panelView(events, { acks: new Map([[2, 'queued']]) }).feed[0].ackState, null, 'keep going owes none');
});

test('two pauses make one row whose Acknowledge acknowledges both, with repeated_pause in it', () => {
  const events = [event(1, 'pause'), event(2, 'resume'), event(3, 'pause'), cue(4, 'repeated_pause', 'warn', [1, 3])];
  const [row] = panelView(events).attention;
  assert.equal(row.kind, 'pause');
  assert.deepEqual(row.ackSeqs, [1, 3]);
  assert.deepEqual(row.cues.map((c) => c.seq), [4]);
  assert.equal(row.resumed, undefined, 'paused again after the resume');
});

test("the client's own return to okay clears pace, zone and distress rows", () => {
  const base = [
    event(1, 'slow_down'),
    event(2, 'zone', { data: { zone: 'shut_down' } }),
    request(3),
    answer(4, 3, 8),
    cue(5, 'distress_high', 'warn', [4]),
  ];
  assert.deepEqual(kinds(panelView(base).attention), ['pace:c-1', 'zone:c-1', 'distress:c-1']);
  const back = [
    ...base,
    event(6, 'keep_going'),
    event(7, 'zone', { data: { zone: 'okay' } }),
    request(8),
    answer(9, 8, 3),
  ];
  const view = panelView(back);
  assert.deepEqual(view.attention, []);
  // Still unacknowledged: the feed keeps a (quiet) Acknowledge on those, not on the answer.
  assert.deepEqual(view.feed.filter((r) => r.ackSeqs.length).map((r) => r.event.seq).sort(), [1, 2]);
  assertEachShownOnce(back, view);
});

test('a withdrawn signal leaves Needs attention at once', () => {
  const events = [event(1, 'pause'), event(2, 'retract', { data: { seq: 1 } })];
  assert.deepEqual(panelView(events).attention, []);
});

test('zone answers out of the window need attention through their cue; Got it puts them away', () => {
  const events = [request(1, 'zone'), answer(2, 1, 'too_much'), cue(3, 'out_of_window', 'warn', [2])];
  const [row] = panelView(events).attention;
  assert.equal(row.kind, 'zone');
  assert.deepEqual(row.ackSeqs, []);
  assert.deepEqual(row.dismissSeqs, [3]);
  const view = panelView(events, { dismissed: [3] });
  assert.deepEqual(view.attention, []);
  assert.deepEqual(view.feed.find((r) => r.event.seq === 2).cues.map((c) => c.seq), [3]);
});

test('left while in distress stays until Got it or the client is back', () => {
  const events = [
    event(1, 'pause'),
    ack(2, 1),
    event(3, 'participant_left', { actor: system, data: { participant: { id: 'c-1', role: 'client' }, via: 'widget' } }),
    cue(4, 'disconnected_in_distress', 'urgent', [1]),
  ];
  assert.deepEqual(kinds(panelView(events).attention), ['left:c-1']);
  assert.deepEqual(panelView(events, { dismissed: [4] }).attention, []);
  const back = event(5, 'participant_joined', {
    actor: system,
    data: { participant: { id: 'c-1', role: 'client' }, via: 'platform' },
  });
  const view = panelView([...events, back]);
  assert.deepEqual(view.attention, []);
  assert.ok(view.feed.some((r) => r.event.seq === 4), 'then the cue is history, in the feed');
});

test('help now is urgent, with the location the client shared', () => {
  const events = [
    event(1, 'location_shared', { data: { text: 'Home, Leeds' } }),
    event(2, 'help_now'),
    cue(3, 'help_requested', 'urgent', [2]),
  ];
  const view = panelView(events);
  assert.deepEqual(kinds(view.attention), ['help:c-1']);
  assert.deepEqual(view.attention[0].cues.map((c) => c.seq), [3]);
  assert.equal(view.locations['c-1'].data.text, 'Home, Leeds');
});

test('a late answer is marked late', () => {
  const events = [request(1), event(2, 'checkin_expired', { actor: system, data: { checkin_seq: 1 } }), answer(3, 1, 4, { data: { checkin_seq: 1, value: 4, late: true } })];
  const view = panelView(events);
  assert.equal(view.feed.find((r) => r.event.seq === 3).late, true);
  const req = view.feed.find((r) => r.event.seq === 1);
  assert.equal(req.expired, true);
  assert.deepEqual(Object.keys(req.answers), ['c-1']);
  assertEachShownOnce(events, view);
});

test('check-in cues and expiry fold into the request row', () => {
  const events = [
    request(1),
    cue(2, 'checkin_unanswered', 'info', [1]),
    event(3, 'checkin_expired', { actor: system, data: { checkin_seq: 1 } }),
  ];
  const view = panelView(events);
  assert.equal(view.feed.length, 1);
  assert.deepEqual(view.feed[0].cues.map((c) => c.seq), [2]);
});

test('a warn time check waits for grounding; other urgent cues wait for Got it', () => {
  const events = [cue(1, 'time_remaining', 'warn', []), cue(2, 'some_new_rule', 'urgent', [])];
  assert.deepEqual(kinds(panelView(events).attention), ['cue:some_new_rule:2:c-1', 'time:c-1']);
  const grounded = [...events, event(3, 'grounding_started', { data: { exercise: 'box_breathing' } })];
  assert.deepEqual(kinds(panelView(grounded).attention), ['cue:some_new_rule:2:c-1']);
});

test('informational signals go to the feed without an Acknowledge', () => {
  const events = [event(1, 'keep_going'), event(2, 'resume'), event(3, 'grounding_started', { data: { exercise: 'five_senses' } })];
  const view = panelView(events);
  assert.deepEqual(view.attention, []);
  assert.deepEqual(view.feed.map((r) => r.ackSeqs), [[], [], []]);
});

test('a withdrawn Keep going is no pace at all, as the service says after a reload', () => {
  const welcome = (head, clients) => ({ head_seq: head, session: { participants: [{ id: 'c-1', role: 'client' }] }, state: { clients } });
  const events = [event(1, 'slow_down'), event(2, 'keep_going'), event(3, 'retract', { data: { seq: 2 } })];
  assert.equal(clientStates(welcome(0, {}), events)['c-1'].pace, null);
  // The snapshot already holds the keep_going; the retract after it still undoes it.
  assert.equal(clientStates(welcome(2, { 'c-1': { pace: 'keep_going' } }), events)['c-1'].pace, null);
  // Withdrawing an older press leaves the newer one.
  const older = [event(1, 'slow_down'), event(2, 'keep_going'), event(3, 'retract', { data: { seq: 1 } })];
  assert.equal(clientStates(welcome(0, {}), older)['c-1'].pace, 'keep_going');
  const zone = [event(1, 'zone', { data: { zone: 'too_much' } }), event(2, 'retract', { data: { seq: 1 } })];
  assert.equal(clientStates(welcome(0, {}), zone)['c-1'].zone, null);
});

test('after the end a signal put away with Got it leaves Needs attention', () => {
  const events = [event(1, 'pause'), event(2, 'session_ended', { actor: system, data: { by: 'therapist' } })];
  assert.deepEqual(kinds(panelView(events).attention), ['pause:c-1']);
  assert.deepEqual(panelView(events, { dismissed: [1] }).attention, []);
});

test('a client id that names an Object property is a client like any other', () => {
  const ids = ['__proto__', 'constructor', 'toString'];
  const welcome = {
    head_seq: 0,
    session: { participants: ids.map((id) => ({ id, role: 'client', connected: false })) },
    state: { clients: {} },
  };
  const events = [
    event(1, 'pause', { actor: { id: '__proto__', role: 'client' } }),
    event(2, 'zone', { actor: { id: 'constructor', role: 'client' }, data: { zone: 'too_much' } }),
    event(3, 'location_shared', { actor: { id: 'toString', role: 'client' }, data: { text: 'home' } }),
  ];
  const states = clientStates(welcome, events);
  assert.deepEqual(Object.keys(states).sort(), [...ids].sort());
  assert.equal(states.__proto__.paused, true);
  assert.equal(states.constructor.zone, 'too_much');
  assert.equal(states.toString.paused, false);
  assert.equal({}.paused, undefined, 'Object.prototype is untouched');
  const view = panelView(events);
  assert.deepEqual(Object.keys(view.locations), ['toString']);
  assert.equal(view.locations.constructor, undefined);
  assert.deepEqual(view.attention.map((r) => r.clientId).sort(), ['__proto__', 'constructor']);
});
