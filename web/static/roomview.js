// roomview.js: the open room: opening and closing it (one pane at a time
// on phones), its header (name, kind, owner, who is online) and the typing
// line. The timeline and the composer under it have modules of their own.
import * as fmt from './format.js';
import { $, el, roomAvatar, wideScreen } from './dom.js';

export function roomView(app) {
  function open(id, { focus = true } = {}) {
    const room = app.rooms.get(id);
    if (!room) return;
    if (app.current && app.current !== id) app.composer.saveDraft(app.current);
    const changed = app.current !== id;
    app.current = id;
    app.store.set(app.store.key('last'), id);
    $('#welcome').hidden = true;
    $('#room-view').hidden = false;
    $('#app').classList.add('show-chat');
    if (changed) {
      app.suggest.close();
      app.reading.clear();
      room.divider = room.unread() > 0 ? room.read : null;
      $('#messages').replaceChildren();
      app.composer.show(room);
    }
    renderHeader();
    app.list.render();
    renderTyping();
    app.timeline.render({ initial: true });
    if (!room.historyLoaded) app.history.loadLatest(room);
    if (!room.members) app.history.loadMembers(room);
    app.moderation.open(id, room.kind);
    app.composer.renderModNotice();
    if (focus && wideScreen()) $('#composer').focus();
  }

  function close() {
    app.current = null;
    $('#room-view').hidden = true;
    $('#welcome').hidden = false;
    $('#app').classList.remove('show-chat');
    app.list.render();
  }

  function renderHeader() {
    const room = app.rooms.get(app.current);
    if (!room) return;
    const av = roomAvatar(room);
    av.id = 'room-avatar';
    $('#room-avatar').replaceWith(av);
    $('#room-title').textContent = room.kind === 'dm' ? room.name : `#${room.name}`;
    // Each part a span of its own, so that a phone can leave the owner out.
    $('#room-subtitle').replaceChildren(...roomSubtitle(room).map((p, i) => el(`span.sub-${p.part}`, { text: (i ? ' · ' : '') + p.text })));
    $('#members-button').hidden = false;
  }

  function renderTyping() {
    const room = app.rooms.get(app.current);
    $('#typing').textContent = room ? fmt.typingText([...room.typing.keys()]) : '';
  }

  function wire() {
    // Back to the room list (phones).
    $('#back').addEventListener('click', () => {
      app.composer.saveDraft(app.current);
      $('#app').classList.remove('show-chat');
      app.current = null;
      app.list.render();
    });
  }

  return { open, close, renderHeader, renderTyping, wire };
}

/** roomSubtitle is the line under the room's name, in parts: a DM peer's
 * presence, or the room's kind, owner and how many are online. */
export function roomSubtitle(room) {
  if (room.kind === 'dm') return [{ part: 'online', text: room.peer && room.online.has(room.peer) ? 'Online' : 'Offline' }];
  return [
    { part: 'kind', text: room.kind === 'private' ? 'Private room' : 'Public room' },
    room.owner ? { part: 'owner', text: `created by ${room.owner}` } : null,
    { part: 'online', text: `${room.online.size} online` },
  ].filter(Boolean);
}
