// thread.js: the thread panel beside the room (over it on phones): a root
// message and its replies, loaded from GET /api/rooms/{room}/threads/{seq}
// and followed live, with a composer of its own whose replies stay out of
// the room's timeline unless "Also send to the room" is ticked. A
// thread I started or replied in shows as unseen (a dot on its summary)
// when someone else replied after I last had it open; what I have seen is
// kept per browser.
import { newCid } from './natter.js';
import { layout } from './format.js';
import { $, el, reconcile } from './dom.js';
import { human, sendFailure } from './human.js';
import { cleanText } from './composer.js';

export function thread(app) {
  const { session, store } = app;
  let cur = null; // {room, root, loading, error, hasMore, pending: Map cid -> {cid, text, ts, also, status, error}}
  const nodes = new Map(); // render cache: key -> {node, sig}

  const seenKey = (room) => store.key('thread-seen', room);

  /** unseen says whether root m (of room) has replies I follow and have
   * not seen. */
  function unseen(room, m) {
    const s = m.thread_summary;
    if (!s || !s.replies || !s.last) return false;
    if (room.threadNew.has(m.seq)) return true;
    if (m.from !== session.user && !(s.participants || []).includes(session.user)) return false;
    if (isOpen() && cur.room === room.id && cur.root === m.seq) return false;
    const seen = (store.get(seenKey(room.id), {}) || {})[m.seq];
    return !(seen >= Date.parse(s.last));
  }

  function markSeen(room, root) {
    const m = room.msgs.get(root);
    room.threadNew.delete(root);
    const last = m && m.thread_summary && m.thread_summary.last ? Date.parse(m.thread_summary.last) : Date.now();
    const seen = store.get(seenKey(room.id), {}) || {};
    if (seen[root] >= last) return;
    seen[root] = last;
    // Keep the newest 200 threads a user has seen in a room.
    const keep = Object.entries(seen)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 200);
    store.set(seenKey(room.id), Object.fromEntries(keep));
    if (m) m.rev = (m.rev || 0) + 1;
  }

  const isOpen = () => !!cur && !$('#thread-panel').hidden;

  /** open shows the thread of root (a seq of room). */
  function open(room, root, { focus = false } = {}) {
    if (!cur || cur.room !== room.id || cur.root !== root) {
      cur = { room: room.id, root, loading: false, error: '', hasMore: false, pending: new Map() };
      nodes.clear();
      $('#thread-messages').replaceChildren();
      $('#thread-composer').value = '';
      $('#thread-also-room').checked = false;
      load();
    }
    $('#thread-panel').hidden = false;
    $('#app').classList.add('show-thread');
    render({ follow: true });
    markSeen(room, root);
    if (app.current === room.id) app.timeline.render();
    if (focus) $('#thread-composer').focus();
  }

  function close() {
    const was = cur;
    cur = null;
    nodes.clear();
    $('#thread-panel').hidden = true;
    $('#app').classList.remove('show-thread');
    if (was && app.current === was.room) {
      app.timeline.render();
      $(`#messages [data-seq="${was.root}"]`)?.focus();
    }
  }

  async function load({ older = false } = {}) {
    const c = cur;
    const room = app.rooms.get(c.room);
    if (!room || c.loading) return;
    c.loading = true;
    c.error = '';
    render();
    try {
      const first = room.replies(c.root)[0];
      const page = await app.api.thread(room.id, c.root, older && first ? { before: first.seq } : {});
      if (page.root) addRoot(room, page.root);
      for (const m of page.messages) room.add(m);
      c.hasMore = page.has_more;
    } catch (e) {
      c.error = e.status === 404 ? 'This thread is not there any more.' : `Could not load the thread: ${human(e)}`;
    }
    c.loading = false;
    if (cur !== c) return;
    render({ follow: !older });
    markSeen(room, c.root);
    if (app.current === room.id) app.timeline.render();
  }

  // addRoot keeps the root from a thread page; its summary is the
  // server's count unless live replies have made ours newer.
  function addRoot(room, root) {
    const had = room.msgs.get(root.seq);
    if (!had) return room.add(root);
    const s = root.thread_summary;
    if (s && (!had.thread_summary || !had.thread_summary.last || Date.parse(s.last) >= Date.parse(had.thread_summary.last))) {
      had.thread_summary = s;
      had.rev = (had.rev || 0) + 1;
    }
  }

  /** render brings the panel up to date. */
  function render({ follow = false } = {}) {
    if (!cur) return;
    const room = app.rooms.get(cur.room);
    if (!room) return close();
    const sc = $('#thread-scroller');
    const wasBottom = sc.scrollHeight - sc.scrollTop - sc.clientHeight < 60;
    const root = room.msgs.get(cur.root);
    const replies = room.replies(cur.root);
    const count = root && root.thread_summary ? root.thread_summary.replies : replies.filter((m) => !m.deleted).length;
    $('#thread-subtitle').textContent = `${room.kind === 'dm' ? room.name : '#' + room.name} · ${count} ${count === 1 ? 'reply' : 'replies'}`;
    $('#thread-also-label').textContent = `Also send to ${room.kind === 'dm' ? 'the conversation' : '#' + room.name}`;
    const status = $('#thread-status');
    if (cur.error) status.replaceChildren(cur.error + ' ', el('button.link-button', { type: 'button', text: 'Try again', onclick: () => load() }));
    else if (cur.loading) status.textContent = 'Loading the thread…';
    else if (cur.hasMore) status.replaceChildren(el('button.link-button', { type: 'button', text: 'Show earlier replies', onclick: () => load({ older: true }) }));
    else status.textContent = '';

    const keys = new Set();
    const out = [];
    const put = (key, sig, make) => {
      keys.add(key);
      let c = nodes.get(key);
      if (!c || c.sig !== sig) nodes.set(key, (c = { node: make(), sig }));
      out.push(c.node);
    };
    if (root) put('root-' + root.seq, app.parts.sig(room, root), () => app.timeline.messageItem(room, root, true, { inThread: true }));
    out.length && put('count', String(count), () => el('li.thread-count-line', { text: `${count} ${count === 1 ? 'reply' : 'replies'}` }));
    const pend = [...cur.pending.values()].map((p) => ({ ...p, from: session.user, pending: true }));
    for (const it of layout([...replies, ...pend])) {
      const m = it.msg;
      if (m.pending) put('p-' + m.cid, `${it.head}|${m.status}|${m.error || ''}`, () => pendingItem(room, m, it.head));
      else put('m-' + m.seq, `${it.head}|${app.parts.sig(room, m)}`, () => app.timeline.messageItem(room, m, it.head, { inThread: true }));
    }
    for (const k of [...nodes.keys()]) if (!keys.has(k)) nodes.delete(k);
    reconcile($('#thread-messages'), out);
    if (follow || wasBottom) sc.scrollTop = sc.scrollHeight;
    if (isOpen() && root && room.threadNew.has(root.seq)) markSeen(room, cur.root);
  }

  function pendingItem(room, p, head) {
    const li = app.timeline.messageItem(room, { ...p, seq: 0, ts: p.ts }, head, { inThread: true });
    li.classList.add(p.status === 'failed' ? 'failed' : 'pending');
    delete li.dataset.seq;
    li.dataset.cid = p.cid;
    const status = el('div.msg-status');
    if (p.status === 'failed') {
      status.append(
        `Not sent${p.error ? ` (${p.error})` : ''}.`,
        el('button.retry', { type: 'button', text: 'Retry', onclick: () => transmit(room, p.cid) }),
        el('button.discard', { type: 'button', text: 'Delete', onclick: () => (cur.pending.delete(p.cid), render()) }),
      );
    } else status.append('Sending…');
    li.append(status);
    return li;
  }

  function send() {
    if (!cur) return;
    const room = app.rooms.get(cur.room);
    const box = $('#thread-composer');
    const text = cleanText(box.value);
    if (!room || !text.trim()) return;
    if (app.moderation.notice(room.id).blocked) return;
    const max = app.client.limits?.max_text || 8192;
    if (new TextEncoder().encode(text).length > max) {
      $('#thread-error').textContent = `That reply is too long (the limit is ${max} bytes).`;
      $('#thread-error').hidden = false;
      return;
    }
    $('#thread-error').hidden = true;
    const cid = newCid();
    cur.pending.set(cid, { cid, text, ts: new Date().toISOString(), also: $('#thread-also-room').checked, thread: cur.root, status: 'pending' });
    box.value = '';
    $('#thread-also-room').checked = false;
    transmit(room, cid);
    render({ follow: true });
  }

  function transmit(room, cid) {
    const c = cur;
    const p = c && c.pending.get(cid);
    if (!p) return;
    p.status = 'pending';
    app.client.send(room.id, p.text, { cid, thread: c.root, alsoRoom: p.also }).done.then(
      (ack) => {
        if (!room.msgs.has(ack.seq)) {
          room.add({ room: room.id, seq: ack.seq, prev: 0, epoch: ack.epoch, from: session.user, text: p.text, cid, ts: new Date().toISOString(), thread: c.root, also_room: p.also || undefined, local: true });
        }
        c.pending.delete(cid);
        if (cur === c) {
          markSeen(room, c.root);
          render({ follow: true });
        }
        if (app.current === room.id) app.timeline.render({ follow: p.also });
        app.list.render();
      },
      (err) => {
        p.status = 'failed';
        p.error = sendFailure(err);
        if (cur === c) render();
      },
    );
  }

  function autosize(box) {
    box.style.height = 'auto';
    box.style.height = Math.min(box.scrollHeight, window.innerHeight * 0.3) + 'px';
  }

  function wire() {
    const box = $('#thread-composer');
    let enter = false;
    box.addEventListener('keydown', (e) => {
      enter = e.key === 'Enter' && !e.shiftKey && !e.isComposing;
      if (enter) {
        e.preventDefault();
        send();
        autosize(box);
      }
    });
    // Enter's line break must not land in the next reply, even from input
    // methods that insert it apart from the key event (as composer.js).
    box.addEventListener('beforeinput', (e) => {
      if (enter && (e.inputType === 'insertLineBreak' || e.inputType === 'insertParagraph')) e.preventDefault();
    });
    box.addEventListener('input', () => autosize(box));
    $('#thread-form').addEventListener('submit', (e) => {
      e.preventDefault();
      send();
      box.focus();
    });
    $('#thread-close').addEventListener('click', close);
    $('#thread-panel').addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && !e.defaultPrevented && !e.target.closest('li.msg')) {
        e.preventDefault();
        close();
      }
    });
  }

  /** room changes: a room opened, or the open one went away. */
  function roomChanged() {
    if (cur && cur.room !== app.current) close();
  }

  return { open, close, render, isOpen, unseen, roomChanged, wire, current: () => cur };
}
