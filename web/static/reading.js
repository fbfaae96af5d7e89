// reading.js: the read position moves only for messages that were actually
// on screen (an IntersectionObserver), while the page is visible and
// nothing covers the conversation, so unread counts and "Seen by" mean
// what they say.
import { $ } from './dom.js';
import { coalesced } from './coalesce.js';

export function reading(app) {
  // visible holds the messages of the open room that are on screen.
  const visible = new Map(); // node -> seq
  const observer = new IntersectionObserver(
    (entries) => {
      for (const e of entries) {
        const seq = Number(e.target.dataset.seq);
        const shown = e.isIntersecting && (e.intersectionRatio >= 0.5 || e.intersectionRect.height >= (e.rootBounds?.height || 0) * 0.5);
        if (shown && e.target.dataset.room === app.current) visible.set(e.target, seq);
        else visible.delete(e.target);
      }
      markRead();
    },
    { root: null, threshold: [0, 0.5, 1] },
  );

  // markRead moves the read cursor to the newest message on screen.
  const markRead = coalesced(() => {
    const room = app.rooms.get(app.current);
    if (!room || document.visibilityState !== 'visible' || !$('#auth').hidden || $('#scroller').offsetParent === null) return;
    let max = 0;
    for (const [node, seq] of visible) if (node.isConnected && seq > max) max = seq;
    if (max > room.read) {
      room.read = max;
      app.client.read(room.id, max);
      app.list.render();
    }
    app.timeline.updateJump();
  }, 50);

  function wire() {
    document.addEventListener('visibilitychange', markRead);
    window.addEventListener('focus', markRead);
  }

  return { observe: (node) => observer.observe(node), clear: () => visible.clear(), markRead, wire };
}
