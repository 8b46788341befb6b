// The outbox and replay rules of the widgets' connection (contract §3 and §7): every press is
// stored until acked and resent under the same id; the log is deduplicated by seq and kept with
// last_seq and epoch across reloads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ComfortConnection, storageKeyFor } from '../src/connection.js';
import { MemoryStorage, event, fakeIo, flush, token } from './fakes.js';

function open(storage = new MemoryStorage(), io = fakeIo(), tok = token()) {
  const conn = new ComfortConnection({ token: tok, server: 'http://svc', storage, io });
  conn.connect();
  return { conn, io, storage, socket: io.sockets[io.sockets.length - 1] };
}

test('a press made while offline is kept in storage and sent on connect', async () => {
  const { conn, socket, storage } = open();
  const entry = conn.send('pause');
  assert.equal(socket.sent.length, 0, 'nothing is emitted while disconnected');
  const stored = JSON.parse(storage.getItem(storageKeyFor(token())));
  assert.deepEqual(stored.outbox.map((e) => e.id), [entry.id]);

  socket.serverAccept();
  await flush();
  assert.equal(socket.sent.length, 1);
  const pressed_at = new Date(entry.t).toISOString();
  assert.deepEqual(socket.sent[0].payload, { id: entry.id, type: 'pause', data: { pressed_at } });
});

test('a press says when it was made when it waited, and only then', async () => {
  let now = Date.parse('2026-12-02T14:02:07.412Z');
  const io = fakeIo();
  const conn = new ComfortConnection({ token: token(), server: 'http://svc', storage: new MemoryStorage(), io, now: () => now });
  conn.connect();
  const socket = io.sockets[0];
  const offline = conn.send('zone', { zone: 'too_much' }); // queued before the connection is up
  now += 180_000;
  socket.serverAccept();
  await flush();
  assert.deepEqual(socket.sent[0].payload.data, { zone: 'too_much', pressed_at: '2026-12-02T14:02:07.412Z' });
  socket.answer(socket.sent[0], null, { ok: true, seq: 1, duplicate: false });
  await flush();
  // Online, sent at once: nothing to add; the service's own time is the press's.
  conn.send('pause');
  await flush();
  assert.deepEqual(socket.sent[1].payload.data, {});
  socket.answer(socket.sent[1], null, { ok: true, seq: 2, duplicate: false });
  // Online, but the ack never came (a connection that looked up and was not): the resend says
  // when it was pressed.
  const stuck = conn.send('help_now');
  await flush();
  assert.deepEqual(socket.sent[2].payload.data, {});
  now += 12_000;
  socket.answer(socket.sent[2], new Error('operation has timed out'));
  await flush(); // the attempt settles as "retry"
  conn.flush(); // what the retry timer does
  await flush();
  assert.equal(socket.sent[3].payload.id, stuck.id);
  assert.deepEqual(socket.sent[3].payload.data, { pressed_at: new Date(stuck.t).toISOString() });
  socket.answer(socket.sent[3], null, { ok: true, seq: 3, duplicate: false });
  await flush();
  // Not for a location or a retract, even queued offline.
  socket.serverDrop();
  conn.send('location_shared', { text: 'home' });
  conn.send('retract', { seq: 1 });
  socket.serverAccept();
  await flush();
  socket.answer(socket.sent[4], null, { ok: true, seq: 4, duplicate: false });
  await flush();
  assert.deepEqual(socket.sent.slice(4).map((s) => s.payload.data), [{ text: 'home' }, { seq: 1 }]);
  assert.ok(offline.offline && !stuck.offline);
});

test('an acked press leaves the outbox and remembers its seq', async () => {
  const { conn, socket, storage } = open();
  socket.serverAccept();
  const entry = conn.send('slow_down');
  await flush();
  socket.answer(socket.sent[0], null, { ok: true, seq: 7, duplicate: false });
  await flush();
  assert.equal(conn.outbox.length, 0);
  assert.equal(conn.seqOf(entry.id), 7);
  assert.equal(JSON.parse(storage.getItem(storageKeyFor(token()))).outbox.length, 0);
});

test('a press survives a reload and is resent with the same id', async () => {
  const storage = new MemoryStorage();
  const first = open(storage);
  first.socket.serverAccept();
  const entry = first.conn.send('pause');
  await flush();
  // The page goes away before the ack arrives.
  first.conn.close();

  const second = open(storage);
  second.socket.serverAccept();
  await flush();
  assert.equal(second.socket.sent.length, 1);
  assert.equal(second.socket.sent[0].payload.id, entry.id, 'same id, so the service stores it once');
});

test('a send interrupted by a disconnect is resent at once after reconnect', async () => {
  const { conn, socket } = open();
  socket.serverAccept();
  const entry = conn.send('keep_going');
  await flush();
  socket.serverDrop();
  await flush();
  assert.equal(conn.status, 'offline');
  assert.equal(conn.outbox.length, 1);

  socket.serverAccept();
  await flush();
  const ids = socket.sent.map((s) => s.payload.id);
  assert.deepEqual(ids, [entry.id, entry.id]);
  // The late ack of the first attempt is ignored; the second settles it.
  socket.answer(socket.sent[1], null, { ok: true, seq: 3, duplicate: true });
  await flush();
  assert.equal(conn.outbox.length, 0);
});

test('a timed-out send is retried under the same id', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { conn, socket } = open();
  socket.serverAccept();
  const entry = conn.send('pause');
  await flush();
  socket.answer(socket.sent[0], new Error('operation has timed out'));
  await flush();
  assert.equal(conn.outbox.length, 1);
  t.mock.timers.tick(2000);
  await flush();
  assert.equal(socket.sent.length, 2);
  assert.equal(socket.sent[1].payload.id, entry.id);
});

test('retryable errors keep the press; final errors drop it and say so', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { conn, socket } = open();
  const rejected = [];
  conn.addEventListener('rejected', (e) => rejected.push(e.detail.error.code));
  socket.serverAccept();
  conn.send('pause');
  await flush();
  socket.answer(socket.sent[0], null, { ok: false, error: { code: 'internal', message: 'x' } });
  await flush();
  assert.equal(conn.outbox.length, 1, 'internal: kept for another try');
  t.mock.timers.tick(2000);
  await flush();
  socket.answer(socket.sent[1], null, { ok: false, error: { code: 'forbidden', message: 'x' } });
  await flush();
  assert.equal(conn.outbox.length, 0, 'forbidden: dropped');
  assert.deepEqual(rejected, ['forbidden']);
});

test('presses are sent one at a time, in the order pressed', async () => {
  const { conn, socket } = open();
  const a = conn.send('pause');
  const b = conn.send('resume');
  socket.serverAccept();
  await flush();
  assert.deepEqual(socket.pending().map((s) => s.payload.id), [a.id], 'the second waits for the first ack');
  socket.answer(socket.sent[0], null, { ok: true, seq: 1, duplicate: false });
  await flush();
  assert.deepEqual(socket.pending().map((s) => s.payload.id), [b.id]);
});

test('undo before sending drops the press; after sending it retracts by seq', async () => {
  const { conn, socket } = open();
  const early = conn.send('pause');
  assert.equal(conn.retract(early.id), 'cancelled');
  assert.equal(conn.outbox.length, 0);

  socket.serverAccept();
  const late = conn.send('pause');
  await flush();
  socket.answer(socket.sent[0], null, { ok: true, seq: 12, duplicate: false });
  await flush();
  assert.equal(conn.retract(late.id), 'retracting');
  await flush();
  assert.deepEqual(socket.sent[1].payload.type, 'retract');
  assert.deepEqual(socket.sent[1].payload.data, { seq: 12 });
});

test('undo while the press is in flight retracts it as soon as it is acked', async () => {
  const { conn, socket } = open();
  socket.serverAccept();
  const entry = conn.send('pause');
  await flush();
  assert.equal(conn.retract(entry.id), 'retracting');
  socket.answer(socket.sent[0], null, { ok: true, seq: 5, duplicate: false });
  await flush();
  assert.deepEqual(socket.sent[1].payload.data, { seq: 5 });
});

test('events are deduplicated by seq and kept in seq order', () => {
  const { conn, socket } = open();
  socket.serverAccept();
  const seen = [];
  conn.addEventListener('event', (e) => seen.push(e.detail.seq));
  for (const seq of [1, 2, 2, 4, 3, 1]) socket.fire('event', event(seq, 'keep_going'));
  assert.deepEqual(conn.events.map((e) => e.seq), [1, 2, 3, 4]);
  assert.deepEqual(seen, [1, 2, 4, 3], 'each new event is announced once');
  assert.equal(conn.lastSeq, 4);
});

test('a reload reconnects with the stored last_seq and epoch and keeps the log', () => {
  const storage = new MemoryStorage();
  const first = open(storage);
  first.socket.serverAccept();
  first.socket.fire('welcome', { epoch: 'E1', head_seq: 0, state: { clients: {} } });
  for (const seq of [1, 2, 3]) first.socket.fire('event', event(seq, 'pause'));
  first.conn.close();

  const second = open(storage);
  second.socket.serverAccept();
  assert.deepEqual(second.socket.authSeen[0], { token: token(), last_seq: 3, epoch: 'E1' });
  assert.deepEqual(second.conn.events.map((e) => e.seq), [1, 2, 3]);
});

test('a new epoch or a shorter log drops the cached log', () => {
  const storage = new MemoryStorage();
  const { conn, socket } = open(storage);
  socket.serverAccept();
  socket.fire('welcome', { epoch: 'E1', head_seq: 0 });
  for (const seq of [1, 2]) socket.fire('event', event(seq, 'pause'));
  socket.fire('welcome', { epoch: 'E2', head_seq: 1 });
  assert.equal(conn.events.length, 0);
  assert.equal(conn.lastSeq, 0);
  assert.equal(conn.epoch, 'E2');

  socket.fire('event', event(1, 'pause'));
  socket.fire('event', event(2, 'pause'));
  socket.fire('welcome', { epoch: 'E2', head_seq: 1 }); // the service knows less than we hold
  assert.equal(conn.events.length, 0);
});

test('every reconnect sends the latest last_seq', () => {
  const { socket } = open();
  socket.serverAccept();
  socket.fire('event', event(1, 'pause'));
  socket.fire('event', event(2, 'resume'));
  socket.serverDrop();
  socket.serverAccept();
  assert.deepEqual(socket.authSeen.map((a) => a.last_seq), [0, 2]);
});

test('a final refusal stops; a server-side disconnect of a live session reconnects', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { conn, socket } = open();
  socket.fire('connect_error', Object.assign(new Error('x'), { data: { code: 'token_expired', message: 'x' } }));
  assert.equal(conn.status, 'refused');
  assert.equal(conn.error.code, 'token_expired');

  const other = open();
  other.socket.serverAccept();
  other.socket.serverDrop('io server disconnect');
  t.mock.timers.tick(1500);
  assert.equal(other.socket.connectCalls, 1);
});

test('two participants of one session never share storage', () => {
  assert.notEqual(storageKeyFor(token('s-1', 'c-1')), storageKeyFor(token('s-1', 't-1')));
  assert.notEqual(storageKeyFor(token('s-1', 'c-1')), storageKeyFor(token('s-2', 'c-1')));
  assert.match(storageKeyFor('not-a-jwt'), /^comfort:v1:token:/);
});

test('a press is announced as a signal with its id, type and data', () => {
  const { conn } = open();
  const seen = [];
  conn.addEventListener('signal', (e) => seen.push(e.detail));
  const entry = conn.send('zone', { zone: 'too_much' });
  // The press time goes to the service (dataToSend), not into what the host page is told.
  assert.deepEqual(seen, [{ id: entry.id, type: 'zone', data: { zone: 'too_much' } }]);
});

/** A fetch double for GET /widgets/origin. */
function originAnswer(body, { ok = true, fail = false } = {}) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, init });
    if (fail) throw new TypeError('Failed to fetch');
    return { ok, json: async () => body };
  };
  fetch.calls = calls;
  return fetch;
}

function openWith(fetch) {
  const io = fakeIo();
  const conn = new ComfortConnection({ token: token(), server: 'http://svc', storage: new MemoryStorage(), io, fetch });
  conn.connect();
  return { conn, socket: io.sockets[0] };
}

const transportError = () => new Error('xhr poll error'); // what socket.io-client reports: no data

/** The socket fails to connect the way an unreachable or refusing transport does. */
async function transportFails(socket) {
  socket.fire('connect_error', transportError());
  await flush();
}

test('a refused origin is learned from the service, said once, and stops the retries', async () => {
  const fetch = originAnswer({ origin: 'https://vendor.example', allowed: false });
  const { conn, socket } = openWith(fetch);
  const refusals = [];
  conn.addEventListener('refused', (e) => refusals.push(e.detail));
  socket.fire('connect_error', transportError());
  assert.equal(conn.status, 'offline', 'until the service answers, it is an ordinary outage');
  await flush();
  assert.equal(fetch.calls[0].url, 'http://svc/widgets/origin');
  assert.equal(fetch.calls[0].init.credentials, 'omit');
  assert.equal(conn.status, 'refused');
  assert.equal(conn.error.code, 'origin_not_allowed');
  assert.match(conn.error.message, /https:\/\/vendor\.example.*COMFORT_ALLOWED_ORIGINS/);
  assert.deepEqual(refusals.map((r) => r.code), ['origin_not_allowed']);
  assert.equal(socket.disconnectCalls, 1, "socket.io's own reconnection is stopped");
  await transportFails(socket);
  assert.equal(fetch.calls.length, 1);
  assert.equal(refusals.length, 1, 'said once');
});

test('an allowed origin is an ordinary outage, asked about once per outage', async () => {
  const fetch = originAnswer({ origin: 'https://vendor.example', allowed: true });
  const { conn, socket } = openWith(fetch);
  await transportFails(socket);
  await transportFails(socket);
  assert.equal(conn.status, 'offline');
  assert.equal(fetch.calls.length, 1);
  socket.serverAccept();
  socket.serverDrop();
  await transportFails(socket);
  assert.equal(fetch.calls.length, 2, 'a new outage asks again');
  assert.equal(conn.status, 'offline');
});

test('an unreachable service is an outage, and the origin is asked again on the next failure', async () => {
  const fetch = originAnswer(null, { fail: true });
  const { conn, socket } = openWith(fetch);
  await transportFails(socket);
  await transportFails(socket);
  assert.equal(conn.status, 'offline');
  assert.equal(fetch.calls.length, 2);
});

test('a service refusal never asks about the origin; each final refusal is announced', async () => {
  const fetch = originAnswer({ allowed: false });
  const { conn, socket } = openWith(fetch);
  const refusals = [];
  conn.addEventListener('refused', (e) => refusals.push(e.detail));
  socket.fire('connect_error', Object.assign(new Error('x'), { data: { code: 'session_ended', message: 'ended' } }));
  await flush();
  assert.equal(fetch.calls.length, 0);
  assert.equal(conn.status, 'ended');
  assert.deepEqual(refusals, [{ code: 'session_ended', message: 'ended' }]);
  assert.equal(socket.disconnectCalls, 1);
});

test('a press keeps the time it was made, also once acked', async () => {
  let now = 1_000;
  const io = fakeIo();
  const conn = new ComfortConnection({ token: token(), server: 'http://svc', storage: new MemoryStorage(), io, now: () => now });
  conn.connect();
  const entry = conn.send('pause');
  assert.equal(conn.pressedAt(entry.id), 1_000);
  now = 90_000;
  io.sockets[0].serverAccept();
  await flush();
  io.sockets[0].answer(io.sockets[0].sent[0], null, { ok: true, seq: 3, duplicate: false });
  await flush();
  assert.equal(conn.pressedAt(entry.id), 1_000);
  assert.equal(conn.ackedAt(entry.id), 90_000);
});

test('the offline time is kept while offline and cleared on connect', () => {
  let now = 5;
  const io = fakeIo();
  const conn = new ComfortConnection({ token: token(), server: 'http://svc', storage: new MemoryStorage(), io, now: () => now });
  conn.connect();
  io.sockets[0].serverAccept();
  assert.equal(conn.offlineSince, null);
  io.sockets[0].serverDrop();
  now = 9;
  io.sockets[0].fire('connect_error', transportError());
  assert.equal(conn.offlineSince, 5, 'from the first moment it was lost');
  io.sockets[0].serverAccept();
  assert.equal(conn.offlineSince, null);
});

test('the page is current only once this connection is welcomed and its replay is in', () => {
  let now = 5;
  const io = fakeIo();
  const conn = new ComfortConnection({ token: token(), server: 'http://svc', storage: new MemoryStorage(), io, now: () => now });
  conn.connect();
  const socket = io.sockets[0];
  assert.equal(conn.current, false, 'connecting');
  socket.fire('connect_error', transportError());
  assert.equal(conn.behindSince, null, 'never current: no time to name');
  socket.serverAccept();
  assert.equal(conn.current, false, 'connected, not yet welcomed');
  socket.fire('welcome', { epoch: 'e1', head_seq: 2, session: { state: 'live' } });
  assert.equal(conn.current, false, 'welcomed, the replay of 2 events still to come');
  socket.fire('event', event(1, 'pause'));
  socket.fire('event', event(2, 'resume'));
  assert.equal(conn.current, true);

  socket.serverDrop();
  now = 9;
  assert.equal(conn.current, false);
  assert.equal(conn.behindSince, 5, 'behind from the moment the connection was lost');
  socket.serverAccept();
  assert.equal(conn.offlineSince, null);
  assert.equal(conn.behindSince, 5, 'connected again, but not caught up');
  socket.fire('welcome', { epoch: 'e1', head_seq: 3, session: { state: 'live' } });
  assert.equal(conn.current, false, 'one event came while away');
  socket.fire('event', event(3, 'pause'));
  assert.equal(conn.current, true);
  assert.equal(conn.behindSince, null);

  // A second drop names its own time; a welcome with nothing missed is current at once.
  now = 20;
  socket.serverDrop();
  now = 30;
  socket.fire('connect_error', transportError());
  assert.equal(conn.behindSince, 20);
  socket.serverAccept();
  socket.fire('welcome', { epoch: 'e1', head_seq: 3, session: { state: 'live' } });
  assert.equal(conn.current, true);
  assert.equal(conn.behindSince, null);
});

test('forget leaves nothing of the session in storage or in memory', () => {
  const storage = new MemoryStorage();
  const { conn, socket } = open(storage);
  socket.serverAccept();
  socket.fire('welcome', { epoch: 'E1', head_seq: 1, state: { clients: { 'c-1': { paused: true } } } });
  socket.fire('event', event(1, 'pause'));
  conn.setNote('dismissedCues', [1]);
  assert.ok(storage.getItem(storageKeyFor(token())));
  conn.forget();
  assert.equal(storage.getItem(storageKeyFor(token())), null);
  assert.deepEqual([conn.events, conn.outbox, conn.welcome, conn.note('dismissedCues')], [[], [], null, undefined]);
});

test('an ended session is asked about again on recheck, and an erasure is a refusal', async () => {
  const { conn, socket } = open();
  socket.serverAccept();
  socket.fire('event', event(1, 'session_ended', { actor: { id: 'system', role: 'system' } }));
  socket.serverDrop('io server disconnect');
  assert.equal(conn.status, 'ended');
  const refusals = [];
  conn.addEventListener('refused', (e) => refusals.push(e.detail.code));
  const refusedAs = (code) => Object.assign(new Error(code), { data: { code, message: code } });
  conn.recheck();
  assert.equal(socket.connectCalls, 1);
  socket.fire('connect_error', refusedAs('session_ended'));
  conn.recheck();
  socket.fire('connect_error', refusedAs('session_ended')); // said once
  assert.deepEqual([conn.status, refusals], ['ended', ['session_ended']]);
  assert.equal(socket.disconnectCalls, 2, 'each recheck closes its connection');
  conn.recheck();
  socket.fire('connect_error', refusedAs('session_not_found'));
  assert.deepEqual([conn.status, refusals], ['refused', ['session_ended', 'session_not_found']]);
  conn.recheck();
  assert.equal(socket.connectCalls, 3, 'a refused connection is not asked again');
});

test('a busy service is asked again after the wait it names, other refusals after 3 s', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const busy = (retry_after_s) =>
    Object.assign(new Error('busy'), { data: { code: 'busy', message: 'the service is busy', retry_after_s } });
  const { conn, socket } = open();
  socket.fire('connect_error', busy(10));
  assert.equal(conn.status, 'offline', 'an outage, not a refusal for good: presses stay queued');
  t.mock.timers.tick(8_900);
  assert.equal(socket.connectCalls, 0, 'not before 0.9 x the wait');
  t.mock.timers.tick(2_200);
  assert.equal(socket.connectCalls, 1, 'by 1.1 x the wait');

  socket.fire('connect_error', busy(3600)); // an absurd wait is capped at a minute
  t.mock.timers.tick(66_001);
  assert.equal(socket.connectCalls, 2);

  for (const data of [{ code: 'too_many_connections', message: 'm' }, { code: 'busy', message: 'm', retry_after_s: 'soon' }]) {
    socket.fire('connect_error', Object.assign(new Error('x'), { data }));
    const before = socket.connectCalls;
    t.mock.timers.tick(2_999);
    assert.equal(socket.connectCalls, before);
    t.mock.timers.tick(1);
    assert.equal(socket.connectCalls, before + 1);
  }
});
