// What the therapist panel says of its own check-ins and suggestions (therapist/requests.js),
// read from a real ComfortConnection: not sent yet while kept on this device, sending, sent
// only once the service acked it, and refused; "sent" fades, nothing unsettled ever does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ComfortConnection } from '../src/connection.js';
import en from '../src/locales/en.js';
import es from '../src/locales/es.js';
import {
  SENT_NOTICE_MS,
  requestNoticeShown,
  requestStatus,
  requestText,
  waitingRequest,
} from '../src/therapist/requests.js';
import { MemoryStorage, fakeIo, flush, token } from './fakes.js';

function panel(now = () => Date.now()) {
  const io = fakeIo();
  const conn = new ComfortConnection({ token: token('s-1', 't-1'), server: 'http://svc', storage: new MemoryStorage(), io, now });
  conn.connect();
  return { conn, socket: io.sockets[0] };
}

const say = (conn, id, rejected = new Map(), connectedBefore = true) =>
  requestText(en.therapist, requestStatus(conn, id, rejected), connectedBefore);

test('a check-in pressed offline is "not sent yet" until the service acks it, then "sent"', async () => {
  let now = 1_000_000;
  const { conn, socket } = panel(() => now);
  socket.serverAccept();
  conn.onWelcome({ epoch: 'e', head_seq: 0, session: { state: 'live', participants: [] } });
  socket.serverDrop();
  const entry = conn.send('checkin_request', { instrument: 'suds' });
  assert.equal(requestStatus(conn, entry.id, new Map()).state, 'queued');
  assert.equal(say(conn, entry.id), 'Check-in not sent yet: it will go out when the connection is back.');
  now += 60 * 60_000; // however long it waits, the line stays
  assert.equal(requestNoticeShown(requestStatus(conn, entry.id, new Map()), now), true);

  socket.serverAccept();
  await flush();
  assert.equal(requestStatus(conn, entry.id, new Map()).state, 'sending');
  assert.equal(say(conn, entry.id), 'Sending the check-in…');
  assert.doesNotMatch(say(conn, entry.id), /sent\./);

  socket.answer(socket.pending()[0], null, { ok: true, seq: 7, duplicate: false });
  const stored = requestStatus(conn, entry.id, new Map());
  assert.equal(stored.state, 'stored');
  assert.equal(say(conn, entry.id), 'Check-in sent.');
  assert.equal(requestNoticeShown(stored, now + SENT_NOTICE_MS - 1), true);
  assert.equal(requestNoticeShown(stored, now + SENT_NOTICE_MS), false, '"sent" fades from the ack');
});

test('before the first welcome a kept request goes out "once the panel connects"', () => {
  const { conn } = panel();
  const entry = conn.send('suggest_grounding', { exercise: 'box_breathing' });
  assert.equal(say(conn, entry.id, new Map(), false), 'Suggestion not sent yet: it will go out once the panel connects.');
  assert.equal(
    requestText(es.therapist, requestStatus(conn, entry.id, new Map()), false),
    'Sugerencia aún sin enviar: se enviará cuando el panel se conecte.',
  );
});

test('a refused request says it was not sent, and stays until the next one', async () => {
  const { conn, socket } = panel();
  socket.serverAccept();
  const entry = conn.send('suggest_grounding', { exercise: 'five_senses', to: ['gone'] });
  await flush();
  const rejected = new Map();
  conn.addEventListener('rejected', (e) => rejected.set(e.detail.entry.id, e.detail));
  socket.answer(socket.pending()[0], null, { ok: false, error: { code: 'invalid_payload', message: 'no such client' } });
  const status = requestStatus(conn, entry.id, rejected);
  assert.equal(status.state, 'rejected');
  assert.equal(say(conn, entry.id, rejected), 'The suggestion could not be sent.');
  assert.equal(requestNoticeShown(status, Date.now() + 60 * 60_000), true);
});

test('after a reload the line finds the latest request still waiting in the outbox', () => {
  const outbox = [
    { id: 'a', type: 'checkin_request', data: {} },
    { id: 'b', type: 'suggest_grounding', data: {} },
    { id: 'c', type: 'acknowledge', data: { seq: 3 } },
  ];
  assert.equal(waitingRequest(outbox), 'b');
  assert.equal(waitingRequest(outbox.slice(2)), null);
  assert.equal(requestNoticeShown(null, 0), false);
});
