// emoji.js: the built-in emoji table (emojidata.js) as lookups: the emoji
// of a :shortcode:, and a search by name and keyword for the picker and the
// composer's :shortcode: completion. Pure: unit-tested in
// web/test/emoji.test.mjs.
import { EMOJI_TABLE } from './emojidata.js';

/** EMOJI lists {emoji, name, words} in the table's order (the picker's). */
export const EMOJI = EMOJI_TABLE.trim()
  .split('\n')
  .map((line) => {
    const [emoji, name, ...words] = line.trim().split(/\s+/);
    return { emoji, name, words };
  });

const BY_NAME = new Map(EMOJI.map((e) => [e.name, e.emoji]));

/** emojiFor is the emoji of a shortcode name ("tada" → 🎉), or undefined. */
export function emojiFor(name) {
  return BY_NAME.get(name);
}

/**
 * searchEmoji finds emoji by name or keyword, best first: the name
 * itself, names that start with the query, then names that contain it, then keywords that
 * start with it. An empty query gives the table's first emoji.
 * @param {string} query
 * @param {number} [limit]
 */
export function searchEmoji(query, limit = 50) {
  const q = String(query).trim().toLowerCase().replace(/^:|:$/g, '');
  if (!q) return EMOJI.slice(0, limit);
  const ranked = [[], [], [], []];
  for (const e of EMOJI) {
    if (e.name === q) ranked[0].push(e);
    else if (e.name.startsWith(q)) ranked[1].push(e);
    else if (e.name.includes(q)) ranked[2].push(e);
    else if (e.words.some((w) => w.startsWith(q))) ranked[3].push(e);
  }
  return ranked.flat().slice(0, limit);
}
