// Unit tests of human.js (errors in words) and coalesce.js (one redraw for
// a burst of changes).
import test from 'node:test';
import assert from 'node:assert/strict';
import { load } from './fake.mjs';

const { human, sendFailure } = await load('human.js');
const { coalesced } = await load('coalesce.js');

test('human: known codes get a sentence, other messages are made one', () => {
  assert.equal(human({ code: 'timeout', message: 'deadline' }), 'The server did not answer in time; try again.');
  assert.equal(human({ code: 'forbidden', message: 'not a member of r' }), 'Not a member of r.');
  assert.equal(human(new Error('room is full!')), 'Room is full!');
  assert.equal(human('plain text'), 'Plain text.');
  assert.equal(human(null), 'Something went wrong.');
});

test('sendFailure: the short reason under a message that was not sent', () => {
  assert.equal(sendFailure({ code: 'too_large' }), 'too long');
  assert.equal(sendFailure({ code: 'forbidden', message: 'muted' }), 'not allowed here');
  assert.equal(sendFailure({ code: 'timeout' }), 'no answer');
  assert.equal(sendFailure({ code: 'disconnected' }), 'The connection dropped; try again');
  assert.equal(sendFailure({ code: 'x', message: 'slow mode: wait 3 s' }), 'Slow mode: wait 3 s');
});

test('coalesced runs once, ms after the first call of a burst, and again for the next burst', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let runs = 0;
  const f = coalesced(() => runs++, 16);
  f();
  f();
  t.mock.timers.tick(10);
  f();
  assert.equal(runs, 0);
  t.mock.timers.tick(6);
  assert.equal(runs, 1);
  t.mock.timers.tick(100);
  assert.equal(runs, 1, 'no call, no run');
  f();
  t.mock.timers.tick(16);
  assert.equal(runs, 2);
});
