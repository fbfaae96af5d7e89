// Unit tests of room.js's side of change records: edits, deletions and
// reactions applied to loaded messages and kept for messages not loaded
// yet, thread replies out of the timeline with their root's summary,
// reply quotes, the topic, and my last message for ↑-to-edit.
import test from 'node:test';
import assert from 'node:assert/strict';
import { load } from './fake.mjs';

const { Room, inTimeline } = await load('room.js');
const { mayDelete } = await load('actions.js');
const { mayEditTopic } = await load('topic.js');

const ts = (n) => new Date(1_700_000_000_000 + n * 1000).toISOString();
const msg = (seq, from, extra = {}) => ({ room: 'r', seq, from, text: `m${seq}`, ts: ts(seq), ...extra });
const rec = (seq, kind, target, extra = {}) => ({ room: 'r', seq, kind, target, from: 'bob', ts: ts(seq), ...extra });

test('changes apply to loaded messages and bump their render revision', () => {
  const r = new Room('r', 'public', 'me');
  r.add(msg(1, 'bob'));
  const m = r.msgs.get(1);
  assert.equal(r.apply(rec(2, 'edit', 1, { text: 'fixed' })), m);
  assert.equal(m.text, 'fixed');
  assert.equal(m.rev, 1);
  assert.equal(r.apply(rec(2, 'edit', 1, { text: 'fixed' })), null, 'the same record twice changes nothing');
  r.apply(rec(3, 'react', 1, { emoji: '👍', from: 'me' }));
  assert.deepEqual(m.reactions, [{ emoji: '👍', count: 1, users: ['me'] }]);
  r.apply(rec(4, 'delete', 1));
  assert.equal(m.deleted, true);
  assert.equal(m.text, '');
  assert.equal(r.lastMsg, m);
});

test('a change to a message not loaded yet is applied when it arrives, and bounded', () => {
  const r = new Room('r', 'public', 'me');
  assert.equal(r.apply(rec(10, 'edit', 3, { text: 'new' })), null);
  assert.equal(r.apply(rec(11, 'react', 3, { emoji: '🎉' })), null);
  // The history page was read before the archive had the changes.
  r.add(msg(3, 'bob', { text: 'old' }));
  const m = r.msgs.get(3);
  assert.equal(m.text, 'new');
  assert.deepEqual(m.reactions, [{ emoji: '🎉', count: 1, users: ['bob'] }]);
  assert.equal(r.early.size, 0);
  // A page read after them already has them: applying again is harmless.
  r.apply(rec(12, 'react', 4, { emoji: '🎉' }));
  r.add(msg(4, 'bob', { reactions: [{ emoji: '🎉', count: 1, users: ['bob'] }] }));
  assert.deepEqual(r.msgs.get(4).reactions, [{ emoji: '🎉', count: 1, users: ['bob'] }]);
  for (let i = 0; i < 1200; i++) r.apply(rec(100 + i, 'react', 50 + i, { emoji: '👍' }));
  assert.equal(r.earlyCount, 1000, 'kept changes are bounded');
  r.reset();
  assert.equal(r.earlyCount, 0);
});

test('thread replies stay out of the timeline unless also sent to the room; the root counts them', () => {
  const r = new Room('r', 'public', 'me');
  r.add(msg(1, 'me', { text: 'root' }));
  r.add(msg(2, 'bob', { thread: 1 }));
  r.add(msg(3, 'carol', { thread: 1, also_room: true }));
  r.add(msg(4, 'bob'));
  assert.deepEqual(
    r.timeline().map((m) => m.seq),
    [1, 3, 4],
  );
  assert.deepEqual(
    r.replies(1).map((m) => m.seq),
    [2, 3],
  );
  assert.equal(inTimeline(r.msgs.get(2)), false);
  const root = r.msgs.get(1);
  assert.deepEqual(root.thread_summary, { replies: 2, last: ts(3), participants: ['bob', 'carol'] });
  assert.equal(r.threadNew.has(1), true, 'others replied in my thread');
  // A page that already counted a reply does not count it twice.
  const r2 = new Room('r', 'public', 'me');
  r2.add(msg(1, 'alice', { thread_summary: { replies: 1, last: ts(2), participants: ['bob'] } }));
  r2.add(msg(2, 'bob', { thread: 1 }));
  assert.equal(r2.msgs.get(1).thread_summary.replies, 1);
  assert.equal(r2.threadNew.has(1), false, 'not a thread I follow');
  // A deleted reply leaves the count.
  r.apply(rec(5, 'delete', 2));
  assert.equal(root.thread_summary.replies, 1);
  // The room's preview and unread count ignore thread-only replies.
  r.add(msg(6, 'bob', { thread: 1 }));
  assert.equal(r.lastMsg.seq, 4);
  r.read = 1;
  r.loadedFrom = 1;
  assert.equal(r.unread(), 2, 'messages 3 and 4');
});

test('quotes show the current state of the quoted message, or the context a page gave', () => {
  const r = new Room('r', 'public', 'me');
  r.add(msg(1, 'bob', { text: 'original' }));
  const reply = msg(2, 'me', { reply_to: 1 });
  r.add(reply);
  assert.deepEqual(r.quote(reply), { seq: 1, from: 'bob', text: 'original', deleted: false, thread: 0 });
  r.apply(rec(3, 'delete', 1));
  assert.equal(r.quote(reply).deleted, true);
  const far = msg(9, 'me', { reply_to: 5, reply: { seq: 5, from: 'carol', text: 'long ago', deleted: false } });
  assert.deepEqual(r.quote(far), { seq: 5, from: 'carol', text: 'long ago', deleted: false, thread: 0 });
  assert.equal(r.quote(msg(10, 'me', { reply_to: 7 })).missing, true);
  assert.equal(r.quote(msg(11, 'me')), null);
});

test('topic and display name; my last editable message', () => {
  const r = new Room('plans', 'public', 'me');
  r.setTopic({ topic: 'Q3 plans' });
  assert.equal(r.topic, 'Q3 plans');
  assert.equal(r.name, 'plans');
  r.setTopic({ name: 'Planning' });
  assert.equal(r.topic, 'Q3 plans', 'an absent field stays');
  assert.equal(r.name, 'Planning');
  r.setTopic({ name: '' });
  assert.equal(r.name, 'plans', 'an empty name shows the id');

  r.add(msg(1, 'me'));
  r.add(msg(2, 'me'));
  r.add(msg(3, 'bob'));
  r.add(msg(4, 'me', { thread: 1 }));
  assert.equal(r.lastOwn().seq, 2);
  r.apply(rec(5, 'delete', 2));
  assert.equal(r.lastOwn().seq, 1);
});

test('who may delete and change the topic', () => {
  assert.equal(mayDelete('me', { from: 'me' }, 'member', 'public'), true);
  assert.equal(mayDelete('me', { from: 'bob' }, 'member', 'public'), false);
  assert.equal(mayDelete('me', { from: 'bob' }, 'admin', 'private'), true);
  assert.equal(mayDelete('me', { from: 'bob' }, 'owner', 'public'), true);
  assert.equal(mayDelete('me', { from: 'bob' }, 'owner', 'dm'), false);
  assert.equal(mayEditTopic({ kind: 'public' }, 'owner'), true);
  assert.equal(mayEditTopic({ kind: 'public' }, 'admin'), true);
  assert.equal(mayEditTopic({ kind: 'public' }, 'member'), false);
  assert.equal(mayEditTopic({ kind: 'dm' }, 'owner'), false);
});
