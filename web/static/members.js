// members.js: the members dialog of the open room: who is in it and
// online, adding and removing people (the owner of a private room), the
// moderation controls (moderation.js) and leaving the room.
import * as fmt from './format.js';
import { $, el, showError, toast, userAvatar } from './dom.js';
import { human } from './human.js';
import { openDialog, wireDialog } from './dialogs.js';

export function members(app) {
  const { session } = app;

  function wire() {
    const d = $('#members-dialog');
    wireDialog(d);
    d.addEventListener('close', () => (app.membersRoom = null));
    $('#members-button').addEventListener('click', () => {
      app.membersRoom = app.current;
      openDialog(d);
      load();
    });
    $('#add-member-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const user = $('#add-member-user').value.trim();
      const err = d.querySelector('.error');
      if (!fmt.validID(user)) {
        showError(err, 'That is not a valid username.');
        return;
      }
      let res;
      try {
        res = await app.client.add(app.membersRoom, user);
      } catch (ex) {
        showError(err, human(ex));
        return;
      }
      showError(err, '');
      $('#add-member-user').value = '';
      toast(res.invited ? `${user} was invited to ${app.membersRoom}.` : `${user} was added to ${app.membersRoom}.`);
      load();
    });
    $('#leave-room').addEventListener('click', async () => {
      const id = app.membersRoom;
      if (!id || !confirm(`Leave #${id}?`)) return;
      try {
        await app.client.part(id);
      } catch (ex) {
        showError(d.querySelector('.error'), human(ex));
        return;
      }
      d.close();
      app.joined.drop(id, `You left #${id}.`);
    });
  }

  async function load() {
    const room = app.rooms.get(app.membersRoom);
    if (!room) return;
    app.moderation.open(room.id, room.kind);
    try {
      const list = await app.api.members(room.id);
      room.members = new Map(list.map((m) => [m.user, m.read]));
    } catch (e) {
      showError($('#members-dialog .error'), human(e));
    }
    render();
  }

  function render() {
    const room = app.rooms.get(app.membersRoom);
    if (!room) return;
    const owner = room.kind === 'private' && room.owner === session.user;
    $('#members-title').textContent = room.kind === 'dm' ? `Conversation with ${room.name}` : `Members of #${room.name}`;
    $('#add-member-form').hidden = !owner;
    $('#leave-room').hidden = room.kind === 'dm';
    const users = [...(room.members || new Map()).keys()].sort();
    $('#members-list').replaceChildren(...users.map((u) => row(room, u, owner)));
    let panel = $('#mod-room');
    if (!panel) $('#members-list').after((panel = el('div', { id: 'mod-room' })));
    panel.replaceChildren(...[app.moderation.roomControls(room)].filter(Boolean));
  }

  function row(room, u, owner) {
    const on = room.online.has(u);
    return el(
      'li',
      { dataset: { user: u } },
      userAvatar(u, { online: on }),
      el('span.grow', {}, el('strong', { text: u }), u === session.user ? ' (you)' : '', el('br'), el('span.small', { text: (on ? 'Online' : 'Offline') + (u === room.owner ? ' · owner' : '') + app.moderation.badge(room.id, u) })),
      app.moderation.memberControls(room, u),
      owner && u !== session.user
        ? el('button.danger', {
            type: 'button',
            text: 'Remove',
            'aria-label': `Remove ${u}`,
            onclick: async () => {
              try {
                await app.client.remove(room.id, u);
                load();
              } catch (ex) {
                showError($('#members-dialog .error'), human(ex));
              }
            },
          })
        : null,
    );
  }

  return { wire, load, render };
}
