// editing.js: editing one's own message in place. The message's text
// gives way to a text box (Enter saves, Shift+Enter adds a line, Escape
// cancels); ↑ in an empty composer edits my last message. Until the
// server has stored the edit the message shows the new text as
// "(saving…)"; a refused edit puts the old text back and says why.
import { $, el, toast } from './dom.js';
import { human } from './human.js';
import { cleanText } from './composer.js';

export function editing(app) {
  const { session } = app;
  let state = null; // {room, seq, node, box}

  const isEditing = (room, seq) => !!state && state.room === room.id && state.seq === seq;

  /** editor is the editing box for m, or null when m is not being edited.
   * The same node is reused across re-renders, keeping text and focus. */
  function editor(room, m) {
    if (!isEditing(room, m.seq)) return null;
    if (document.activeElement === state.box) {
      const box = state.box;
      queueMicrotask(() => box.isConnected && box.focus());
    }
    return state.node;
  }

  function redraw(room) {
    if (app.current === room.id) app.timeline.render();
    app.thread.render();
  }

  /** start edits m, my message in room. */
  function start(room, m) {
    if (!m || m.from !== session.user || m.deleted) return;
    if (state) cancel({ focus: false });
    const box = el('textarea.edit-box', { rows: '1', 'aria-label': 'Edit your message', spellcheck: 'true' });
    box.value = m.text;
    const error = el('p.error.edit-error', { role: 'alert', hidden: true });
    const node = el(
      'div.msg-edit',
      {},
      box,
      el(
        'div.edit-help',
        {},
        el('span', { text: 'Enter to save · Esc to cancel' }),
        el('button.link-button', { type: 'button', text: 'Cancel', onclick: () => cancel() }),
        el('button.link-button.edit-save', { type: 'button', text: 'Save', onclick: () => save() }),
      ),
      error,
    );
    box.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        save();
      } else if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation();
        cancel();
      }
    });
    box.addEventListener('input', () => autosize(box));
    state = { room: room.id, seq: m.seq, node, box, error, thread: m.thread && !m.also_room };
    redraw(room);
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
    autosize(box);
  }

  function autosize(box) {
    box.style.height = 'auto';
    box.style.height = Math.min(box.scrollHeight, window.innerHeight * 0.4) + 'px';
  }

  /** cancel stops editing, and gives the focus back to the composer the
   * edit came from. */
  function cancel({ focus = true } = {}) {
    if (!state) return;
    const { room, thread } = state;
    state = null;
    const r = app.rooms.get(room);
    if (r) redraw(r);
    if (focus) (thread && app.thread.isOpen() ? $('#thread-composer') : $('#composer'))?.focus();
  }

  function save() {
    if (!state) return;
    const room = app.rooms.get(state.room);
    const m = room && room.msgs.get(state.seq);
    if (!m || m.deleted) return cancel();
    const text = cleanText(state.box.value);
    const max = app.client.limits?.max_text || 8192;
    const size = new TextEncoder().encode(text).length;
    if (!text.trim()) return fail('A message cannot be empty: delete it instead.');
    if (size > max) return fail(`That is too long (${size} bytes; the limit is ${max}).`);
    if (text === m.text) return cancel();
    m.saving = text;
    m.rev = (m.rev || 0) + 1;
    cancel();
    app.client.edit(room.id, m.seq, text).done.then(
      () => settled(room, m),
      (err) => {
        settled(room, m);
        toast(`Your edit was not saved: ${human(err)}`);
      },
    );
  }

  function settled(room, m) {
    delete m.saving;
    m.rev = (m.rev || 0) + 1;
    redraw(room);
  }

  function fail(text) {
    state.error.textContent = text;
    state.error.hidden = false;
  }

  /** editLast edits my last message of the open room; not while a send
   * is pending (that one is the last, and has no seq to edit yet). */
  function editLast() {
    const room = app.rooms.get(app.current);
    if (!room || room.pending.size) return false;
    const m = room.lastOwn();
    if (!m) return false;
    start(room, m);
    document.querySelector(`#messages [data-seq="${m.seq}"]`)?.scrollIntoView({ block: 'nearest' });
    return true;
  }

  function wire() {
    $('#composer').addEventListener('keydown', (e) => {
      if (e.key !== 'ArrowUp' || e.shiftKey || e.altKey || e.ctrlKey || e.metaKey || e.isComposing || e.defaultPrevented) return;
      if (e.target.value !== '') return;
      if (editLast()) e.preventDefault();
    });
  }

  return { isEditing, editor, start, cancel, editLast, wire };
}
