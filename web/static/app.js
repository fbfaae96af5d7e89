// app.js: the Natter web UI. Plain DOM, no framework. User text only ever
// reaches the page as text nodes (or as the text and checked href of an
// <a> built with DOM calls); nothing here assigns innerHTML.
import { Client, State, newCid } from './natter.js';
import * as fmt from './format.js';
import { Session } from './session.js';
import { API } from './api.js';
import { Moderation } from './moderation.js';
import { resolveHandoff, wireAccount } from './account.js';
import { Invitations } from './invitations.js';

// ---------------------------------------------------------------- helpers

const $ = (sel, root = document) => root.querySelector(sel);

/** el builds an element: el('div.a.b', {attrs}, children…). Strings become
 * text nodes. */
function el(spec, attrs = {}, ...children) {
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
};

function icon(name) {
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

function userAvatar(user, { online } = {}) {
  const a = el(`span.avatar.c${fmt.colorIndex(user)}`, { 'aria-hidden': 'true', text: fmt.initials(user) });
  if (online !== undefined) a.append(el(`span.presence${online ? '.online' : ''}`));
  return a;
}

function roomAvatar(room) {
  if (room.kind === 'dm') return userAvatar(room.peer || '?', { online: room.peer ? room.online.has(room.peer) : false });
  const a = el('span.avatar.room-icon', { 'aria-hidden': 'true' });
  a.append(icon(room.kind === 'private' ? 'lock' : 'hash'));
  return a;
}

function toast(text) {
  const t = el('div.toast', { text });
  $('#toasts').append(t);
  setTimeout(() => t.remove(), 4500);
}

/** human turns an error into a sentence for people. */
function human(err) {
  const byCode = {
    offline: 'You are offline; try again when the connection is back.',
    disconnected: 'The connection dropped; try again.',
    timeout: 'The server did not answer in time; try again.',
    rate_limited: 'Too many attempts. Wait a minute and try again.',
    unavailable: 'The server is busy or restarting; try again in a moment.',
    internal: 'Something went wrong on the server.',
  };
  if (err && byCode[err.code]) return byCode[err.code];
  let m = String((err && err.message) || err || 'Something went wrong');
  m = m.charAt(0).toUpperCase() + m.slice(1);
  return /[.!?…]$/.test(m) ? m : m + '.';
}

function showError(p, text) {
  p.textContent = text || '';
  p.hidden = !text;
}

/** coalesced returns a function that runs fn once, ms after the first of a
 * burst of calls. */
function coalesced(fn, ms) {
  let timer = 0;
  return () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = 0;
      fn();
    }, ms);
  };
}

const wideScreen = () => !matchMedia('(max-width: 720px)').matches;

// Per-user browser storage: drafts and unsent messages survive a reload, a
// crash and an expired session; logging out removes them.
const store = {
  key: (what, ...rest) => ['natter', what, session.user, ...rest].join('.'),
  get(key, def) {
    try {
      const v = localStorage.getItem(key);
      return v === null ? def : JSON.parse(v);
    } catch (e) {
      return def;
    }
  },
  set(key, v) {
    try {
      if (v === undefined || v === null || v === '') localStorage.removeItem(key);
      else localStorage.setItem(key, JSON.stringify(v));
    } catch (e) {
      /* storage full or disabled: drafts are a convenience */
    }
  },
  clearUser(user) {
    for (let i = localStorage.length - 1; i >= 0; i--) {
      const k = localStorage.key(i);
      if (k && (k.startsWith(`natter.draft.${user}.`) || k === `natter.outbox.${user}` || k === `natter.last.${user}`)) {
        localStorage.removeItem(k);
      }
    }
  },
};

// ---------------------------------------------------------------- model

class Room {
  constructor(id, kind = 'public') {
    this.id = id;
    this.kind = id.startsWith('dm-') ? 'dm' : kind;
    this.owner = null;
    this.users = []; // the two users of a DM
    this.msgs = new Map(); // seq -> message
    this._sorted = null;
    this.pending = new Map(); // cid -> {cid, text, ts, status: pending|failed, error}
    this.read = 0; // my read cursor
    this.snapUnread = 0; // unread count from GET /api/rooms ...
    this.snapLast = 0; // ... for messages up to this seq
    this.joinAfter = null; // where the live subscription started
    this.loadedFrom = null; // oldest seq of the contiguous history loaded
    this.noOlder = false;
    this.historyLoaded = false;
    this.loading = false;
    this.lastMsg = null;
    this.touched = Date.now();
    this.online = new Set();
    this.typing = new Map(); // user -> timer
    this.members = null; // user -> read cursor, once loaded
    this.divider = null; // read cursor when the room was opened
    this.nodes = new Map(); // render cache: key -> {node, sig}
  }

  get peer() {
    if (this.kind !== 'dm') return null;
    return this.users.find((u) => u !== session.user) || this.users[0] || null;
  }

  get name() {
    if (this.kind === 'dm') return this.peer || 'Direct message';
    return this.id;
  }

  sorted() {
    if (!this._sorted) this._sorted = [...this.msgs.values()].sort((a, b) => a.seq - b.seq);
    return this._sorted;
  }

  add(m) {
    const had = this.msgs.get(m.seq);
    // A message shown from its ack alone gives way to the stored one.
    if (had && !(had.local && !m.local)) return false;
    this.msgs.set(m.seq, m);
    if (had) this.nodes.delete('m-' + m.seq);
    this._sorted = null;
    if (!this.lastMsg || m.seq >= this.lastMsg.seq) this.lastMsg = m;
    if (m.from === session.user) this.pending.delete(m.cid);
    return true;
  }

  reset() {
    this.msgs.clear();
    this._sorted = null;
    this.nodes.clear();
    this.read = this.snapUnread = this.snapLast = 0;
    this.loadedFrom = null;
    this.noOlder = false;
    this.historyLoaded = false;
    this.lastMsg = null;
    this.members = null;
  }

  /** unread counts messages from others after my read cursor: exactly
   * when the history after it is loaded, else from the server's count
   * plus what arrived since. */
  unread() {
    const R = this.read;
    const others = (from) => [...this.msgs.values()].filter((m) => m.from !== session.user && m.seq > from).length;
    if (this.loadedFrom !== null && (this.loadedFrom <= R || this.noOlder)) return others(R);
    const base = R >= this.snapLast ? 0 : this.snapUnread;
    return base + others(Math.max(R, this.snapLast));
  }

  activity() {
    return Math.max(this.touched, this.lastMsg ? Date.parse(this.lastMsg.ts) : 0);
  }
}

// ---------------------------------------------------------------- state

const session = new Session();
let api = null;
let client = null;
let moderation = null;
const rooms = new Map();
let current = null; // id of the open room
let reauthing = false;
let holdUnauthorized = false; // a password change is replacing the token
let booted = false;

// ---------------------------------------------------------------- boot

async function boot() {
  const hasSession = resolveHandoff(session, session.load(), toast);
  await session.loadConfig();
  $('#boot').hidden = true;
  if (hasSession) {
    startApp({ fresh: false });
  } else if (!session.config.accounts && session.config.login_url && !session.recentlyRedirected()) {
    session.loginRedirect();
  } else {
    showAuth();
  }
}

// ---------------------------------------------------------------- login

let authMode = 'login';

function showAuth({ overlay = false, note = '' } = {}) {
  const auth = $('#auth');
  auth.hidden = false;
  auth.classList.toggle('overlay', overlay);
  const cfg = session.config;
  $('#auth-tabs').hidden = !cfg.accounts || overlay;
  $('#auth-form').hidden = !cfg.accounts;
  $('#sso').hidden = !cfg.login_url;
  $('#auth-disabled').hidden = cfg.accounts || !!cfg.login_url;
  showError($('#auth-note'), '');
  $('#auth-note').hidden = !note;
  $('#auth-note').textContent = note;
  $('#auth-note').classList.remove('error');
  setAuthMode(overlay ? 'login' : authMode);
  if (overlay && session.user) $('#auth-username').value = session.user;
  setTimeout(() => (cfg.accounts ? ($('#auth-username').value ? $('#auth-password') : $('#auth-username')) : $('#sso-button')).focus(), 0);
}

function setAuthMode(mode) {
  authMode = mode;
  const reg = mode === 'register';
  $('#tab-login').setAttribute('aria-selected', String(!reg));
  $('#tab-register').setAttribute('aria-selected', String(reg));
  $('#auth-title').textContent = reg ? 'Create your account' : 'Log in';
  $('#auth-submit').textContent = reg ? 'Create account' : 'Log in';
  $('#auth-password').autocomplete = reg ? 'new-password' : 'current-password';
  $('#auth-username-hint').hidden = !reg;
  $('#auth-password-hint').hidden = !reg;
  showError($('#auth-error'), '');
}

function wireAuth() {
  $('#tab-login').addEventListener('click', () => setAuthMode('login'));
  $('#tab-register').addEventListener('click', () => setAuthMode('register'));
  $('#sso-button').addEventListener('click', () => session.loginRedirect());
  $('#auth-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const username = $('#auth-username').value.trim();
    const password = $('#auth-password').value;
    const err = $('#auth-error');
    if (!fmt.validID(username)) {
      $('#auth-username').setAttribute('aria-invalid', 'true');
      showError(err, 'A username is 1 to 64 letters, digits, _ or -.');
      $('#auth-username').focus();
      return;
    }
    $('#auth-username').removeAttribute('aria-invalid');
    if (authMode === 'register' && password.length < 8) {
      showError(err, 'Choose a password of at least 8 characters.');
      $('#auth-password').focus();
      return;
    }
    const previous = session.user;
    const button = $('#auth-submit');
    button.disabled = true;
    showError(err, '');
    try {
      if (authMode === 'register') await session.register(username, password);
      else await session.login(username, password);
    } catch (ex) {
      showError(err, ex.code === 'unauthorized' ? 'Wrong username or password.' : ex.code === 'conflict' ? 'That username is taken; pick another one.' : human(ex));
      button.disabled = false;
      return;
    }
    button.disabled = false;
    $('#auth-password').value = '';
    signedIn(previous, authMode === 'register');
  });
  $('#token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const previous = session.user;
    if (!session.set($('#token-input').value.trim())) {
      showError($('#auth-error'), 'That token is malformed or expired.');
      $('#auth-error').hidden = false;
      $('#auth-form').hidden = false;
      return;
    }
    $('#token-input').value = '';
    signedIn(previous, false);
  });
}

// signedIn continues after a login: into the app, or back into it after a
// session expired (same user: nothing is lost; another user: start over).
function signedIn(previous, fresh) {
  $('#auth').hidden = true;
  $('#auth').classList.remove('overlay');
  if (reauthing && client) {
    reauthing = false;
    if (previous && previous !== session.user) {
      location.reload();
      return;
    }
    keepFresh();
    client.connect();
    updateConn();
    refreshRooms();
    return;
  }
  startApp({ fresh });
}

// expired: the token cannot be renewed. Log in again over the app, which
// keeps its state (and the composer its text) underneath.
function expired() {
  if (reauthing || !client) return;
  reauthing = true;
  updateConn();
  if (!session.config.accounts && session.config.login_url) {
    saveAllDrafts();
    session.loginRedirect();
    return;
  }
  showAuth({ overlay: true, note: 'Your session has expired. Log in again to carry on; your drafts are kept.' });
}

// ---------------------------------------------------------------- app

function startApp({ fresh }) {
  if (booted) return;
  booted = true;
  $('#auth').hidden = true;
  $('#app').hidden = false;
  wireApp();
  $('#me-name').textContent = session.user;
  $('#me-avatar').replaceWith(Object.assign(userAvatar(session.user), { id: 'me-avatar' }));
  api = new API(() => session.validToken(), onUnauthorized);
  client = new Client({ token: () => session.validToken() });
  moderation = new Moderation({ client, api, me: session.user, el, changed: moderationChanged, error: (t) => toast(t) });
  wireClient();
  new Invitations({ client, notify: toast, onAccepted: () => refreshRooms() }).mount($('#sidebar .actions'));
  keepFresh();
  client.connect();
  updateConn();
  loadRooms({ fresh });
}

// keepFresh keeps the session's token fresh and hands each new token to the
// open connection, which the server closes when the token it authenticated
// with expires.
function keepFresh() {
  session.keepFresh(expired, renewConnection);
  renewConnection();
}

function renewConnection() {
  if (client) client.renew().catch(() => {});
}

async function onUnauthorized() {
  if (reauthing || holdUnauthorized) return;
  try {
    await session.refresh();
    keepFresh();
    if (client.state === State.UNAUTHORIZED) client.connect();
  } catch (e) {
    expired();
  }
}

async function loadRooms({ fresh }) {
  let list;
  try {
    list = await api.rooms();
  } catch (e) {
    if (e.status !== 401) {
      toast('Could not load your rooms. Retrying…');
      setTimeout(() => loadRooms({ fresh }), 3000);
    }
    return;
  }
  for (const s of list) addRoom(s);
  restoreOutbox();
  renderRooms();
  loadPreviews(list.filter((s) => s.last_seq > 0).map((s) => s.id));
  if (fresh && list.length === 0) {
    // A new account starts in #general, like in most chat apps.
    joinNew('general', { open: true });
    return;
  }
  const last = store.get(store.key('last'), null);
  if (last && rooms.has(last) && (wideScreen() || location.hash === '#open')) openRoom(last, { focus: false });
}

// addRoom adds a room from a GET /api/rooms entry and follows it from the
// newest message the server has counted, so that unread counts add up.
function addRoom(s) {
  let room = rooms.get(s.id);
  if (!room) {
    room = new Room(s.id, s.kind);
    rooms.set(s.id, room);
    client.join(s.id, { after: s.last_seq }).catch((err) => dropRoom(s.id, `${s.id}: ${human(err)}`));
  }
  room.kind = s.kind;
  room.read = Math.max(room.read, s.read);
  room.snapUnread = s.unread;
  room.snapLast = s.last_seq;
  return room;
}

// refreshRooms catches up with rooms added or removed while we were not
// listening (user events are not stored).
async function refreshRooms() {
  const started = Date.now();
  let list;
  try {
    list = await api.rooms();
  } catch (e) {
    return;
  }
  const ids = new Set(list.map((s) => s.id));
  for (const s of list) addRoom(s);
  for (const id of [...rooms.keys()]) {
    const p = client.position(id);
    if (!ids.has(id) && p && p.joined && rooms.get(id).touched < started) dropRoom(id, null);
  }
  renderRooms();
}

// joinNew follows a room we are not (or were not) a member of yet. The
// history API fills in what came before the live subscription.
function joinNew(id, { open = false, kind } = {}) {
  let room = rooms.get(id);
  if (!room) {
    room = new Room(id, kind);
    rooms.set(id, room);
  }
  room.touched = Date.now();
  const p = client.join(id);
  p.then(() => {
    renderRooms();
    if (open) openRoom(id);
  }).catch((err) => {
    dropRoom(id, null);
    toast(`Cannot join ${id}: ${human(err)}`);
  });
  renderRooms();
  return p;
}

function dropRoom(id, why) {
  const room = rooms.get(id);
  if (!room) return;
  rooms.delete(id);
  client.leave(id);
  if (why) toast(why);
  if (current === id) closeRoom();
  renderRooms();
}

async function loadPreviews(ids) {
  const queue = [...ids];
  const worker = async () => {
    while (queue.length) {
      const id = queue.shift();
      const room = rooms.get(id);
      if (!room || room.lastMsg) continue;
      try {
        const page = await api.messages(id, { limit: 1 });
        const m = page.messages[page.messages.length - 1];
        if (m && (!room.lastMsg || m.seq > room.lastMsg.seq)) room.lastMsg = m;
        renderRooms();
      } catch (e) {
        /* the preview is optional */
      }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}

// ---------------------------------------------------------------- client events

function wireClient() {
  client.on('state', updateConn);
  client.on('ready', (ev) => {
    if (ev.user !== session.user) location.reload();
    if (wasConnected) refreshRooms();
    wasConnected = true;
  });
  client.on('unauthorized', () => onUnauthorized());
  client.on('joined', (ev) => {
    const room = rooms.get(ev.room);
    if (!room) return;
    room.kind = ev.kind;
    room.owner = ev.owner || null;
    if (ev.users) room.users = ev.users;
    room.online = new Set(ev.online || []);
    if (room.joinAfter === null || ev.reset) room.joinAfter = ev.after;
    renderRooms();
    if (current === ev.room) renderHeader();
  });
  client.on('reset', (ev) => {
    const room = rooms.get(ev.room);
    if (!room) return;
    room.reset();
    room.joinAfter = null;
    if (current === ev.room) {
      renderMessages();
      loadLatest(room);
    }
  });
  client.on('message', onMessage);
  client.on('receipt', (ev) => {
    const room = rooms.get(ev.room);
    if (!room) return;
    if (ev.user === session.user) {
      room.read = Math.max(room.read, ev.seq);
      renderRooms();
    } else {
      if (!room.members) room.members = new Map();
      room.members.set(ev.user, Math.max(room.members.get(ev.user) || 0, ev.seq));
    }
    if (current === ev.room) renderMessages();
  });
  client.on('presence', (ev) => {
    const room = rooms.get(ev.room);
    if (!room) return;
    if (ev.status === 'online') room.online.add(ev.user);
    else room.online.delete(ev.user);
    renderRooms();
    if (current === ev.room) renderHeader();
    if (membersRoom === ev.room) renderMembers();
  });
  client.on('typing', (ev) => {
    const room = rooms.get(ev.room);
    if (!room || ev.user === session.user) return;
    clearTimeout(room.typing.get(ev.user));
    room.typing.set(
      ev.user,
      setTimeout(() => {
        room.typing.delete(ev.user);
        if (current === ev.room) renderTyping();
      }, 5000),
    );
    if (current === ev.room) renderTyping();
  });
  client.on('member', (ev) => {
    const room = rooms.get(ev.room);
    if (room && moderation.event(ev) && !['kicked', 'banned'].includes(ev.action)) return;
    if (!room || ev.user === session.user) return;
    if (room.members) {
      if (ev.action === 'added') room.members.set(ev.user, room.members.get(ev.user) || 0);
      else room.members.delete(ev.user);
    }
    if (membersRoom === ev.room) loadMembersDialog();
  });
  client.on('left', (ev) => {
    // Removed by the owner, or left on another device.
    if (rooms.has(ev.room) && !client.position(ev.room)) dropRoom(ev.room, `You are no longer a member of ${rooms.get(ev.room).name}.`);
  });
  client.on('room', (ev) => {
    if (ev.action === 'added' && !rooms.has(ev.room)) {
      refreshRooms();
      if (ev.kind === 'dm') toast(`${ev.from} started a conversation with you.`);
      else toast(`${ev.from} added you to ${ev.room}.`);
    } else if (ev.action === 'removed' && rooms.has(ev.room)) {
      dropRoom(ev.room, `${ev.from} removed you from ${ev.room}.`);
    }
  });
  client.on('error', (ev) => {
    if (ev.code === 'rate_limited') toast('You are sending too fast; slow down a little.');
  });
}
let wasConnected = false;

function onMessage(m) {
  const room = rooms.get(m.room);
  if (!room) return;
  const fresh = !room.msgs.has(m.seq);
  if (!room.add(m)) return;
  if (room.typing.has(m.from)) {
    clearTimeout(room.typing.get(m.from));
    room.typing.delete(m.from);
  }
  if (m.from === session.user) saveOutbox();
  renderRooms();
  if (current === m.room) {
    renderMessages({ follow: fresh && m.from === session.user });
    renderTyping();
  }
}

// ---------------------------------------------------------------- connection state

function updateConn() {
  const conn = $('#conn');
  if (!conn || !client) return;
  let state = client.state;
  let text = 'Connected';
  let offline = false;
  if (reauthing || state === State.UNAUTHORIZED) {
    state = 'unauthorized';
    text = 'Signed out';
  } else if (state === State.CONNECTING || state === State.IDLE) {
    text = 'Connecting…';
  } else if (state === State.RECONNECTING) {
    offline = navigator.onLine === false || client.attempts >= 4;
    const wait = Math.ceil(client.retryIn() / 1000);
    text = offline ? (navigator.onLine === false ? 'Offline' : wait > 0 ? `Offline · retrying in ${wait} s` : 'Offline · retrying…') : 'Reconnecting…';
  }
  conn.dataset.state = state;
  conn.dataset.offline = String(offline);
  $('#conn-text').textContent = text;
  $('#conn-retry').hidden = !(state === State.RECONNECTING && offline && navigator.onLine !== false);
  const banner = $('#banner');
  if (state === State.CONNECTED) {
    banner.hidden = true;
  } else if (state !== 'unauthorized' && state !== State.CONNECTING) {
    banner.hidden = false;
    banner.textContent = `${offline ? 'You are offline' : 'Reconnecting'}. Messages you send will go out when the connection is back.`;
  }
}

// The countdown of "retrying in N s" moves on its own.
setInterval(() => client && client.state === State.RECONNECTING && updateConn(), 1000);

// ---------------------------------------------------------------- room list

// renderRooms redraws the list soon, once for a burst of changes. Not with
// requestAnimationFrame: a background tab must still update its title.
const renderRooms = coalesced(() => drawRooms(), 16);

function drawRooms() {
  const ul = $('#rooms');
  const filter = $('#room-filter').value.trim().toLowerCase();
  const sorted = [...rooms.values()].sort((a, b) => b.activity() - a.activity() || a.name.localeCompare(b.name));
  const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.room : null;
  const items = [];
  let total = 0;
  for (const room of sorted) {
    const unread = room.unread();
    total += unread;
    if (filter && !room.name.toLowerCase().includes(filter)) continue;
    const last = room.lastMsg;
    const who = last ? (last.from === session.user ? 'You' : last.from) : '';
    const label = `${room.kind === 'dm' ? 'Conversation with ' : room.kind === 'private' ? 'Private room ' : 'Room '}${room.name}${unread ? `, ${unread} unread` : ''}`;
    const button = el(
      `button.room${unread ? '.unread' : ''}`,
      {
        type: 'button',
        dataset: { room: room.id },
        'aria-current': current === room.id ? 'page' : null,
        'aria-label': label,
        onclick: () => openRoom(room.id),
      },
      roomAvatar(room),
      el(
        'span.room-body',
        {},
        el('span.room-top', {}, el('span.room-name', { text: room.name }), last ? el('time.room-when', { datetime: last.ts, text: fmt.shortWhen(new Date(last.ts)) }) : null),
        el(
          'span.room-bottom',
          {},
          el('span.room-preview', { text: last ? `${who}: ${fmt.preview(last.text)}` : room.kind === 'dm' ? 'Say hello' : 'No messages yet' }),
          unread ? el('span.badge.unread-count', { text: unread > 99 ? '99+' : String(unread) }) : null,
        ),
      ),
    );
    items.push(el('li', {}, button));
  }
  ul.replaceChildren(...items);
  $('#rooms-empty').hidden = rooms.size > 0;
  if (focused) ul.querySelector(`[data-room="${CSS.escape(focused)}"]`)?.focus();
  const cur = current && rooms.get(current);
  document.title = (total ? `(${total}) ` : '') + (cur ? `${cur.kind === 'dm' ? '' : '#'}${cur.name} · ` : '') + 'Natter';
}

// ---------------------------------------------------------------- room view

function openRoom(id, { focus = true } = {}) {
  const room = rooms.get(id);
  if (!room) return;
  if (current && current !== id) saveDraft(current);
  const changed = current !== id;
  current = id;
  store.set(store.key('last'), id);
  $('#welcome').hidden = true;
  $('#room-view').hidden = false;
  $('#app').classList.add('show-chat');
  if (changed) {
    visible.clear();
    room.divider = room.unread() > 0 ? room.read : null;
    $('#messages').replaceChildren();
    $('#composer').value = store.get(store.key('draft', id), '') || '';
    autosize();
    showError($('#composer-error'), '');
    $('#composer-label').textContent = `Message ${room.kind === 'dm' ? room.name : '#' + room.name}`;
    $('#composer').placeholder = `Message ${room.kind === 'dm' ? room.name : '#' + room.name}`;
  }
  renderHeader();
  renderRooms();
  renderTyping();
  renderMessages({ initial: true });
  if (!room.historyLoaded) loadLatest(room);
  if (!room.members) loadMembers(room);
  moderation.open(id, room.kind);
  renderModNotice();
  if (focus && wideScreen()) $('#composer').focus();
}

function closeRoom() {
  current = null;
  $('#room-view').hidden = true;
  $('#welcome').hidden = false;
  $('#app').classList.remove('show-chat');
  renderRooms();
}

function renderHeader() {
  const room = rooms.get(current);
  if (!room) return;
  const av = roomAvatar(room);
  av.id = 'room-avatar';
  $('#room-avatar').replaceWith(av);
  $('#room-title').textContent = room.kind === 'dm' ? room.name : `#${room.name}`;
  let sub = '';
  if (room.kind === 'dm') sub = room.peer && room.online.has(room.peer) ? 'Online' : 'Offline';
  else {
    const n = room.online.size;
    sub = `${room.kind === 'private' ? 'Private room' : 'Public room'}${room.owner ? ` · created by ${room.owner}` : ''} · ${n} online`;
  }
  $('#room-subtitle').textContent = sub;
  $('#members-button').hidden = false;
}

function renderTyping() {
  const room = rooms.get(current);
  $('#typing').textContent = room ? fmt.typingText([...room.typing.keys()]) : '';
}

// ---------------------------------------------------------------- history

async function loadLatest(room) {
  if (room.loading) return;
  room.loading = true;
  setHistoryStatus(room);
  try {
    const page = await api.messages(room.id, { limit: 50 });
    for (const m of page.messages) room.add(m);
    room.loadedFrom = page.messages.length ? page.messages[0].seq : 0;
    room.noOlder = !page.has_more;
    const newest = page.messages.length ? page.messages[page.messages.length - 1].seq : 0;
    await fillGap(room, newest);
    room.historyLoaded = true;
    // Open at the first unread message: fetch back to it (a few pages).
    for (let i = 0; i < 4 && room.divider !== null && !room.noOlder && room.loadedFrom > room.divider; i++) {
      await fetchOlder(room);
    }
  } catch (e) {
    room.loading = false;
    if (e.status !== 401) setHistoryStatus(room, 'Could not load the history.', () => loadLatest(room));
    return;
  }
  room.loading = false;
  renderRooms();
  if (current === room.id) renderMessages({ initial: true });
}

// fillGap reads history between the newest archived message and where the
// live subscription started: the archive may trail the stream a little.
async function fillGap(room, newest) {
  for (let tries = 0; room.joinAfter !== null && newest < room.joinAfter && tries < 20; ) {
    const page = await api.messages(room.id, { after: newest, limit: 200 });
    for (const m of page.messages) room.add(m);
    if (page.messages.length) newest = page.messages[page.messages.length - 1].seq;
    else {
      tries++;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

async function fetchOlder(room) {
  const page = await api.messages(room.id, { before: room.loadedFrom, limit: 50 });
  for (const m of page.messages) room.add(m);
  if (page.messages.length) room.loadedFrom = page.messages[0].seq;
  room.noOlder = !page.has_more;
}

async function loadOlder(room) {
  if (room.loading || room.noOlder || !room.historyLoaded || !room.loadedFrom) return;
  room.loading = true;
  setHistoryStatus(room);
  const sc = $('#scroller');
  try {
    await fetchOlder(room);
  } catch (e) {
    room.loading = false;
    setHistoryStatus(room, 'Could not load older messages.', () => loadOlder(room));
    return;
  }
  room.loading = false;
  if (current !== room.id) return;
  const before = sc.scrollHeight - sc.scrollTop;
  renderMessages({ keep: before });
}

function setHistoryStatus(room, error, retry) {
  if (current !== room.id) return;
  const s = $('#history-status');
  if (error) {
    s.replaceChildren(error + ' ', el('button.link-button', { type: 'button', text: 'Try again', onclick: retry }));
  } else if (room.loading) {
    s.textContent = 'Loading messages…';
  } else if (room.historyLoaded && room.noOlder) {
    s.textContent = room.kind === 'dm' ? `This is the beginning of your conversation with ${room.name}.` : `This is the beginning of #${room.name}.`;
  } else {
    s.textContent = '';
  }
}

async function loadMembers(room) {
  try {
    const list = await api.members(room.id);
    const m = new Map(room.members || []);
    for (const x of list) m.set(x.user, Math.max(x.read, m.get(x.user) || 0));
    room.members = m;
    if (current === room.id) renderMessages();
  } catch (e) {
    /* receipts are optional */
  }
}

// ---------------------------------------------------------------- messages

function atBottom(sc = $('#scroller')) {
  return sc.scrollHeight - sc.scrollTop - sc.clientHeight < 80;
}

/**
 * renderMessages brings the list up to date. Nodes are cached per message
 * and moved, not rebuilt, so that scrolling and focus survive.
 * follow: stick to the bottom; keep: restore the distance from the bottom
 * (after older messages were put on top); initial: scroll to the first
 * unread message, or the bottom.
 */
function renderMessages({ follow = false, keep = null, initial = false } = {}) {
  const room = rooms.get(current);
  if (!room) return;
  const sc = $('#scroller');
  const wasBottom = atBottom(sc);
  const list = room.sorted().slice();
  const pend = [...room.pending.values()].map((p) => ({ ...p, from: session.user, pending: true }));
  const items = fmt.layout([...list, ...pend]);
  const nodes = [];
  const keys = new Set();
  const mine = [...list].reverse().find((m) => m.from === session.user);
  let dividerPlaced = false;
  const sys = moderation.lines(room.id);
  const sysNode = (l) => cached(room, keys, 'sys-' + l.key, l.text, () => el('li.system', { text: l.text }));
  for (const it of items) {
    const m = it.msg;
    while (sys.length && !m.pending && sys[0].ts <= Date.parse(m.ts)) nodes.push(sysNode(sys.shift()));
    if (it.day) nodes.push(cached(room, keys, 'day-' + it.day + '-' + (m.seq || m.cid), it.day, () => el('li.day', { role: 'separator', text: it.day })));
    if (!dividerPlaced && room.divider !== null && !m.pending && m.seq > room.divider && m.from !== session.user) {
      dividerPlaced = true;
      nodes.push(cached(room, keys, 'divider', '', () => el('li.divider', { role: 'separator', id: 'new-divider', text: 'New messages' })));
    }
    if (m.pending) {
      nodes.push(cached(room, keys, 'p-' + m.cid, `${it.head}|${m.status}|${m.error || ''}`, () => pendingNode(room, m, it.head)));
    } else {
      nodes.push(cached(room, keys, 'm-' + m.seq, String(it.head), () => messageNode(room, m, it.head)));
    }
    if (mine && m === mine && list[list.length - 1] === mine && pend.length === 0) {
      const seen = room.members ? [...room.members].filter(([u, r]) => u !== session.user && r >= mine.seq).map(([u]) => u) : [];
      const text = seen.length ? `Seen by ${fmt.listNames(seen.sort())}` : 'Sent';
      nodes.push(cached(room, keys, 'receipt', text, () => el('li.receipt', { text })));
    }
  }
  for (const l of sys) nodes.push(sysNode(l));
  for (const k of [...room.nodes.keys()]) if (!keys.has(k)) room.nodes.delete(k);
  reconcile($('#messages'), nodes);
  setHistoryStatus(room);

  if (keep !== null) {
    sc.scrollTop = sc.scrollHeight - keep;
  } else if (initial) {
    const div = $('#new-divider');
    if (div) sc.scrollTop = Math.max(0, div.offsetTop - sc.offsetTop - 60);
    else sc.scrollTop = sc.scrollHeight;
  } else if (follow || wasBottom) {
    sc.scrollTop = sc.scrollHeight;
  }
  // Not enough to fill the screen: fetch more history.
  if (room.historyLoaded && !room.noOlder && sc.scrollHeight <= sc.clientHeight + 50) loadOlder(room);
  updateJump();
}

function cached(room, keys, key, sig, build) {
  keys.add(key);
  let c = room.nodes.get(key);
  if (!c || c.sig !== sig) {
    c = { node: build(), sig };
    room.nodes.set(key, c);
  }
  return c.node;
}

function reconcile(parent, nodes) {
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

function textNodes(text) {
  return fmt.linkify(text).map((p) => (p.href ? el('a', { href: p.href, target: '_blank', rel: 'noopener noreferrer nofollow', text: p.text }) : document.createTextNode(p.text)));
}

function messageNode(room, m, head) {
  const d = new Date(m.ts);
  const full = d.toLocaleString();
  const li = el(`li.msg${head ? '.head' : ''}${m.from === session.user ? '.mine' : ''}`, { dataset: { seq: m.seq, from: m.from, room: room.id } });
  if (head) {
    li.append(userAvatar(m.from));
    li.append(el('div.msg-meta', {}, el('span.msg-from', { text: m.from }), el('time.msg-time', { datetime: m.ts, title: full, text: fmt.timeLabel(d) })));
  } else {
    li.append(el('span.msg-gutter', {}, el('time', { datetime: m.ts, title: full, text: fmt.timeLabel(d) })));
  }
  li.append(el('div.msg-text', {}, textNodes(m.text)));
  observer.observe(li);
  return li;
}

function pendingNode(room, p, head) {
  const li = el(`li.msg.mine.${p.status === 'failed' ? 'failed' : 'pending'}${head ? '.head' : ''}`, { dataset: { cid: p.cid, from: session.user } });
  if (head) {
    li.append(userAvatar(session.user));
    li.append(el('div.msg-meta', {}, el('span.msg-from', { text: session.user }), el('span.msg-time', { text: 'now' })));
  } else {
    li.append(el('span.msg-gutter'));
  }
  li.append(el('div.msg-text', {}, textNodes(p.text)));
  const status = el('div.msg-status');
  if (p.status === 'failed') {
    status.append(
      `Not sent${p.error ? ` (${p.error})` : ''}.`,
      el('button.retry', { type: 'button', text: 'Retry', onclick: () => retrySend(room, p.cid) }),
      el('button.discard', { type: 'button', text: 'Delete', onclick: () => discardSend(room, p.cid) }),
    );
  } else {
    status.append(client.state === State.CONNECTED ? 'Sending…' : 'Waiting for connection…');
  }
  li.append(status);
  return li;
}

// ---------------------------------------------------------------- reading

// visible holds the messages of the open room that are on screen.
const visible = new Map(); // node -> seq
const observer = new IntersectionObserver(
  (entries) => {
    for (const e of entries) {
      const seq = Number(e.target.dataset.seq);
      const shown = e.isIntersecting && (e.intersectionRatio >= 0.5 || e.intersectionRect.height >= (e.rootBounds?.height || 0) * 0.5);
      if (shown && e.target.dataset.room === current) visible.set(e.target, seq);
      else visible.delete(e.target);
    }
    markRead();
  },
  { root: null, threshold: [0, 0.5, 1] },
);

// markRead moves the read cursor to the newest message actually on screen,
// while the page is visible and nothing covers the conversation.
const markRead = coalesced(() => {
  const room = rooms.get(current);
  if (!room || document.visibilityState !== 'visible' || !$('#auth').hidden || $('#scroller').offsetParent === null) return;
  let max = 0;
  for (const [node, seq] of visible) if (node.isConnected && seq > max) max = seq;
  if (max > room.read) {
    room.read = max;
    client.read(room.id, max);
    renderRooms();
  }
  updateJump();
}, 50);

function updateJump() {
  const room = rooms.get(current);
  const jump = $('#jump');
  if (!room) return;
  const sc = $('#scroller');
  const far = sc.scrollHeight - sc.scrollTop - sc.clientHeight > sc.clientHeight;
  const below = room.unread();
  jump.hidden = !(far || (below > 0 && !atBottom(sc)));
  $('#jump-text').textContent = below > 0 && !atBottom(sc) ? `${below} new message${below > 1 ? 's' : ''}` : 'Jump to latest';
}

// ---------------------------------------------------------------- sending

function autosize() {
  const c = $('#composer');
  c.style.height = 'auto';
  c.style.height = Math.min(c.scrollHeight, window.innerHeight * 0.4) + 'px';
}

let draftTimer = 0;

function saveDraft(id) {
  if (!id) return;
  store.set(store.key('draft', id), $('#composer').value);
}

function saveAllDrafts() {
  saveDraft(current);
}

function send() {
  const room = rooms.get(current);
  const box = $('#composer');
  // Blank lines around a message are never meant; indentation inside is.
  const text = box.value.replace(/^(?:[ \t]*\r?\n)+/, '').trimEnd();
  if (!room || !text.trim()) return;
  if (moderation.notice(room.id).blocked) return renderModNotice();
  const max = client.limits?.max_text || 8192;
  const size = new TextEncoder().encode(text).length;
  if (size > max) {
    showError($('#composer-error'), `That message is too long (${size} bytes; the limit is ${max}).`);
    return;
  }
  showError($('#composer-error'), '');
  const cid = newCid();
  room.pending.set(cid, { cid, text, ts: new Date().toISOString(), status: 'pending' });
  room.divider = null;
  room.touched = Date.now();
  box.value = '';
  autosize();
  store.set(store.key('draft', room.id), '');
  transmit(room, cid);
  renderMessages({ follow: true });
  renderRooms();
}

function transmit(room, cid) {
  const p = room.pending.get(cid);
  if (!p) return;
  p.status = 'pending';
  saveOutbox();
  client.send(room.id, p.text, { cid }).done.then(
    (ack) => {
      // The ack may come before our own copy of the message: show it now.
      if (!room.msgs.has(ack.seq)) room.add({ room: room.id, seq: ack.seq, prev: 0, epoch: ack.epoch, from: session.user, text: p.text, cid, ts: new Date().toISOString(), local: true });
      room.pending.delete(cid);
      moderation.sent(room.id);
      saveOutbox();
      if (current === room.id) renderMessages({ follow: true });
      renderRooms();
    },
    (err) => {
      if (!room.pending.has(cid)) return;
      moderation.sendFailed(room.id, err);
      p.status = 'failed';
      p.error = err.code === 'too_large' ? 'too long' : err.code === 'forbidden' ? 'not allowed here' : err.code === 'timeout' ? 'no answer' : human(err).replace(/\.$/, '');
      saveOutbox();
      if (current === room.id) renderMessages();
    },
  );
}

function retrySend(room, cid) {
  transmit(room, cid);
  renderMessages();
}

function discardSend(room, cid) {
  room.pending.delete(cid);
  saveOutbox();
  renderMessages();
}

function saveOutbox() {
  const all = [];
  for (const room of rooms.values()) for (const p of room.pending.values()) all.push({ room: room.id, cid: p.cid, text: p.text, ts: p.ts });
  store.set(store.key('outbox'), all.length ? all : null);
}

// restoreOutbox picks up messages that were not acknowledged when the page
// went away. Recent ones go out again under their cid (the server keeps a
// cid for 10 minutes, so a copy it already stored is not stored twice);
// older ones wait for the user to retry.
function restoreOutbox() {
  for (const p of store.get(store.key('outbox'), []) || []) {
    const room = rooms.get(p.room);
    if (!room || room.pending.has(p.cid)) continue;
    const fresh = Date.now() - Date.parse(p.ts) < 5 * 60 * 1000;
    room.pending.set(p.cid, { ...p, status: fresh ? 'pending' : 'failed', error: fresh ? '' : 'the page was closed before it went out' });
    if (fresh) transmit(room, p.cid);
  }
}

// ---------------------------------------------------------------- dialogs

function openDialog(d) {
  for (const p of d.querySelectorAll('.error')) showError(p, '');
  d.showModal();
}

function wireDialog(d) {
  for (const b of d.querySelectorAll('.cancel')) b.addEventListener('click', () => d.close());
}

function wireNewRoom() {
  const d = $('#new-room-dialog');
  const form = $('#new-room-form');
  wireDialog(d);
  form.addEventListener('change', () => {
    $('#new-room-members-field').hidden = form.kind.value !== 'private';
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = $('#new-room-name').value.trim();
    const kind = form.kind.value;
    const err = form.querySelector('.error');
    if (!fmt.validID(name) || name.startsWith('dm-')) {
      showError(err, 'A room name is 1 to 64 letters, digits, _ or - (and does not start with dm-).');
      return;
    }
    const people = kind === 'private' ? $('#new-room-members').value.split(/[\s,]+/).filter(Boolean) : [];
    const bad = people.find((u) => !fmt.validID(u));
    if (bad) {
      showError(err, `"${bad}" is not a valid username.`);
      return;
    }
    try {
      await client.create(name, kind);
      for (const u of people) if (u !== session.user) await client.add(name, u);
    } catch (ex) {
      showError(err, ex.code === 'conflict' ? 'A room with that name already exists.' : human(ex));
      return;
    }
    d.close();
    form.reset();
    $('#new-room-members-field').hidden = true;
    const room = rooms.get(name) || new Room(name, kind);
    if (!rooms.has(name)) {
      rooms.set(name, room);
      room.touched = Date.now();
      // A new room has nothing before now.
      client.join(name, { after: 0 }).then(() => openRoom(name), (ex) => toast(human(ex)));
    } else {
      openRoom(name);
    }
    renderRooms();
  });
}

let browseTimer = 0;

function wireBrowse() {
  const d = $('#browse-dialog');
  wireDialog(d);
  $('#browse-search').addEventListener('input', () => {
    clearTimeout(browseTimer);
    browseTimer = setTimeout(searchRooms, 200);
  });
}

async function searchRooms() {
  const d = $('#browse-dialog');
  const q = $('#browse-search').value.trim();
  const ul = $('#browse-results');
  let list;
  try {
    list = await api.publicRooms(q, 50);
  } catch (e) {
    showError(d.querySelector('.error'), human(e));
    return;
  }
  showError(d.querySelector('.error'), '');
  if (!list.length) {
    ul.replaceChildren(el('li.small', { text: q ? `No public room starts with "${q}".` : 'There are no public rooms yet. Create one!' }));
    return;
  }
  ul.replaceChildren(
    ...list.map((r) => {
      const member = rooms.has(r.id);
      return el(
        'li',
        {},
        el('span.avatar.room-icon', { 'aria-hidden': 'true' }, icon('hash')),
        el('span.grow', {}, el('strong', { text: r.id }), el('br'), el('span.small', { text: r.owner ? `created by ${r.owner}` : '' })),
        el('button' + (member ? '' : '.primary'), {
          type: 'button',
          text: member ? 'Open' : 'Join',
          'aria-label': `${member ? 'Open' : 'Join'} ${r.id}`,
          onclick: () => {
            d.close();
            if (member) openRoom(r.id);
            else joinNew(r.id, { open: true, kind: 'public' });
          },
        }),
      );
    }),
  );
}

function wireNewDM() {
  const d = $('#new-dm-dialog');
  const form = $('#new-dm-form');
  wireDialog(d);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const user = $('#new-dm-user').value.trim();
    const err = form.querySelector('.error');
    if (!fmt.validID(user)) {
      showError(err, 'That is not a valid username.');
      return;
    }
    if (user === session.user) {
      showError(err, 'Pick someone other than yourself.');
      return;
    }
    let r;
    try {
      r = await client.dm(user);
    } catch (ex) {
      showError(err, human(ex));
      return;
    }
    d.close();
    form.reset();
    if (rooms.has(r.room)) {
      openRoom(r.room);
      return;
    }
    const room = new Room(r.room, 'dm');
    room.users = [session.user, user].sort();
    rooms.set(r.room, room);
    joinNew(r.room, { open: true, kind: 'dm' });
  });
}

let membersRoom = null;

function wireMembers() {
  const d = $('#members-dialog');
  wireDialog(d);
  d.addEventListener('close', () => (membersRoom = null));
  $('#members-button').addEventListener('click', () => {
    membersRoom = current;
    openDialog(d);
    loadMembersDialog();
  });
  $('#add-member-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const user = $('#add-member-user').value.trim();
    const err = d.querySelector('.error');
    if (!fmt.validID(user)) {
      showError(err, 'That is not a valid username.');
      return;
    }
    let res;
    try {
      res = await client.add(membersRoom, user);
    } catch (ex) {
      showError(err, human(ex));
      return;
    }
    showError(err, '');
    $('#add-member-user').value = '';
    toast(res.invited ? `${user} was invited to ${membersRoom}.` : `${user} was added to ${membersRoom}.`);
    loadMembersDialog();
  });
  $('#leave-room').addEventListener('click', async () => {
    const id = membersRoom;
    if (!id || !confirm(`Leave #${id}?`)) return;
    try {
      await client.part(id);
    } catch (ex) {
      showError(d.querySelector('.error'), human(ex));
      return;
    }
    d.close();
    dropRoom(id, `You left #${id}.`);
  });
}

async function loadMembersDialog() {
  const room = rooms.get(membersRoom);
  if (!room) return;
  moderation.open(room.id, room.kind);
  try {
    const list = await api.members(room.id);
    room.members = new Map(list.map((m) => [m.user, m.read]));
  } catch (e) {
    showError($('#members-dialog .error'), human(e));
  }
  renderMembers();
}

function renderMembers() {
  const room = rooms.get(membersRoom);
  if (!room) return;
  const owner = room.kind === 'private' && room.owner === session.user;
  $('#members-title').textContent = room.kind === 'dm' ? `Conversation with ${room.name}` : `Members of #${room.name}`;
  $('#add-member-form').hidden = !owner;
  $('#leave-room').hidden = room.kind === 'dm';
  const users = [...(room.members || new Map()).keys()].sort();
  $('#members-list').replaceChildren(
    ...users.map((u) => {
      const on = room.online.has(u);
      return el(
        'li',
        { dataset: { user: u } },
        userAvatar(u, { online: on }),
        el('span.grow', {}, el('strong', { text: u }), u === session.user ? ' (you)' : '', el('br'), el('span.small', { text: (on ? 'Online' : 'Offline') + (u === room.owner ? ' · owner' : '') + moderation.badge(room.id, u) })),
        moderation.memberControls(room, u),
        owner && u !== session.user
          ? el('button.danger', {
              type: 'button',
              text: 'Remove',
              'aria-label': `Remove ${u}`,
              onclick: async () => {
                try {
                  await client.remove(room.id, u);
                  loadMembersDialog();
                } catch (ex) {
                  showError($('#members-dialog .error'), human(ex));
                }
              },
            })
          : null,
      );
    }),
  );
  let panel = $('#mod-room');
  if (!panel) $('#members-list').after((panel = el('div', { id: 'mod-room' })));
  panel.replaceChildren(...[moderation.roomControls(room)].filter(Boolean));
}

// moderationChanged re-renders what shows a room's moderation state.
function moderationChanged(id) {
  if (current === id) {
    renderModNotice();
    renderMessages();
  }
  if (membersRoom === id) renderMembers();
}

// renderModNotice shows "you are muted" or the slow-mode wait above the composer.
function renderModNotice() {
  let n = $('#mod-notice');
  if (!n) $('#composer-form').before((n = el('p.mod-notice', { id: 'mod-notice', role: 'status' })));
  const { text, blocked } = current ? moderation.notice(current) : { text: '' };
  n.textContent = text;
  n.hidden = !text;
  n.classList.toggle('blocked', !!blocked);
}

// ---------------------------------------------------------------- wiring

function wireApp() {
  for (const b of document.querySelectorAll('[data-icon]')) b.prepend(icon(b.dataset.icon));
  $('#logout').append(icon('logout'));
  $('#account-button').append(icon('account'));
  $('#back').append(icon('back'));
  $('#members-button').append(icon('users'));
  $('#send').append(icon('send'));

  wireAccount({
    session,
    openDialog,
    human,
    toast,
    signedOut: () => {
      const user = session.user;
      client.close();
      store.clearUser(user);
      session.clear();
      location.reload();
    },
    tokenChanging: (busy) => {
      holdUnauthorized = busy;
      if (busy) return;
      keepFresh();
      if (client.state === State.UNAUTHORIZED) client.connect();
    },
  });
  $('#conn-retry').addEventListener('click', () => client.reconnectNow());
  $('#back').addEventListener('click', () => {
    saveDraft(current);
    $('#app').classList.remove('show-chat');
    current = null;
    renderRooms();
  });
  $('#new-room-button').addEventListener('click', () => {
    openDialog($('#new-room-dialog'));
    $('#new-room-name').focus();
  });
  $('#browse-button').addEventListener('click', () => {
    openDialog($('#browse-dialog'));
    searchRooms();
  });
  $('#new-dm-button').addEventListener('click', () => openDialog($('#new-dm-dialog')));
  $('#room-filter').addEventListener('input', renderRooms);
  wireNewRoom();
  wireBrowse();
  wireNewDM();
  wireMembers();

  const box = $('#composer');
  let lastKey = null;
  box.addEventListener('keydown', (e) => {
    lastKey = e;
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    }
  });
  box.addEventListener('beforeinput', (e) => {
    // Enter sends; its line break must not land in the next message, even
    // from input methods that insert it apart from the key event.
    if ((e.inputType === 'insertLineBreak' || e.inputType === 'insertParagraph') && lastKey && lastKey.key === 'Enter' && !lastKey.shiftKey) {
      e.preventDefault();
    }
  });
  box.addEventListener('input', () => {
    autosize();
    if (current && box.value) client.typing(current);
    clearTimeout(draftTimer);
    const id = current;
    draftTimer = setTimeout(() => saveDraft(id), 300);
  });
  $('#composer-form').addEventListener('submit', (e) => {
    e.preventDefault();
    send();
    box.focus();
  });
  const sc = $('#scroller');
  sc.addEventListener('scroll', () => {
    const room = rooms.get(current);
    if (room && sc.scrollTop < 300) loadOlder(room);
    updateJump();
  });
  $('#jump').addEventListener('click', () => {
    sc.scrollTo({ top: sc.scrollHeight, behavior: matchMedia('(prefers-reduced-motion: reduce)').matches ? 'auto' : 'smooth' });
    box.focus();
  });

  document.addEventListener('keydown', (e) => {
    // Alt+Up / Alt+Down: previous / next room in the list.
    if (e.altKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown')) {
      const ids = [...document.querySelectorAll('#rooms .room')].map((b) => b.dataset.room);
      if (!ids.length) return;
      const i = ids.indexOf(current);
      const next = ids[(i + (e.key === 'ArrowUp' ? -1 : 1) + ids.length) % ids.length];
      e.preventDefault();
      openRoom(next);
    }
    // Ctrl+K / Cmd+K: find a room.
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'k') {
      e.preventDefault();
      $('#room-filter').focus();
    }
  });
  document.addEventListener('visibilitychange', markRead);
  window.addEventListener('focus', markRead);
  window.addEventListener('online', () => {
    client.reconnectNow();
    updateConn();
  });
  window.addEventListener('offline', updateConn);
  window.addEventListener('pagehide', saveAllDrafts);
  // Other tabs of this browser share the session: follow their logout,
  // login as someone else, or refreshed token.
  window.addEventListener('storage', (e) => {
    if (e.key !== 'natter.session') return;
    let token = null;
    try {
      token = JSON.parse(e.newValue || 'null')?.token || null;
    } catch (err) {
      token = null;
    }
    const claims = token && fmt.jwtClaims(token);
    if (!claims || claims.sub !== session.user) {
      location.reload();
      return;
    }
    if (token !== session.token && session.set(token)) {
      keepFresh();
      if (reauthing) signedIn(session.user, false);
    }
  });
}

wireAuth();
boot();
