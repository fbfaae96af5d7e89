// Unit tests of natter.js's protocol version 2: the auth version, change
// records as typed events in one order with messages, the record ops
// (edit, delete, react, topic, send with reply_to/thread) and their resend
// with the same cid, and applyChange. Run with `node --test web/test/`.
import test from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock, FakeServer, load, settle } from './fake.mjs';

const { Client, applyChange, PROTOCOL_VERSION } = await load('natter.js');

const EPOCH = 'e1';
const TS = '2026-01-01T00:00:00Z';

function setup() {
  const clock = new FakeClock();
  const server = new FakeServer();
  const client = new Client({ url: 'ws://test/ws', token: () => 'tok', WebSocket: server.WebSocket, timers: clock, random: () => 0.5 });
  const events = [];
  for (const type of ['message', 'edit', 'delete', 'react', 'topic', 'change', 'record']) client.on(type, (ev) => events.push({ type, seq: ev.seq }));
  return { clock, server, client, events };
}

async function accept(env, v = 2) {
  await settle();
  const ws = env.server.last;
  ws.open();
  const [auth] = ws.take('auth');
  ws.emit({ type: 'ready', rid: auth.rid, epoch: EPOCH, user: 'alice', v, limits: { rate: 20, burst: 40 } });
  await settle();
  return { ws, auth };
}

async function inLobby(env, last = 0) {
  env.client.connect();
  const { ws, auth } = await accept(env);
  env.client.join('lobby', { after: 0, epoch: EPOCH });
  await settle();
  const j = ws.takeOne((f) => f.op === 'join');
  ws.emit({ type: 'joined', rid: j.rid, room: 'lobby', epoch: EPOCH, kind: 'public', last, after: j.after });
  return { ws, auth };
}

const rec = (seq, prev, extra = {}) => ({ type: 'msg', room: 'lobby', seq, prev, epoch: EPOCH, from: 'bob', text: '', cid: `c${seq}`, ts: TS, ...extra });

test('auth asks for version 2 and the client keeps the version in effect', async () => {
  const env = setup();
  env.client.connect();
  const { auth } = await accept(env, 2);
  assert.equal(auth.v, 2);
  assert.equal(PROTOCOL_VERSION, 2);
  assert.equal(env.client.version, 2);
  // An older server answers without v: version 1, only messages come.
  env.server.last.drop(1006);
  await env.clock.advance(env.client.retryIn());
  await accept(env, null);
  assert.equal(env.client.version, 1);
});

test('change records are typed events, in one order with messages; gaps count them', async () => {
  const env = setup();
  const { ws } = await inLobby(env);
  ws.emit(rec(1, 0, { text: 'hi' }));
  ws.emit(rec(2, 1, { kind: 'edit', target: 1, text: 'hi!' }));
  ws.emit(rec(3, 2, { kind: 'react', target: 1, emoji: '👍' }));
  ws.emit(rec(4, 3, { kind: 'topic', topic: 'plans' }));
  ws.emit(rec(5, 4, { kind: 'delete', target: 1 }));
  ws.emit(rec(6, 5, { kind: 'poll', target: 1 })); // a kind from the future
  ws.emit(rec(5, 4, { kind: 'delete', target: 1 })); // duplicate: dropped
  const typed = env.events.filter((e) => e.type !== 'record');
  assert.deepEqual(
    typed.map((e) => `${e.type}:${e.seq}`),
    ['message:1', 'edit:2', 'react:3', 'topic:4', 'delete:5', 'change:6'],
  );
  assert.deepEqual(
    env.events.filter((e) => e.type === 'record').map((e) => e.seq),
    [1, 2, 3, 4, 5, 6],
  );
  // prev chains over every record: an edit that skips one is a gap.
  ws.emit(rec(9, 8, { kind: 'edit', target: 1, text: 'x' }));
  const again = ws.take('join');
  assert.equal(again.length, 1);
  assert.equal(again[0].after, 6);
});

test('send carries reply_to, thread and also_room', async () => {
  const env = setup();
  const { ws } = await inLobby(env);
  env.client.send('lobby', 'quoting', { replyTo: 7 });
  env.client.send('lobby', 'in a thread', { thread: 7 });
  env.client.send('lobby', 'both places', { thread: 7, alsoRoom: true });
  env.client.send('lobby', 'not a thread', { alsoRoom: true });
  const sends = ws.take('send');
  assert.deepEqual(
    sends.map(({ text, reply_to, thread, also_room }) => ({ text, reply_to, thread, also_room })),
    [
      { text: 'quoting', reply_to: 7, thread: undefined, also_room: undefined },
      { text: 'in a thread', reply_to: undefined, thread: 7, also_room: undefined },
      { text: 'both places', reply_to: undefined, thread: 7, also_room: true },
      { text: 'not a thread', reply_to: undefined, thread: undefined, also_room: undefined },
    ],
  );
});

test('edit, delete, react and topic send their ops and resolve on ack', async () => {
  const env = setup();
  const { ws } = await inLobby(env);
  const e = env.client.edit('lobby', 3, 'fixed');
  const d = env.client.delete('lobby', 4);
  const r = env.client.react('lobby', 3, '🎉');
  const u = env.client.react('lobby', 3, '🎉', { remove: true });
  const t = env.client.topic('lobby', { topic: 'new topic' });
  const n = env.client.topic('lobby', { name: '' });
  const frames = ws.take();
  const strip = ({ rid, cid, ...f }) => f;
  assert.deepEqual(frames.map(strip), [
    { op: 'edit', room: 'lobby', seq: 3, text: 'fixed' },
    { op: 'delete', room: 'lobby', seq: 4 },
    { op: 'react', room: 'lobby', seq: 3, emoji: '🎉' },
    { op: 'react', room: 'lobby', seq: 3, emoji: '🎉', remove: true },
    { op: 'topic', room: 'lobby', topic: 'new topic' },
    { op: 'topic', room: 'lobby', name: '' },
  ]);
  assert.deepEqual(
    frames.map((f) => f.cid),
    [e, d, r, u, t, n].map((x) => x.cid),
  );
  // Acks in any order, one a noop; the edit is confirmed by its own record.
  ws.emit({ type: 'ack', rid: frames[2].rid, room: 'lobby', cid: r.cid, seq: 12, epoch: EPOCH });
  ws.emit({ type: 'ack', rid: frames[3].rid, room: 'lobby', cid: u.cid, seq: 0, epoch: EPOCH, noop: true });
  ws.emit(rec(10, 0, { kind: 'edit', target: 3, text: 'fixed', from: 'alice', cid: e.cid }));
  ws.emit({ type: 'error', rid: frames[1].rid, room: 'lobby', cid: d.cid, code: 'forbidden', message: 'not yours' });
  ws.emit({ type: 'error', rid: frames[4].rid, code: 'invalid', message: 'topic longer than 1024 bytes' });
  assert.deepEqual(await e.done, { room: 'lobby', cid: e.cid, seq: 10, epoch: EPOCH, dup: false });
  assert.equal((await r.done).seq, 12);
  assert.equal((await u.done).noop, true);
  await assert.rejects(d.done, (err) => err.code === 'forbidden' && err.cid === d.cid);
  await assert.rejects(t.done, (err) => err.code === 'invalid');
  assert.deepEqual(
    env.client.pendingSends().map((p) => p.op),
    ['topic'],
  );
});

test('a change not acked before a drop is resent with the same cid after the replay', async () => {
  const env = setup();
  let { ws } = await inLobby(env);
  ws.emit(rec(1, 0, { text: 'mine', from: 'alice' }));
  const stored = env.client.edit('lobby', 1, 'stored edit');
  const lost = env.client.react('lobby', 1, '👍');
  const first = ws.take();
  ws.drop(1006);
  const offline = env.client.delete('lobby', 1);
  await env.clock.advance(env.client.retryIn());
  ({ ws } = await accept(env));
  const j = ws.takeOne((f) => f.op === 'join');
  assert.equal(j.after, 1);
  ws.emit({ type: 'joined', rid: j.rid, room: 'lobby', epoch: EPOCH, kind: 'public', last: 2, after: 1 });
  assert.equal(ws.take().length, 0, 'nothing resent before the replay shows what was stored');
  // The replay carries the stored edit: its done resolves, it is not resent.
  ws.emit(rec(2, 1, { kind: 'edit', target: 1, text: 'stored edit', from: 'alice', cid: stored.cid }));
  assert.equal((await stored.done).seq, 2);
  const again = ws.take();
  assert.deepEqual(
    again.map((f) => [f.op, f.cid]),
    [
      ['react', lost.cid],
      ['delete', offline.cid],
    ],
  );
  assert.equal(first[1].cid, lost.cid);
});

test('applyChange: edits, reactions as sets, deletion, idempotence', () => {
  const m = { seq: 5, from: 'bob', text: 'hello', ts: TS };
  const r = (seq, extra) => ({ seq, target: 5, from: 'bob', ts: `2026-01-01T00:00:0${seq}Z`, ...extra });
  assert.equal(applyChange(m, r(6, { kind: 'edit', text: 'hello!' })), true);
  assert.equal(m.text, 'hello!');
  assert.equal(m.edited, '2026-01-01T00:00:06Z');
  assert.equal(applyChange(m, r(6, { kind: 'edit', text: 'hello!' })), false, 'the same edit again');
  assert.equal(applyChange(m, r(5, { kind: 'edit', text: 'older' })), false, 'an older edit');
  // A message from a history page that already has a later edit.
  const h = { seq: 5, text: 'newest', edited: '2026-01-01T00:00:08Z' };
  assert.equal(applyChange(h, r(7, { kind: 'edit', text: 'older' })), false);
  assert.equal(h.text, 'newest');

  applyChange(m, r(7, { kind: 'react', emoji: '👍', from: 'alice' }));
  applyChange(m, r(8, { kind: 'react', emoji: '🎉', from: 'bob' }));
  assert.equal(applyChange(m, r(8, { kind: 'react', emoji: '👍', from: 'alice' })), false, 'already there');
  applyChange(m, r(9, { kind: 'react', emoji: '👍', from: 'carol' }));
  assert.deepEqual(m.reactions, [
    { emoji: '👍', count: 2, users: ['alice', 'carol'] },
    { emoji: '🎉', count: 1, users: ['bob'] },
  ]);
  assert.equal(applyChange(m, r(9, { kind: 'react', emoji: '🎉', from: 'carol', remove: true })), false, 'not there to remove');
  applyChange(m, r(9, { kind: 'react', emoji: '🎉', from: 'bob', remove: true }));
  assert.deepEqual(
    m.reactions.map((x) => x.emoji),
    ['👍'],
  );
  assert.equal(applyChange(m, { ...r(9, { kind: 'edit', text: 'x' }), target: 4 }), false, 'another message');

  assert.equal(applyChange(m, r(9, { kind: 'delete', from: 'mod' })), true);
  assert.deepEqual([m.deleted, m.deleted_by, m.text, m.reactions], [true, 'mod', '', []]);
  assert.equal(applyChange(m, r(9, { kind: 'edit', text: 'back' })), false, 'a deleted message stays deleted');
  assert.equal(applyChange(m, r(9, { kind: 'react', emoji: '👍' })), false);
});
