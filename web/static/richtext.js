// richtext.js: a message's text as DOM nodes: the Markdown subset of
// markdown.js built with createElement and text nodes only (never
// innerHTML, so nothing in a message is ever parsed as HTML), links with a
// checked href that open in a new tab without an opener, @mentions marked
// (the reader's own, and @room, differently), :shortcode: emoji. The
// timeline, the thread panel and reply quotes call renderText; tested in
// web/test/richtext.test.mjs with a stand-in document and in Chromium.
import { parse, plainText } from './markdown.js';
import { emojiFor } from './emoji.js';

const TAGS = { p: 'p', quote: 'blockquote', ul: 'ul', ol: 'ol', strong: 'strong', em: 'em', del: 'del' };

/**
 * renderText returns a DocumentFragment with text rendered.
 * @param {string} text
 * @param {{me?: string, doc?: Document}} [ctx] me: the reader, whose
 *   mentions stand out; doc: the document to build in (tests pass one)
 */
export function renderText(text, ctx = {}) {
  const doc = ctx.doc || globalThis.document;
  const frag = doc.createDocumentFragment();
  for (const b of parse(text, { shortcode: emojiFor })) frag.append(node(doc, b, ctx));
  return frag;
}

/** readable is text as a reader sees it, markup gone, on one line: the
 * room list's preview. */
export function readable(text) {
  return plainText(parse(text, { shortcode: emojiFor }));
}

function node(doc, n, ctx) {
  const e = (tag, cls) => {
    const x = doc.createElement(tag);
    if (cls) x.className = cls;
    return x;
  };
  const kids = (parent, list) => {
    for (const c of list) parent.append(node(doc, c, ctx));
    return parent;
  };
  switch (n.t) {
    case 'text':
      return doc.createTextNode(n.text);
    case 'code': {
      const c = e('code');
      c.textContent = n.text;
      return c;
    }
    case 'pre': {
      const pre = e('pre');
      const c = e('code');
      c.textContent = n.text;
      if (n.lang) pre.dataset.lang = n.lang;
      // A long block scrolls (style.css): the keyboard must reach it.
      pre.setAttribute('tabindex', '0');
      pre.append(c);
      return pre;
    }
    case 'link': {
      const a = e('a');
      a.setAttribute('href', n.href);
      a.setAttribute('target', '_blank');
      a.setAttribute('rel', 'noopener noreferrer nofollow');
      return kids(a, n.c);
    }
    case 'mention': {
      const mine = n.user === ctx.me || n.user === 'room';
      const s = e('span', mine ? 'mention mention-me' : 'mention');
      s.dataset.user = n.user;
      s.textContent = '@' + n.user;
      return s;
    }
    case 'emoji': {
      const s = e('span', 'emoji');
      s.setAttribute('title', `:${n.name}:`);
      s.textContent = n.text;
      return s;
    }
    case 'ul':
    case 'ol': {
      const l = e(TAGS[n.t]);
      if (n.t === 'ol' && n.start !== 1) l.setAttribute('start', String(n.start));
      for (const item of n.items) {
        const li = e('li');
        // A one-paragraph item (the usual, tight list) holds its text
        // directly.
        if (item.length === 1 && item[0].t === 'p') kids(li, item[0].c);
        else kids(li, item);
        l.append(li);
      }
      return l;
    }
    default:
      return kids(e(TAGS[n.t] || 'span'), n.c || []);
  }
}
