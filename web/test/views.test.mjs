// Unit tests of the pure parts of the views: the connection status
// (connection.js), the room list (sidebar.js), the room header
// (roomview.js) and the composer's text (composer.js).
import test from 'node:test';
import assert from 'node:assert/strict';
import { load } from './fake.mjs';

const { connStatus } = await load('connection.js');
const { byActivity, roomKind, roomPreview, nextRoom } = await load('sidebar.js');
const { roomSubtitle } = await load('roomview.js');
const { cleanText } = await load('composer.js');
const { Room } = await load('room.js');
const { rooms } = await load('rooms.js');

test('connStatus: connected, connecting, reconnecting, offline with a countdown, signed out', () => {
  assert.deepEqual(connStatus({ state: 'connected' }), { state: 'connected', text: 'Connected', offline: false, retry: false, banner: false });
  assert.deepEqual(connStatus({ state: 'connecting' }), { state: 'connecting', text: 'Connecting…', offline: false, retry: false, banner: null });
  assert.equal(connStatus({ state: 'idle' }).text, 'Connecting…');
  const rec = connStatus({ state: 'reconnecting', attempts: 1, retryIn: 900 });
  assert.equal(rec.text, 'Reconnecting…');
  assert.equal(rec.retry, false);
  assert.match(rec.banner, /^Reconnecting\. Messages you send/);
  // After a few attempts it says offline, counts down and offers "Retry now".
  const off = connStatus({ state: 'reconnecting', attempts: 4, retryIn: 7200 });
  assert.equal(off.text, 'Offline · retrying in 8 s');
  assert.equal(off.offline, true);
  assert.equal(off.retry, true);
  assert.match(off.banner, /^You are offline\./);
  assert.equal(connStatus({ state: 'reconnecting', attempts: 5, retryIn: 0 }).text, 'Offline · retrying…');
  // The browser knows it is offline: no retry button, it waits for 'online'.
  const down = connStatus({ state: 'reconnecting', attempts: 0, onLine: false, retryIn: 3000 });
  assert.equal(down.text, 'Offline');
  assert.equal(down.retry, false);
  // A refused token, or the login form up over the app.
  for (const s of [connStatus({ state: 'unauthorized' }), connStatus({ state: 'connected', reauthing: true })]) {
    assert.equal(s.state, 'unauthorized');
    assert.equal(s.text, 'Signed out');
    assert.equal(s.banner, null, 'the banner stays as it was');
  }
});

test('the room list: newest activity first, then by name; labels and previews', () => {
  const room = (id, activity, kind = 'public') => Object.assign(new Room(id, kind, 'me'), { touched: activity });
  const rooms = [room('b', 1), room('a', 1), room('c', 5)];
  assert.deepEqual(
    rooms.sort(byActivity).map((r) => r.id),
    ['c', 'a', 'b'],
  );
  // A fresh Room is not active: after a reload the list goes by the
  // rooms' last messages (last_ts from GET /api/rooms, or the preview).
  const fresh = [new Room('z', 'public', 'me'), new Room('y', 'public', 'me'), new Room('x', 'public', 'me')];
  fresh[0].lastTs = Date.parse('2026-03-01T10:00:00Z');
  fresh[1].lastMsg = { seq: 9, from: 'bob', text: 'hi', ts: '2026-03-02T10:00:00Z' };
  assert.deepEqual(
    fresh.sort(byActivity).map((r) => r.id),
    ['y', 'z', 'x'],
  );
  const dm = room('dm-me-bob', 0);
  dm.users = ['bob', 'me'];
  assert.equal(roomKind(dm) + dm.name, 'Conversation with bob');
  assert.equal(roomKind(room('p', 0, 'private')), 'Private room ');
  assert.equal(roomKind(room('g', 0)), 'Room ');
  assert.equal(roomPreview(dm, 'me'), 'Say hello');
  const g = room('g', 0);
  assert.equal(roomPreview(g, 'me'), 'No messages yet');
  g.lastMsg = { from: 'me', text: 'hello\nthere' };
  assert.equal(roomPreview(g, 'me'), 'You: hello there');
  g.lastMsg = { from: 'bob', text: 'hi' };
  assert.equal(roomPreview(g, 'me'), 'bob: hi');
  g.lastMsg = { from: 'bob', text: '**look** at `this`:\n\n- one :tada:' };
  assert.equal(roomPreview(g, 'me'), 'bob: look at this: one 🎉');
});

test('nextRoom goes round the list both ways, from no room too', () => {
  const ids = ['a', 'b', 'c'];
  assert.equal(nextRoom(ids, 'a', false), 'b');
  assert.equal(nextRoom(ids, 'c', false), 'a');
  assert.equal(nextRoom(ids, 'a', true), 'c');
  assert.equal(nextRoom(ids, null, false), 'a');
  assert.equal(nextRoom(ids, null, true), 'b', 'as before the split: from -1, up is the second to last');
});

test('roomSubtitle: a DM peer\'s presence, or kind, owner and who is online', () => {
  const dm = new Room('dm-me-bob', 'dm', 'me');
  dm.users = ['bob', 'me'];
  const line = (r) => roomSubtitle(r).map((p) => p.text).join(' · ');
  assert.equal(line(dm), 'Offline');
  dm.online.add('bob');
  assert.equal(line(dm), 'Online');
  const p = new Room('team', 'private', 'me');
  p.owner = 'alice';
  p.online = new Set(['alice', 'me']);
  assert.equal(line(p), 'Private room · created by alice · 2 online');
  assert.deepEqual(
    roomSubtitle(p).map((x) => x.part),
    ['kind', 'owner', 'online'],
    'the owner is a part of its own (phones leave it out)',
  );
  assert.equal(line(new Room('g', 'public', 'me')), 'Public room · 0 online');
});

test('cleanText drops blank lines around a message and keeps indentation inside', () => {
  assert.equal(cleanText('\n  \nhello\n  world  \n\n'), 'hello\n  world');
  assert.equal(cleanText('   indented'), '   indented');
  assert.equal(cleanText('\r\n\r\nx'), 'x');
  assert.equal(cleanText(' \n \n'), '');
});

test('rooms.add takes the time of the last message (last_ts) from the room list', () => {
  const app = { session: { user: 'me' }, rooms: new Map(), client: { join: () => Promise.resolve() } };
  const joined = rooms(app);
  const a = joined.add({ id: 'a', kind: 'public', read: 1, unread: 2, last_seq: 3, last_ts: '2026-03-02T10:00:00Z' });
  const b = joined.add({ id: 'b', kind: 'public', read: 0, unread: 0, last_seq: 0 });
  assert.equal(a.lastTs, Date.parse('2026-03-02T10:00:00Z'));
  assert.equal(b.lastTs, 0, 'a server without last_ts');
  assert.equal(a.activity(), a.lastTs);
  assert.equal(b.activity(), 0, 'loading the list is not activity');
});
