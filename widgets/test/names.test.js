// What the therapist panel calls each participant (widgets/src/therapist/names.js): the vendor's
// display names once welcomed; before that a role ("Client"), never an id, numbered only when
// the log holds several clients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import en from '../src/locales/en.js';
import es from '../src/locales/es.js';
import { panelNames } from '../src/therapist/names.js';
import { event } from './fakes.js';

const therapist = { id: 't-1', role: 'therapist' };
const system = { id: 'system', role: 'system' };
const joined = (seq, id, role) =>
  event(seq, 'participant_joined', { actor: system, data: { participant: { id, role }, via: 'widget' } });
const words = en.therapist.placeholderName;
const plain = (names) => Object.fromEntries(Object.entries(names));

test('once welcomed: the display names, and the id of a client the vendor gave no name', () => {
  const welcome = {
    session: {
      participants: [
        { id: 't-1', role: 'therapist', display_name: 'Dr Tessa' },
        { id: 'c-1', role: 'client', display_name: 'Ana' },
        { id: '__proto__', role: 'client', display_name: null },
      ],
    },
  };
  const names = panelNames(welcome, [event(1, 'pause')], words);
  assert.deepEqual(plain(names), { 't-1': 'Dr Tessa', 'c-1': 'Ana', ['__proto__']: '__proto__' });
});

test('before the welcome: one client is "Client" and the therapist "Therapist", never their ids', () => {
  const log = [
    joined(1, 'c-1', 'client'),
    joined(2, 't-1', 'therapist'),
    event(3, 'checkin_request', { actor: therapist, data: { instrument: 'suds' } }),
    event(4, 'pause'),
  ];
  assert.deepEqual(plain(panelNames(null, log, words)), { 'c-1': 'Client', 't-1': 'Therapist' });
  assert.deepEqual(plain(panelNames(null, log, es.therapist.placeholderName)), {
    'c-1': 'Cliente',
    't-1': 'Terapeuta',
  });
});

test('before the welcome: several clients are numbered by when the log first shows each', () => {
  const c2 = { id: 'c-2', role: 'client' };
  const log = [
    event(1, 'slow_down', { actor: c2 }),
    event(2, 'pause'),
    event(3, 'cue', { actor: system, data: { rule: 'x', severity: 'warn', client_id: 'c-3', related_seq: [1] } }),
    event(4, 'checkin_request', { actor: therapist, to: ['c-4'], data: { instrument: 'zone' } }),
    event(5, 'suggest_grounding', { actor: therapist, data: { exercise: 'box_breathing', to: ['c-5'] } }),
  ];
  assert.deepEqual(plain(panelNames(null, log, words)), {
    'c-2': 'Client 1',
    'c-1': 'Client 2',
    'c-3': 'Client 3',
    'c-4': 'Client 4',
    'c-5': 'Client 5',
    't-1': 'Therapist',
  });
});

test('before the welcome: ids that name object properties get names of their own', () => {
  const log = ['__proto__', 'constructor'].map((id, i) => event(i + 1, 'pause', { actor: { id, role: 'client' } }));
  const names = panelNames(null, log, words);
  assert.equal(names.__proto__, 'Client 1');
  assert.equal(names.constructor, 'Client 2');
  assert.equal(names.toString, undefined);
});

test('an empty log names no one', () => {
  assert.deepEqual(plain(panelNames(null, [], words)), {});
});
