// Unit tests of store.js, the per-user browser storage.
import test from 'node:test';
import assert from 'node:assert/strict';
import { load } from './fake.mjs';

const { Store } = await load('store.js');

/** MemoryStorage is the Storage interface over a Map. */
class MemoryStorage {
  constructor() {
    this.m = new Map();
  }
  get length() {
    return this.m.size;
  }
  key(i) {
    return [...this.m.keys()][i] ?? null;
  }
  getItem(k) {
    return this.m.has(k) ? this.m.get(k) : null;
  }
  setItem(k, v) {
    this.m.set(k, String(v));
  }
  removeItem(k) {
    this.m.delete(k);
  }
}

test('keys are per user; values round-trip as JSON; nothing removes', () => {
  const storage = new MemoryStorage();
  let user = 'alice';
  const s = new Store(storage, () => user);
  assert.equal(s.key('draft', 'general'), 'natter.draft.alice.general');
  s.set(s.key('draft', 'general'), 'half a thought');
  s.set(s.key('outbox'), [{ cid: 'c1', text: 'hi' }]);
  assert.equal(s.get(s.key('draft', 'general'), ''), 'half a thought');
  assert.deepEqual(s.get(s.key('outbox'), []), [{ cid: 'c1', text: 'hi' }]);
  user = 'bob';
  assert.equal(s.get(s.key('draft', 'general'), 'none'), 'none', "bob does not see alice's draft");
  user = 'alice';
  s.set(s.key('draft', 'general'), '');
  assert.equal(storage.getItem('natter.draft.alice.general'), null);
  // Something else wrote a value that is not JSON: the default.
  storage.setItem('natter.last.alice', '{broken');
  assert.equal(s.get(s.key('last'), 'dflt'), 'dflt');
});

test("clearUser removes that user's drafts, outbox, threads seen and last room, and nothing else", () => {
  const storage = new MemoryStorage();
  const s = new Store(storage, () => 'alice');
  for (const k of ['natter.draft.alice.a', 'natter.draft.alice.b', 'natter.outbox.alice', 'natter.last.alice', 'natter.thread-seen.alice.a', 'natter.draft.alicex.a', 'natter.draft.bob.a', 'natter.session']) storage.setItem(k, '1');
  s.clearUser('alice');
  assert.deepEqual([...storage.m.keys()].sort(), ['natter.draft.alicex.a', 'natter.draft.bob.a', 'natter.session']);
});

test('a full or disabled storage costs nothing but the convenience', () => {
  const broken = { getItem: () => { throw new Error('disabled'); }, setItem: () => { throw new Error('full'); }, removeItem() {} };
  const s = new Store(broken, () => 'alice');
  s.set('k', 'v');
  assert.equal(s.get('k', 'd'), 'd');
});
