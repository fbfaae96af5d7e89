// invitations.js: invitations to private rooms and the add policy
// (docs/PROTOCOL.md sections 5.6, 5.11 and 5.12). An "Invitations" button in
// the sidebar, shown while some are pending, opens a dialog that lists them
// with Accept and Decline, and holds the setting "ask me before adding me
// to private rooms" (add_policy "invite"). User text only reaches the page
// as text nodes.

/** Invitations keeps the list of pending invitations in step with the
 * server: it reloads it at every (re)connection and at every "invited"
 * room event. */
export class Invitations {
  /**
   * @param {object} o
   * @param {import('./natter.js').Client} o.client
   * @param {(room: string) => void} o.onAccepted called after an accept
   * @param {(text: string) => void} o.notify shows a short message
   */
  constructor({ client, onAccepted = () => {}, notify = () => {}, doc = globalThis.document }) {
    this.client = client;
    this.onAccepted = onAccepted;
    this.notify = notify;
    this.doc = doc;
    this.list = [];
    this.policy = 'anyone';
    client.on('ready', () => this.refresh());
    client.on('room', (ev) => {
      if (ev.action !== 'invited') return;
      this.notify(`${ev.from} invited you to ${ev.room}.`);
      this.refresh();
    });
  }

  /** mount adds the button to parent and the dialog to the page. */
  mount(parent) {
    const d = this.doc;
    this.button = this._el('button', { type: 'button', class: 'action', id: 'invitations-button', hidden: '' });
    this.button.addEventListener('click', () => this.open());
    parent.append(this.button);

    this.dialog = this._el('dialog', { id: 'invitations-dialog', 'aria-labelledby': 'invitations-title' });
    const stack = this._el('div', { class: 'stack' });
    stack.append(this._el('h2', { id: 'invitations-title' }, 'Invitations'));
    this.ul = this._el('ul', { class: 'members-list', id: 'invitations-list' });
    this.empty = this._el('p', { class: 'small' }, 'No pending invitations.');
    this.check = this._el('input', { type: 'checkbox', id: 'add-policy-invite' });
    this.check.addEventListener('change', () => this.setPolicy(this.check.checked ? 'invite' : 'anyone'));
    const label = this._el('label', { class: 'radio', for: 'add-policy-invite' });
    label.append(this.check, this.doc.createTextNode('Ask me before anyone adds me to a private room'));
    this.error = this._el('p', { class: 'error', role: 'alert', hidden: '' });
    const buttons = this._el('div', { class: 'buttons' });
    const close = this._el('button', { type: 'button', class: 'cancel' }, 'Close');
    close.addEventListener('click', () => this.dialog.close());
    buttons.append(close);
    stack.append(this.ul, this.empty, label, this.error, buttons);
    this.dialog.append(stack);
    d.body.append(this.dialog);
    this.render();
  }

  async open() {
    this._error('');
    this.dialog.showModal();
    await this.refresh();
    try {
      this.policy = (await this.client.settings()).add_policy || 'anyone';
    } catch (err) {
      this._error(err.message);
    }
    this.render();
  }

  async refresh() {
    try {
      this.list = await this.client.invitations();
    } catch {
      return; // offline: the next ready reloads
    }
    this.render();
  }

  async answer(room, accept) {
    try {
      if (accept) await this.client.accept(room);
      else await this.client.decline(room);
    } catch (err) {
      this._error(err.message);
      return;
    }
    this._error('');
    this.list = this.list.filter((i) => i.room !== room);
    this.render();
    if (accept) {
      this.notify(`You joined ${room}.`);
      this.onAccepted(room);
    }
  }

  async setPolicy(policy) {
    try {
      this.policy = (await this.client.settings({ add_policy: policy })).add_policy;
    } catch (err) {
      this._error(err.message);
    }
    this.render();
  }

  render() {
    if (!this.button) return;
    const n = this.list.length;
    this.button.hidden = n === 0;
    this.button.textContent = `Invitations (${n})`;
    this.empty.hidden = n > 0;
    this.check.checked = this.policy === 'invite';
    this.ul.replaceChildren(
      ...this.list.map((inv) => {
        const li = this._el('li', { 'data-room': inv.room });
        const text = this._el('span', { class: 'grow' }, `${inv.room} `);
        text.append(this._el('span', { class: 'small' }, `from ${inv.from}`));
        const yes = this._el('button', { type: 'button', class: 'primary' }, 'Accept');
        yes.addEventListener('click', () => this.answer(inv.room, true));
        const no = this._el('button', { type: 'button' }, 'Decline');
        no.addEventListener('click', () => this.answer(inv.room, false));
        li.append(text, yes, no);
        return li;
      }),
    );
  }

  _error(text) {
    if (!this.error) return;
    this.error.textContent = text || '';
    this.error.hidden = !text;
  }

  _el(tag, attrs = {}, text) {
    const e = this.doc.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      e.setAttribute(k, v);
    }
    if (text !== undefined) e.textContent = text;
    return e;
  }
}
