// Unit tests of completion.js: the word at the caret, suggestions, the
// completed text.
import test from 'node:test';
import assert from 'node:assert/strict';
import { load } from './fake.mjs';

const { tokenAt, suggestions, complete } = await load('completion.js');

test('tokenAt: @mentions and :shortcodes: ending at the caret', () => {
  assert.deepEqual(tokenAt('hi @bo', 6), { kind: 'mention', query: 'bo', start: 3, end: 6 });
  assert.deepEqual(tokenAt('@', 1), { kind: 'mention', query: '', start: 0, end: 1 });
  assert.deepEqual(tokenAt('(@carol-x', 9), { kind: 'mention', query: 'carol-x', start: 1, end: 9 });
  assert.deepEqual(tokenAt('yay :ta', 7), { kind: 'emoji', query: 'ta', start: 4, end: 7 });
  assert.deepEqual(tokenAt(':+1', 3), { kind: 'emoji', query: '+1', start: 0, end: 3 });
  // Not a mention: an e-mail address, a finished word, the caret elsewhere.
  for (const [v, c] of [['mail bob@ex', 11], ['@bob done', 9], ['hi @bob', 2], ['time 10:30', 10], ['a:b', 3], [':t', 2], ['', 0]]) {
    assert.equal(tokenAt(v, c), null, `${v} @${c}`);
  }
});

test('suggestions: members by prefix then by substring, @room last; emoji by name', () => {
  const users = ['bob', 'alice', 'bobby', 'me', 'rob', 'bob'];
  const labels = (q) => suggestions({ kind: 'mention', query: q }, { users, me: 'me' }).map((s) => s.label);
  assert.deepEqual(labels('bo'), ['bob', 'bobby']);
  assert.deepEqual(labels('ob'), ['bob', 'bobby', 'rob']);
  assert.deepEqual(labels(''), ['alice', 'bob', 'bobby', 'rob', '@room']);
  assert.deepEqual(labels('ro'), ['rob', '@room']);
  assert.deepEqual(labels('zz'), []);
  assert.deepEqual(labels('me'), []);
  const e = suggestions({ kind: 'emoji', query: 'tada' }, {});
  assert.deepEqual(e[0], { key: 'tada', label: ':tada:', emoji: '🎉', insert: '🎉' });
  assert.equal(suggestions({ kind: 'emoji', query: 'smi' }, { limit: 3 }).length, 3);
});

test('complete replaces the word and puts the caret after a space', () => {
  assert.deepEqual(complete('hi @bo', { start: 3, end: 6 }, '@bob'), { value: 'hi @bob ', caret: 8 });
  assert.deepEqual(complete('hi @bo there', { start: 3, end: 6 }, '@bob'), { value: 'hi @bob there', caret: 8 });
  assert.deepEqual(complete(':ta', { start: 0, end: 3 }, '🎉'), { value: '🎉 ', caret: 3 });
});
