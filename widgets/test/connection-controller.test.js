// The connection lifecycle both widgets share (ConnectionController): opened when the element
// joins the page with a token, reopened when token or server changes, closed when it leaves,
// and a re-render on every change of the connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ComfortConnection } from '../src/connection.js';
import { ConnectionController } from '../src/connection-controller.js';
import { MemoryStorage, fakeIo, token } from './fakes.js';

/** The part of a Lit element a controller sees. */
class FakeHost extends EventTarget {
  constructor(tok = token()) {
    super();
    this.localName = 'comfort-client';
    this.token = tok;
    this.server = 'http://svc';
    this.isConnected = false;
    this.controllers = [];
    this.updates = 0;
  }
  addController(c) {
    this.controllers.push(c);
  }
  requestUpdate() {
    this.updates += 1;
  }
  connect() {
    this.isConnected = true;
    for (const c of this.controllers) c.hostConnected();
  }
  disconnect() {
    this.isConnected = false;
    for (const c of this.controllers) c.hostDisconnected();
  }
  update() {
    for (const c of this.controllers) c.hostUpdated();
  }
}

function setup(host = new FakeHost(), on = {}, opened = null) {
  const io = fakeIo();
  const storage = new MemoryStorage();
  const link = new ConnectionController(host, {
    on,
    opened,
    create: (options) => new ComfortConnection({ ...options, storage, io }),
  });
  return { host, io, link };
}

test('opens on connect, closes on disconnect, and re-renders on change', () => {
  const { host, io, link } = setup();
  assert.equal(link.connection, null, 'nothing opens before the element is on the page');
  host.connect();
  assert.equal(io.sockets.length, 1);
  assert.equal(io.sockets[0].url, 'http://svc');
  const before = host.updates;
  io.sockets[0].serverAccept();
  assert.ok(host.updates > before, 'a change of the connection re-renders the host');
  const conn = link.connection;
  host.disconnect();
  assert.equal(link.connection, null);
  assert.equal(conn.closed, true);
  const after = host.updates;
  conn.changed();
  assert.equal(host.updates, after, 'a closed connection no longer reaches the host');
});

test('no token, no connection', () => {
  const { host, io, link } = setup(new FakeHost(''));
  host.connect();
  host.update();
  assert.equal(link.connection, null);
  assert.equal(io.sockets.length, 0);
});

test('a new token or server reconnects; an unchanged one does not', () => {
  const { host, io, link } = setup();
  host.connect();
  host.update();
  assert.equal(io.sockets.length, 1, 'an update with the same token keeps the connection');
  host.token = token('s-1', 'c-2');
  host.update();
  assert.equal(io.sockets.length, 2);
  assert.equal(link.connection.token, host.token);
  host.server = 'http://other';
  host.update();
  assert.equal(io.sockets.length, 3);
  assert.equal(io.sockets[2].url, 'http://other');
  host.token = '';
  host.update();
  assert.equal(link.connection, null);
});

test('handlers and the opened hook are called with the host as this', () => {
  const calls = [];
  const host = new FakeHost();
  const { io } = setup(
    host,
    {
      signal(e) {
        calls.push(['signal', this === host, e.detail.type]);
      },
    },
    function (conn) {
      calls.push(['opened', this === host, conn instanceof ComfortConnection]);
    },
  );
  host.connect();
  host.controllers[0].connection.send('pause');
  assert.deepEqual(calls, [
    ['opened', true, true],
    ['signal', true, 'pause'],
  ]);
  assert.equal(io.sockets.length, 1);
});

test('a connection that cannot work tells the host page: comfort:error, and one console line', (t) => {
  const warn = t.mock.method(console, 'warn', () => {});
  const host = new FakeHost();
  const { io } = setup(host);
  const errors = [];
  host.addEventListener('comfort:error', (e) => errors.push({ ...e.detail, bubbles: e.bubbles, composed: e.composed }));
  host.connect();
  const refuse = (code) =>
    io.sockets[io.sockets.length - 1].fire('connect_error', Object.assign(new Error(code), { data: { code, message: `m-${code}` } }));
  refuse('token_expired');
  assert.deepEqual(errors, [{ code: 'token_expired', message: 'm-token_expired', bubbles: true, composed: true }]);
  assert.equal(warn.mock.callCount(), 1);
  assert.match(warn.mock.calls[0].arguments[0], /<comfort-client> token_expired: m-token_expired/);

  // The same element on a new token, refused the same way: the event again, the console line not.
  host.token = token('s-1', 'c-2');
  host.update();
  refuse('token_expired');
  assert.equal(errors.length, 2);
  assert.equal(warn.mock.callCount(), 1);
});
