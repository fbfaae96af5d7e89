// Unit tests of handoff.js: a #token= link must not silently replace the
// session (login CSRF).
import test from 'node:test';
import assert from 'node:assert/strict';
import { load } from './fake.mjs';

const h = await load('handoff.js');

test('handoffDecision', () => {
  const now = 1_700_000_000_000;
  const exp = now / 1000 + 3600;
  const alice = { sub: 'alice', exp };
  const cases = [
    // [name, claims, current session, redirectedAt, want]
    ['malformed token', null, null, 0, 'ignore'],
    ['no sub', { exp }, null, 0, 'ignore'],
    ['expired token', { sub: 'alice', exp: now / 1000 - 1 }, null, now - 1000, 'ignore'],
    ['the login the UI asked for', alice, null, now - 60_000, 'adopt'],
    ['the login asked for, after an expired session of someone else', alice, { user: 'bob', valid: false }, now - 60_000, 'adopt'],
    ['a fresher token of the person logged in', alice, { user: 'alice', valid: true }, 0, 'adopt'],
    ['a link with another user while logged in', alice, { user: 'bob', valid: true }, 0, 'refuse'],
    ['another user while logged in, even after a redirect', alice, { user: 'bob', valid: true }, now - 1000, 'refuse'],
    ['an unsolicited link, nobody logged in', alice, null, 0, 'ask'],
    ['a redirect long ago', alice, null, now - h.SOLICITED_MS - 1, 'ask'],
    ['a redirect "in the future" (clock changed)', alice, null, now + 1000, 'ask'],
  ];
  for (const [name, claims, current, at, want] of cases) {
    assert.equal(h.handoffDecision(claims, current, at, now), want, name);
  }
});
