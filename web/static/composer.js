// composer.js: writing and sending. Enter sends, Shift+Enter adds a line;
// a message shows at once as pending and becomes an ordinary one when the
// server stored it, or "Not sent · Retry · Delete". Drafts are kept per
// room and unsent messages in an outbox, across reloads; the moderation
// notice (muted, slow mode) sits above the composer.
import { newCid } from './natter.js';
import { $, el, showError } from './dom.js';
import { sendFailure } from './human.js';

// Unsent messages younger than this go out again after a reload, under
// their cid (the server keeps a cid for 10 minutes, so a copy it already
// stored is not stored twice); older ones wait for the user to retry.
const RESEND_MS = 5 * 60 * 1000;

/** cleanText is what is sent of the composer's text: blank lines around a
 * message are never meant; indentation inside is. */
export function cleanText(value) {
  return value.replace(/^(?:[ \t]*\r?\n)+/, '').trimEnd();
}

export function composer(app) {
  const { session, store } = app;
  let draftTimer = 0;

  function autosize() {
    const c = $('#composer');
    c.style.height = 'auto';
    c.style.height = Math.min(c.scrollHeight, window.innerHeight * 0.4) + 'px';
  }

  /** show puts room's draft and labels in the composer (a room opened). */
  function show(room) {
    const label = `Message ${room.kind === 'dm' ? room.name : '#' + room.name}`;
    $('#composer').value = store.get(store.key('draft', room.id), '') || '';
    autosize();
    showError($('#composer-error'), '');
    $('#composer-label').textContent = label;
    $('#composer').placeholder = label;
    app.replying.render();
  }

  function saveDraft(id) {
    if (!id) return;
    store.set(store.key('draft', id), $('#composer').value);
  }

  function saveAllDrafts() {
    saveDraft(app.current);
  }

  function send() {
    const room = app.rooms.get(app.current);
    const box = $('#composer');
    const text = cleanText(box.value);
    if (!room || !text.trim()) return;
    if (app.moderation.notice(room.id).blocked) return renderModNotice();
    const max = app.client.limits?.max_text || 8192;
    const size = new TextEncoder().encode(text).length;
    if (size > max) {
      showError($('#composer-error'), `That message is too long (${size} bytes; the limit is ${max}).`);
      return;
    }
    showError($('#composer-error'), '');
    const cid = newCid();
    const replyTo = app.replying.take(room) || undefined;
    room.pending.set(cid, { cid, text, ts: new Date().toISOString(), status: 'pending', reply_to: replyTo });
    room.divider = null;
    room.touched = Date.now();
    box.value = '';
    autosize();
    store.set(store.key('draft', room.id), '');
    transmit(room, cid);
    app.timeline.render({ follow: true });
    app.list.render();
  }

  function transmit(room, cid) {
    const p = room.pending.get(cid);
    if (!p) return;
    p.status = 'pending';
    saveOutbox();
    app.client.send(room.id, p.text, { cid, replyTo: p.reply_to }).done.then(
      (ack) => {
        // The ack may come before our own copy of the message: show it now.
        if (!room.msgs.has(ack.seq)) room.add({ room: room.id, seq: ack.seq, prev: 0, epoch: ack.epoch, from: session.user, text: p.text, cid, ts: new Date().toISOString(), reply_to: p.reply_to, local: true });
        room.pending.delete(cid);
        app.moderation.sent(room.id);
        saveOutbox();
        if (app.current === room.id) app.timeline.render({ follow: true });
        app.list.render();
      },
      (err) => {
        if (!room.pending.has(cid)) return;
        app.moderation.sendFailed(room.id, err);
        p.status = 'failed';
        p.error = sendFailure(err);
        saveOutbox();
        if (app.current === room.id) app.timeline.render();
      },
    );
  }

  function retry(room, cid) {
    transmit(room, cid);
    app.timeline.render();
  }

  function discard(room, cid) {
    room.pending.delete(cid);
    saveOutbox();
    app.timeline.render();
  }

  function saveOutbox() {
    const all = [];
    for (const room of app.rooms.values()) for (const p of room.pending.values()) all.push({ room: room.id, cid: p.cid, text: p.text, ts: p.ts, reply_to: p.reply_to });
    store.set(store.key('outbox'), all.length ? all : null);
  }

  // restoreOutbox picks up messages that were not acknowledged when the
  // page went away.
  function restoreOutbox() {
    for (const p of store.get(store.key('outbox'), []) || []) {
      const room = app.rooms.get(p.room);
      if (!room || room.pending.has(p.cid)) continue;
      const fresh = Date.now() - Date.parse(p.ts) < RESEND_MS;
      room.pending.set(p.cid, { ...p, status: fresh ? 'pending' : 'failed', error: fresh ? '' : 'the page was closed before it went out' });
      if (fresh) transmit(room, p.cid);
    }
  }

  // renderModNotice shows "you are muted" or the slow-mode wait above the
  // composer.
  function renderModNotice() {
    let n = $('#mod-notice');
    if (!n) $('#composer-form').before((n = el('p.mod-notice', { id: 'mod-notice', role: 'status' })));
    const { text, blocked } = app.current ? app.moderation.notice(app.current) : { text: '' };
    n.textContent = text;
    n.hidden = !text;
    n.classList.toggle('blocked', !!blocked);
  }

  function wire() {
    const box = $('#composer');
    let lastKey = null;
    box.addEventListener('keydown', (e) => {
      lastKey = e;
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        send();
      }
    });
    box.addEventListener('beforeinput', (e) => {
      // Enter sends; its line break must not land in the next message,
      // even from input methods that insert it apart from the key event.
      if ((e.inputType === 'insertLineBreak' || e.inputType === 'insertParagraph') && lastKey && lastKey.key === 'Enter' && !lastKey.shiftKey) {
        e.preventDefault();
      }
    });
    box.addEventListener('input', () => {
      autosize();
      if (app.current && box.value) app.client.typing(app.current);
      clearTimeout(draftTimer);
      const id = app.current;
      draftTimer = setTimeout(() => saveDraft(id), 300);
    });
    $('#composer-form').addEventListener('submit', (e) => {
      e.preventDefault();
      send();
      box.focus();
    });
    window.addEventListener('pagehide', saveAllDrafts);
  }

  return { show, saveDraft, saveAllDrafts, retry, discard, saveOutbox, restoreOutbox, renderModNotice, wire };
}
