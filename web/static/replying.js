// replying.js: replying to a message with a quote. The bar above the
// composer says what the next message answers ("Replying to bob: …", with
// a button and Escape to cancel); the composer's send takes it. One reply
// target per room, kept while another room is open.
import * as fmt from './format.js';
import { $, el, icon } from './dom.js';

export function replying(app) {
  const targets = new Map(); // room id -> seq of the message answered

  function bar() {
    let b = $('#reply-bar');
    if (!b) {
      b = el('div.reply-bar', { id: 'reply-bar', hidden: true });
      $('#composer-form').before(b);
    }
    return b;
  }

  /** start makes the next message in room a reply to m. */
  function start(room, m) {
    targets.set(room.id, m.seq);
    render();
    $('#composer').focus();
  }

  function cancel() {
    if (!targets.delete(app.current)) return false;
    render();
    return true;
  }

  /** take is the seq the message being sent in room replies to (0 for
   * none), and ends the reply. */
  function take(room) {
    const seq = targets.get(room.id) || 0;
    targets.delete(room.id);
    if (app.current === room.id) render();
    return seq;
  }

  /** render shows the open room's reply target, if any. */
  function render() {
    const b = bar();
    const room = app.rooms.get(app.current);
    const seq = room && targets.get(room.id);
    const m = seq && room.msgs.get(seq);
    if (!m || m.deleted) {
      if (seq) targets.delete(room.id);
      b.hidden = true;
      b.replaceChildren();
      return;
    }
    b.replaceChildren(
      el('span.reply-bar-text', {}, 'Replying to ', el('strong', { text: m.from }), ': ', el('span.reply-bar-quote', { text: fmt.preview(m.text, 120) })),
      el('button.icon-button', { type: 'button', 'aria-label': 'Cancel the reply', title: 'Cancel the reply (Esc)', onclick: () => (cancel(), $('#composer').focus()) }, icon('close')),
    );
    b.hidden = false;
  }

  function wire() {
    $('#composer').addEventListener('keydown', (e) => {
      // After the suggestion list's own Escape (suggest.js) has closed it.
      if (e.key === 'Escape' && !e.isComposing && !e.defaultPrevented && cancel()) e.preventDefault();
    });
  }

  return { start, cancel, take, render, wire };
}
