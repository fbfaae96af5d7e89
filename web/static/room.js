// room.js: what the UI knows of one room: its messages (stored and
// pending) in their current state (edits, deletions, reactions, thread
// summaries applied), the read cursors, presence and typing, its topic and
// display name, and the render cache of its timeline. No DOM:
// unit-tested in web/test/room.test.mjs and records.room.test.mjs.
import { applyChange } from './natter.js';

// Change records whose message is not loaded yet are kept, this many per
// room at most, and applied when it arrives (a history page read after
// them may not have them yet).
const MAX_EARLY_CHANGES = 1000;

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
    this.topic = ''; // set by the owner or an admin (topic records)
    this.displayName = ''; // likewise; shown instead of the id when set
    this.users = []; // the two users of a DM
    this.early = new Map(); // target seq -> change records for a message not loaded yet
    this.quoted = new Map(); // seq -> a quoted message not loaded, as fetched for its quote
    this.earlyCount = 0;
    this.threadNew = new Set(); // thread roots with replies I have not seen
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
    return this.displayName || this.id;
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
    if (inTimeline(m) && (!this.lastMsg || m.seq >= this.lastMsg.seq)) this.lastMsg = m;
    if (m.from === this.me) this.pending.delete(m.cid);
    for (const rec of this.early.get(m.seq) || []) applyChange(m, rec);
    this.earlyCount -= (this.early.get(m.seq) || []).length;
    this.early.delete(m.seq);
    if (m.thread && !had) this._countReply(m);
    return true;
  }

  // _countReply adds a thread reply to its root's summary, unless the
  // summary (from a history page) already counts it.
  _countReply(m) {
    const root = this.msgs.get(m.thread);
    if (!root || m.deleted) return;
    const s = root.thread_summary || { replies: 0, last: null, participants: [] };
    if (s.last && Date.parse(m.ts) <= Date.parse(s.last)) return;
    root.thread_summary = {
      replies: s.replies + 1,
      last: m.ts,
      participants: s.participants.includes(m.from) ? s.participants : [...s.participants, m.from],
    };
    touch(root);
    if (m.from !== this.me && (root.from === this.me || s.participants.includes(this.me))) this.threadNew.add(root.seq);
  }

  /**
   * apply applies a change record (edit, delete, react) to its message and
   * returns that message, or null when it is not loaded (then the record
   * is kept and applied when it is) or nothing changed.
   */
  apply(rec) {
    const m = this.msgs.get(rec.target);
    const q = !m && this.quoted.get(rec.target);
    if (q) applyChange(q, rec); // a quote of it shows the change
    if (!m) {
      if (this.earlyCount >= MAX_EARLY_CHANGES) return null;
      if (!this.early.has(rec.target)) this.early.set(rec.target, []);
      this.early.get(rec.target).push(rec);
      this.earlyCount++;
      return null;
    }
    const wasDeleted = !!m.deleted;
    if (!applyChange(m, rec)) return null;
    touch(m);
    if (m.deleted && !wasDeleted && m.thread) {
      const root = this.msgs.get(m.thread);
      if (root && root.thread_summary && root.thread_summary.replies > 0) {
        root.thread_summary = { ...root.thread_summary, replies: root.thread_summary.replies - 1 };
        touch(root);
      }
    }
    if (this.lastMsg === m) this.lastMsg = m; // its preview changes with it
    return m;
  }

  /** setTopic applies a topic record (or a rooms list entry): absent
   * fields stay as they are. */
  setTopic({ topic, name }) {
    if (typeof topic === 'string') this.topic = topic;
    if (typeof name === 'string') this.displayName = name;
  }

  /** timeline is what the room's timeline shows: messages, not thread
   * replies (unless also sent to the room). */
  timeline() {
    return this.sorted().filter(inTimeline);
  }

  /** replies are the thread replies of root that are loaded, in order. */
  replies(root) {
    return this.sorted().filter((m) => m.thread === root);
  }

  /** quote is what a reply shows of the message it answers: the current
   * state if loaded, else the context a history page gave. */
  quote(m) {
    if (!m.reply_to) return null;
    const o = this.msgs.get(m.reply_to);
    if (o) return { seq: o.seq, from: o.from, text: o.text, deleted: !!o.deleted, thread: o.thread || 0 };
    const f = this.quoted.get(m.reply_to);
    if (f && f.from) return { seq: f.seq, from: f.from, text: f.text, deleted: !!f.deleted, thread: f.thread || 0 };
    if (m.reply) return { seq: m.reply_to, from: m.reply.from, text: m.reply.text, deleted: !!m.reply.deleted, thread: m.reply.thread || 0 };
    return { seq: m.reply_to, from: '', text: '', deleted: false, missing: true };
  }

  /** lastOwn is my newest message in the timeline that can be edited. */
  lastOwn() {
    const t = this.timeline();
    // One shown from its ack alone counts: its seq is the stored one's.
    for (let i = t.length - 1; i >= 0; i--) if (t[i].from === this.me && !t[i].deleted) return t[i];
    return null;
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
    this.early.clear();
    this.quoted.clear();
    this.earlyCount = 0;
    this.threadNew.clear();
  }

  /** unread counts messages from others after my read cursor: exactly
   * when the history after it is loaded, else from the server's count
   * plus what arrived since. */
  unread() {
    return this._count(inTimeline, this.snapUnread);
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

/** inTimeline says whether m shows in the room's timeline: thread replies
 * show only in their thread, unless sent to the room too. */
export function inTimeline(m) {
  return !m.thread || !!m.also_room;
}

// touch marks m changed, so that its node is rebuilt.
function touch(m) {
  m.rev = (m.rev || 0) + 1;
}
