// timelineitems.js: what the open room's timeline shows, in order, before
// any DOM: messages (stored, then pending), day separators, the "New
// messages" divider, moderation system lines and the receipt under my
// last message. Each item has a key (which node it is) and a sig (when it
// must be rebuilt). Pure: unit-tested in web/test/timelineitems.test.mjs.
import { layout, listNames } from './format.js';

/**
 * timelineItems lays out a room's timeline.
 * @param {object} o
 * @param {object[]} o.msgs stored messages, by seq
 * @param {object[]} o.pending messages not yet acknowledged
 * @param {string} o.me the logged-in user
 * @param {number|null} o.divider the read cursor when the room was opened
 * @param {(seq: number) => string[]} o.seenBy who has read up to seq
 * @param {{key: string, ts: number, text: string}[]} o.system moderation lines, by ts
 * @param {Date} [o.now]
 */
export function timelineItems({ msgs, pending, me, divider, seenBy, system, now = new Date() }) {
  const pend = pending.map((p) => ({ ...p, from: me, pending: true }));
  const laid = layout([...msgs, ...pend], now);
  const mine = [...msgs].reverse().find((m) => m.from === me);
  const latestIsMine = mine && msgs[msgs.length - 1] === mine && pend.length === 0;
  const sys = [...system];
  const sysItem = (l) => ({ kind: 'system', key: 'sys-' + l.key, sig: l.text, text: l.text });
  const out = [];
  let dividerPlaced = false;
  for (const it of laid) {
    const m = it.msg;
    while (sys.length && !m.pending && sys[0].ts <= Date.parse(m.ts)) out.push(sysItem(sys.shift()));
    if (it.day) out.push({ kind: 'day', key: 'day-' + it.day + '-' + (m.seq || m.cid), sig: it.day, text: it.day });
    let head = it.head;
    if (!dividerPlaced && divider !== null && !m.pending && m.seq > divider && m.from !== me) {
      dividerPlaced = true;
      out.push({ kind: 'divider', key: 'divider', sig: '' });
      // The first message after the divider says who wrote it, even in
      // the middle of a group.
      head = true;
    }
    if (m.pending) out.push({ kind: 'pending', key: 'p-' + m.cid, sig: `${head}|${m.status}|${m.error || ''}`, msg: m, head });
    else out.push({ kind: 'message', key: 'm-' + m.seq, sig: String(head), msg: m, head });
    if (latestIsMine && m === mine) {
      const seen = seenBy(mine.seq);
      const text = seen.length ? `Seen by ${listNames(seen.sort())}` : 'Sent';
      out.push({ kind: 'receipt', key: 'receipt', sig: text, text });
    }
  }
  for (const l of sys) out.push(sysItem(l));
  return out;
}
