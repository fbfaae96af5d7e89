// history.js: a room's past from the history API: the latest page when it
// opens (back to the first unread message), the gap between the archive
// and the live subscription, older pages as the user scrolls up, the
// status line above the timeline, and the members' read cursors for "Seen
// by".
import { $, el } from './dom.js';

export function history(app) {
  const { api } = app;

  async function loadLatest(room) {
    if (room.loading) return;
    room.loading = true;
    setStatus(room);
    try {
      const page = await api.messages(room.id, { limit: 50 });
      for (const m of page.messages) room.add(m);
      room.loadedFrom = page.messages.length ? page.messages[0].seq : 0;
      room.noOlder = !page.has_more;
      const newest = page.messages.length ? page.messages[page.messages.length - 1].seq : 0;
      await fillGap(room, newest);
      room.historyLoaded = true;
      // Open at the first unread message: fetch back to it (a few pages).
      for (let i = 0; i < 4 && room.divider !== null && !room.noOlder && room.loadedFrom > room.divider; i++) {
        await fetchOlder(room);
      }
    } catch (e) {
      room.loading = false;
      if (e.status !== 401) setStatus(room, 'Could not load the history.', () => loadLatest(room));
      return;
    }
    room.loading = false;
    app.list.render();
    if (app.current === room.id) app.timeline.render({ initial: true });
  }

  // fillGap reads history between the newest archived message and where
  // the live subscription started: the archive may trail the stream a
  // little.
  async function fillGap(room, newest) {
    for (let tries = 0; room.joinAfter !== null && newest < room.joinAfter && tries < 20; ) {
      const page = await api.messages(room.id, { after: newest, limit: 200 });
      for (const m of page.messages) room.add(m);
      if (page.messages.length) newest = page.messages[page.messages.length - 1].seq;
      else {
        tries++;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  async function fetchOlder(room, limit = 50) {
    const page = await api.messages(room.id, { before: room.loadedFrom, limit });
    for (const m of page.messages) room.add(m);
    if (page.messages.length) room.loadedFrom = page.messages[0].seq;
    room.noOlder = !page.has_more;
  }

  async function loadOlder(room) {
    if (room.loading || room.noOlder || !room.historyLoaded || !room.loadedFrom) return;
    room.loading = true;
    setStatus(room);
    const sc = $('#scroller');
    try {
      await fetchOlder(room);
    } catch (e) {
      room.loading = false;
      setStatus(room, 'Could not load older messages.', () => loadOlder(room));
      return;
    }
    room.loading = false;
    if (app.current !== room.id) return;
    const before = sc.scrollHeight - sc.scrollTop;
    app.timeline.render({ keep: before });
  }

  /** loadBackTo loads older pages until seq is loaded (at most pages
   * pages of 200), keeping the place on screen. */
  async function loadBackTo(room, seq, pages) {
    for (let waited = 0; room.loading && waited < 100; waited++) await new Promise((r) => setTimeout(r, 50));
    if (room.loading || !room.historyLoaded) return;
    room.loading = true;
    setStatus(room);
    try {
      for (let i = 0; i < pages && !room.noOlder && room.loadedFrom > seq; i++) await fetchOlder(room, 200);
    } catch (e) {
      /* the caller says what could not be shown */
    }
    room.loading = false;
    if (app.current !== room.id) return;
    const sc = $('#scroller');
    app.timeline.render({ keep: sc.scrollHeight - sc.scrollTop });
  }

  function setStatus(room, error, retry) {
    if (app.current !== room.id) return;
    const s = $('#history-status');
    if (error) {
      s.replaceChildren(error + ' ', el('button.link-button', { type: 'button', text: 'Try again', onclick: retry }));
    } else if (room.loading) {
      s.textContent = 'Loading messages…';
    } else if (room.historyLoaded && room.noOlder) {
      s.textContent = room.kind === 'dm' ? `This is the beginning of your conversation with ${room.name}.` : `This is the beginning of #${room.name}.`;
    } else {
      s.textContent = '';
    }
  }

  // loadMembers fetches the members' read cursors, for "Seen by".
  async function loadMembers(room) {
    try {
      const list = await api.members(room.id);
      const m = new Map(room.members || []);
      for (const x of list) m.set(x.user, Math.max(x.read, m.get(x.user) || 0));
      room.members = m;
      if (app.current === room.id) app.timeline.render();
    } catch (e) {
      /* receipts are optional */
    }
  }

  return { loadLatest, loadOlder, loadBackTo, setStatus, loadMembers };
}
