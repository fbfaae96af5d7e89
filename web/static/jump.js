// jump.js: going to a message from a reply's quote: scrolled to and
// flashed when it is in the timeline, loaded first from older history
// pages when it is not (a bounded number), shown in its thread panel
// when it is a thread reply.
import { $, toast } from './dom.js';
import { inTimeline } from './room.js';

// How many older pages (of 200 messages) a jump loads at most.
const MAX_PAGES = 10;

export function jump(app) {
  async function to(room, seq) {
    let m = room.msgs.get(seq);
    if (!m || !inTimeline(m)) {
      if (!m && room.loadedFrom !== null && room.loadedFrom > seq) await app.history.loadBackTo(room, seq, MAX_PAGES);
      m = room.msgs.get(seq);
      if (!m) {
        try {
          m = await app.api.message(room.id, seq);
        } catch (e) {
          toast(e.status === 404 ? 'That message is not there any more.' : 'Could not load that message.');
          return;
        }
      }
      if (m && m.thread && !m.also_room) {
        room.add(m);
        app.thread.open(room, m.thread);
        flash($(`#thread-messages [data-seq="${seq}"]`));
        return;
      }
    }
    if (app.current !== room.id) app.view.open(room.id);
    app.timeline.render();
    const node = $(`#messages [data-seq="${seq}"]`);
    if (!node) {
      toast('That message is too far back to show here; scroll up to find it.');
      return;
    }
    flash(node);
  }

  function flash(node) {
    if (!node) return;
    node.scrollIntoView({ block: 'center', behavior: matchMedia('(prefers-reduced-motion: reduce)').matches ? 'auto' : 'smooth' });
    node.classList.remove('flash');
    void node.offsetWidth; // restart the animation
    node.classList.add('flash');
    node.focus({ preventScroll: true });
  }

  return { to, flash };
}
