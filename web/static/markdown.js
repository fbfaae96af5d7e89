// markdown.js: the Markdown subset of messages, parsed into a plain tree
// (no DOM, no HTML): paragraphs, fenced code blocks, block quotes, bullet
// and numbered lists; inside them bold, italic, strikethrough, inline code,
// links (http, https and mailto only), bare URLs, @mentions and :shortcode:
// emoji. Anything else, HTML included, is text. richtext.js turns the tree
// into DOM nodes. Pure: unit-tested in web/test/markdown.test.mjs.
//
// The work is linear in the text (a message is at most a few KB, but
// an edit or a hostile client may send the worst case): every character
// is looked at a bounded number of times, nesting is capped, and no
// regular expression can backtrack over more than one line.

import { safeHref } from './format.js';

// Nesting caps: deeper than this, the markup stays text.
const MAX_BLOCK_DEPTH = 6;
const MAX_INLINE_DEPTH = 8;
const MAX_URL = 2048;

const FENCE = /^ {0,3}(`{3,}|~{3,})([^`]*)$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const ITEM = /^( {0,3})([-*+]|\d{1,9}[.)])( +|$)(.*)$/;
const BLANK = /^\s*$/;
const ID_CHAR = /[A-Za-z0-9_-]/;
const MENTION = /@([A-Za-z0-9_-]{1,64})(?![A-Za-z0-9_-])/y;
const SHORTCODE = /:([a-z0-9_+-]{1,40}):/y;
const URL_AT = /(?:https?:\/\/|www\.)[^\s<>"'`]{1,2048}/iy;
const PUNCT = /[!-/:-@[-`{-~]/;

/**
 * parse turns message text into blocks:
 *   {t:'p', c:[inline]}, {t:'pre', text, lang}, {t:'quote', c:[block]},
 *   {t:'ul', items:[[block]]}, {t:'ol', start, items:[[block]]}
 * and inlines:
 *   {t:'text', text}, {t:'strong'|'em'|'del', c:[inline]}, {t:'code', text},
 *   {t:'link', href, c:[inline]}, {t:'mention', user}, {t:'emoji', text, name}.
 * @param {string} text
 * @param {{shortcode?: (name: string) => string|undefined}} [opts]
 */
export function parse(text, opts = {}) {
  const lines = String(text).replace(/\r\n?/g, '\n').split('\n');
  return blocks(lines, 0, opts);
}

function blocks(lines, depth, opts) {
  const out = [];
  let i = 0;
  const startsBlock = (l) => FENCE.test(l) || (depth < MAX_BLOCK_DEPTH && (QUOTE.test(l) || ITEM.test(l)));
  while (i < lines.length) {
    const line = lines[i];
    if (BLANK.test(line)) {
      i++;
      continue;
    }
    const f = FENCE.exec(line);
    if (f) {
      i = fence(lines, i, f, out);
      continue;
    }
    if (depth < MAX_BLOCK_DEPTH && QUOTE.test(line)) {
      const inner = [];
      for (let m; i < lines.length && (m = QUOTE.exec(lines[i])); i++) inner.push(m[1]);
      out.push({ t: 'quote', c: blocks(inner, depth + 1, opts) });
      continue;
    }
    if (depth < MAX_BLOCK_DEPTH && ITEM.test(line)) {
      i = list(lines, i, depth, opts, out);
      continue;
    }
    const para = [line];
    for (i++; i < lines.length && !BLANK.test(lines[i]) && !startsBlock(lines[i]); i++) para.push(lines[i]);
    out.push({ t: 'p', c: inlines(para.join('\n'), opts) });
  }
  return out;
}

// fence reads a fenced code block that opens at lines[i]; it ends at a line
// of the same fence (or one ending with it, as chat users type), or at the
// end of the text. It returns the index of the line after it.
function fence(lines, i, f, out) {
  const ch = f[1][0];
  const min = f[1].length;
  // trailing is the length of the run of ch that ends l (spaces after it
  // allowed), counted without a regular expression that could backtrack.
  const trailing = (l) => {
    const t = l.trimEnd();
    let k = t.length;
    while (k > 0 && t[k - 1] === ch) k--;
    return { run: t.length - k, before: t.slice(0, k) };
  };
  const body = [];
  let j = i + 1;
  for (; j < lines.length; j++) {
    const { run, before } = trailing(lines[j]);
    if (run >= min) {
      // A line of the fence alone closes; so does one that ends with it.
      if (before.trim()) body.push(before);
      j++;
      break;
    }
    body.push(lines[j]);
  }
  const lang = f[2].trim().split(/\s+/)[0].slice(0, 32);
  out.push({ t: 'pre', text: body.join('\n'), lang });
  return j;
}

// list reads the items of one list that starts at lines[i]: an item is its
// marker's line and the indented lines under it (parsed as blocks, so lists
// nest); a blank line between items keeps the list going.
function list(lines, i, depth, opts, out) {
  const first = ITEM.exec(lines[i]);
  const ordered = /\d/.test(first[2]);
  const delim = ordered ? first[2].slice(-1) : null;
  const node = ordered ? { t: 'ol', start: Math.min(Number(first[2].slice(0, -1)), 1e9), items: [] } : { t: 'ul', items: [] };
  const sameList = (m) => m && (ordered ? /\d/.test(m[2]) && m[2].slice(-1) === delim : !/\d/.test(m[2]));
  while (i < lines.length) {
    const m = ITEM.exec(lines[i]);
    if (!sameList(m)) break;
    const indent = m[1].length + m[2].length + Math.min(m[3].length || 1, 4);
    const body = [m[4]];
    for (i++; i < lines.length; i++) {
      const l = lines[i];
      const lead = l.length - l.trimStart().length;
      if (BLANK.test(l) || lead < 2) break;
      body.push(l.slice(Math.min(lead, indent)));
    }
    node.items.push(blocks(body, depth + 1, opts));
    // A blank line, then another item of this list: the list goes on.
    let k = i;
    while (k < lines.length && BLANK.test(lines[k])) k++;
    if (k > i && k < lines.length && sameList(ITEM.exec(lines[k]))) i = k;
  }
  out.push(node);
  return i;
}

/** inlines parses the inline markup of one paragraph's text. */
export function inlines(s, opts = {}) {
  const scan = prescan(s);
  return inline(s, scan, 0, s.length, 0, false, opts);
}

// prescan finds, once for the whole paragraph, what the inline parser
// needs to look ahead for: code spans (which hide everything in them),
// matching brackets, link destinations (hidden like code), and the
// emphasis delimiter runs that can close, by kind, in order.
function prescan(s) {
  const n = s.length;
  const hidden = new Uint8Array(n);
  const code = new Map(); // start -> {n, close}
  // Backtick runs by length, for finding a code span's closing run.
  const runs = new Map(); // length -> [positions]
  for (let i = 0; i < n; ) {
    if (s[i] !== '`') {
      i++;
      continue;
    }
    let j = i;
    while (j < n && s[j] === '`') j++;
    const len = j - i;
    if (!runs.has(len)) runs.set(len, []);
    runs.get(len).push(i);
    i = j;
  }
  const next = new Map(); // length -> index into runs.get(length)
  const runAfter = (len, from) => {
    const list = runs.get(len) || [];
    let k = next.get(len) || 0;
    while (k < list.length && list[k] < from) k++;
    next.set(len, k);
    return k < list.length ? list[k] : -1;
  };
  const brackets = [];
  const match = new Map(); // [ -> ]
  for (let i = 0; i < n; ) {
    const c = s[i];
    if (c === '\\' && i + 1 < n && PUNCT.test(s[i + 1])) {
      hidden[i + 1] = 1;
      i += 2;
    } else if (c === '`') {
      let j = i;
      while (j < n && s[j] === '`') j++;
      const close = runAfter(j - i, j);
      if (close !== -1) {
        code.set(i, { n: j - i, close });
        hidden.fill(1, i, close + (j - i));
        i = close + (j - i);
      } else i = j;
    } else {
      if (c === '[') brackets.push(i);
      else if (c === ']' && brackets.length) match.set(brackets.pop(), i);
      i++;
    }
  }
  const dests = new Map(); // ] -> {url, end}
  for (const close of match.values()) {
    if (s[close + 1] !== '(' || hidden[close + 1]) continue;
    const d = destination(s, close + 2);
    if (!d) continue;
    dests.set(close, d);
    hidden.fill(1, close + 1, d.end);
  }
  const delims = new Map(); // start -> {key, len, open}
  const closers = new Map(); // key -> [positions]
  for (let i = 0; i < n; ) {
    const c = s[i];
    if ((c !== '*' && c !== '_' && c !== '~') || hidden[i]) {
      i++;
      continue;
    }
    let j = i;
    while (j < n && s[j] === c && !hidden[j]) j++;
    const len = j - i;
    const before = s[i - 1];
    const after = s[j];
    const ok = c === '~' ? len === 2 : len <= 3;
    if (ok) {
      const key = c + len;
      const open = !space(after) && !(c === '_' && alnum(before));
      const close = !space(before) && !(c === '_' && alnum(after));
      delims.set(i, { key, len, open });
      if (close) {
        if (!closers.has(key)) closers.set(key, []);
        closers.get(key).push(i);
      }
    } else {
      delims.set(i, { key: null, len, open: false });
    }
    i = j;
  }
  return { code, match, dests, delims, closers };
}

// destination reads a link's (url) from p, just after the "(": no spaces,
// brackets balanced, bounded in length. It returns {url, end} (end is
// after the ")"), or null.
function destination(s, p) {
  let depth = 0;
  const stop = Math.min(s.length, p + MAX_URL);
  for (let i = p; i < stop; i++) {
    const c = s.charCodeAt(i);
    if (c <= 32 || c === 0xa0) return null;
    if (c === 40) depth++;
    else if (c === 41) {
      if (depth === 0) return i > p ? { url: s.slice(p, i), end: i + 1 } : null;
      depth--;
    }
  }
  return null;
}

function space(c) {
  return c === undefined || /\s/.test(c);
}

function alnum(c) {
  return c !== undefined && /[\p{L}\p{N}]/u.test(c);
}

// closerAfter is the first closing run of key in [from, end), or -1.
function closerAfter(scan, key, from, end) {
  const list = scan.closers.get(key);
  if (!list) return -1;
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid] < from) lo = mid + 1;
    else hi = mid;
  }
  return lo < list.length && list[lo] < end ? list[lo] : -1;
}

const WRAP = { '*1': ['em'], _1: ['em'], '*2': ['strong'], _2: ['strong'], '*3': ['strong', 'em'], _3: ['strong', 'em'], '~2': ['del'] };

function inline(s, scan, start, end, depth, inLink, opts) {
  const out = [];
  let buf = '';
  const flush = () => {
    if (buf) out.push({ t: 'text', text: buf });
    buf = '';
  };
  let i = start;
  while (i < end) {
    const c = s[i];
    if (c === '\\' && i + 1 < end && PUNCT.test(s[i + 1])) {
      buf += s[i + 1];
      i += 2;
      continue;
    }
    if (c === '`') {
      const cs = scan.code.get(i);
      if (cs && cs.close + cs.n <= end) {
        flush();
        out.push({ t: 'code', text: codeText(s.slice(i + cs.n, cs.close)) });
        i = cs.close + cs.n;
        continue;
      }
      let j = i;
      while (j < end && s[j] === '`') j++;
      buf += s.slice(i, j);
      i = j;
      continue;
    }
    const d = scan.delims.get(i);
    if (d) {
      const len = Math.min(d.len, end - i);
      if (d.key && d.open && depth < MAX_INLINE_DEPTH && len === d.len) {
        const close = closerAfter(scan, d.key, i + len + 1, end);
        if (close !== -1) {
          flush();
          let node = inline(s, scan, i + len, close, depth + 1, inLink, opts);
          for (const t of WRAP[d.key].slice().reverse()) node = [{ t, c: node }];
          out.push(node[0]);
          i = close + len;
          continue;
        }
      }
      buf += s.slice(i, i + len);
      i += len;
      continue;
    }
    if (c === '[' && !inLink) {
      const close = scan.match.get(i);
      const dest = close !== undefined && scan.dests.get(close);
      if (dest && dest.end <= end) {
        const href = linkHref(dest.url);
        if (href) {
          flush();
          const label = inline(s, scan, i + 1, close, depth + 1, true, opts);
          out.push({ t: 'link', href, c: label.length ? label : [{ t: 'text', text: dest.url }] });
        } else {
          // Not a link we make (javascript:, data:, a relative URL…): the
          // whole of it shows as typed.
          buf += s.slice(i, dest.end);
        }
        i = dest.end;
        continue;
      }
    }
    if (c === '@' && !inLink && (i === start || !ID_CHAR.test(s[i - 1]))) {
      MENTION.lastIndex = i;
      const m = MENTION.exec(s);
      if (m && i + m[0].length <= end) {
        flush();
        out.push({ t: 'mention', user: m[1] });
        i += m[0].length;
        continue;
      }
    }
    if (c === ':' && opts.shortcode) {
      SHORTCODE.lastIndex = i;
      const m = SHORTCODE.exec(s);
      const e = m && i + m[0].length <= end && opts.shortcode(m[1]);
      if (e) {
        flush();
        out.push({ t: 'emoji', text: e, name: m[1] });
        i += m[0].length;
        continue;
      }
    }
    if (!inLink && (c === 'h' || c === 'H' || c === 'w' || c === 'W') && (i === start || !/\w/.test(s[i - 1]))) {
      const link = bareURL(s, i, end);
      if (link) {
        flush();
        out.push({ t: 'link', href: link.href, c: [{ t: 'text', text: link.text }] });
        i += link.text.length;
        continue;
      }
    }
    buf += c;
    i++;
  }
  flush();
  return out;
}

// codeText is a code span's content: one space either side is padding.
function codeText(t) {
  t = t.replace(/\n/g, ' ');
  return t.length > 2 && t[0] === ' ' && t[t.length - 1] === ' ' && t.trim() ? t.slice(1, -1) : t;
}

// bareURL is the http(s) or www. URL that starts at i (and ends before
// end), without the punctuation that ends a sentence, or null.
function bareURL(s, i, end) {
  URL_AT.lastIndex = i;
  const m = URL_AT.exec(s);
  if (!m) return null;
  const text = trimURL(m[0].slice(0, end - i));
  const href = text && safeHref(/^www\./i.test(text) ? 'https://' + text : text);
  return href ? { text, href } : null;
}

// trimURL drops what usually ends a sentence rather than a URL: trailing
// punctuation, and a closing bracket that the URL did not open.
function trimURL(url) {
  const pairs = { ')': '(', ']': '[', '}': '{' };
  const count = (c) => url.split(c).length - 1;
  for (;;) {
    const last = url[url.length - 1];
    if (last !== undefined && '.,;:!?\'"*_~'.includes(last)) url = url.slice(0, -1);
    else if (pairs[last] && count(last) > count(pairs[last])) url = url.slice(0, -1);
    else return url;
  }
}

/** linkHref is the href for a link's destination if it is one we make
 * (http, https, mailto; www. as https), else null. */
export function linkHref(url) {
  if (/^mailto:/i.test(url)) {
    try {
      const u = new URL(url);
      return /^[^\s@/]+@[^\s@/]+$/.test(decodeURIComponent(u.pathname)) ? u.href : null;
    } catch (e) {
      return null;
    }
  }
  if (/^www\./i.test(url)) return safeHref('https://' + url);
  if (!/^https?:\/\//i.test(url)) return null;
  return safeHref(url);
}

/** plainText is the text a reader sees of parsed blocks, on one line: for
 * previews and notifications. */
export function plainText(nodes) {
  const parts = [];
  const walk = (list) => {
    for (const n of list) {
      if (n.t === 'text' || n.t === 'code' || n.t === 'pre' || n.t === 'emoji') parts.push(n.text);
      else if (n.t === 'mention') parts.push('@' + n.user);
      else if (n.items) {
        for (const it of n.items) {
          walk(it);
          parts.push(' ');
        }
      }
      else if (n.c) walk(n.c);
      if (n.t === 'p' || n.t === 'pre' || n.t === 'quote') parts.push(' ');
    }
  };
  walk(nodes);
  return parts.join('').replace(/\s+/g, ' ').trim();
}
