// rooms.js: the rooms the user is in: loaded from GET /api/rooms at the
// start (and again after a reconnection, since room events are not
// stored), followed live, joined, dropped, and their previews.
import { Room } from './room.js';
import { toast, wideScreen } from './dom.js';
import { human } from './human.js';

export function rooms(app) {
  const { session } = app;

  /** room is the room id, made (not joined) if it is new. */
  function ensure(id, kind) {
    let room = app.rooms.get(id);
    if (!room) {
      room = new Room(id, kind, session.user);
      app.rooms.set(id, room);
    }
    return room;
  }

  async function load({ fresh }) {
    let list;
    try {
      list = await app.api.rooms();
    } catch (e) {
      if (e.status !== 401) {
        toast('Could not load your rooms. Retrying…');
        setTimeout(() => load({ fresh }), 3000);
      }
      return;
    }
    for (const s of list) add(s);
    app.composer.restoreOutbox();
    app.list.render();
    loadPreviews(list.filter((s) => s.last_seq > 0).map((s) => s.id));
    if (fresh && list.length === 0) {
      // A new account starts in #general, like in most chat apps.
      joinNew('general', { open: true });
      return;
    }
    const last = app.store.get(app.store.key('last'), null);
    if (last && app.rooms.has(last) && (wideScreen() || location.hash === '#open')) app.view.open(last, { focus: false });
  }

  // add adds a room from a GET /api/rooms entry and follows it from the
  // newest message the server has counted, so that unread counts add up.
  function add(s) {
    let room = app.rooms.get(s.id);
    if (!room) {
      room = ensure(s.id, s.kind);
      app.client.join(s.id, { after: s.last_seq }).catch((err) => drop(s.id, `${s.id}: ${human(err)}`));
    }
    room.kind = s.kind;
    room.read = Math.max(room.read, s.read);
    room.snapUnread = s.unread;
    room.snapMentions = s.mentions || 0;
    room.snapLast = s.last_seq;
    // last_ts (the time of the room's last message) orders the list before
    // the previews load; a server without it leaves the order to them.
    const ts = typeof s.last_ts === 'number' ? s.last_ts : Date.parse(s.last_ts || '');
    if (ts > 0) room.lastTs = Math.max(room.lastTs, ts);
    return room;
  }

  // refresh catches up with rooms added or removed while we were not
  // listening (user events are not stored).
  async function refresh() {
    const started = Date.now();
    let list;
    try {
      list = await app.api.rooms();
    } catch (e) {
      return;
    }
    const ids = new Set(list.map((s) => s.id));
    for (const s of list) add(s);
    for (const id of [...app.rooms.keys()]) {
      const p = app.client.position(id);
      if (!ids.has(id) && p && p.joined && app.rooms.get(id).touched < started) drop(id, null);
    }
    app.list.render();
  }

  // joinNew follows a room we are not (or were not) a member of yet. The
  // history API fills in what came before the live subscription.
  function joinNew(id, { open = false, kind } = {}) {
    const room = ensure(id, kind);
    room.touched = Date.now();
    const p = app.client.join(id);
    p.then(() => {
      app.list.render();
      if (open) app.view.open(id);
    }).catch((err) => {
      drop(id, null);
      toast(`Cannot join ${id}: ${human(err)}`);
    });
    app.list.render();
    return p;
  }

  function drop(id, why) {
    const room = app.rooms.get(id);
    if (!room) return;
    app.rooms.delete(id);
    app.client.leave(id);
    if (why) toast(why);
    if (app.current === id) app.view.close();
    app.list.render();
  }

  async function loadPreviews(ids) {
    const queue = [...ids];
    const worker = async () => {
      while (queue.length) {
        const id = queue.shift();
        const room = app.rooms.get(id);
        if (!room || room.lastMsg) continue;
        try {
          const page = await app.api.messages(id, { limit: 1 });
          const m = page.messages[page.messages.length - 1];
          if (m && (!room.lastMsg || m.seq > room.lastMsg.seq)) room.lastMsg = m;
          app.list.render();
        } catch (e) {
          /* the preview is optional */
        }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  }

  return { ensure, load, add, refresh, joinNew, drop };
}
