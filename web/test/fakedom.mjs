// A stand-in document for the modules that build DOM nodes (richtext.js):
// elements with attributes, classes, dataset and children, text nodes and
// fragments, and html(), which writes a tree out with every text escaped.
// Assigning innerHTML or outerHTML throws: no module may build from HTML.

class Node {
  constructor() {
    this.childNodes = [];
  }

  append(...nodes) {
    for (const n of nodes) {
      const c = typeof n === 'string' ? new Text(n) : n;
      if (c instanceof Fragment) this.childNodes.push(...c.childNodes.splice(0));
      else this.childNodes.push(c);
    }
  }

  get textContent() {
    return this.childNodes.map((c) => c.textContent).join('');
  }

  set textContent(v) {
    this.childNodes = v === '' ? [] : [new Text(String(v))];
  }
}

class Text {
  constructor(text) {
    this.data = text;
  }

  get textContent() {
    return this.data;
  }
}

class Fragment extends Node {}

class Element extends Node {
  constructor(tag) {
    super();
    this.tagName = tag.toUpperCase();
    this.attributes = new Map();
    this.dataset = {};
  }

  setAttribute(k, v) {
    this.attributes.set(k, String(v));
  }

  getAttribute(k) {
    return this.attributes.has(k) ? this.attributes.get(k) : null;
  }

  get className() {
    return this.getAttribute('class') || '';
  }

  set className(v) {
    this.setAttribute('class', v);
  }

  set innerHTML(v) {
    throw new Error('innerHTML assigned');
  }

  set outerHTML(v) {
    throw new Error('outerHTML assigned');
  }

  insertAdjacentHTML() {
    throw new Error('insertAdjacentHTML called');
  }
}

export const fakeDocument = {
  createElement: (tag) => new Element(tag),
  createTextNode: (text) => new Text(text),
  createDocumentFragment: () => new Fragment(),
};

const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** html writes a node out as HTML, attributes in a stable order. */
export function html(n) {
  if (n instanceof Text) return esc(n.data);
  const inner = n.childNodes.map(html).join('');
  if (n instanceof Fragment) return inner;
  const attrs = [...n.attributes].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => ` ${k}="${esc(v)}"`);
  for (const [k, v] of Object.entries(n.dataset).sort()) attrs.push(` data-${k}="${esc(String(v))}"`);
  const tag = n.tagName.toLowerCase();
  return `<${tag}${attrs.join('')}>${inner}</${tag}>`;
}

/** elements lists every element under n (n included), depth first. */
export function elements(n) {
  const out = n instanceof Element ? [n] : [];
  for (const c of n.childNodes || []) out.push(...elements(c));
  return out;
}
