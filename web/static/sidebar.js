// sidebar.js: the room list: every room, newest activity first, with its
// unread count and a preview of the last message; the filter box
// (Ctrl/⌘+K), Alt+↑/↓ between rooms, and the page title's unread total.
// The pure parts (order, labels, preview, next room) are unit-tested in
// web/test/sidebar.test.mjs.
import * as fmt from './format.js';
import { $, el, roomAvatar } from './dom.js';
import { coalesced } from './coalesce.js';
import { readable } from './richtext.js';

/** byActivity orders rooms newest activity first, then by name. */
export const byActivity = (a, b) => b.activity() - a.activity() || a.name.localeCompare(b.name);

/** roomKind is what a screen reader hears before a room row's name; the
 * row's accessible name is its visible text with this in front (an
 * aria-label would have to repeat the visible text to match it). */
export function roomKind(room) {
  return room.kind === 'dm' ? 'Conversation with ' : room.kind === 'private' ? 'Private room ' : 'Room ';
}

// The list is drawn again on every message: the previews' parsed text is
// kept, by text, for the texts seen lately.
const readableCache = new Map();
function readableOf(text) {
  let r = readableCache.get(text);
  if (r === undefined) {
    if (readableCache.size >= 500) readableCache.clear();
    r = readable(text);
    readableCache.set(text, r);
  }
  return r;
}

/** roomPreview is the line under a room's name: the last message as it
 * reads, markup gone. */
export function roomPreview(room, me) {
  const last = room.lastMsg;
  if (!last) return room.kind === 'dm' ? 'Say hello' : 'No messages yet';
  return `${last.from === me ? 'You' : last.from}: ${fmt.preview(readableOf(last.text))}`;
}

/** nextRoom is the room after (or, up, before) current in ids, round. */
export function nextRoom(ids, current, up) {
  const i = ids.indexOf(current);
  return ids[(i + (up ? -1 : 1) + ids.length) % ids.length];
}

/** sidebar returns render, which redraws the list soon, once for a burst
 * of changes. Not with requestAnimationFrame: a background tab must still
 * update its title. */
export function sidebar(app) {
  function draw() {
    const ul = $('#rooms');
    const filter = $('#room-filter').value.trim().toLowerCase();
    const sorted = [...app.rooms.values()].sort(byActivity);
    const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.room : null;
    const items = [];
    let total = 0;
    for (const room of sorted) {
      const unread = room.unread();
      const mentions = unread ? room.mentions() : 0;
      total += unread;
      if (filter && !room.name.toLowerCase().includes(filter)) continue;
      const last = room.lastMsg;
      const button = el(
        `button.room${unread ? '.unread' : ''}`,
        {
          type: 'button',
          dataset: { room: room.id },
          'aria-current': app.current === room.id ? 'page' : null,
          onclick: () => app.view.open(room.id),
        },
        roomAvatar(room),
        el(
          'span.room-body',
          {},
          el(
            'span.room-top',
            {},
            el('span.room-name', {}, el('span.visually-hidden', { text: roomKind(room) }), room.name),
            last ? el('time.room-when', { datetime: last.ts, text: fmt.shortWhen(new Date(last.ts)) }) : null,
          ),
          el(
            'span.room-bottom',
            {},
            el('span.room-preview', { text: roomPreview(room, app.session.user) }),
            mentions ? [el('span.badge.mention-count', { text: '@' + (mentions > 99 ? '99+' : String(mentions)) }), el('span.visually-hidden', { text: mentions > 1 ? ' mentions' : ' mention' })] : null,
            unread ? [el('span.badge.unread-count', { text: unread > 99 ? '99+' : String(unread) }), el('span.visually-hidden', { text: ' unread' })] : null,
          ),
        ),
      );
      items.push(el('li', {}, button));
    }
    ul.replaceChildren(...items);
    $('#rooms-empty').hidden = app.rooms.size > 0;
    if (focused) ul.querySelector(`[data-room="${CSS.escape(focused)}"]`)?.focus();
    const cur = app.current && app.rooms.get(app.current);
    document.title = (total ? `(${total}) ` : '') + (cur ? `${cur.kind === 'dm' ? '' : '#'}${cur.name} · ` : '') + 'Natter';
  }

  const render = coalesced(draw, 16);

  function wire() {
    $('#room-filter').addEventListener('input', render);
    document.addEventListener('keydown', (e) => {
      // Alt+Up / Alt+Down: previous / next room in the list.
      if (e.altKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown')) {
        const ids = [...document.querySelectorAll('#rooms .room')].map((b) => b.dataset.room);
        if (!ids.length) return;
        e.preventDefault();
        app.view.open(nextRoom(ids, app.current, e.key === 'ArrowUp'));
      }
      // Ctrl+K / Cmd+K: find a room.
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'k') {
        e.preventDefault();
        $('#room-filter').focus();
      }
    });
  }

  return { render, wire };
}
