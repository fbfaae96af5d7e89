// Unit tests of emoji.js: the built-in table and its search.
import test from 'node:test';
import assert from 'node:assert/strict';
import { load } from './fake.mjs';

const { EMOJI, emojiFor, searchEmoji } = await load('emoji.js');

test('the table: a few hundred emoji with unique shortcodes of the :name: alphabet', () => {
  assert.ok(EMOJI.length >= 300, `${EMOJI.length} emoji`);
  const names = new Set();
  for (const e of EMOJI) {
    assert.match(e.name, /^[a-z0-9_+-]{1,40}$/, e.name);
    assert.ok(!names.has(e.name), `${e.name} twice`);
    names.add(e.name);
    assert.ok(e.emoji && !/[\s:]/.test(e.emoji) && new TextEncoder().encode(e.emoji).length <= 32, e.name);
  }
});

test('emojiFor looks a shortcode up', () => {
  assert.equal(emojiFor('tada'), '🎉');
  assert.equal(emojiFor('+1'), '👍');
  assert.equal(emojiFor('heart'), '❤️');
  assert.equal(emojiFor('nope-not-one'), undefined);
  assert.equal(emojiFor('__proto__'), undefined);
});

test('searchEmoji: the name itself, then name prefixes, then inside a name, then keywords', () => {
  const names = (q) => searchEmoji(q).map((e) => e.name);
  assert.equal(names('thumbsup')[0], '+1', 'a keyword finds it');
  assert.deepEqual(names('smile').slice(0, 3), ['smile', 'smiley', 'smiley_cat']);
  assert.ok(names('smile').includes('sweat_smile'));
  assert.ok(names('party').includes('tada'));
  assert.equal(names(':tada:')[0], 'tada');
  assert.deepEqual(names('zzzzqqq'), []);
  assert.equal(searchEmoji('', 10).length, 10);
  assert.equal(searchEmoji('a', 5).length, 5);
});
