// room.js: what the UI knows of one room: its messages (stored and
// pending), the read cursors, presence and typing, and the render cache of
// its timeline. No DOM: unit-tested in web/test/room.test.mjs.

export class Room {
  /**
   * @param {string} id
   * @param {string} kind public, private or dm (a dm- id is always dm)
   * @param {string} me the logged-in user
   */
  constructor(id, kind = 'public', me = '') {
    this.id = id;
    this.me = me;
    this.kind = id.startsWith('dm-') ? 'dm' : kind;
    this.owner = null;
    this.users = []; // the two users of a DM
    this.msgs = new Map(); // seq -> message
    this._sorted = null;
    this.pending = new Map(); // cid -> {cid, text, ts, status: pending|failed, error}
    this.read = 0; // my read cursor
    this.snapUnread = 0; // unread count from GET /api/rooms ...
    this.snapMentions = 0; // ... and unread mentions of me ...
    this.snapLast = 0; // ... for messages up to this seq
    this.joinAfter = null; // where the live subscription started
    this.loadedFrom = null; // oldest seq of the contiguous history loaded
    this.noOlder = false;
    this.historyLoaded = false;
    this.loading = false;
    this.lastMsg = null;
    this.lastTs = 0; // time of the last message, from GET /api/rooms (ms)
    // touched is when this user last did something in the room here (sent,
    // joined, created it); loading the list is not activity.
    this.touched = 0;
    this.online = new Set();
    this.typing = new Map(); // user -> timer
    this.members = null; // user -> read cursor, once loaded
    this.divider = null; // read cursor when the room was opened
    this.nodes = new Map(); // render cache: key -> {node, sig}
  }

  get peer() {
    if (this.kind !== 'dm') return null;
    return this.users.find((u) => u !== this.me) || this.users[0] || null;
  }

  get name() {
    if (this.kind === 'dm') return this.peer || 'Direct message';
    return this.id;
  }

  sorted() {
    if (!this._sorted) this._sorted = [...this.msgs.values()].sort((a, b) => a.seq - b.seq);
    return this._sorted;
  }

  /** add keeps message m; it reports whether m was new (or replaced a
   * copy shown from its ack alone). */
  add(m) {
    const had = this.msgs.get(m.seq);
    // A message shown from its ack alone gives way to the stored one.
    if (had && !(had.local && !m.local)) return false;
    this.msgs.set(m.seq, m);
    if (had) this.nodes.delete('m-' + m.seq);
    this._sorted = null;
    if (!this.lastMsg || m.seq >= this.lastMsg.seq) this.lastMsg = m;
    if (m.from === this.me) this.pending.delete(m.cid);
    return true;
  }

  /** reset forgets the messages (the room's stream was reset). */
  reset() {
    this.msgs.clear();
    this._sorted = null;
    this.nodes.clear();
    this.read = this.snapUnread = this.snapLast = 0;
    this.loadedFrom = null;
    this.noOlder = false;
    this.historyLoaded = false;
    this.lastMsg = null;
    this.members = null;
  }

  /** unread counts messages from others after my read cursor: exactly
   * when the history after it is loaded, else from the server's count
   * plus what arrived since. */
  unread() {
    return this._count(() => true, this.snapUnread);
  }

  /** mentions counts the unread messages that mention me (or @room),
   * the same way. */
  mentions() {
    return this._count((m) => this.mentionsMe(m), this.snapMentions);
  }

  _count(which, snap) {
    const R = this.read;
    const others = (from) => [...this.msgs.values()].filter((m) => m.from !== this.me && m.seq > from && !m.deleted && which(m)).length;
    if (this.loadedFrom !== null && (this.loadedFrom <= R || this.noOlder)) return others(R);
    const base = R >= this.snapLast ? 0 : snap;
    return base + others(Math.max(R, this.snapLast));
  }

  /** mentionsMe reports whether m mentions me: by the mentions the
   * server parsed (which count @room only from those allowed to use it),
   * else, for a message without them, by an @me in its text. */
  mentionsMe(m) {
    if (!this.me || m.from === this.me) return false;
    if (Array.isArray(m.mentions)) return m.mentions.includes(this.me) || m.mentions.includes('@room');
    return new RegExp(`(^|[^A-Za-z0-9_-])@${this.me}(?![A-Za-z0-9_-])`).test(m.text || '');
  }

  /** activity is when the room was last active: its last message (as
   * the room list reported it, or as loaded), or this user's last act. */
  activity() {
    return Math.max(this.touched, this.lastTs, this.lastMsg ? Date.parse(this.lastMsg.ts) || 0 : 0);
  }

  /** seenBy lists the other members whose read cursor reached seq. */
  seenBy(seq) {
    return this.members ? [...this.members].filter(([u, r]) => u !== this.me && r >= seq).map(([u]) => u) : [];
  }
}
