// Unit tests of natter.js: connection, resume and resend logic against a
// scripted server. Run with `node --test web/test/` (make test-js).
import test from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock, FakeServer, load, settle } from './fake.mjs';

const { Client, State, backoffDelay } = await load('natter.js');

const EPOCH = 'e1';
const LIMITS = { max_frame: 65536, max_text: 8192, rate: 20, burst: 40, idle_timeout: 75 };

function setup(opts = {}) {
  const clock = new FakeClock();
  const server = new FakeServer();
  let token = 'tok-1';
  const client = new Client({
    url: 'ws://test/ws',
    token: () => token,
    WebSocket: server.WebSocket,
    timers: clock,
    random: () => 0.5,
    ...opts,
  });
  const events = [];
  for (const type of ['state', 'message', 'joined', 'reset', 'caughtup', 'unauthorized', 'left', 'error']) {
    client.on(type, (ev) => events.push({ type, ev }));
  }
  return {
    clock,
    server,
    client,
    events,
    setToken: (t) => (token = t),
    of: (type) => events.filter((e) => e.type === type).map((e) => e.ev),
    states: () => events.filter((e) => e.type === 'state').map((e) => e.ev.state),
    messages: (room) => events.filter((e) => e.type === 'message' && (!room || e.ev.room === room)).map((e) => e.ev.seq),
  };
}

// accept plays the server's side of a new connection up to ready.
async function accept(env, { epoch = EPOCH, limits = LIMITS, user = 'alice' } = {}) {
  await settle();
  const ws = env.server.last;
  ws.open();
  const [auth] = ws.take('auth');
  assert.ok(auth, 'auth sent first');
  ws.emit({ type: 'ready', rid: auth.rid, epoch, user, limits });
  await settle();
  return { ws, auth };
}

// inLobby connects and joins lobby, an empty room, from its start.
async function inLobby(env) {
  env.client.connect();
  const { ws } = await accept(env);
  env.client.join('lobby', { after: 0, epoch: EPOCH });
  await settle();
  joinReply(ws, 'lobby', 0);
  return ws;
}

function msg(room, seq, prev, extra = {}) {
  return { type: 'msg', room, seq, prev, epoch: EPOCH, from: 'bob', text: `m${seq}`, cid: `c${seq}`, ts: '2026-01-01T00:00:00Z', ...extra };
}

// joinReply answers the join frame for room with after/last.
function joinReply(ws, room, last, extra = {}) {
  const j = ws.takeOne((f) => f.op === 'join' && f.room === room);
  assert.ok(j, `join ${room} sent`);
  ws.emit({ type: 'joined', rid: j.rid, room, epoch: EPOCH, kind: 'public', last, after: j.after ?? last, ...extra });
  return j;
}

test('connects, authenticates with the token and reports states', async () => {
  const env = setup();
  env.client.connect();
  const { auth } = await accept(env);
  assert.equal(auth.token, 'tok-1');
  assert.equal(env.server.last.url, 'ws://test/ws');
  assert.deepEqual(env.states(), [State.CONNECTING, State.CONNECTED]);
  assert.equal(env.client.user, 'alice');
  assert.equal(env.client.epoch, EPOCH);
});

test('join from a position, ordered delivery, duplicates dropped', async () => {
  const env = setup();
  env.client.connect();
  const { ws } = await accept(env);
  const joined = env.client.join('lobby', { after: 5, epoch: EPOCH });
  await settle();
  const j = joinReply(ws, 'lobby', 9);
  assert.equal(j.after, 5);
  assert.equal(j.epoch, EPOCH);
  assert.equal((await joined).last, 9);
  ws.emit(msg('lobby', 7, 5));
  ws.emit(msg('lobby', 7, 5)); // duplicate
  ws.emit(msg('lobby', 6, 5)); // older than what we have
  ws.emit(msg('lobby', 9, 7));
  ws.emit(msg('other', 10, 0)); // not joined: ignored
  assert.deepEqual(env.messages(), [7, 9]);
  assert.equal(env.of('caughtup').length, 1, 'caught up once the replay reached joined.last');
});

test('a gap makes the client rejoin from its last message', async () => {
  const env = setup();
  const ws = await inLobby(env);
  ws.emit(msg('lobby', 3, 0));
  ws.emit(msg('lobby', 8, 5)); // prev 5 > last 3: 5 is missing
  assert.deepEqual(env.messages(), [3]);
  const again = ws.take('join');
  assert.equal(again.length, 1);
  assert.equal(again[0].after, 3);
  ws.emit(msg('lobby', 9, 8)); // stray frame of the old subscription, before joined
  ws.emit({ type: 'joined', rid: again[0].rid, room: 'lobby', epoch: EPOCH, kind: 'public', last: 9, after: 3 });
  ws.emit(msg('lobby', 5, 3));
  ws.emit(msg('lobby', 8, 5));
  ws.emit(msg('lobby', 9, 8));
  assert.deepEqual(env.messages(), [3, 5, 8, 9]);
});

test('reconnects with exponential backoff and jitter, rejoins from the last message', async () => {
  const env = setup();
  env.client.connect();
  let { ws } = await accept(env);
  env.client.join('lobby', { after: 0, epoch: EPOCH });
  env.client.join('dm-x');
  await settle();
  joinReply(ws, 'lobby', 2);
  joinReply(ws, 'dm-x', 0, { after: 0 });
  ws.emit(msg('lobby', 1, 0));
  ws.emit(msg('lobby', 2, 1));

  ws.drop(1001, 'server shutting down');
  assert.equal(env.client.state, State.RECONNECTING);
  // Server down: each attempt fails and the waits grow: with random 0.5 a
  // wait is 3/4 of min(30 s, 500 ms * 2^n).
  const waits = [];
  for (let i = 0; i < 8; i++) {
    waits.push(env.client.retryIn());
    const before = env.server.sockets.length;
    await env.clock.advance(env.client.retryIn());
    assert.equal(env.server.sockets.length, before + 1, `attempt ${i + 1} made`);
    env.server.last.drop(1006);
  }
  assert.deepEqual(waits, [375, 750, 1500, 3000, 6000, 12000, 22500, 22500]);
  assert.equal(env.client.state, State.RECONNECTING);

  // Back: the client resumes each room where it was.
  await env.clock.advance(env.client.retryIn());
  ({ ws } = await accept(env));
  const joins = Object.fromEntries(ws.take('join').map((j) => [j.room, j]));
  assert.deepEqual([joins.lobby.after, joins.lobby.epoch], [2, EPOCH]);
  assert.deepEqual([joins['dm-x'].after, joins['dm-x'].epoch], [0, EPOCH]);
  ws.emit({ type: 'joined', rid: joins.lobby.rid, room: 'lobby', epoch: EPOCH, kind: 'public', last: 4, after: 2 });
  ws.emit(msg('lobby', 2, 1)); // overlap: dropped
  ws.emit(msg('lobby', 3, 2));
  ws.emit(msg('lobby', 4, 3));
  assert.deepEqual(env.messages('lobby'), [1, 2, 3, 4]);
  assert.equal(env.client.state, State.CONNECTED);
});

test('backoff restarts after a connection that stayed up', async () => {
  const env = setup();
  env.client.connect();
  let { ws } = await accept(env);
  ws.drop(1006);
  await env.clock.advance(env.client.retryIn());
  env.server.last.drop(1006); // attempt 1 fails
  assert.equal(env.client.retryIn(), 750);
  await env.clock.advance(750);
  ({ ws } = await accept(env));
  await env.clock.advance(11_000);
  ws.drop(1006);
  assert.equal(env.client.retryIn(), 375, 'a stable connection resets the backoff');
});

test('backoffDelay stays within [ceiling/2, ceiling]', () => {
  const cfg = { initial: 500, max: 30000, factor: 2 };
  for (let n = 0; n < 12; n++) {
    const ceiling = Math.min(30000, 500 * 2 ** n);
    assert.equal(backoffDelay(n, cfg, () => 0), ceiling / 2);
    assert.equal(backoffDelay(n, cfg, () => 0.999999), ceiling);
  }
});

test('unacknowledged sends are resent with the same cid once the replay is known', async () => {
  const env = setup();
  let ws = await inLobby(env);

  const stored = env.client.send('lobby', 'stored before the drop');
  const lost = env.client.send('lobby', 'never reached the server');
  const sends = ws.take('send');
  assert.deepEqual(
    sends.map((s) => s.text),
    ['stored before the drop', 'never reached the server'],
  );
  ws.drop(1006); // neither ack came
  const queued = env.client.send('lobby', 'typed while offline');
  await env.clock.advance(env.client.retryIn());
  ({ ws } = await accept(env));
  const j = ws.take('join')[0];
  assert.equal(ws.take('send').length, 0, 'nothing resent before the room has caught up');
  // The replay shows the first one was stored.
  ws.emit({ type: 'joined', rid: j.rid, room: 'lobby', epoch: EPOCH, kind: 'public', last: 1, after: 0 });
  ws.emit(msg('lobby', 1, 0, { from: 'alice', cid: stored.cid, text: 'stored before the drop' }));
  assert.deepEqual(await stored.done, { room: 'lobby', cid: stored.cid, seq: 1, epoch: EPOCH, dup: false });
  const resent = ws.take('send');
  assert.deepEqual(
    resent.map((s) => [s.cid, s.text]),
    [
      [lost.cid, 'never reached the server'],
      [queued.cid, 'typed while offline'],
    ],
  );
  ws.emit({ type: 'ack', rid: resent[0].rid, room: 'lobby', seq: 2, epoch: EPOCH, cid: lost.cid });
  ws.emit({ type: 'ack', rid: resent[1].rid, room: 'lobby', seq: 3, epoch: EPOCH, cid: queued.cid });
  assert.equal((await lost.done).seq, 2);
  assert.equal((await queued.done).seq, 3);
  assert.equal(env.client.pendingSends().length, 0);
});

test('a failed send rejects; retrying with its cid sends the same cid', async () => {
  const env = setup();
  const ws = await inLobby(env);
  const first = env.client.send('lobby', 'hello');
  const firstFails = assert.rejects(first.done, (err) => err.code === 'unavailable' && err.cid === first.cid);
  const [f] = ws.take('send');
  ws.emit({ type: 'error', rid: f.rid, room: 'lobby', cid: first.cid, code: 'unavailable', message: 'try again' });
  await firstFails;

  const retry = env.client.send('lobby', 'hello', { cid: first.cid });
  const [r] = ws.take('send');
  assert.equal(r.cid, first.cid);
  ws.emit({ type: 'ack', rid: r.rid, room: 'lobby', seq: 4, epoch: EPOCH, cid: first.cid, dup: true });
  assert.deepEqual(await retry.done, { room: 'lobby', cid: first.cid, seq: 4, epoch: EPOCH, dup: true });

  // No ack at all: the send times out and can be retried the same way.
  const slow = env.client.send('lobby', 'slow');
  const slowFails = assert.rejects(slow.done, (err) => err.code === 'timeout');
  ws.take('send');
  await env.clock.advance(15_000);
  await slowFails;
});

test('an epoch change resets positions', async () => {
  const env = setup();
  let ws = await inLobby(env);
  ws.emit(msg('lobby', 40, 0));
  ws.drop(1001);
  await env.clock.advance(env.client.retryIn());
  ({ ws } = await accept(env, { epoch: 'e2' }));
  const [j] = ws.take('join');
  assert.deepEqual([j.after, j.epoch], [40, EPOCH], 'the stale position is sent with its epoch');
  ws.emit({ type: 'joined', rid: j.rid, room: 'lobby', epoch: 'e2', kind: 'public', last: 2, after: 0, reset: true });
  ws.emit({ ...msg('lobby', 1, 0), epoch: 'e2' });
  ws.emit({ ...msg('lobby', 2, 1), epoch: 'e2' });
  assert.equal(env.of('reset').length, 1);
  assert.deepEqual(env.messages(), [40, 1, 2]);
  assert.deepEqual(env.client.position('lobby').epoch, 'e2');
});

test('4001 stops reconnecting until connect() with a new token', async () => {
  const env = setup();
  env.client.connect();
  let { ws } = await accept(env);
  ws.drop(1006);
  env.setToken('expired');
  await env.clock.advance(env.client.retryIn());
  await settle();
  ws = env.server.last;
  ws.open();
  assert.equal(ws.take('auth')[0].token, 'expired');
  ws.emit({ type: 'error', rid: 1, code: 'unauthorized', message: 'token expired' });
  ws.drop(4001, 'token expired');
  assert.equal(env.client.state, State.UNAUTHORIZED);
  assert.equal(env.of('unauthorized')[0].reason, 'token expired');
  const before = env.server.sockets.length;
  await env.clock.advance(120_000);
  assert.equal(env.server.sockets.length, before, 'no attempt with the refused token');
  env.setToken('fresh');
  env.client.connect();
  const { auth } = await accept(env);
  assert.equal(auth.token, 'fresh');
  assert.equal(env.client.state, State.CONNECTED);
});

test('a missing token is unauthorized without dialing', async () => {
  const env = setup({ token: async () => null });
  env.client.connect();
  await settle();
  assert.equal(env.server.sockets.length, 0);
  assert.equal(env.client.state, State.UNAUTHORIZED);
});

test('frames are paced to the rate limit', async () => {
  const env = setup();
  env.client.connect();
  const { ws } = await accept(env, { limits: { ...LIMITS, rate: 10, burst: 5 } });
  for (let i = 0; i < 10; i++) env.client.join(`r${i}`);
  await settle();
  assert.equal(ws.take('join').length, 3, 'burst minus a margin at once');
  await env.clock.advance(1000);
  // 9 frames per second after that (90 % of the rate).
  assert.equal(ws.take('join').length, 7);
});

test('a silent connection is pinged, and dropped when the pong does not come', async () => {
  const env = setup();
  env.client.connect();
  const { ws } = await accept(env, { limits: { ...LIMITS, idle_timeout: 30 } });
  await env.clock.advance(10_000);
  const [ping] = ws.take('ping');
  assert.ok(ping, 'ping after a third of the idle timeout');
  ws.emit({ type: 'pong', rid: ping.rid });
  await env.clock.advance(10_000);
  assert.equal(ws.take('ping').length, 1, 'and again');
  assert.equal(env.client.state, State.CONNECTED);
  await env.clock.advance(10_000); // no pong
  assert.equal(env.client.state, State.RECONNECTING);
  assert.ok(ws.closed, 'the dead socket was closed');
});

test('a room we were removed from is not rejoined', async () => {
  const env = setup();
  env.client.connect();
  let { ws } = await accept(env);
  env.client.join('club', { after: 0 });
  env.client.join('lobby', { after: 0 });
  await settle();
  joinReply(ws, 'club', 0);
  joinReply(ws, 'lobby', 0);
  ws.emit({ type: 'member', room: 'club', user: 'alice', action: 'removed' });
  ws.emit({ type: 'left', room: 'club' });
  assert.deepEqual(env.client.rooms(), ['lobby']);
  ws.drop(1006);
  await env.clock.advance(env.client.retryIn());
  ({ ws } = await accept(env));
  assert.deepEqual(
    ws.take('join').map((j) => j.room),
    ['lobby'],
  );
});

test('a refused join rejects and is forgotten', async () => {
  const env = setup();
  env.client.connect();
  const { ws } = await accept(env);
  const p = assert.rejects(env.client.join('secret'), (err) => err.code === 'forbidden');
  await settle();
  const [j] = ws.take('join');
  ws.emit({ type: 'error', rid: j.rid, room: 'secret', code: 'forbidden', message: 'not a member of secret' });
  await p;
  assert.deepEqual(env.client.rooms(), []);
});

test('requests resolve by rid and fail fast while offline', async () => {
  const env = setup();
  await assert.rejects(env.client.dm('bob'), (err) => err.code === 'offline');
  env.client.connect();
  const { ws } = await accept(env);
  const p = env.client.dm('bob');
  await settle();
  const [f] = ws.take('dm');
  ws.emit({ type: 'dm', rid: f.rid, room: 'dm-abc', user: 'bob', kind: 'dm' });
  assert.equal((await p).room, 'dm-abc');
  const c = assert.rejects(env.client.create('x', 'private'), (err) => err.code === 'disconnected');
  ws.drop(1006);
  await c;
});

test('typing and read are rate-limited by the client', async () => {
  const env = setup();
  const ws = await inLobby(env);
  env.client.typing('lobby');
  env.client.typing('lobby');
  await env.clock.advance(3000);
  env.client.typing('lobby');
  assert.equal(ws.take('typing').length, 2);
  env.client.read('lobby', 5);
  env.client.read('lobby', 5);
  env.client.read('lobby', 3);
  env.client.read('lobby', 6);
  assert.deepEqual(
    ws.take('read').map((r) => r.seq),
    [5, 6],
  );
});

test('close ends everything', async () => {
  const env = setup();
  const ws = await inLobby(env);
  const s = env.client.send('lobby', 'bye');
  const fails = assert.rejects(s.done, (err) => err.code === 'closed');
  env.client.close();
  await fails;
  assert.equal(env.client.state, State.CLOSED);
  assert.equal(ws.closed.code, 1000);
  await env.clock.advance(120_000);
  assert.equal(env.server.sockets.length, 1);
});

test('renew sends a fresh token on the open connection', async () => {
  const env = setup();
  env.client.connect();
  const { ws } = await accept(env);
  env.setToken('tok-2');
  const renewed = env.client.renew();
  await settle();
  const [auth] = ws.take('auth');
  assert.ok(auth, 'auth sent again');
  assert.equal(auth.token, 'tok-2');
  ws.emit({ type: 'ok', rid: auth.rid });
  await renewed;
  assert.deepEqual(env.states(), [State.CONNECTING, State.CONNECTED]);
  // Offline, renew sends nothing.
  env.client.close();
  await env.client.renew();
  assert.equal(ws.take('auth').length, 0);
});
