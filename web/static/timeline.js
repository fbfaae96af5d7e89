// timeline.js: the open room's conversation: messages grouped by sender and
// day, pending and failed sends with Retry and Delete, the "New messages"
// divider, moderation lines and "Seen by"; scrolling (stick to the bottom,
// keep the place when older messages arrive on top, load more near the
// top) and the "Jump to latest" / "N new messages" button. What goes where
// is timelineitems.js; this module makes and reuses the nodes.
import * as fmt from './format.js';
import { State } from './natter.js';
import { $, el, reconcile, userAvatar } from './dom.js';
import { timelineItems } from './timelineitems.js';
import { renderText } from './richtext.js';

export function atBottom(sc = $('#scroller')) {
  return sc.scrollHeight - sc.scrollTop - sc.clientHeight < 80;
}

export function timeline(app) {
  const { session } = app;

  /**
   * render brings the list up to date. Nodes are cached per message and
   * moved, not rebuilt, so that scrolling and focus survive.
   * follow: stick to the bottom; keep: restore the distance from the
   * bottom (after older messages were put on top); initial: scroll to the
   * first unread message, or the bottom.
   */
  function render({ follow = false, keep = null, initial = false } = {}) {
    const room = app.rooms.get(app.current);
    if (!room) return;
    const sc = $('#scroller');
    const wasBottom = atBottom(sc);
    const items = timelineItems({
      msgs: room.sorted().slice(),
      pending: [...room.pending.values()],
      me: session.user,
      divider: room.divider,
      seenBy: (seq) => room.seenBy(seq),
      system: app.moderation.lines(room.id),
    });
    const keys = new Set();
    const nodes = items.map((it) => cached(room, keys, it.key, it.sig, () => build(room, it)));
    for (const k of [...room.nodes.keys()]) if (!keys.has(k)) room.nodes.delete(k);
    reconcile($('#messages'), nodes);
    app.history.setStatus(room);

    if (keep !== null) {
      sc.scrollTop = sc.scrollHeight - keep;
    } else if (initial) {
      const div = $('#new-divider');
      if (div) sc.scrollTop = Math.max(0, div.offsetTop - sc.offsetTop - 60);
      else sc.scrollTop = sc.scrollHeight;
    } else if (follow || wasBottom) {
      sc.scrollTop = sc.scrollHeight;
    }
    // Not enough to fill the screen: fetch more history.
    if (room.historyLoaded && !room.noOlder && sc.scrollHeight <= sc.clientHeight + 50) app.history.loadOlder(room);
    updateJump();
  }

  function build(room, it) {
    switch (it.kind) {
      case 'system':
        return el('li.system', { text: it.text });
      case 'day':
        return el('li.day', { text: it.text });
      case 'divider':
        return el('li.divider', { id: 'new-divider', text: 'New messages' });
      case 'pending':
        return pendingNode(room, it.msg, it.head);
      case 'receipt':
        return el('li.receipt', { text: it.text });
      default: {
        const li = messageNode(room, it.msg, it.head);
        // A message that mentions the reader stands out.
        if (room.mentionsMe(it.msg)) li.classList.add('mentions-me');
        return li;
      }
    }
  }

  function cached(room, keys, key, sig, make) {
    keys.add(key);
    let c = room.nodes.get(key);
    if (!c || c.sig !== sig) {
      c = { node: make(), sig };
      room.nodes.set(key, c);
    }
    return c.node;
  }

  const textNodes = (text) => renderText(text, { me: session.user });

  function messageNode(room, m, head) {
    const d = new Date(m.ts);
    const full = d.toLocaleString();
    const li = el(`li.msg${head ? '.head' : ''}${m.from === session.user ? '.mine' : ''}`, { dataset: { seq: m.seq, from: m.from, room: room.id } });
    if (head) {
      li.append(userAvatar(m.from));
      li.append(el('div.msg-meta', {}, el('span.msg-from', { text: m.from }), el('time.msg-time', { datetime: m.ts, title: full, text: fmt.timeLabel(d) })));
    } else {
      li.append(el('span.msg-gutter', {}, el('time', { datetime: m.ts, title: full, text: fmt.timeLabel(d) })));
    }
    li.append(el('div.msg-text', {}, textNodes(m.text)));
    app.reading.observe(li);
    return li;
  }

  function pendingNode(room, p, head) {
    const li = el(`li.msg.mine.${p.status === 'failed' ? 'failed' : 'pending'}${head ? '.head' : ''}`, { dataset: { cid: p.cid, from: session.user } });
    if (head) {
      li.append(userAvatar(session.user));
      li.append(el('div.msg-meta', {}, el('span.msg-from', { text: session.user }), el('span.msg-time', { text: 'now' })));
    } else {
      li.append(el('span.msg-gutter'));
    }
    li.append(el('div.msg-text', {}, textNodes(p.text)));
    const status = el('div.msg-status');
    if (p.status === 'failed') {
      status.append(
        `Not sent${p.error ? ` (${p.error})` : ''}.`,
        el('button.retry', { type: 'button', text: 'Retry', onclick: () => app.composer.retry(room, p.cid) }),
        el('button.discard', { type: 'button', text: 'Delete', onclick: () => app.composer.discard(room, p.cid) }),
      );
    } else {
      status.append(app.client.state === State.CONNECTED ? 'Sending…' : 'Waiting for connection…');
    }
    li.append(status);
    return li;
  }

  function updateJump() {
    const room = app.rooms.get(app.current);
    const jump = $('#jump');
    if (!room) return;
    const sc = $('#scroller');
    const far = sc.scrollHeight - sc.scrollTop - sc.clientHeight > sc.clientHeight;
    const below = room.unread();
    jump.hidden = !(far || (below > 0 && !atBottom(sc)));
    $('#jump-text').textContent = below > 0 && !atBottom(sc) ? `${below} new message${below > 1 ? 's' : ''}` : 'Jump to latest';
  }

  function wire() {
    const sc = $('#scroller');
    sc.addEventListener('scroll', () => {
      const room = app.rooms.get(app.current);
      if (room && sc.scrollTop < 300) app.history.loadOlder(room);
      updateJump();
    });
    $('#jump').addEventListener('click', () => {
      sc.scrollTo({ top: sc.scrollHeight, behavior: matchMedia('(prefers-reduced-motion: reduce)').matches ? 'auto' : 'smooth' });
      $('#composer').focus();
    });
  }

  return { render, updateJump, wire };
}
