// A minimal page on natter.js: log in, join a room from its start, show its
// messages with their edits, deletions and reactions, and send.
import { Client } from './natter.js';

const $ = (id) => document.getElementById(id);
let token = null;
let client = null;
const items = new Map(); // seq -> {li, text, reactions}

async function auth(action, username, password) {
  const res = await fetch(`/api/auth/${action}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  const body = await res.json();
  if (!res.ok) throw new Error(body.error?.message || res.statusText);
  return body.token;
}

function render(seq) {
  const it = items.get(seq);
  const reacts = [...it.reactions].map(([e, users]) => `${e} ${users.size}`).join(' ');
  it.li.textContent = it.deleted ? 'message deleted' : `${it.from}: ${it.text}${it.edited ? ' (edited)' : ''} ${reacts}`;
  it.li.className = it.deleted ? 'deleted' : '';
}

function start() {
  client = new Client({ token: () => token }); // default URL: /ws on this host
  client.on('state', ({ state }) => { $('state').textContent = state; });
  client.on('message', (m) => {
    const li = document.createElement('li');
    li.value = m.seq;
    $('messages').append(li);
    items.set(m.seq, { li, from: m.from, text: m.text, reactions: new Map() });
    render(m.seq);
  });
  client.on('edit', (e) => {
    const it = items.get(e.target);
    if (it) { it.text = e.text; it.edited = true; render(e.target); }
  });
  client.on('delete', (d) => {
    const it = items.get(d.target);
    if (it) { it.deleted = true; render(d.target); }
  });
  client.on('react', (r) => {
    const it = items.get(r.target);
    if (!it) return;
    const users = it.reactions.get(r.emoji) || new Set();
    if (r.remove) users.delete(r.from); else users.add(r.from);
    if (users.size) it.reactions.set(r.emoji, users); else it.reactions.delete(r.emoji);
    render(r.target);
  });
  client.connect();
  client.join($('room').value, { after: 0 });
  $('composer').hidden = false;
}

$('login').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  try {
    token = await auth(ev.submitter?.value || 'login', $('username').value, $('password').value);
    if (!client) start();
  } catch (err) {
    $('state').textContent = err.message;
  }
});

$('composer').addEventListener('submit', (ev) => {
  ev.preventDefault();
  client.send($('room').value, $('text').value).done.catch((err) => { $('state').textContent = err.message; });
  $('text').value = '';
});
