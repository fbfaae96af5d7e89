// topic.js: a room's topic and display name: shown in the header, changed
// by the room's owner and admins in a dialog (the topic op), followed live
// from the room's topic records and the rooms list.
import { $, showError } from './dom.js';
import { openDialog, wireDialog } from './dialogs.js';
import { human } from './human.js';

/** mayEditTopic mirrors the server's rule: the owner and admins, not in
 * DMs. */
export function mayEditTopic(room, role) {
  return room.kind !== 'dm' && (role === 'owner' || role === 'admin');
}

export function topic(app) {
  const { session } = app;

  /** render shows room's topic and the edit button in the header. */
  function render(room) {
    const line = $('#room-topic');
    line.textContent = room.topic || '';
    line.title = room.topic || '';
    line.hidden = !room.topic;
    const role = room.owner === session.user ? 'owner' : app.moderation.role(room.id, session.user);
    $('#topic-button').hidden = !mayEditTopic(room, role);
  }

  function edit() {
    const room = app.rooms.get(app.current);
    if (!room) return;
    const d = $('#topic-dialog');
    $('#topic-name').value = room.displayName || '';
    $('#topic-name').placeholder = room.id;
    $('#topic-text').value = room.topic || '';
    d.dataset.room = room.id;
    openDialog(d);
    $('#topic-text').focus();
  }

  async function save(e) {
    e.preventDefault();
    const d = $('#topic-dialog');
    const room = app.rooms.get(d.dataset.room);
    const err = d.querySelector('.error');
    if (!room) return d.close();
    const name = $('#topic-name').value.trim();
    const text = $('#topic-text').value.trim();
    const change = {};
    if (name !== (room.displayName || '')) change.name = name;
    if (text !== (room.topic || '')) change.topic = text;
    if (!Object.keys(change).length) return d.close();
    const submit = d.querySelector('button[type="submit"]');
    submit.disabled = true;
    try {
      await app.client.topic(room.id, change).done;
      // The record may come a moment after the ack: show it now.
      room.setTopic(change);
      changed(room);
      d.close();
    } catch (ex) {
      showError(err, ex.code === 'forbidden' ? 'Only the room’s owner and admins can change this.' : human(ex));
    } finally {
      submit.disabled = false;
    }
  }

  /** changed redraws what shows room's topic and name. */
  function changed(room) {
    app.list.render();
    app.thread.render();
    if (app.current === room.id) {
      app.view.renderHeader();
      app.composer.show(room);
    }
  }

  function wire() {
    $('#topic-button').addEventListener('click', edit);
    wireDialog($('#topic-dialog'));
    $('#topic-form').addEventListener('submit', save);
  }

  return { render, changed, wire };
}
