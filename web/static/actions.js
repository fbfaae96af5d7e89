// actions.js: what can be done to a message, from the toolbar that shows
// over the message under the pointer or with the keyboard focus (in the
// timeline and the thread panel): react, reply, reply in a thread, edit
// (mine), delete (mine; anyone's for the room's owner and admins), and
// toggling a reaction from the row under a message.
//
// Keyboard: ↑/↓ in the conversation move the focus from message to
// message; the focused message shows the toolbar, Tab enters it, Escape
// goes back to the composer.
import { $, el, icon, toast } from './dom.js';
import { human } from './human.js';
import { openDialog } from './dialogs.js';
import { openEmojiPicker } from './emojipicker.js';

/** QUICK_REACTIONS are offered at once by the toolbar's React button. */
export const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '😢', '👀', '✅'];

/** mayDelete mirrors the server's rule: my own message, or anyone's for
 * the room's owner and admins (not in DMs). */
export function mayDelete(me, m, role, kind) {
  if (m.from === me) return true;
  return kind !== 'dm' && (role === 'owner' || role === 'admin');
}

export function actions(app) {
  const { session } = app;
  const toolbar = el('div.msg-actions', { id: 'msg-actions', role: 'toolbar', 'aria-label': 'Message actions' });
  const reactMenu = el('div.react-menu', { id: 'react-menu', role: 'group', 'aria-label': 'Pick a reaction', hidden: true });
  const busy = new Set(); // room/seq/emoji toggles in flight
  let deleting = null; // {room, m}
  let keyboardAt = null; // the message the keyboard moved to: hovering others leaves the toolbar on it

  function target(li) {
    const room = app.rooms.get(li.dataset.room);
    const m = room && room.msgs.get(Number(li.dataset.seq));
    return room && m ? { room, m } : null;
  }

  function button(action, label, iconName, onclick) {
    return el('button.icon-button', { type: 'button', dataset: { action }, 'aria-label': label, title: label, tabindex: '-1', onclick }, icon(iconName));
  }

  // attach puts the toolbar on li, with the actions m allows.
  function attach(li) {
    if (toolbar.parentNode === li) return;
    const t = target(li);
    if (!t || t.m.deleted) return detach();
    const { room, m } = t;
    const inPanel = !!li.closest('#thread-panel');
    const mine = m.from === session.user;
    const role = app.moderation.role(room.id, session.user);
    const buttons = [button('react', 'Add a reaction', 'smile', () => openReactions(li))];
    if (!inPanel) buttons.push(button('reply', 'Reply', 'reply', () => app.replying.start(room, m)));
    if (!inPanel && !m.thread) buttons.push(button('thread', 'Reply in thread', 'thread', () => app.thread.open(room, m.seq, { focus: true })));
    if (mine) buttons.push(button('edit', 'Edit', 'edit', () => app.editing.start(room, m)));
    if (mayDelete(session.user, m, role, room.kind)) buttons.push(button('delete', 'Delete', 'trash', () => askDelete(room, m)));
    toolbar.replaceChildren(...buttons);
    closeReactions();
    // First, so that Tab from the message reaches it before the links and
    // buttons in the message (it is placed over the message's corner).
    li.prepend(toolbar);
    tabbable(li.contains(document.activeElement));
  }

  function detach() {
    closeReactions();
    toolbar.remove();
  }

  // tabbable lets Tab reach the toolbar's buttons only while its message
  // has the focus, so the conversation is not hundreds of tab stops.
  function tabbable(on) {
    for (const b of toolbar.querySelectorAll('button')) b.tabIndex = on ? 0 : -1;
  }

  function openReactions(li) {
    const t = target(li);
    if (!t) return;
    reactMenu.replaceChildren(
      ...QUICK_REACTIONS.map((e) =>
        el('button.react-choice', {
          type: 'button',
          dataset: { emoji: e },
          'aria-label': `React with ${e}`,
          text: e,
          onclick: () => {
            closeReactions();
            toggleReaction(t.room, t.m, e);
            li.focus();
          },
        }),
      ),
      el('button.react-more', {
        type: 'button',
        text: 'More…',
        'aria-label': 'More emoji',
        onclick: () => {
          closeReactions();
          openEmojiPicker(li, ({ emoji }) => toggleReaction(t.room, t.m, emoji));
        },
      }),
    );
    reactMenu.hidden = false;
    li.append(reactMenu);
    reactMenu.querySelector('button').focus();
  }

  function closeReactions() {
    reactMenu.hidden = true;
    reactMenu.remove();
  }

  /** toggleReaction adds my emoji to m, or takes it away if it is there. */
  function toggleReaction(room, m, emoji) {
    const key = `${room.id}/${m.seq}/${emoji}`;
    if (busy.has(key)) return;
    const mine = !!(m.reactions || []).find((r) => r.emoji === emoji && r.users.includes(session.user));
    busy.add(key);
    app.client.react(room.id, m.seq, emoji, { remove: mine }).done.then(
      () => busy.delete(key),
      (err) => {
        busy.delete(key);
        toast(err.code === 'quota_exceeded' ? 'This message has as many reactions as it can take.' : `Your reaction was not saved: ${human(err)}`);
      },
    );
  }

  function askDelete(room, m) {
    deleting = { room, m };
    const d = $('#delete-dialog');
    $('#delete-preview').textContent = m.text;
    $('#delete-note').textContent = m.from === session.user ? 'Everyone in the room will see "message deleted" in its place.' : `This deletes ${m.from}'s message for everyone in the room.`;
    openDialog(d);
    $('#delete-confirm').focus();
  }

  async function confirmDelete() {
    const d = $('#delete-dialog');
    if (!deleting) return d.close();
    const { room, m } = deleting;
    deleting = null;
    d.close();
    try {
      await app.client.delete(room.id, m.seq).done;
    } catch (err) {
      toast(err.code === 'not_found' ? 'That message was deleted already.' : `The message was not deleted: ${human(err)}`);
    }
  }

  // move focuses the message before (up) or after the focused one.
  function move(from, up) {
    const list = from.closest('ol');
    if (!list) return;
    const all = [...list.querySelectorAll('li.msg[data-seq]')];
    const i = all.indexOf(from);
    focusMsg(all[i < 0 ? all.length - 1 : i + (up ? -1 : 1)]);
  }

  function focusMsg(li) {
    if (!li) return;
    keyboardAt = li;
    li.focus();
    li.scrollIntoView({ block: 'nearest' });
  }

  function wireList(list, composer) {
    list.addEventListener('mouseover', (e) => {
      const li = e.target.closest('li.msg[data-seq]');
      // Not while the keyboard works on a message, its toolbar or the
      // reactions: the pointer passing by must not take them away.
      if (!li || !reactMenu.hidden || toolbar.contains(document.activeElement)) return;
      if (keyboardAt && keyboardAt.contains(document.activeElement)) return;
      attach(li);
    });
    list.addEventListener('focusin', (e) => {
      const li = e.target.closest('li.msg[data-seq]');
      if (!li) return;
      attach(li);
      tabbable(true);
    });
    list.addEventListener('focusout', (e) => {
      const li = e.target.closest('li.msg[data-seq]');
      if (li && !li.contains(e.relatedTarget)) tabbable(false);
    });
    list.addEventListener('keydown', (e) => {
      const li = e.target.closest('li.msg[data-seq]');
      if (!li) return;
      if (e.key === 'Escape') {
        e.preventDefault();
        if (!reactMenu.hidden) {
          closeReactions();
          li.focus();
        } else $(composer)?.focus();
      } else if ((e.key === 'ArrowUp' || e.key === 'ArrowDown') && e.target === li) {
        e.preventDefault();
        move(li, e.key === 'ArrowUp');
      }
    });
  }

  function wire() {
    wireList($('#messages'), '#composer');
    wireList($('#thread-messages'), '#thread-composer');
    // From the scroller itself, ↑ starts at the newest message.
    $('#scroller').addEventListener('keydown', (e) => {
      if (e.target !== $('#scroller') || e.key !== 'ArrowUp') return;
      const all = document.querySelectorAll('#messages li.msg[data-seq]');
      if (!all.length) return;
      e.preventDefault();
      focusMsg(all[all.length - 1]);
    });
    document.addEventListener('pointerdown', (e) => {
      keyboardAt = null;
      if (!reactMenu.hidden && !reactMenu.contains(e.target)) closeReactions();
    });
    $('#delete-confirm').addEventListener('click', confirmDelete);
    for (const b of $('#delete-dialog').querySelectorAll('.cancel')) b.addEventListener('click', () => $('#delete-dialog').close());
  }

  return { toggleReaction, askDelete, attach, detach, focusMsg, wire };
}
