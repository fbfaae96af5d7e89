// Room moderation in the web UI: the state of each room (owner, admins,
// bans, mutes, slow mode, the log), the actions shown in the members dialog
// to those allowed to take them, the moderation acts as system lines in the
// timeline, and the composer's "you are muted" / slow-mode notice.
//
// app.js owns the rest of the UI; it calls in here from a few hooks:
// event (member events), open (a room opened), panel (members dialog),
// lines (timeline), mayCompose / sent / sendFailed (composer).

/** mayAct mirrors the server's rule (natter.MayModerate): owners act on
 * anyone but themselves, admins on members only, only the owner names
 * admins. */
export function mayAct(actor, target, action) {
  if (actor !== 'owner' && actor !== 'admin') return false;
  if (action === 'retention') return actor === 'owner';
  if (action === 'slowmode') return true;
  if (target === 'owner') return false;
  if (action === 'role' && actor !== 'owner') return false;
  if (target === 'admin' && actor !== 'owner') return false;
  return true;
}

/** describe is the system line of one moderation act. */
export function describe(a) {
  switch (a.action) {
    case 'kick':
    case 'kicked':
      return `${a.by} removed ${a.user} from the room`;
    case 'ban':
    case 'banned':
      return `${a.by} banned ${a.user}`;
    case 'unban':
    case 'unbanned':
      return `${a.by} lifted the ban on ${a.user}`;
    case 'mute':
    case 'muted':
      return `${a.by} muted ${a.user}`;
    case 'unmute':
    case 'unmuted':
      return `${a.by} unmuted ${a.user}`;
    case 'role':
      return a.role === 'admin' ? `${a.by} made ${a.user} an admin` : `${a.by} made ${a.user} a member`;
    case 'slowmode':
      return a.seconds ? `${a.by} turned on slow mode (${seconds(a.seconds)} between messages)` : `${a.by} turned off slow mode`;
    case 'retention':
      return a.seconds ? `${a.by} set messages to be kept for ${span(a.seconds)}` : `${a.by} removed the room's retention`;
  }
  return null;
}

/** span is a retention in words: the largest whole unit. */
export function span(n) {
  for (const [unit, size] of [['day', 86400], ['hour', 3600], ['minute', 60]]) {
    if (n >= size && n % size === 0) return `${n / size} ${unit}${n === size ? '' : 's'}`;
  }
  return `${n} s`;
}

function seconds(n) {
  if (n < 60) return `${n} s`;
  if (n % 60 === 0 && n < 3600) return `${n / 60} min`;
  return `${Math.round(n / 60)} min`;
}

// The past participle of a live event back to the action of the log.
const ACTION = { kicked: 'kick', banned: 'ban', unbanned: 'unban', muted: 'mute', unmuted: 'unmute', role: 'role', slowmode: 'slowmode', retention: 'retention' };

export class Moderation {
  /**
   * @param {{client, api, me: string, el: Function, changed: (room: string) => void, error: (text: string) => void}} o
   */
  constructor(o) {
    Object.assign(this, o);
    this.rooms = new Map(); // id -> {owner, admins, bans, mutes, slowmode, retention, log, lastSend, loaded}
    this.timer = 0;
  }

  state(id) {
    let s = this.rooms.get(id);
    if (!s) {
      s = { owner: null, admins: new Set(), bans: new Set(), mutes: new Set(), slowmode: 0, retention: 0, log: [], lastSend: 0, waitUntil: 0, loaded: false };
      this.rooms.set(id, s);
    }
    return s;
  }

  role(id, user) {
    const s = this.state(id);
    if (user === s.owner) return 'owner';
    return s.admins.has(user) ? 'admin' : 'member';
  }

  /** open loads a room's moderation state (not for DMs). */
  async open(id, kind) {
    if (kind === 'dm') return;
    try {
      const d = await this.api.get(`/api/rooms/${encodeURIComponent(id)}/moderation`);
      const s = this.state(id);
      Object.assign(s, {
        owner: d.owner || null,
        admins: new Set(d.admins || []),
        bans: new Set(d.bans || []),
        mutes: new Set(d.mutes || []),
        slowmode: d.slowmode || 0,
        retention: d.retention || 0,
        log: (d.log || []).map((a) => ({ ...a, key: a.at + a.action + (a.user || '') })),
        loaded: true,
      });
      this.changed(id);
    } catch {
      // Not a member (yet), or offline: the events will tell.
    }
  }

  /** event handles a member event; true if it was a moderation act. */
  event(ev) {
    const action = ACTION[ev.action];
    if (!action || !ev.by) return false;
    const s = this.state(ev.room);
    const a = { action, user: ev.user, by: ev.by, role: ev.role, seconds: ev.seconds || 0, at: new Date().toISOString() };
    a.key = a.at + action + (a.user || '');
    s.log.push(a);
    switch (action) {
      case 'ban':
        s.bans.add(ev.user);
        s.admins.delete(ev.user);
        break;
      case 'kick':
        s.admins.delete(ev.user);
        break;
      case 'unban':
        s.bans.delete(ev.user);
        break;
      case 'mute':
        s.mutes.add(ev.user);
        break;
      case 'unmute':
        s.mutes.delete(ev.user);
        break;
      case 'role':
        if (ev.role === 'admin') s.admins.add(ev.user);
        else s.admins.delete(ev.user);
        break;
      case 'slowmode':
        s.slowmode = ev.seconds || 0;
        break;
      case 'retention':
        s.retention = ev.seconds || 0;
        break;
    }
    this.changed(ev.room);
    return true;
  }

  /** lines are the room's moderation acts for the timeline: {key, ts, text}. */
  lines(id) {
    const s = this.rooms.get(id);
    if (!s) return [];
    return s.log.map((a) => ({ key: a.key, ts: Date.parse(a.at), text: describe(a) })).filter((l) => l.text);
  }

  /** act sends one moderation op and reports a refusal. */
  async act(id, op, fields) {
    try {
      await this.client.moderate(op, id, fields);
    } catch (e) {
      this.error(e.message || e.code);
      return false;
    }
    return true;
  }

  /** panel returns the moderation controls for one member's row of the
   * members dialog, or null when the viewer may do nothing to them. */
  memberControls(room, user) {
    if (room.kind === 'dm' || user === this.me) return null;
    const el = this.el;
    const me = this.role(room.id, this.me);
    const them = this.role(room.id, user);
    const s = this.state(room.id);
    const buttons = [];
    const button = (text, op, fields = {}, danger = false) =>
      el('button' + (danger ? '.danger' : ''), {
        type: 'button',
        text,
        'aria-label': `${text} ${user}`,
        onclick: () => this.act(room.id, op, { user, ...fields }),
      });
    if (mayAct(me, them, 'role')) buttons.push(them === 'admin' ? button('Remove admin', 'role', { role: 'member' }) : button('Make admin', 'role', { role: 'admin' }));
    if (mayAct(me, them, 'mute')) buttons.push(s.mutes.has(user) ? button('Unmute', 'unmute') : button('Mute', 'mute'));
    if (mayAct(me, them, 'kick')) buttons.push(button('Kick', 'kick', {}, true));
    if (mayAct(me, them, 'ban')) buttons.push(button('Ban', 'ban', {}, true));
    if (!buttons.length) return null;
    return el('span.mod-actions', {}, ...buttons);
  }

  /** badge is " · admin", " · muted"… for a member's row. */
  badge(id, user) {
    const s = this.rooms.get(id);
    if (!s) return '';
    let b = '';
    if (s.admins.has(user)) b += ' · admin';
    if (s.mutes.has(user)) b += ' · muted';
    return b;
  }

  /** roomControls is the dialog's slow-mode setting and ban list, for the
   * owner and admins. */
  roomControls(room) {
    if (room.kind === 'dm') return null;
    const me = this.role(room.id, this.me);
    if (!mayAct(me, 'member', 'slowmode')) return null;
    const el = this.el;
    const s = this.state(room.id);
    const options = [0, 10, 30, 60, 300, 900];
    if (!options.includes(s.slowmode)) options.push(s.slowmode);
    const select = el(
      'select',
      { id: 'slowmode', 'aria-label': 'Slow mode', onchange: (e) => this.act(room.id, 'slowmode', { seconds: Number(e.target.value) }) },
      ...options.map((n) => el('option', { value: String(n), text: n ? seconds(n) : 'Off', selected: n === s.slowmode })),
    );
    const bans = [...s.bans].sort().map((u) =>
      el('li', { dataset: { banned: u } }, el('span.grow', { text: u }), el('button', { type: 'button', text: 'Unban', 'aria-label': `Unban ${u}`, onclick: () => this.act(room.id, 'unban', { user: u }) })),
    );
    return el(
      'div.mod-panel',
      {},
      el('label', {}, 'Slow mode ', select),
      bans.length ? el('div', {}, el('h3.small', { text: 'Banned' }), el('ul.mod-bans', {}, ...bans)) : null,
    );
  }

  /** notice is the composer's notice for the room, or '' (muted, or the
   * slow-mode wait), and whether sending is blocked. */
  notice(id) {
    const s = this.rooms.get(id);
    if (!s) return { text: '', blocked: false };
    if (s.mutes.has(this.me)) return { text: 'You are muted in this room: you can read, not send.', blocked: true };
    const role = this.role(id, this.me);
    if (!s.slowmode || role !== 'member') return { text: '', blocked: false };
    const wait = Math.max(s.waitUntil, s.lastSend + s.slowmode * 1000) - Date.now();
    if (wait > 0) return { text: `Slow mode: you can send again in ${Math.ceil(wait / 1000)} s.`, blocked: true };
    return { text: `Slow mode is on: one message every ${seconds(s.slowmode)}.`, blocked: false };
  }

  /** sent notes an accepted send, for the slow-mode countdown. */
  sent(id) {
    const s = this.state(id);
    s.lastSend = Date.now();
    this.tick(id);
  }

  /** sendFailed notes a refused send: muted or slow mode. */
  sendFailed(id, err) {
    const s = this.state(id);
    if (err.code === 'muted') s.mutes.add(this.me);
    else if (err.code === 'slow_mode') s.waitUntil = Date.now() + (err.waitMs || 1000);
    else return;
    this.tick(id);
  }

  // tick re-renders the composer notice each second while a wait runs.
  tick(id) {
    clearTimeout(this.timer);
    this.changed(id);
    if (this.notice(id).blocked && !this.state(id).mutes.has(this.me)) this.timer = setTimeout(() => this.tick(id), 1000);
  }
}
