// edithistory.js: a message's edit history, opened from its "(edited)":
// its earlier texts, oldest first, and the current one, with their times,
// from GET /api/rooms/{room}/messages/{seq}. Text is text, never HTML.
import { $, el, showError } from './dom.js';
import { openDialog, wireDialog } from './dialogs.js';
import { human } from './human.js';

export function editHistory(app) {
  async function open(room, m) {
    const d = $('#edits-dialog');
    const list = $('#edits-list');
    list.replaceChildren(el('li.small', { text: 'Loading…' }));
    $('#edits-title').textContent = `Edits of ${m.from}'s message`;
    openDialog(d);
    let got;
    try {
      got = await app.api.message(room.id, m.seq);
    } catch (e) {
      list.replaceChildren();
      showError(d.querySelector('.error'), human(e));
      return;
    }
    const versions = [...(got.history || []), { text: got.text, ts: got.edited || got.ts, current: true }];
    list.replaceChildren(
      ...versions.map((v, i) =>
        el(
          'li',
          {},
          el('div.small', { text: `${i === 0 ? 'Sent' : 'Edited'} ${new Date(i === 0 ? got.ts : v.ts).toLocaleString()}${v.current && i > 0 ? ' · the text now' : ''}` }),
          el('div.edit-version', { text: got.deleted && v.current ? 'message deleted' : v.text }),
        ),
      ),
    );
  }

  function wire() {
    wireDialog($('#edits-dialog'));
  }

  return { open, wire };
}
