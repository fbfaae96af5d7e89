// completion.js: what the composer can complete at the caret: an @mention
// of a room member or a :shortcode: emoji, the suggestions for it, and the
// text once one is chosen. Pure: unit-tested in web/test/completion.test.mjs;
// suggest.js shows the suggestions.
import { searchEmoji } from './emoji.js';

/**
 * tokenAt finds the word being completed, ending at the caret: "@" and up
 * to 64 id characters (at the start or after a non-word character), or ":"
 * and at least two shortcode characters. null if there is none.
 * @returns {{kind: 'mention'|'emoji', query: string, start: number, end: number}|null}
 */
export function tokenAt(value, caret) {
  const before = value.slice(Math.max(0, caret - 66), caret);
  let m = /(^|[^\w@:-])@([\w-]{0,64})$/.exec(before);
  if (m) return { kind: 'mention', query: m[2], start: caret - m[2].length - 1, end: caret };
  m = /(^|[\s([{])(:)([a-z0-9_+-]{2,40})$/i.exec(before);
  if (m) return { kind: 'emoji', query: m[3].toLowerCase(), start: caret - m[3].length - 1, end: caret };
  return null;
}

/**
 * suggestions lists what may complete token, best first:
 * {label, insert, key, emoji?}. users: the room's members (me left out).
 */
export function suggestions(token, { users = [], me = '', limit = 8 } = {}) {
  if (!token) return [];
  if (token.kind === 'emoji') {
    return searchEmoji(token.query, limit).map((e) => ({ key: e.name, label: `:${e.name}:`, emoji: e.emoji, insert: e.emoji }));
  }
  const q = token.query.toLowerCase();
  const names = [...new Set(users)].filter((u) => u !== me);
  const starts = names.filter((u) => u.toLowerCase().startsWith(q)).sort();
  const inside = q ? names.filter((u) => !u.toLowerCase().startsWith(q) && u.toLowerCase().includes(q)).sort() : [];
  const out = [...starts, ...inside].slice(0, limit).map((u) => ({ key: u, label: u, insert: '@' + u, user: u }));
  if ('room'.startsWith(q) && out.length < limit) out.push({ key: '@room', label: '@room', insert: '@room', note: 'everyone in the room' });
  return out;
}

/** complete puts insert (and a space) in place of token; it returns the
 * new value and where the caret goes. */
export function complete(value, token, insert) {
  const rest = value.slice(token.end);
  const pad = rest.startsWith(' ') ? '' : ' ';
  const head = value.slice(0, token.start) + insert + pad;
  return { value: head + rest, caret: head.length + (pad ? 0 : 1) };
}
