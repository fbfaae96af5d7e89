// searchview.js: message search (docs/WEB-UI.md): a dialog with the query
// box (a combobox) over the results, grouped by room, each with its sender,
// time and snippet with the matches marked. ↑/↓ walk the results, Enter
// opens one, Escape closes; "More results" follows the server's cursor.
// Opening a result opens its room and jumps to the message in context
// (jump.js: older history loaded, a thread reply in its thread). Snippets
// are text nodes and <mark> elements, never HTML.
import * as fmt from './format.js';
import { $, el, icon, toast } from './dom.js';
import { human } from './human.js';
import { groupByRoom, inOrder, splitHighlights, SYNTAX } from './search.js';
import { openDialog } from './dialogs.js';

// How long typing pauses before the query goes out.
const TYPING_MS = 250;
// How long a jump waits at most for a room it opened to load its history.
const OPEN_WAIT_MS = 15000;

export function searchView(app) {
  const d = () => $('#search-dialog');
  const input = () => $('#search-input');
  // The walk of the current query: every hit shown so far, the cursor of
  // the next page, and a generation that makes late answers of an older
  // query (or page) harmless.
  let q = '';
  let hits = [];
  let next = '';
  let hasMore = false;
  let active = -1;
  let gen = 0;
  let timer = 0;
  let busy = false;

  function open() {
    const dlg = d();
    if (dlg.open) {
      input().select();
      return;
    }
    openDialog(dlg);
    input().focus();
    input().select();
  }

  async function run({ more = false } = {}) {
    const text = input().value.trim();
    clearTimeout(timer);
    if (!more) {
      if (text === q && (hits.length || busy)) return;
      q = text;
      hits = [];
      next = '';
      hasMore = false;
      active = -1;
    }
    const mine = ++gen;
    if (!q) {
      busy = false;
      render();
      return;
    }
    busy = true;
    setStatus(more ? 'Loading more results…' : 'Searching…');
    $('#search-more').disabled = true;
    let page;
    try {
      page = await app.api.search(q, { cursor: more ? next : undefined });
    } catch (e) {
      if (mine !== gen) return;
      busy = false;
      render({ error: e.status === 400 ? `That search cannot be run: ${e.message}` : human(e) });
      return;
    }
    if (mine !== gen) return;
    busy = false;
    // A cursor is a position in the archive: no hit comes twice, but keep
    // the list free of doubles whatever a page holds.
    const seen = new Set(hits.map(key));
    hits = hits.concat(page.hits.filter((h) => !seen.has(key(h))));
    next = page.next;
    hasMore = page.has_more && !!page.next;
    if (!more && hits.length) active = 0;
    render();
  }

  function key(h) {
    return `${h.room}/${h.seq}`;
  }

  function setStatus(text) {
    $('#search-status').textContent = text;
  }

  function render({ error = '' } = {}) {
    const list = $('#search-results');
    const groups = groupByRoom(hits);
    const order = inOrder(groups);
    if (active >= order.length) active = order.length - 1;
    let i = 0;
    list.replaceChildren(
      ...groups.map((g, gi) => {
        const head = el('div.search-room', { id: `search-room-${gi}`, role: 'presentation' }, roomLabel(g.room));
        return el('div.search-group', { role: 'group', 'aria-labelledby': head.id }, head, ...g.hits.map((h) => option(h, i++)));
      }),
    );
    list.hidden = !hits.length;
    input().setAttribute('aria-expanded', String(hits.length > 0));
    markActive();
    const err = $('#search-error');
    err.textContent = error;
    err.hidden = !error;
    $('#search-more').hidden = !hasMore || !!error;
    $('#search-more').disabled = busy;
    if (error) setStatus('');
    else if (!q) setStatus('');
    else if (busy) setStatus('Searching…');
    else if (!hits.length) setStatus(hasMore ? 'No matches in the newest messages yet.' : `No messages match “${q}”.`);
    else setStatus(`${hits.length}${hasMore ? '+' : ''} ${hits.length === 1 ? 'result' : 'results'} in ${groups.length} ${groups.length === 1 ? 'room' : 'rooms'}`);
    $('#search-empty').hidden = !!(q || error);
  }

  function roomLabel(id) {
    const room = app.rooms.get(id);
    if (!room) return id;
    return room.kind === 'dm' ? room.name : `#${room.name}`;
  }

  function option(h, i) {
    const when = new Date(h.ts);
    const valid = !Number.isNaN(when.getTime());
    const snippet = el(
      'span.search-snippet',
      {},
      ...splitHighlights(h.snippet, h.highlights).map((p) => (p.mark ? el('mark', {}, p.text) : p.text)),
    );
    return el(
      'div.search-hit',
      {
        role: 'option',
        id: `search-hit-${i}`,
        'aria-selected': 'false',
        dataset: { index: i, room: h.room, seq: h.seq },
        onclick: () => choose(i),
        onmousemove: () => {
          if (active !== i) {
            active = i;
            markActive({ scroll: false });
          }
        },
      },
      el(
        'span.search-meta',
        {},
        el('span.search-from', { text: h.from || '' }),
        h.thread ? el('span.search-thread', { text: 'in a thread' }) : null,
        valid ? el('time.search-when', { datetime: when.toISOString(), title: when.toLocaleString(), text: `${fmt.shortWhen(when)}` }) : null,
      ),
      snippet,
    );
  }

  function markActive({ scroll = true } = {}) {
    let cur = null;
    for (const o of document.querySelectorAll('#search-results [role="option"]')) {
      const on = Number(o.dataset.index) === active;
      o.setAttribute('aria-selected', String(on));
      o.classList.toggle('active', on);
      if (on) cur = o;
    }
    if (cur) input().setAttribute('aria-activedescendant', cur.id);
    else input().removeAttribute('aria-activedescendant');
    if (cur && scroll) cur.scrollIntoView({ block: 'nearest' });
  }

  function move(by) {
    const n = inOrder(groupByRoom(hits)).length;
    if (!n) return;
    active = active < 0 ? (by > 0 ? 0 : n - 1) : Math.min(Math.max(active + by, 0), n - 1);
    markActive();
  }

  function choose(i) {
    const h = inOrder(groupByRoom(hits))[i];
    if (!h) return;
    d().close();
    openHit(h);
  }

  // openHit opens the hit's room, waits for its latest history (bounded),
  // and leaves the rest to jump.js: older pages, the thread panel, the
  // flash.
  async function openHit(h) {
    const room = app.rooms.get(h.room);
    if (!room) {
      toast('You are not in that room any more.');
      return;
    }
    if (app.current !== room.id) app.view.open(room.id, { focus: false });
    // Opening starts the load (room.loading); a load that failed ends the
    // wait at once, and jump.js then says what it could not show.
    for (const end = Date.now() + OPEN_WAIT_MS; !room.historyLoaded && room.loading && Date.now() < end; ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await app.jump.to(room, h.seq);
  }

  function keydown(e) {
    if (e.isComposing) return;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      move(e.key === 'ArrowDown' ? 1 : -1);
    } else if (e.key === 'Home' && e.ctrlKey) {
      e.preventDefault();
      active = hits.length ? 0 : -1;
      markActive();
    } else if (e.key === 'End' && e.ctrlKey) {
      e.preventDefault();
      active = hits.length - 1;
      markActive();
    } else if (e.key === 'Escape') {
      // Closes at once: a search field would otherwise only clear itself.
      e.preventDefault();
      d().close();
    } else if (e.key === 'Enter') {
      e.preventDefault();
      // Enter on a new query searches now; on the shown one it opens the
      // chosen result.
      if (input().value.trim() !== q || busy) run();
      else if (active >= 0) choose(active);
    }
  }

  // typingTarget reports whether a key is going into a text field.
  function typingTarget(t) {
    return !!t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }

  function wire() {
    $('#search-hint').replaceChildren(
      'Try ',
      ...SYNTAX.flatMap((s, i) => [i ? ', ' : '', el('code', { text: s.term }), ` (${s.means})`]),
      '.',
    );
    $('#search-button').addEventListener('click', open);
    // The room header's button: on a phone the room list is off screen.
    $('#search-head-button').append(icon('search'));
    $('#search-head-button').addEventListener('click', open);
    input().addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(run, TYPING_MS);
    });
    input().addEventListener('keydown', keydown);
    $('#search-more').addEventListener('click', async () => {
      await run({ more: true });
      input().focus();
    });
    for (const b of d().querySelectorAll('.cancel')) b.addEventListener('click', () => d().close());
    d().addEventListener('close', () => clearTimeout(timer));
    // "/" anywhere outside a text field, or Ctrl+Shift+F (Cmd+Shift+F),
    // opens the search (Ctrl+K finds a room, sidebar.js).
    document.addEventListener('keydown', (e) => {
      if (e.defaultPrevented || e.isComposing) return;
      const slash = e.key === '/' && !e.ctrlKey && !e.metaKey && !e.altKey && !typingTarget(e.target);
      const chord = (e.ctrlKey || e.metaKey) && e.shiftKey && e.key.toLowerCase() === 'f';
      if (!slash && !chord) return;
      if (app.reauthing || $('#app').hidden || document.querySelector('dialog[open]:not(#search-dialog)')) return;
      e.preventDefault();
      open();
    });
  }

  return { open, run, wire };
}
