// dialogs.js: the dialogs that start a conversation: create a room (public,
// or private with people added at once), browse and search public rooms,
// and a direct message with a username. openDialog and wireDialog are
// shared with the other dialogs (members, account).
import * as fmt from './format.js';
import { $, el, icon, showError, toast } from './dom.js';
import { human } from './human.js';

export function openDialog(d) {
  for (const p of d.querySelectorAll('.error')) showError(p, '');
  d.showModal();
}

export function wireDialog(d) {
  for (const b of d.querySelectorAll('.cancel')) b.addEventListener('click', () => d.close());
}

export function dialogs(app) {
  const { session } = app;
  let browseTimer = 0;

  function wireNewRoom() {
    const d = $('#new-room-dialog');
    const form = $('#new-room-form');
    wireDialog(d);
    $('#new-room-button').addEventListener('click', () => {
      openDialog(d);
      $('#new-room-name').focus();
    });
    form.addEventListener('change', () => {
      $('#new-room-members-field').hidden = form.kind.value !== 'private';
    });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const name = $('#new-room-name').value.trim();
      const kind = form.kind.value;
      const err = form.querySelector('.error');
      if (!fmt.validID(name) || name.startsWith('dm-')) {
        showError(err, 'A room name is 1 to 64 letters, digits, _ or - (and does not start with dm-).');
        return;
      }
      const people = kind === 'private' ? $('#new-room-members').value.split(/[\s,]+/).filter(Boolean) : [];
      const bad = people.find((u) => !fmt.validID(u));
      if (bad) {
        showError(err, `"${bad}" is not a valid username.`);
        return;
      }
      try {
        await app.client.create(name, kind);
        for (const u of people) if (u !== session.user) await app.client.add(name, u);
      } catch (ex) {
        showError(err, ex.code === 'conflict' ? 'A room with that name already exists.' : human(ex));
        return;
      }
      d.close();
      form.reset();
      $('#new-room-members-field').hidden = true;
      if (!app.rooms.has(name)) {
        app.joined.ensure(name, kind).touched = Date.now();
        // A new room has nothing before now.
        app.client.join(name, { after: 0 }).then(
          () => app.view.open(name),
          (ex) => toast(human(ex)),
        );
      } else {
        app.view.open(name);
      }
      app.list.render();
    });
  }

  function wireBrowse() {
    const d = $('#browse-dialog');
    wireDialog(d);
    $('#browse-button').addEventListener('click', () => {
      openDialog(d);
      searchRooms();
    });
    $('#browse-search').addEventListener('input', () => {
      clearTimeout(browseTimer);
      browseTimer = setTimeout(searchRooms, 200);
    });
  }

  async function searchRooms() {
    const d = $('#browse-dialog');
    const q = $('#browse-search').value.trim();
    const ul = $('#browse-results');
    let list;
    try {
      list = await app.api.publicRooms(q, 50);
    } catch (e) {
      showError(d.querySelector('.error'), human(e));
      return;
    }
    showError(d.querySelector('.error'), '');
    if (!list.length) {
      ul.replaceChildren(el('li.small', { text: q ? `No public room starts with "${q}".` : 'There are no public rooms yet. Create one!' }));
      return;
    }
    ul.replaceChildren(
      ...list.map((r) => {
        const member = app.rooms.has(r.id);
        return el(
          'li',
          {},
          el('span.avatar.room-icon', { 'aria-hidden': 'true' }, icon('hash')),
          el('span.grow', {}, el('strong', { text: r.id }), el('br'), el('span.small', { text: r.owner ? `created by ${r.owner}` : '' })),
          el('button' + (member ? '' : '.primary'), {
            type: 'button',
            text: member ? 'Open' : 'Join',
            'aria-label': `${member ? 'Open' : 'Join'} ${r.id}`,
            onclick: () => {
              d.close();
              if (member) app.view.open(r.id);
              else app.joined.joinNew(r.id, { open: true, kind: 'public' });
            },
          }),
        );
      }),
    );
  }

  function wireNewDM() {
    const d = $('#new-dm-dialog');
    const form = $('#new-dm-form');
    wireDialog(d);
    $('#new-dm-button').addEventListener('click', () => openDialog(d));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const user = $('#new-dm-user').value.trim();
      const err = form.querySelector('.error');
      if (!fmt.validID(user)) {
        showError(err, 'That is not a valid username.');
        return;
      }
      if (user === session.user) {
        showError(err, 'Pick someone other than yourself.');
        return;
      }
      let r;
      try {
        r = await app.client.dm(user);
      } catch (ex) {
        showError(err, human(ex));
        return;
      }
      d.close();
      form.reset();
      if (app.rooms.has(r.room)) {
        app.view.open(r.room);
        return;
      }
      app.joined.ensure(r.room, 'dm').users = [session.user, user].sort();
      app.joined.joinNew(r.room, { open: true, kind: 'dm' });
    });
  }

  return {
    wire() {
      wireNewRoom();
      wireBrowse();
      wireNewDM();
    },
  };
}
