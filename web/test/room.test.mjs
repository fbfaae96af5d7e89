// Unit tests of room.js, the UI's model of one room.
import test from 'node:test';
import assert from 'node:assert/strict';
import { load } from './fake.mjs';

const { Room } = await load('room.js');

const msg = (seq, from, extra = {}) => ({ room: 'r', seq, from, text: `m${seq}`, ts: new Date(1_700_000_000_000 + seq * 1000).toISOString(), ...extra });

test('a dm- id is a DM whatever kind is given; its name is the other user', () => {
  const r = new Room('dm-alice-bob', 'public', 'alice');
  assert.equal(r.kind, 'dm');
  assert.equal(r.name, 'Direct message');
  r.users = ['alice', 'bob'];
  assert.equal(r.peer, 'bob');
  assert.equal(r.name, 'bob');
  assert.equal(new Room('general', 'private', 'alice').name, 'general');
  assert.equal(new Room('general', 'private', 'alice').peer, null);
});

test('add keeps each seq once, in order; a stored copy replaces one shown from its ack', () => {
  const r = new Room('r', 'public', 'me');
  assert.equal(r.add(msg(2, 'bob')), true);
  assert.equal(r.add(msg(1, 'bob')), true);
  assert.equal(r.add(msg(2, 'bob')), false, 'a duplicate');
  assert.deepEqual(
    r.sorted().map((m) => m.seq),
    [1, 2],
  );
  assert.equal(r.lastMsg.seq, 2);
  // My message: shown from the ack first (local), then the stored copy.
  r.pending.set('c3', { cid: 'c3', text: 'mine' });
  r.nodes.set('m-3', { node: 'old', sig: 'x' });
  assert.equal(r.add(msg(3, 'me', { cid: 'c3', local: true })), true);
  assert.equal(r.pending.has('c3'), false, 'the pending copy is gone');
  assert.equal(r.add(msg(3, 'me', { cid: 'c3', local: true })), false, 'another local copy');
  r.nodes.set('m-3', { node: 'old', sig: 'x' });
  assert.equal(r.add(msg(3, 'me', { cid: 'c3' })), true, 'the stored copy wins');
  assert.equal(r.msgs.get(3).local, undefined);
  assert.equal(r.nodes.has('m-3'), false, 'its node is rebuilt');
  assert.equal(r.add(msg(3, 'me', { cid: 'c3', local: true })), false, 'the ack does not replace the stored copy');
});

test('unread: exact when the history after the cursor is loaded, else the server count plus what came since', () => {
  const r = new Room('r', 'public', 'me');
  // From GET /api/rooms: 4 unread up to seq 10; nothing loaded yet.
  r.read = 6;
  r.snapUnread = 4;
  r.snapLast = 10;
  assert.equal(r.unread(), 4);
  r.add(msg(11, 'bob'));
  r.add(msg(12, 'me'));
  assert.equal(r.unread(), 5, 'my own messages do not count');
  // The history back to the cursor is loaded: count what is there.
  for (const s of [7, 8, 9, 10]) r.add(msg(s, s === 8 ? 'me' : 'bob'));
  r.loadedFrom = 7;
  assert.equal(r.unread(), 5, 'loaded from after the cursor: still the count');
  r.add(msg(6, 'bob'));
  r.loadedFrom = 6;
  assert.equal(r.unread(), 4, '7, 9, 10, 11');
  r.read = 12;
  assert.equal(r.unread(), 0);
  // A cursor past the server's snapshot makes the snapshot count void.
  const s = new Room('s', 'public', 'me');
  s.read = 10;
  s.snapUnread = 3;
  s.snapLast = 10;
  assert.equal(s.unread(), 0);
});

test('reset forgets the messages and cursors; seenBy lists the others who read up to a seq', () => {
  const r = new Room('r', 'public', 'me');
  r.add(msg(1, 'bob'));
  r.read = 1;
  r.members = new Map([
    ['me', 9],
    ['bob', 5],
    ['carol', 2],
  ]);
  assert.deepEqual(r.seenBy(3), ['bob']);
  assert.deepEqual(r.seenBy(1).sort(), ['bob', 'carol']);
  r.reset();
  assert.equal(r.msgs.size, 0);
  assert.equal(r.lastMsg, null);
  assert.equal(r.read, 0);
  assert.deepEqual(r.seenBy(1), []);
});

test('activity is the later of the last message and the last local touch', () => {
  const r = new Room('r', 'public', 'me');
  r.touched = 5;
  assert.equal(r.activity(), 5);
  r.add(msg(1, 'bob'));
  assert.equal(r.activity(), Date.parse(r.lastMsg.ts));
});

test('mentions: the server\'s list when a message has one, else @me in the text; counted like unread', () => {
  const r = new Room('r', 'public', 'me');
  assert.equal(r.mentionsMe(msg(1, 'bob', { mentions: ['me'] })), true);
  assert.equal(r.mentionsMe(msg(1, 'bob', { mentions: ['@room'] })), true);
  assert.equal(r.mentionsMe(msg(1, 'bob', { mentions: ['carol'], text: '@me' })), false, 'the server did not count it');
  assert.equal(r.mentionsMe(msg(1, 'bob', { text: 'hi @me!' })), true);
  assert.equal(r.mentionsMe(msg(1, 'bob', { text: 'hi @meg, mail x@me' })), false);
  assert.equal(r.mentionsMe(msg(1, 'me', { text: '@me' })), false, 'my own');
  // From GET /api/rooms: 5 unread, 2 of them mention me, up to seq 10.
  Object.assign(r, { read: 5, snapUnread: 5, snapMentions: 2, snapLast: 10 });
  assert.equal(r.mentions(), 2);
  r.add(msg(11, 'bob', { mentions: ['me'] }));
  r.add(msg(12, 'bob', { mentions: ['me'], deleted: true }));
  r.add(msg(13, 'bob'));
  assert.equal(r.mentions(), 3);
  assert.equal(r.unread(), 7);
  r.read = 13;
  assert.equal(r.mentions(), 0);
});
