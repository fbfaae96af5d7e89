// suggest.js: help while typing in the composer: a list of suggestions
// under the caret's word for @mentions (the room's members) and
// :shortcodes: (the emoji table), chosen with ↑/↓ and Enter or Tab (Escape
// closes it), and the emoji button that opens the picker and inserts its
// emoji at the caret. What to suggest is completion.js.
import { $, el, icon, userAvatar } from './dom.js';
import { tokenAt, suggestions, complete } from './completion.js';
import { openEmojiPicker } from './emojipicker.js';

export function suggest(app) {
  let token = null;
  let items = [];
  let active = 0;
  let took = null; // the last key the list took (not the composer's)

  const box = () => $('#composer');
  const list = () => $('#suggestions');

  // users are the people who can be mentioned in the open room.
  function users() {
    const room = app.rooms.get(app.current);
    if (!room) return [];
    return [...(room.members ? room.members.keys() : []), ...room.users, ...room.online];
  }

  function update() {
    const b = box();
    token = b.selectionStart === b.selectionEnd ? tokenAt(b.value, b.selectionStart) : null;
    items = suggestions(token, { users: users(), me: app.session.user });
    active = 0;
    render();
  }

  function render() {
    const ul = list();
    const b = box();
    if (!items.length) {
      ul.hidden = true;
      ul.replaceChildren();
      b.removeAttribute('aria-activedescendant');
      return;
    }
    ul.setAttribute('aria-label', token.kind === 'emoji' ? 'Emoji' : 'People');
    ul.replaceChildren(
      ...items.map((s, i) =>
        el(
          'li.suggestion',
          {
            id: `suggestion-${i}`,
            role: 'option',
            'aria-selected': String(i === active),
            dataset: { key: s.key },
            onmousedown: (e) => e.preventDefault(),
            onclick: () => choose(i),
          },
          s.emoji ? el('span.emoji', { 'aria-hidden': 'true', text: s.emoji }) : null,
          s.user ? userAvatar(s.user) : null,
          el('span.suggestion-label', { text: s.label }),
          s.note ? el('span.small', { text: s.note }) : null,
        ),
      ),
    );
    ul.hidden = false;
    b.setAttribute('aria-activedescendant', `suggestion-${active}`);
  }

  function choose(i) {
    const s = items[i];
    if (!s || !token) return;
    insertAt(token, s.insert);
    close();
  }

  // insertAt puts text in place of the token (or at the caret) as typing
  // would, so that the draft, the typing indicator and autosize follow.
  function insertAt(tok, text) {
    const b = box();
    const { value, caret } = complete(b.value, tok, text);
    b.value = value;
    b.setSelectionRange(caret, caret);
    b.dispatchEvent(new Event('input', { bubbles: true }));
    b.focus();
  }

  function close() {
    items = [];
    token = null;
    render();
  }

  function keydown(e) {
    took = null;
    if (list().hidden || !items.length || e.isComposing) return;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      active = (active + (e.key === 'ArrowDown' ? 1 : -1) + items.length) % items.length;
    } else if (e.key === 'Enter' || e.key === 'Tab') {
      if (e.shiftKey) return;
      choose(active);
    } else if (e.key === 'Escape') {
      close();
    } else {
      return;
    }
    // Handled here: the composer's own keys (Enter sends) do not see it.
    took = e.key;
    e.preventDefault();
    e.stopImmediatePropagation();
    if (items.length) render();
  }

  function wire() {
    const b = box();
    const ul = el('ul.suggestions', { id: 'suggestions', role: 'listbox', hidden: true });
    $('#composer-form').prepend(ul);
    b.setAttribute('aria-autocomplete', 'list');
    b.setAttribute('aria-controls', 'suggestions');
    // Capture: before the composer's keydown, whatever the wiring order.
    $('#composer-form').addEventListener('keydown', keydown, true);
    // The Enter that chose a suggestion must not also break the line,
    // even where the line break comes apart from the key event.
    b.addEventListener('beforeinput', (e) => {
      if (took === 'Enter' && (e.inputType === 'insertLineBreak' || e.inputType === 'insertParagraph')) e.preventDefault();
    });
    b.addEventListener('input', update);
    b.addEventListener('click', update);
    b.addEventListener('blur', close);

    const button = $('#emoji-button');
    button.append(icon('smile'));
    button.addEventListener('click', () => {
      const at = { start: b.selectionStart, end: b.selectionEnd };
      openEmojiPicker(button, (e) => insertAt(at, e.emoji));
    });
  }

  return { wire, close };
}
