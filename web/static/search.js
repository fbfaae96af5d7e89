// search.js: the pure parts of message search (no DOM), unit-tested with
// node: results grouped by room, and a snippet cut into plain and
// highlighted parts from the server's UTF-16 offsets (docs/HTTP-API.md,
// GET /api/search). The view is searchview.js.

/** groupByRoom groups hits (newest first, as the server sends them) by
 * room: one group per room, in the order of each room's first hit, the
 * hits of a group in their order. More pages appended to the same list
 * keep the groups that are shown where they are. */
export function groupByRoom(hits) {
  const groups = new Map();
  for (const h of hits) {
    let g = groups.get(h.room);
    if (!g) groups.set(h.room, (g = { room: h.room, hits: [] }));
    g.hits.push(h);
  }
  return [...groups.values()];
}

/** inOrder is the hits in the order the grouped list shows them, which is
 * the order ↑/↓ walk. */
export function inOrder(groups) {
  return groups.flatMap((g) => g.hits);
}

const isHigh = (c) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c) => c >= 0xdc00 && c <= 0xdfff;

/** splitHighlights cuts snippet into [{text, mark}] parts by highlights,
 * [start, end) offsets in UTF-16 code units (what String.slice takes).
 * Ranges are clamped to the snippet; empty, overlapping, out-of-order or
 * malformed ones are dropped; a bound that falls inside a surrogate pair
 * (half an emoji) is widened to the whole character, so that no part ever
 * holds half of one. Adjacent plain parts are never produced. */
export function splitHighlights(snippet, highlights) {
  const s = String(snippet ?? '');
  const parts = [];
  let at = 0;
  for (const r of Array.isArray(highlights) ? highlights : []) {
    if (!Array.isArray(r) || r.length !== 2) continue;
    let [start, end] = r.map((v) => (Number.isInteger(v) ? Math.min(Math.max(v, 0), s.length) : NaN));
    if (Number.isNaN(start) || Number.isNaN(end)) continue;
    if (start > 0 && start < s.length && isLow(s.charCodeAt(start)) && isHigh(s.charCodeAt(start - 1))) start--;
    if (end > 0 && end < s.length && isLow(s.charCodeAt(end)) && isHigh(s.charCodeAt(end - 1))) end++;
    if (start < at || end <= start) continue;
    if (start > at) parts.push({ text: s.slice(at, start), mark: false });
    parts.push({ text: s.slice(start, end), mark: true });
    at = end;
  }
  if (at < s.length || !parts.length) parts.push({ text: s.slice(at), mark: false });
  return parts;
}

/** SYNTAX is the query syntax hint: each an example and what it does. */
export const SYNTAX = [
  { term: 'from:alice', means: 'sent by alice' },
  { term: 'in:room', means: 'in one room' },
  { term: '"a phrase"', means: 'these words in order' },
  { term: 'deplo*', means: 'words starting with deplo' },
];
