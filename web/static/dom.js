// dom.js: the few DOM helpers every view uses. User text only ever reaches
// the page as text nodes (el's strings and `text`), never as HTML.
import * as fmt from './format.js';

export const $ = (sel, root = document) => root.querySelector(sel);

/** el builds an element: el('div.a.b', {attrs}, children…). Strings become
 * text nodes. */
export function el(spec, attrs = {}, ...children) {
  const [tag, ...classes] = spec.split('.');
  const e = document.createElement(tag || 'div');
  if (classes.length) e.className = classes.join(' ');
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') e.textContent = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return e;
}

const ICONS = {
  plus: 'M12 5v14M5 12h14',
  search: 'M11 4a7 7 0 1 0 0 14a7 7 0 0 0 0-14zM21 21l-4.35-4.35',
  chat: 'M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z',
  down: 'M12 5v14M19 12l-7 7-7-7',
  send: 'M22 2L11 13M22 2l-7 20-4-9-9-4 20-7z',
  back: 'M15 18l-6-6 6-6',
  users: 'M17 21v-2a4 4 0 0 0-4-4H5a4 4 0 0 0-4 4v2M9 3a4 4 0 1 0 0 8a4 4 0 0 0 0-8zM23 21v-2a4 4 0 0 0-3-3.87M16 3.13a4 4 0 0 1 0 7.75',
  logout: 'M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4M16 17l5-5-5-5M21 12H9',
  lock: 'M5 11h14v10H5zM8 11V7a4 4 0 0 1 8 0v4',
  hash: 'M4 9h16M4 15h16M10 3L8 21M16 3l-2 18',
  account: 'M20 21v-2a4 4 0 0 0-4-4H8a4 4 0 0 0-4 4v2M12 3a4 4 0 1 0 0 8a4 4 0 0 0 0-8z',
  smile: 'M12 2a10 10 0 1 0 0 20a10 10 0 0 0 0-20zM8 14s1.5 2 4 2 4-2 4-2M9 9h.01M15 9h.01',
};

export function icon(name) {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('fill', 'none');
  svg.setAttribute('stroke', 'currentColor');
  svg.setAttribute('stroke-width', '2');
  svg.setAttribute('stroke-linecap', 'round');
  svg.setAttribute('stroke-linejoin', 'round');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(NS, 'path');
  path.setAttribute('d', ICONS[name]);
  svg.append(path);
  return svg;
}

export function userAvatar(user, { online } = {}) {
  const a = el(`span.avatar.c${fmt.colorIndex(user)}`, { 'aria-hidden': 'true', text: fmt.initials(user) });
  if (online !== undefined) a.append(el(`span.presence${online ? '.online' : ''}`));
  return a;
}

export function roomAvatar(room) {
  if (room.kind === 'dm') return userAvatar(room.peer || '?', { online: room.peer ? room.online.has(room.peer) : false });
  const a = el('span.avatar.room-icon', { 'aria-hidden': 'true' });
  a.append(icon(room.kind === 'private' ? 'lock' : 'hash'));
  return a;
}

export function toast(text) {
  const t = el('div.toast', { text });
  $('#toasts').append(t);
  setTimeout(() => t.remove(), 4500);
}

export function showError(p, text) {
  p.textContent = text || '';
  p.hidden = !text;
}

/** reconcile makes nodes parent's children, in order, moving the nodes
 * that are there already instead of rebuilding them. */
export function reconcile(parent, nodes) {
  let cur = parent.firstChild;
  for (const n of nodes) {
    if (n === cur) cur = cur.nextSibling;
    else parent.insertBefore(n, cur);
  }
  while (cur) {
    const next = cur.nextSibling;
    cur.remove();
    cur = next;
  }
}

export const wideScreen = () => !matchMedia('(max-width: 720px)').matches;
