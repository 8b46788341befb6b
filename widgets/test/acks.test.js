// Where the therapist panel's acknowledgements stand (therapist/acks.js), read from a real
// ComfortConnection: not sent yet while kept on this device, sending, stored only once the
// service acked it, refused; and the words a row says of each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ComfortConnection } from '../src/connection.js';
import en from '../src/locales/en.js';
import es from '../src/locales/es.js';
import { ackStates, ackText } from '../src/therapist/acks.js';
import { MemoryStorage, event, fakeIo, flush, token } from './fakes.js';

function panel() {
  const io = fakeIo();
  const conn = new ComfortConnection({ token: token('s-1', 't-1'), server: 'http://svc', storage: new MemoryStorage(), io });
  conn.connect();
  return { conn, socket: io.sockets[0] };
}

test('an acknowledgement pressed offline is kept, then sending, then stored once the service acks it', async () => {
  const { conn, socket } = panel();
  socket.serverAccept();
  conn.onWelcome({ epoch: 'e', head_seq: 0, session: { state: 'live', participants: [] } });
  conn.onEvent(event(1, 'pause'));
  socket.serverDrop();
  conn.send('acknowledge', { seq: 1 });
  assert.deepEqual([...ackStates(conn, new Map())], [[1, 'queued']]);
  assert.equal(
    ackText(en.therapist, 'queued', true),
    'Acknowledgement not sent yet: it will go out when the connection is back.',
  );

  socket.serverAccept();
  await flush();
  assert.deepEqual([...ackStates(conn, new Map())], [[1, 'sending']]);
  assert.equal(ackText(en.therapist, 'sending', true), 'Sending the acknowledgement…');

  socket.answer(socket.pending()[0], null, { ok: true, seq: 2, duplicate: false });
  assert.deepEqual([...ackStates(conn, new Map())], [[1, 'stored']], 'acked, its event not here yet');
  assert.equal(ackText(en.therapist, 'stored', true), '', 'a stored one has no words: the row has moved on');
  conn.onEvent(event(2, 'acknowledge', { actor: { id: 't-1', role: 'therapist' }, data: { seq: 1 } }));
  assert.deepEqual([...ackStates(conn, new Map())], [], 'in the log: the log speaks');
});

test('a refused acknowledgement says so, until the signal is acknowledged again', async () => {
  const { conn, socket } = panel();
  socket.serverAccept();
  const rejected = new Map();
  conn.addEventListener('rejected', (e) => rejected.set(e.detail.entry.id, e.detail));
  conn.send('acknowledge', { seq: 9 });
  await flush();
  socket.answer(socket.pending()[0], null, { ok: false, error: { code: 'not_found', message: 'no signal' } });
  assert.deepEqual([...ackStates(conn, rejected)], [[9, 'rejected']]);
  assert.equal(ackText(en.therapist, 'rejected', true), 'The acknowledgement could not be sent.');

  socket.serverDrop();
  conn.send('acknowledge', { seq: 9 });
  assert.deepEqual([...ackStates(conn, rejected)], [[9, 'queued']], 'the new press speaks over the refusal');
});

test('before the first welcome a kept acknowledgement goes out "once the panel connects", in each language', () => {
  const { conn } = panel();
  conn.send('acknowledge', { seq: 4 });
  conn.send('checkin_request', { instrument: 'suds' });
  assert.deepEqual([...ackStates(conn, new Map())], [[4, 'queued']], 'acknowledgements only');
  assert.equal(
    ackText(en.therapist, 'queued', false),
    'Acknowledgement not sent yet: it will go out once the panel connects.',
  );
  assert.equal(ackText(es.therapist, 'queued', true), 'Confirmación aún sin enviar: se enviará al volver la conexión.');
  assert.equal(ackText(es.therapist, 'rejected', true), 'No se pudo enviar la confirmación.');
  assert.equal(ackText(en.therapist, undefined, true), '');
});
