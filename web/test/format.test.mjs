// Unit tests of format.js, the UI's pure helpers.
import test from 'node:test';
import assert from 'node:assert/strict';
import { load } from './fake.mjs';

const f = await load('format.js');

test('timeLabel writes the hour as the locale does, not zero-padded', () => {
  const d = new Date(2026, 0, 1, 3, 8);
  assert.equal(f.timeLabel(d, 'en-US').replace(/\s/g, ' '), '3:08 AM');
  assert.equal(f.timeLabel(d, 'de-DE'), '3:08');
  assert.equal(f.timeLabel(new Date(2026, 0, 1, 15, 30), 'en-GB'), '15:30');
});

test('safeHref refuses other schemes', () => {
  assert.equal(f.safeHref('javascript:alert(1)'), null);
  assert.equal(f.safeHref('data:text/html,x'), null);
  assert.equal(f.safeHref('https://x.y'), 'https://x.y/');
});

test('layout: day separators and sender groups', () => {
  const now = new Date(2026, 10, 25, 12, 0);
  const at = (d, h, m) => new Date(2026, 10, d, h, m).toISOString();
  const msgs = [
    { seq: 1, from: 'bob', ts: at(24, 9, 0) },
    { seq: 2, from: 'bob', ts: at(24, 9, 3) },
    { seq: 3, from: 'bob', ts: at(24, 9, 30) }, // 27 min later: new group
    { seq: 4, from: 'alice', ts: at(24, 9, 31) },
    { seq: 5, from: 'alice', ts: at(25, 8, 0) }, // next day
    { seq: 6, from: 'alice', ts: at(25, 8, 1) },
  ];
  const got = f.layout(msgs, now).map((x) => [x.msg.seq, x.day, x.head]);
  assert.deepEqual(got, [
    [1, 'Yesterday', true],
    [2, null, false],
    [3, null, true],
    [4, null, true],
    [5, 'Today', true],
    [6, null, false],
  ]);
});

test('names, typing, initials, colours', () => {
  assert.equal(f.listNames(['alice']), 'alice');
  assert.equal(f.listNames(['alice', 'bob']), 'alice and bob');
  assert.equal(f.listNames(['a', 'b', 'c']), 'a, b and c');
  assert.equal(f.listNames(['a', 'b', 'c', 'd', 'e']), 'a, b and 3 others');
  assert.equal(f.typingText([]), '');
  assert.equal(f.typingText(['bob']), 'bob is typing…');
  assert.equal(f.typingText(['bob', 'carol']), 'bob and carol are typing…');
  assert.equal(f.typingText(['a', 'b', 'c', 'd']), 'Several people are typing…');
  assert.equal(f.initials('alice'), 'A');
  assert.equal(f.initials('bob_smith'), 'BS');
  assert.equal(f.colorIndex('alice'), f.colorIndex('alice'));
  assert.ok(f.colorIndex('alice') < 8);
  assert.equal(f.preview('  a\n\nb  '), 'a b');
  assert.equal(f.preview('x'.repeat(100), 10), 'xxxxxxxxx…');
});

test('ids, tokens and the fragment handoff', () => {
  assert.ok(f.validID('a_B-9'));
  assert.ok(!f.validID('a.b'));
  assert.ok(!f.validID(''));
  assert.ok(!f.validID('x'.repeat(65)));
  const payload = Buffer.from(JSON.stringify({ sub: 'zoë', exp: 123 })).toString('base64url');
  assert.deepEqual(f.jwtClaims(`h.${payload}.s`), { sub: 'zoë', exp: 123 });
  assert.equal(f.jwtClaims('garbage'), null);
  assert.deepEqual(f.tokenFromFragment('#token=abc.def.ghi'), { token: 'abc.def.ghi', rest: '' });
  assert.deepEqual(f.tokenFromFragment('#room=x&token=t'), { token: 't', rest: '#room=x' });
  assert.deepEqual(f.tokenFromFragment('#room=x'), { token: null, rest: '#room=x' });
});
