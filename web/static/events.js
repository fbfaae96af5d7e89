// events.js: what the server tells the page, into the rooms' state:
// messages, joins and resets, read receipts, presence, typing, membership
// and room events. Each handler updates the model, then asks the views
// that show it to redraw.
import { toast } from './dom.js';

// How long "bob is typing…" shows after his last typing event.
const TYPING_MS = 5000;

export function events(app) {
  const { client, session } = app;
  let wasConnected = false;
  const roomOf = (ev) => app.rooms.get(ev.room);
  const isOpen = (ev) => app.current === ev.room;

  client.on('state', () => app.conn.update());
  client.on('ready', (ev) => {
    if (ev.user !== session.user) location.reload();
    if (wasConnected) app.joined.refresh();
    wasConnected = true;
  });
  client.on('unauthorized', () => app.onUnauthorized());
  client.on('joined', (ev) => {
    const room = roomOf(ev);
    if (!room) return;
    room.kind = ev.kind;
    room.owner = ev.owner || null;
    if (ev.users) room.users = ev.users;
    room.online = new Set(ev.online || []);
    if (room.joinAfter === null || ev.reset) room.joinAfter = ev.after;
    app.list.render();
    if (isOpen(ev)) app.view.renderHeader();
  });
  client.on('reset', (ev) => {
    const room = roomOf(ev);
    if (!room) return;
    room.reset();
    room.joinAfter = null;
    if (isOpen(ev)) {
      app.timeline.render();
      app.history.loadLatest(room);
    }
  });
  client.on('message', onMessage);
  client.on('receipt', (ev) => {
    const room = roomOf(ev);
    if (!room) return;
    if (ev.user === session.user) {
      room.read = Math.max(room.read, ev.seq);
      app.list.render();
    } else {
      if (!room.members) room.members = new Map();
      room.members.set(ev.user, Math.max(room.members.get(ev.user) || 0, ev.seq));
    }
    if (isOpen(ev)) app.timeline.render();
  });
  client.on('presence', (ev) => {
    const room = roomOf(ev);
    if (!room) return;
    if (ev.status === 'online') room.online.add(ev.user);
    else room.online.delete(ev.user);
    app.list.render();
    if (isOpen(ev)) app.view.renderHeader();
    if (app.membersRoom === ev.room) app.members.render();
  });
  client.on('typing', (ev) => {
    const room = roomOf(ev);
    if (!room || ev.user === session.user) return;
    clearTimeout(room.typing.get(ev.user));
    room.typing.set(
      ev.user,
      setTimeout(() => {
        room.typing.delete(ev.user);
        if (isOpen(ev)) app.view.renderTyping();
      }, TYPING_MS),
    );
    if (isOpen(ev)) app.view.renderTyping();
  });
  client.on('member', (ev) => {
    const room = roomOf(ev);
    if (room && app.moderation.event(ev) && !['kicked', 'banned'].includes(ev.action)) return;
    if (!room || ev.user === session.user) return;
    if (room.members) {
      if (ev.action === 'added') room.members.set(ev.user, room.members.get(ev.user) || 0);
      else room.members.delete(ev.user);
    }
    if (app.membersRoom === ev.room) app.members.load();
  });
  client.on('left', (ev) => {
    // Removed by the owner, or left on another device.
    if (app.rooms.has(ev.room) && !client.position(ev.room)) app.joined.drop(ev.room, `You are no longer a member of ${roomOf(ev).name}.`);
  });
  client.on('room', (ev) => {
    if (ev.action === 'added' && !app.rooms.has(ev.room)) {
      app.joined.refresh();
      if (ev.kind === 'dm') toast(`${ev.from} started a conversation with you.`);
      else toast(`${ev.from} added you to ${ev.room}.`);
    } else if (ev.action === 'removed' && app.rooms.has(ev.room)) {
      app.joined.drop(ev.room, `${ev.from} removed you from ${ev.room}.`);
    }
  });
  client.on('error', (ev) => {
    if (ev.code === 'rate_limited') toast('You are sending too fast; slow down a little.');
  });

  function onMessage(m) {
    const room = app.rooms.get(m.room);
    if (!room) return;
    const fresh = !room.msgs.has(m.seq);
    if (!room.add(m)) return;
    if (room.typing.has(m.from)) {
      clearTimeout(room.typing.get(m.from));
      room.typing.delete(m.from);
    }
    if (m.from === session.user) app.composer.saveOutbox();
    app.list.render();
    if (app.current === m.room) {
      app.timeline.render({ follow: fresh && m.from === session.user });
      app.view.renderTyping();
    }
  }
}
