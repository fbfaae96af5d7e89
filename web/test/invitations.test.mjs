// Tests of invitations.js against a fake protocol client and a minimal DOM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load } from './fake.mjs';

const { Invitations } = await load('invitations.js');

// FakeNode is the part of the DOM invitations.js uses.
class FakeNode {
  constructor(tag) {
    this.tag = tag;
    this.attrs = {};
    this.children = [];
    this.listeners = {};
    this.textContent = '';
    this.hidden = false;
    this.checked = false;
  }
  setAttribute(k, v) {
    this.attrs[k] = v;
    if (k === 'hidden') this.hidden = true;
  }
  append(...c) {
    this.children.push(...c);
  }
  replaceChildren(...c) {
    this.children = c;
  }
  addEventListener(type, fn) {
    this.listeners[type] = fn;
  }
  showModal() {}
  close() {}
  // find returns the descendants whose text is text.
  find(text) {
    const out = [];
    const walk = (n) => {
      if (n.textContent === text) out.push(n);
      (n.children || []).forEach(walk);
    };
    walk(this);
    return out;
  }
}

const fakeDoc = () => ({ body: new FakeNode('body'), createElement: (t) => new FakeNode(t), createTextNode: (t) => ({ textContent: t }) });

// FakeClient answers like the server would and lets the test emit events.
class FakeClient {
  constructor(list) {
    this.list = list;
    this.policy = 'anyone';
    this.listeners = {};
    this.calls = [];
  }
  on(type, fn) {
    this.listeners[type] = fn;
  }
  emit(type, ev) {
    this.listeners[type](ev);
  }
  async invitations() {
    return [...this.list];
  }
  async accept(room) {
    this.calls.push(['accept', room]);
    this.list = this.list.filter((i) => i.room !== room);
  }
  async decline(room) {
    this.calls.push(['decline', room]);
    this.list = this.list.filter((i) => i.room !== room);
  }
  async settings(f = {}) {
    if (f.add_policy) this.policy = f.add_policy;
    return { add_policy: this.policy };
  }
}

const settle = () => new Promise((r) => setTimeout(r, 0));

test('invitations are listed after ready and after an invited event, and answered', async () => {
  const client = new FakeClient([{ room: 'a', from: 'mallory' }]);
  const doc = fakeDoc();
  const accepted = [];
  const notes = [];
  const inv = new Invitations({ client, doc, onAccepted: (r) => accepted.push(r), notify: (t) => notes.push(t) });
  const actions = new FakeNode('div');
  inv.mount(actions);
  const button = actions.children[0];
  assert.equal(button.hidden, true, 'no invitations: no button');

  client.emit('ready', {});
  await settle();
  assert.equal(button.hidden, false);
  assert.equal(button.textContent, 'Invitations (1)');

  client.list.push({ room: 'b', from: 'carol' });
  client.emit('room', { action: 'invited', room: 'b', from: 'carol' });
  await settle();
  assert.equal(button.textContent, 'Invitations (2)');
  assert.deepEqual(notes, ['carol invited you to b.']);

  client.emit('room', { action: 'added', room: 'c', from: 'x' });
  await settle();
  assert.equal(inv.list.length, 2, 'an added event is not an invitation');

  doc.body.find('Accept')[0].listeners.click();
  await settle();
  doc.body.find('Decline')[0].listeners.click();
  await settle();
  assert.deepEqual(client.calls, [['accept', 'a'], ['decline', 'b']]);
  assert.deepEqual(accepted, ['a']);
  assert.equal(button.hidden, true);
});

test('the checkbox sets the add policy', async () => {
  const client = new FakeClient([]);
  const doc = fakeDoc();
  const inv = new Invitations({ client, doc });
  inv.mount(new FakeNode('div'));
  await inv.open();
  assert.equal(inv.check.checked, false);
  inv.check.checked = true;
  inv.check.listeners.change();
  await settle();
  assert.equal(client.policy, 'invite');
  assert.equal(inv.check.checked, true);
});
