// changes.js: the change records of the rooms' streams into the rooms'
// state: edits, deletions and reactions onto the messages they target
// (kept for later when the message is not loaded), topic records onto the
// room, and thread replies into the open thread. Then the views that show
// them are redrawn.
export function changes(app) {
  const { client } = app;

  function redraw(room) {
    app.list.render();
    if (app.current === room.id) app.timeline.render();
    app.thread.render();
    app.replying.render();
  }

  for (const kind of ['edit', 'delete', 'react']) {
    client.on(kind, (rec) => {
      const room = app.rooms.get(rec.room);
      if (!room) return;
      const m = room.apply(rec);
      if (!m) return;
      if (m.deleted && app.editing.isEditing(room, m.seq)) app.editing.cancel({ focus: false });
      redraw(room);
    });
  }
  client.on('topic', (rec) => {
    const room = app.rooms.get(rec.room);
    if (!room) return;
    room.setTopic(rec);
    app.topic.changed(room);
  });
  client.on('joined', (ev) => {
    const room = app.rooms.get(ev.room);
    if (room && (typeof ev.topic === 'string' || typeof ev.name === 'string')) {
      room.setTopic(ev);
      app.topic.changed(room);
    }
  });
  // A thread reply: into the open thread (events.js keeps it in the room
  // and redraws the timeline, where its root's summary changed).
  client.on('message', (m) => {
    const t = app.thread.current();
    // After events.js has kept it (its listener may come after this one).
    if (t && t.room === m.room && (m.thread === t.root || m.seq === t.root)) queueMicrotask(() => app.thread.render());
  });
}
