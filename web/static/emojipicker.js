// emojipicker.js: the emoji picker: a small popup by a button, with a
// search box over the built-in table (emoji.js) and the emoji in a grid.
// The composer opens it to insert an emoji, the reaction button to react:
// openEmojiPicker(anchor, onPick). Keyboard: type to search, arrows move,
// Enter picks, Escape closes; focus goes back to the anchor.
import { el } from './dom.js';
import { searchEmoji } from './emoji.js';

const COLUMNS = 8;
const SHOWN = 96;

let current = null; // the open picker: {close}

/**
 * openEmojiPicker shows the picker next to anchor and calls onPick with
 * {emoji, name} when one is chosen; the picker then closes. Opening it
 * another one closes the one that was open; opening it again from the same
 * anchor closes it (the button toggles it) and returns null.
 * @param {HTMLElement} anchor
 * @param {(e: {emoji: string, name: string}) => void} onPick
 * @returns {{close: () => void}|null}
 */
export function openEmojiPicker(anchor, onPick) {
  if (current) {
    const same = current.anchor === anchor;
    current.close();
    if (same) return null;
  }
  const search = el('input.emoji-search', {
    type: 'search',
    id: 'emoji-search',
    role: 'combobox',
    'aria-label': 'Search emoji',
    'aria-controls': 'emoji-grid',
    'aria-expanded': 'true',
    'aria-autocomplete': 'list',
    placeholder: 'Search emoji',
    autocomplete: 'off',
    spellcheck: 'false',
  });
  // tabindex: a list that scrolls must be reachable by keyboard.
  const grid = el('ul.emoji-grid', { id: 'emoji-grid', role: 'listbox', 'aria-label': 'Emoji', tabindex: '0' });
  const empty = el('p.emoji-empty', { text: 'No emoji found', hidden: true });
  const box = el('div.emoji-picker', { id: 'emoji-picker', role: 'dialog', 'aria-label': 'Emoji picker' }, search, grid, empty);
  let items = [];
  let active = 0;

  function fill() {
    items = searchEmoji(search.value, SHOWN);
    active = 0;
    grid.replaceChildren(
      ...items.map((e, i) =>
        el('li.emoji-option', {
          id: `emoji-opt-${i}`,
          role: 'option',
          'aria-label': e.name.replace(/_/g, ' '),
          title: `:${e.name}:`,
          dataset: { name: e.name },
          text: e.emoji,
          onmousedown: (ev) => ev.preventDefault(),
          onclick: () => pick(i),
        }),
      ),
    );
    empty.hidden = items.length > 0;
    mark();
  }

  function mark() {
    grid.querySelectorAll('[aria-selected="true"]').forEach((o) => o.setAttribute('aria-selected', 'false'));
    const o = grid.children[active];
    if (!o) {
      search.removeAttribute('aria-activedescendant');
      return;
    }
    o.setAttribute('aria-selected', 'true');
    search.setAttribute('aria-activedescendant', o.id);
    o.scrollIntoView({ block: 'nearest' });
  }

  function pick(i) {
    const e = items[i];
    if (!e) return;
    close();
    onPick({ emoji: e.emoji, name: e.name });
  }

  // close removes the picker; focus goes back to the anchor unless it
  // already went elsewhere (refocus false).
  function close(refocus = true) {
    if (current !== handle) return;
    current = null;
    box.remove();
    document.removeEventListener('mousedown', outside, true);
    window.removeEventListener('resize', reposition);
    if (refocus && anchor.isConnected) anchor.focus();
  }

  function outside(ev) {
    if (!box.contains(ev.target) && !anchor.contains(ev.target)) close(false);
  }

  let enter = false;
  search.addEventListener('input', fill);
  // Tabbing out of the picker closes it.
  box.addEventListener('focusout', (ev) => {
    if (ev.relatedTarget && !box.contains(ev.relatedTarget)) close(false);
  });
  // Keys work in the search box and in the grid alike.
  box.addEventListener('keyup', (ev) => {
    if (ev.key === 'Enter' && enter) pick(active);
    enter = false;
  });
  box.addEventListener('keydown', (ev) => {
    const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: COLUMNS, ArrowUp: -COLUMNS };
    if (moves[ev.key] !== undefined && items.length) {
      // Left and right move the caret in the search text while there is one.
      if ((ev.key === 'ArrowLeft' || ev.key === 'ArrowRight') && ev.target === search && search.value) return;
      ev.preventDefault();
      active = Math.max(0, Math.min(items.length - 1, active + moves[ev.key]));
      mark();
    } else if (ev.key === 'Enter') {
      // Picked when the key comes up: the key's character then lands in
      // the search box, not in what the focus moves to (the composer).
      ev.preventDefault();
      enter = true;
    } else if (ev.key === 'Escape') {
      ev.preventDefault();
      ev.stopPropagation();
      close();
    }
  });

  const handle = { close, anchor };
  current = handle;
  // In the open dialog (if any) so that it is above the backdrop and
  // reachable; else in the page.
  (anchor.closest('dialog') || document.body).append(box);
  fill();
  const reposition = () => place(box, anchor);
  reposition();
  // A turned phone or a resized window: stay by the anchor, on screen.
  window.addEventListener('resize', reposition);
  document.addEventListener('mousedown', outside, true);
  search.focus();
  return handle;
}

// place puts the picker above the anchor (below it if there is no room),
// inside the window.
function place(box, anchor) {
  const a = anchor.getBoundingClientRect();
  const w = box.offsetWidth;
  const h = box.offsetHeight;
  const left = Math.max(8, Math.min(window.innerWidth - w - 8, a.right - w));
  const top = a.top - h - 8 >= 8 ? a.top - h - 8 : Math.min(window.innerHeight - h - 8, a.bottom + 8);
  box.style.left = `${left}px`;
  box.style.top = `${Math.max(8, top)}px`;
}
