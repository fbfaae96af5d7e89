// Unit tests of message search's pure parts (search.js): results grouped
// by room, and snippets cut by the server's UTF-16 highlight offsets.
import test from 'node:test';
import assert from 'node:assert/strict';
import { load } from './fake.mjs';

const { groupByRoom, inOrder, splitHighlights } = await load('search.js');

const hit = (room, seq) => ({ room, seq });

test('groupByRoom: one group per room, in the order of its newest hit', () => {
  const hits = [hit('ops', 9), hit('dm-x', 8), hit('ops', 7), hit('team', 5), hit('dm-x', 3)];
  const groups = groupByRoom(hits);
  assert.deepEqual(
    groups.map((g) => [g.room, g.hits.map((h) => h.seq)]),
    [
      ['ops', [9, 7]],
      ['dm-x', [8, 3]],
      ['team', [5]],
    ],
  );
  // ↑/↓ walk the shown order, not the server's.
  assert.deepEqual(
    inOrder(groups).map((h) => h.seq),
    [9, 7, 8, 3, 5],
  );
  // A further page appended keeps the shown groups first, in place.
  const more = groupByRoom(hits.concat([hit('new', 2), hit('team', 1)]));
  assert.deepEqual(
    more.map((g) => g.room),
    ['ops', 'dm-x', 'team', 'new'],
  );
  assert.deepEqual(groupByRoom([]), []);
});

const join = (parts) => parts.map((p) => (p.mark ? `[${p.text}]` : p.text)).join('');

test('splitHighlights: plain and marked parts by UTF-16 offsets', () => {
  assert.deepEqual(splitHighlights('deploy to 東京 region', [[0, 6], [10, 12]]), [
    { text: 'deploy', mark: true },
    { text: ' to ', mark: false },
    { text: '東京', mark: true },
    { text: ' region', mark: false },
  ]);
  assert.equal(join(splitHighlights('no match here', [])), 'no match here');
  assert.equal(join(splitHighlights('whole', [[0, 5]])), '[whole]');
  assert.equal(join(splitHighlights('', [])), '');
});

test('splitHighlights: emoji are two UTF-16 units; CJK one', () => {
  // "🎉 party 🎉": 🎉 is a surrogate pair, so "party" is at [3, 8).
  const s = '🎉 party 🎉';
  assert.equal(join(splitHighlights(s, [[3, 8]])), '🎉 [party] 🎉');
  assert.equal(join(splitHighlights(s, [[0, 2], [9, 11]])), '[🎉] party [🎉]');
  // After an emoji, CJK offsets still count UTF-16 units.
  assert.equal(join(splitHighlights('😀天気が良い', [[2, 4]])), '😀[天気]が良い');
  // A 4-byte CJK character (an extension-B ideograph) is a pair too.
  assert.equal(join(splitHighlights('𠮷野家で', [[0, 3]])), '[𠮷野]家で');
  // A bound inside a pair widens to the whole character: never half an emoji.
  const parts = splitHighlights(s, [[1, 2]]);
  assert.equal(join(parts), '[🎉] party 🎉');
  for (const p of splitHighlights('a😀b', [[2, 3]])) assert.doesNotMatch(p.text, /^[\udc00-\udfff]|[\ud800-\udbff]$/);
  assert.equal(join(splitHighlights('a😀b', [[2, 3]])), 'a[😀]b');
});

test('splitHighlights: bad ranges are clamped or dropped, never thrown on', () => {
  assert.equal(join(splitHighlights('abcdef', [[4, 99]])), 'abcd[ef]');
  assert.equal(join(splitHighlights('abcdef', [[-3, 2]])), '[ab]cdef');
  assert.equal(join(splitHighlights('abcdef', [[2, 2], [3, 1]])), 'abcdef', 'empty and reversed');
  assert.equal(join(splitHighlights('abcdef', [[0, 3], [2, 5]])), '[abc]def', 'overlapping');
  assert.equal(join(splitHighlights('abcdef', [[4, 5], [0, 1]])), 'abcd[e]f', 'out of order: the later-first one is kept');
  assert.equal(join(splitHighlights('abcdef', [[1, 'x'], null, [1], [1.5, 3], 'nope'])), 'abcdef');
  assert.equal(join(splitHighlights('abcdef', null)), 'abcdef');
  assert.equal(join(splitHighlights(undefined, [[0, 1]])), '');
  // Markup in a snippet is text: the parts carry it as it is.
  assert.equal(join(splitHighlights('<img src=x onerror=alert(1)>', [[1, 4]])), '<[img] src=x onerror=alert(1)>');
});
