// coalesce.js: one redraw for a burst of changes. Unit-tested in
// web/test/coalesce.test.mjs.

/** coalesced returns a function that runs fn once, ms after the first of a
 * burst of calls. */
export function coalesced(fn, ms) {
  let timer = 0;
  return () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = 0;
      fn();
    }, ms);
  };
}
