// Test doubles for the connection's two outside edges: Storage and the socket.io-client factory.

/** An in-memory Storage (the sessionStorage interface). */
export class MemoryStorage {
  constructor() {
    this.map = new Map();
  }
  getItem(key) {
    return this.map.has(key) ? this.map.get(key) : null;
  }
  setItem(key, value) {
    this.map.set(key, String(value));
  }
  removeItem(key) {
    this.map.delete(key);
  }
}

/**
 * A stand-in for a socket.io-client Socket: records emits and lets a test play the server
 * (connect, send welcome/event, answer acks, drop the connection).
 */
export class FakeSocket {
  constructor(url, options) {
    this.url = url;
    this.options = options;
    this.handlers = new Map();
    this.connected = false;
    this.sent = []; // {event, payload, ack}
    this.authSeen = [];
    this.connectCalls = 0;
    this.disconnectCalls = 0;
  }
  on(event, handler) {
    const list = this.handlers.get(event) || [];
    list.push(handler);
    this.handlers.set(event, list);
    return this;
  }
  removeAllListeners() {
    this.handlers.clear();
  }
  fire(event, ...args) {
    for (const h of this.handlers.get(event) || []) h(...args);
  }
  timeout() {
    return { emit: (event, payload, ack) => this.sent.push({ event, payload, ack }) };
  }
  emit(event, payload, ack) {
    this.sent.push({ event, payload, ack });
  }
  connect() {
    this.connectCalls += 1;
  }
  disconnect() {
    this.disconnectCalls += 1;
    this.connected = false;
  }
  /** The server accepts the connection (auth is read as socket.io-client would). */
  serverAccept() {
    this.options.auth((auth) => this.authSeen.push(auth));
    this.connected = true;
    this.fire('connect');
  }
  serverDrop(reason = 'transport close') {
    this.connected = false;
    this.fire('disconnect', reason);
  }
  /** Sends that have not been answered yet. */
  pending() {
    return this.sent.filter((s) => !s.answered);
  }
  answer(sent, err, ack) {
    sent.answered = true;
    sent.ack(err, ack);
  }
}

export function fakeIo() {
  const sockets = [];
  const io = (url, options) => {
    const socket = new FakeSocket(url, options);
    sockets.push(socket);
    return socket;
  };
  io.sockets = sockets;
  return io;
}

/** A join token with the claims the connection reads (unsigned: only the service verifies). */
export function token(sid = 's-1', sub = 'c-1') {
  const b64 = (obj) => Buffer.from(JSON.stringify(obj)).toString('base64url');
  return `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sid, sub, role: 'client', aud: 'comfort' })}.sig`;
}

export function event(seq, type, extra = {}) {
  return {
    seq,
    id: `e-${seq}`,
    type,
    at: new Date(Date.UTC(2025, 0, 1, 10, 0, seq)).toISOString(),
    actor: { id: 'c-1', role: 'client' },
    to: null,
    data: {},
    ...extra,
  };
}

export const flush = () => new Promise((resolve) => setImmediate(resolve));
