// natter.js: a standalone client of the Natter WebSocket protocol
// (docs/PROTOCOL.md). It has no dependencies and runs in browsers and in
// Node (pass a WebSocket class). docs/CLIENT-JS.md documents it.
//
// What it does for you:
//   - connects, authenticates (asking for a fresh token at every connect),
//     keeps the connection alive with pings and notices a dead one;
//   - reconnects with exponential backoff and jitter, and rejoins every room
//     from the last message it delivered to you, with its epoch, so that you
//     see every message once, in order, with no gap and no duplicate;
//   - sends messages with a client id, keeps unacknowledged ones and resends
//     them with the same id after a reconnect (once the room's replay has
//     shown whether they were stored), so nothing is ever doubled;
//   - speaks protocol version 2: every record of a room's stream arrives in
//     order, messages as `message` events and changes to them (edit,
//     delete, react, topic) as events of their own; edit, delete, react
//     and topic go out with a client id and are resent like sends;
//   - paces its frames to the server's rate limit.

/** Connection states, in the order a session usually goes through them. */
export const State = Object.freeze({
  IDLE: 'idle', // not started
  CONNECTING: 'connecting', // first connection attempt
  CONNECTED: 'connected', // authenticated (ready received)
  RECONNECTING: 'reconnecting', // lost; waiting before the next attempt, or attempting
  UNAUTHORIZED: 'unauthorized', // the token was refused; call connect() with a new one
  CLOSED: 'closed', // close() was called
});

/** Close codes after which reconnecting with the same token is pointless. */
const CLOSE_UNAUTHORIZED = 4001;

/** The protocol version the client asks for in auth (docs/PROTOCOL.md). */
export const PROTOCOL_VERSION = 2;

/** Record kinds of a room's stream (record.go); a message has none. */
export const Kind = Object.freeze({ MESSAGE: '', EDIT: 'edit', DELETE: 'delete', REACT: 'react', TOPIC: 'topic' });

// The event a record of each kind is delivered as; a kind this client does
// not know is delivered as `change`.
const EVENT_OF_KIND = { '': 'message', edit: 'edit', delete: 'delete', react: 'react', topic: 'topic' };

const DEFAULTS = {
  backoff: { initial: 500, max: 30000, factor: 2 },
  ackTimeout: 15000, // a send not acked this long after it went out fails
  requestTimeout: 15000, // other requests
  pongTimeout: 10000, // a ping unanswered this long means the connection is dead
  pingInterval: 25000, // at most; a third of the server's idle timeout if less
  typingInterval: 3000, // at most one typing frame per room this often
  stableAfter: 10000, // a connection up this long resets the backoff
};

/** A request that failed: code is a protocol error code (docs/PROTOCOL.md
 * section 11) or one of the client's own: "timeout", "offline",
 * "disconnected", "closed". */
export class NatterError extends Error {
  constructor(code, message, extra = {}) {
    super(message || code);
    this.name = 'NatterError';
    this.code = code;
    Object.assign(this, extra);
  }
}

/** newCid returns a fresh client message id. */
export function newCid() {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  let s = '';
  for (let i = 0; i < 32; i++) s += Math.floor(Math.random() * 16).toString(16);
  return s;
}

/** backoffDelay is the wait before reconnect attempt n (0-based): an
 * exponential ceiling, of which a random half is kept ("equal jitter"), so
 * that clients dropped together do not come back together. */
export function backoffDelay(n, { initial, max, factor }, random = Math.random) {
  const ceiling = Math.min(max, initial * Math.pow(factor, n));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export class Client {
  /**
   * @param {object} opts
   * @param {string} [opts.url] WebSocket URL; default: /ws on this page's host.
   * @param {() => string|Promise<string>} opts.token called at every connect.
   * @param {typeof WebSocket} [opts.WebSocket]
   * @param {{setTimeout, clearTimeout, now}} [opts.timers] for tests.
   * @param {() => number} [opts.random] for tests.
   */
  constructor(opts = {}) {
    this.opts = { ...DEFAULTS, ...opts, backoff: { ...DEFAULTS.backoff, ...(opts.backoff || {}) } };
    this.url = opts.url || defaultURL();
    this.WS = opts.WebSocket || globalThis.WebSocket;
    const t = opts.timers || {};
    this.timers = {
      setTimeout: t.setTimeout || ((f, ms) => setTimeout(f, ms)),
      clearTimeout: t.clearTimeout || ((id) => clearTimeout(id)),
      now: t.now || (() => Date.now()),
    };
    this.random = opts.random || Math.random;

    this.state = State.IDLE;
    this.user = null; // set by ready
    this.version = 1; // the protocol version in effect, from ready
    this.epoch = null; // the server's current epoch, from ready
    this.limits = null;

    this._listeners = new Map();
    this._ws = null;
    this._opening = false;
    this._attempt = 0; // reconnect attempts since the last stable connection
    this._retryTimer = null;
    this._retryAt = 0;
    this._readyAt = 0;
    this._rid = 0;
    this._pending = new Map(); // rid -> {resolve, reject, timer, op}
    this._rooms = new Map(); // room -> room state (see _room)
    this._outbox = new Map(); // cid -> unacknowledged send
    this._queue = []; // frames waiting for rate-limit tokens
    this._tokens = 0;
    this._tokensAt = 0;
    this._drainTimer = null;
    this._pingTimer = null;
    this._pongTimer = null;
    this._lastSent = 0;
    this._typingAt = new Map();
    this._readSent = new Map();
  }

  // ---- events ----

  /** on subscribes fn to events of type; it returns the unsubscribe function.
   * Types: state, ready, joined, message, edit, delete, react, topic,
   * change, record, caughtup, reset, ack, receipt, presence, typing,
   * member, room, left, error, unauthorized. */
  on(type, fn) {
    if (!this._listeners.has(type)) this._listeners.set(type, new Set());
    this._listeners.get(type).add(fn);
    return () => this._listeners.get(type)?.delete(fn);
  }

  _emit(type, ev) {
    for (const fn of [...(this._listeners.get(type) || [])]) {
      try {
        fn(ev);
      } catch (err) {
        // A listener's bug must not break the protocol state machine.
        (globalThis.console?.error || (() => {}))('natter: listener for', type, 'threw', err);
      }
    }
  }

  _setState(state, extra = {}) {
    this.state = state;
    this._emit('state', { state, ...extra });
  }

  // ---- connection ----

  /** connect starts (or restarts, after unauthorized) the connection. */
  connect() {
    if (this.state === State.CONNECTED || this.state === State.CONNECTING) return;
    if (this._ws || this._opening) return;
    this._clearRetry();
    this._open(this.state === State.IDLE ? State.CONNECTING : State.RECONNECTING);
  }

  /** reconnectNow skips the wait before the next attempt (e.g. when the
   * browser says it is back online). */
  reconnectNow() {
    if (this.state !== State.RECONNECTING || this._ws || this._opening) return;
    this._clearRetry();
    this._open(State.RECONNECTING);
  }

  /** close ends the session for good; pending sends and requests fail. */
  close() {
    this._clearRetry();
    this._setState(State.CLOSED);
    this._teardown(new NatterError('closed', 'client closed'));
    for (const [, s] of this._outbox) this._failSend(s, new NatterError('closed', 'client closed'));
  }

  async _open(state) {
    this._setState(state, { attempt: this._attempt });
    let token;
    this._opening = true;
    try {
      token = await this.opts.token();
    } catch (err) {
      token = null;
    }
    this._opening = false;
    if (this.state === State.CLOSED) return;
    if (!token) {
      this._setState(State.UNAUTHORIZED, { reason: 'no token' });
      this._emit('unauthorized', { reason: 'no token' });
      return;
    }
    let ws;
    try {
      ws = new this.WS(this.url);
    } catch (err) {
      this._scheduleRetry();
      return;
    }
    this._ws = ws;
    ws.onopen = () => {
      if (this._ws !== ws) return;
      // Before ready nothing is rate-limited, and auth must go first.
      this._rawSend({ op: 'auth', token, v: PROTOCOL_VERSION, rid: this._nextRid() });
    };
    ws.onmessage = (ev) => {
      if (this._ws === ws) this._onFrame(ev.data);
    };
    ws.onclose = (ev) => {
      if (this._ws === ws) this._lost(ev.code, ev.reason);
    };
    ws.onerror = () => {}; // a close event follows
  }

  _lost(code, reason) {
    const wasReady = this.state === State.CONNECTED;
    const stable = wasReady && this.timers.now() - this._readyAt >= this.opts.stableAfter;
    this._teardown(new NatterError('disconnected', 'connection lost'));
    if (this.state === State.CLOSED) return;
    if (code === CLOSE_UNAUTHORIZED) {
      this._setState(State.UNAUTHORIZED, { reason, code });
      this._emit('unauthorized', { reason, code });
      return;
    }
    if (stable) this._attempt = 0;
    this._scheduleRetry(code, reason);
  }

  _scheduleRetry(code, reason) {
    const delay = backoffDelay(this._attempt, this.opts.backoff, this.random);
    this._attempt++;
    this._retryAt = this.timers.now() + delay;
    this._retryTimer = this.timers.setTimeout(() => {
      this._retryTimer = null;
      this._open(State.RECONNECTING);
    }, delay);
    this._setState(State.RECONNECTING, { attempt: this._attempt, delay, code, reason });
  }

  _clearRetry() {
    if (this._retryTimer !== null) this.timers.clearTimeout(this._retryTimer);
    this._retryTimer = null;
  }

  /** attempts counts reconnect attempts since the last stable connection. */
  get attempts() {
    return this._attempt;
  }

  /** retryIn is how long until the next reconnect attempt, in ms (0 when
   * none is scheduled). */
  retryIn() {
    return this._retryTimer === null ? 0 : Math.max(0, this._retryAt - this.timers.now());
  }

  // _teardown forgets the socket and everything tied to it. Rooms stay
  // wanted (they are rejoined) and unacknowledged sends stay in the outbox
  // (they are resent once their room has caught up).
  _teardown(err) {
    const ws = this._ws;
    this._ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = null;
      try {
        ws.close(1000);
      } catch (e) {
        /* already closed */
      }
    }
    this._stopPing();
    if (this._drainTimer !== null) this.timers.clearTimeout(this._drainTimer);
    this._drainTimer = null;
    this._queue = [];
    for (const [, p] of this._pending) {
      this.timers.clearTimeout(p.timer);
      if (p.op !== 'join') p.reject(err);
    }
    this._pending.clear();
    for (const [, r] of this._rooms) {
      r.joined = false;
      r.caughtUp = false;
      r.joining = false;
    }
    for (const [, s] of this._outbox) {
      if (s.timer !== null) this.timers.clearTimeout(s.timer);
      s.timer = null;
      s.inflight = false;
    }
  }

  // ---- frames out ----

  _nextRid() {
    return ++this._rid;
  }

  _rawSend(obj) {
    this._lastSent = this.timers.now();
    this._ws.send(JSON.stringify(obj));
  }

  // _send queues a frame behind the rate limiter: the server drops frames
  // over its limit without saying which, so a client must not exceed it.
  _send(obj) {
    if (!this._ws || this.state !== State.CONNECTED) return false;
    this._queue.push(obj);
    this._drain();
    return true;
  }

  _drain() {
    if (this._drainTimer !== null || !this._ws) return;
    const { rate, burst } = this._pace();
    const now = this.timers.now();
    this._tokens = Math.min(burst, this._tokens + ((now - this._tokensAt) / 1000) * rate);
    this._tokensAt = now;
    while (this._queue.length && this._tokens >= 1) {
      this._tokens -= 1;
      this._rawSend(this._queue.shift());
    }
    if (this._queue.length) {
      const wait = Math.ceil(((1 - this._tokens) / rate) * 1000);
      this._drainTimer = this.timers.setTimeout(() => {
        this._drainTimer = null;
        this._drain();
      }, Math.max(wait, 1));
    }
  }

  // Stay a little under the server's limits: clocks and networks jitter.
  _pace() {
    const l = this.limits || { rate: 20, burst: 40 };
    return { rate: Math.max(1, l.rate * 0.9), burst: Math.max(1, l.burst - 2) };
  }

  _request(op, fields = {}, timeout = this.opts.requestTimeout) {
    if (this.state !== State.CONNECTED) {
      return Promise.reject(new NatterError('offline', 'not connected'));
    }
    const rid = this._nextRid();
    return new Promise((resolve, reject) => {
      const timer = this.timers.setTimeout(() => {
        this._pending.delete(rid);
        reject(new NatterError('timeout', `no reply to ${op}`));
      }, timeout);
      this._pending.set(rid, { resolve, reject, timer, op });
      this._send({ op, ...fields, rid });
    });
  }

  _settle(rid, fn) {
    const p = this._pending.get(rid);
    if (!p) return null;
    this._pending.delete(rid);
    this.timers.clearTimeout(p.timer);
    fn(p);
    return p;
  }

  // ---- keep-alive ----

  _startPing() {
    this._stopPing();
    const idle = this.limits?.idle_timeout ? (this.limits.idle_timeout * 1000) / 3 : this.opts.pingInterval;
    const every = Math.min(this.opts.pingInterval, idle);
    const tick = () => {
      this._pingTimer = this.timers.setTimeout(tick, every);
      if (this.timers.now() - this._lastSent < every - 50 || this._pongTimer !== null) return;
      const ws = this._ws;
      this._request('ping')
        .then(() => {
          if (this._pongTimer !== null) this.timers.clearTimeout(this._pongTimer);
          this._pongTimer = null;
        })
        .catch(() => {});
      this._pongTimer = this.timers.setTimeout(() => {
        this._pongTimer = null;
        // A dead connection may never produce a close event: give up on it.
        if (this._ws === ws) this._lost(4000, 'no pong');
      }, this.opts.pongTimeout);
    };
    this._pingTimer = this.timers.setTimeout(tick, every);
  }

  _stopPing() {
    if (this._pingTimer !== null) this.timers.clearTimeout(this._pingTimer);
    if (this._pongTimer !== null) this.timers.clearTimeout(this._pongTimer);
    this._pingTimer = this._pongTimer = null;
  }

  // ---- frames in ----

  _onFrame(data) {
    let ev;
    try {
      ev = JSON.parse(data);
    } catch (e) {
      return;
    }
    // Any frame proves the connection alive.
    if (this._pongTimer !== null) {
      this.timers.clearTimeout(this._pongTimer);
      this._pongTimer = null;
    }
    switch (ev.type) {
      case 'ready':
        return this._onReady(ev);
      case 'joined':
        return this._onJoined(ev);
      case 'msg':
        return this._onMsg(ev);
      case 'ack':
        return this._onAck(ev);
      case 'error':
        return this._onError(ev);
      case 'left':
        return this._onLeft(ev);
      case 'created':
      case 'dm':
      case 'ok':
      case 'pong':
      case 'invitations':
      case 'settings':
        this._settle(ev.rid, (p) => p.resolve(ev));
        return;
      case 'receipt':
      case 'presence':
      case 'typing':
      case 'member':
      case 'room':
        this._emit(ev.type, ev);
        return;
      default:
        return;
    }
  }

  _onReady(ev) {
    this._settle(ev.rid, () => {});
    this.user = ev.user;
    this.version = ev.v || 1;
    this.epoch = ev.epoch;
    this.limits = ev.limits || null;
    this._readyAt = this.timers.now();
    this._tokens = this._pace().burst;
    this._tokensAt = this._readyAt;
    this._setState(State.CONNECTED);
    this._startPing();
    this._emit('ready', { user: ev.user, epoch: ev.epoch, limits: ev.limits, v: this.version });
    for (const [, r] of this._rooms) this._sendJoin(r);
  }

  // ---- rooms ----

  _room(id) {
    let r = this._rooms.get(id);
    if (!r) {
      r = {
        room: id,
        last: null, // highest seq delivered to the app, or the position to start after
        epoch: null, // epoch of last
        joined: false,
        joining: false,
        caughtUp: false,
        target: 0, // joined.last: caught up once a message reaches it
        waiters: [],
        info: null, // the last joined event
      };
      this._rooms.set(id, r);
    }
    return r;
  }

  /**
   * join subscribes to a room, now and after every reconnect. The first
   * time, start after `after` (a seq you already have, e.g. the newest
   * message of a history page) with its `epoch`; later joins resume from
   * the last message delivered. Without `after` the server starts from
   * your delivered cursor, or live. Resolves with the joined event.
   */
  join(room, { after, epoch } = {}) {
    const r = this._room(room);
    if (after !== undefined && after !== null && r.last === null) {
      r.last = after;
      r.epoch = epoch || null;
    }
    const p = new Promise((resolve, reject) => r.waiters.push({ resolve, reject }));
    if (!r.joined && !r.joining) this._sendJoin(r);
    else if (r.joined) this._resolveWaiters(r, r.info);
    return p;
  }

  _sendJoin(r) {
    if (this.state !== State.CONNECTED) return;
    const frame = { op: 'join', room: r.room };
    if (r.last !== null) {
      frame.after = r.last;
      const epoch = r.epoch || this.epoch;
      if (epoch) frame.epoch = epoch;
    }
    const rid = this._nextRid();
    frame.rid = rid;
    r.joining = true;
    const timer = this.timers.setTimeout(() => {
      // No reply (the frame may have been dropped): try again.
      this._pending.delete(rid);
      if (this._rooms.get(r.room) === r && this.state === State.CONNECTED) this._sendJoin(r);
    }, this.opts.requestTimeout);
    this._pending.set(rid, {
      op: 'join',
      timer,
      resolve: () => {},
      reject: (err) => {
        r.joining = false;
        if (this._rooms.get(r.room) !== r) return;
        if (err.code === 'unavailable' || err.code === 'rate_limited') {
          // Worth another try, a little later.
          this.timers.setTimeout(() => {
            if (this._rooms.get(r.room) === r && !r.joined && !r.joining) this._sendJoin(r);
          }, 1000);
          return;
        }
        this._rooms.delete(r.room);
        for (const w of r.waiters.splice(0)) w.reject(err);
      },
    });
    this._send(frame);
  }

  _resolveWaiters(r, ev) {
    for (const w of r.waiters.splice(0)) w.resolve(ev);
  }

  _onJoined(ev) {
    this._settle(ev.rid, () => {});
    const r = this._rooms.get(ev.room);
    if (!r) return; // left meanwhile
    r.joined = true;
    r.joining = false;
    r.info = ev;
    if (ev.reset) {
      // The stream was recreated: every position we held is void.
      this._readSent.delete(ev.room);
      this._emit('reset', { room: ev.room, epoch: ev.epoch });
    }
    r.last = ev.after;
    r.epoch = ev.epoch;
    r.target = ev.last;
    r.caughtUp = ev.last <= ev.after;
    this._emit('joined', ev);
    this._resolveWaiters(r, ev);
    if (r.caughtUp) this._caughtUp(r);
  }

  _caughtUp(r) {
    this._emit('caughtup', { room: r.room, last: r.last, epoch: r.epoch });
    // Only now is it known which unacknowledged sends the server stored:
    // those came back in the replay. The rest go out again, same cid.
    for (const [, s] of this._outbox) {
      if (s.room === r.room && !s.inflight) this._transmit(s);
    }
  }

  _onMsg(ev) {
    const r = this._rooms.get(ev.room);
    if (!r || !r.joined) return; // stray frame of a room we left (PROTOCOL.md §15.1)
    if (ev.seq <= r.last) return; // duplicate
    if (ev.prev > r.last) {
      // A gap: messages are missing. Rejoin from what we have; the replay
      // fills it. Frames until the new joined are ignored.
      r.joined = false;
      this._sendJoin(r);
      return;
    }
    r.last = ev.seq;
    r.epoch = ev.epoch;
    if (ev.from === this.user && this._outbox.has(ev.cid)) {
      const s = this._outbox.get(ev.cid);
      if (s.room === ev.room) this._ackSend(s, { seq: ev.seq, epoch: ev.epoch, dup: false });
    }
    // Every record, in order, then the event of its kind.
    this._emit('record', ev);
    this._emit(EVENT_OF_KIND[ev.kind || ''] || 'change', ev);
    if (!r.caughtUp && ev.seq >= r.target) {
      r.caughtUp = true;
      this._caughtUp(r);
    }
  }

  /** leave stops following a room (membership is kept). */
  leave(room) {
    const r = this._rooms.get(room);
    this._rooms.delete(room);
    if (r) for (const w of r.waiters.splice(0)) w.reject(new NatterError('left', 'left the room'));
    if (r && (r.joined || r.joining)) this._send({ op: 'leave', room });
  }

  _onLeft(ev) {
    const r = this._rooms.get(ev.room);
    if (r && (r.joined || r.joining)) {
      // Not asked for: we were removed, or parted on another connection.
      this._rooms.delete(ev.room);
    }
    this._emit('left', ev);
  }

  /** position is where a room stands: {last, epoch}, or null. */
  position(room) {
    const r = this._rooms.get(room);
    return r ? { last: r.last, epoch: r.epoch, joined: r.joined, caughtUp: r.caughtUp } : null;
  }

  /** rooms lists the rooms being followed. */
  rooms() {
    return [...this._rooms.keys()];
  }

  // ---- sending ----

  /**
   * send sends text to a joined room. Pass the cid of an earlier attempt to
   * retry it: the server stores a cid once. replyTo quotes a message (its
   * seq); thread replies in the thread of a root message (its seq), and
   * alsoRoom shows that reply in the room's timeline too. Returns {cid,
   * done}; done resolves with {room, cid, seq, epoch, dup} once stored, or
   * rejects with a NatterError (then the message was not stored, or its
   * fate is unknown: retry with the same cid). While disconnected the
   * message waits.
   */
  send(room, text, { cid, replyTo, thread, alsoRoom } = {}) {
    const fields = { text };
    if (replyTo) fields.reply_to = replyTo;
    if (thread) fields.thread = thread;
    if (thread && alsoRoom) fields.also_room = true;
    return this._record('send', room, fields, cid);
  }

  /** edit replaces the text of your message seq. Returns {cid, done} like
   * send; done's seq is the edit record's. */
  edit(room, seq, text, { cid } = {}) {
    return this._record('edit', room, { seq, text }, cid);
  }

  /** delete deletes message seq (yours; anyone's for the room's owner and
   * admins). Returns {cid, done} like send. */
  delete(room, seq, { cid } = {}) {
    return this._record('delete', room, { seq }, cid);
  }

  /** react adds emoji to message seq, or takes yours away with remove.
   * Returns {cid, done} like send; done's noop is true when there was
   * nothing to change (already there, or not there to remove). */
  react(room, seq, emoji, { remove = false, cid } = {}) {
    const fields = { seq, emoji };
    if (remove) fields.remove = true;
    return this._record('react', room, fields, cid);
  }

  /** topic sets the room's topic and/or display name (an absent field is
   * left as it is, '' clears it). Owner and admins only. Returns {cid,
   * done} like send. */
  topic(room, { topic, name } = {}, { cid } = {}) {
    const fields = {};
    if (topic !== undefined && topic !== null) fields.topic = topic;
    if (name !== undefined && name !== null) fields.name = name;
    return this._record('topic', room, fields, cid);
  }

  // _record keeps a record-making op (send, edit, delete, react, topic) in
  // the outbox until its ack, and sends it when its room has caught up:
  // one cid space per user and room, resent with the same cid.
  _record(op, room, fields, cid) {
    cid = cid || newCid();
    const old = this._outbox.get(cid);
    if (old) return { cid, done: old.done };
    const s = { cid, room, op, fields, text: fields.text, inflight: false, timer: null, rid: 0 };
    s.done = new Promise((resolve, reject) => {
      s.resolve = resolve;
      s.reject = reject;
    });
    if (!this._rooms.has(room)) {
      s.reject(Object.assign(new NatterError('invalid', `join ${room} before sending to it`), { cid, room }));
      return { cid, done: s.done };
    }
    this._outbox.set(cid, s);
    const r = this._rooms.get(room);
    if (r.joined && r.caughtUp) this._transmit(s);
    return { cid, done: s.done };
  }

  _transmit(s) {
    const rid = this._nextRid();
    s.rid = rid;
    if (!this._send({ op: s.op, room: s.room, cid: s.cid, ...s.fields, rid })) return;
    s.inflight = true;
    s.timer = this.timers.setTimeout(() => {
      s.timer = null;
      this._failSend(s, new NatterError('timeout', 'no acknowledgement'));
    }, this.opts.ackTimeout);
  }

  _ackSend(s, ack) {
    if (s.timer !== null) this.timers.clearTimeout(s.timer);
    this._outbox.delete(s.cid);
    s.resolve({ room: s.room, cid: s.cid, ...ack });
  }

  _failSend(s, err) {
    if (s.timer !== null) this.timers.clearTimeout(s.timer);
    this._outbox.delete(s.cid);
    err.cid = s.cid;
    err.room = s.room;
    s.reject(err);
  }

  _onAck(ev) {
    const s = this._outbox.get(ev.cid);
    if (s && s.room === ev.room) this._ackSend(s, { seq: ev.seq, epoch: ev.epoch, dup: !!ev.dup, ...(ev.noop ? { noop: true } : {}) });
    this._emit('ack', ev);
  }

  _onError(ev) {
    // A refused record names its cid; an error that does not (e.g. a
    // malformed frame) still answers the frame's rid.
    let s = ev.cid ? this._outbox.get(ev.cid) : undefined;
    if (s && s.room !== ev.room && ev.room !== undefined) s = undefined;
    if (!s && ev.rid !== undefined) s = [...this._outbox.values()].find((o) => o.inflight && o.rid === ev.rid);
    if (s) {
      this._failSend(s, new NatterError(ev.code, ev.message, ev.wait_ms ? { waitMs: ev.wait_ms } : {}));
      return;
    }
    if (ev.rid !== undefined && this._settle(ev.rid, (p) => p.reject(new NatterError(ev.code, ev.message, { room: ev.room })))) {
      return;
    }
    this._emit('error', ev);
  }

  /** pendingSends lists what is not acknowledged yet: {cid, room, text,
   * op, fields} (op is send, edit, delete, react or topic). */
  pendingSends() {
    return [...this._outbox.values()].map(({ cid, room, text, op, fields }) => ({ cid, room, text, op, fields: { ...fields } }));
  }

  // ---- other operations ----

  /** read raises your read cursor in room to seq (a seq you were shown). */
  read(room, seq) {
    if (!(seq > (this._readSent.get(room) || 0))) return;
    if (this._send({ op: 'read', room, seq })) this._readSent.set(room, seq);
  }

  /** typing tells the room you are typing; call it on every keystroke, it
   * sends at most one frame per typingInterval. */
  typing(room) {
    const now = this.timers.now();
    if (now - (this._typingAt.get(room) || -Infinity) < this.opts.typingInterval) return;
    if (this._rooms.get(room)?.joined && this._send({ op: 'typing', room })) this._typingAt.set(room, now);
  }

  create(room, kind = 'public') {
    return this._request('create', { room, kind });
  }
  add(room, user) {
    return this._request('add', { room, user });
  }
  remove(room, user) {
    return this._request('remove', { room, user });
  }
  /** moderate sends a moderation op (kick, ban, unban, mute, unmute,
   * role, slowmode) for room; fields are user, role or seconds. */
  moderate(op, room, fields = {}) {
    return this._request(op, { room, ...fields });
  }
  dm(user) {
    return this._request('dm', { user });
  }
  /** invitations resolves to your pending invitations: [{room, kind, owner, from, at}]. */
  async invitations() {
    return (await this._request('invitations')).invitations || [];
  }
  accept(room) {
    return this._request('accept', { room });
  }
  decline(room) {
    return this._request('decline', { room });
  }
  /** settings reads your settings, setting the fields given first: {add_policy}. */
  settings(fields = {}) {
    return this._request('settings', fields);
  }
  /** part gives up membership of a room (not a DM). */
  async part(room) {
    const ok = await this._request('part', { room });
    this._rooms.delete(room);
    return ok;
  }
  ping() {
    return this._request('ping');
  }
  /** renew sends a fresh token (from opts.token) on the open connection, so
   * that the server does not close it (4001) when the token it
   * authenticated with expires. Offline it does nothing: the next connect
   * asks for a fresh token anyway. */
  async renew() {
    if (this.state !== State.CONNECTED) return;
    const token = await this.opts.token();
    if (token) await this._request('auth', { token });
  }
}

/**
 * applyChange applies a change record (an edit, delete or react event) to
 * the message it targets, m, in the shape of the history API's message
 * objects (docs/HTTP-API.md): text, edited, deleted, deleted_by,
 * reactions [{emoji, count, users}]. It is idempotent and tolerates a
 * message that already reflects the record (a history page read after
 * it): an edit older than the text m has is ignored, a reaction is a set.
 * It returns whether m changed.
 */
export function applyChange(m, rec) {
  if (!m || !rec || rec.target !== m.seq) return false;
  switch (rec.kind) {
    case Kind.EDIT: {
      if (m.deleted) return false;
      if (m.edit_seq ? rec.seq <= m.edit_seq : m.edited && Date.parse(rec.ts) < Date.parse(m.edited)) return false;
      m.text = rec.text;
      m.edited = rec.ts;
      m.edit_seq = rec.seq;
      return true;
    }
    case Kind.DELETE:
      if (m.deleted) return false;
      m.deleted = true;
      m.deleted_by = rec.from;
      m.text = '';
      m.reactions = [];
      return true;
    case Kind.REACT: {
      if (m.deleted || !rec.emoji) return false;
      const list = (m.reactions = m.reactions || []);
      let r = list.find((x) => x.emoji === rec.emoji);
      const has = !!r && r.users.includes(rec.from);
      if (rec.remove) {
        if (!has) return false;
        r.users = r.users.filter((u) => u !== rec.from);
        r.count = r.users.length;
        if (!r.count) list.splice(list.indexOf(r), 1);
        return true;
      }
      if (has) return false;
      if (!r) list.push((r = { emoji: rec.emoji, count: 0, users: [] }));
      r.users = [...r.users, rec.from];
      r.count = r.users.length;
      return true;
    }
    default:
      return false;
  }
}

function defaultURL() {
  const loc = globalThis.location;
  if (!loc) return 'ws://127.0.0.1:8080/ws';
  return (loc.protocol === 'https:' ? 'wss://' : 'ws://') + loc.host + '/ws';
}
