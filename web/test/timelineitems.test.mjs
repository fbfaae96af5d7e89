// Unit tests of timelineitems.js: what the timeline shows, in order.
import test from 'node:test';
import assert from 'node:assert/strict';
import { load } from './fake.mjs';

const { timelineItems } = await load('timelineitems.js');

const t0 = Date.parse('2026-03-02T10:00:00Z');
const msg = (seq, from, min) => ({ seq, from, text: `m${seq}`, cid: `c${seq}`, ts: new Date(t0 + min * 60_000).toISOString() });
const now = new Date(t0 + 60 * 60_000);
const base = { me: 'me', divider: null, seenBy: () => [], system: [], pending: [], now };
const kinds = (items) => items.map((i) => (i.kind === 'message' ? `m${i.msg.seq}${i.head ? '*' : ''}` : i.kind === 'pending' ? `p:${i.msg.cid}` : i.kind));

test('one day separator, sender groups, keys per message', () => {
  const items = timelineItems({ ...base, msgs: [msg(1, 'bob', 0), msg(2, 'bob', 1), msg(3, 'carol', 2), msg(4, 'bob', 20)] });
  assert.deepEqual(kinds(items), ['day', 'm1*', 'm2', 'm3*', 'm4*']);
  assert.deepEqual(
    items.map((i) => i.key),
    ['day-Today-1', 'm-1', 'm-2', 'm-3', 'm-4'],
  );
  // The sig changes when a message starts or stops heading a group.
  assert.equal(items[2].sig, 'false');
});

test('the divider goes before the first message from someone else after the cursor', () => {
  const msgs = [msg(1, 'bob', 0), msg(2, 'me', 1), msg(3, 'bob', 2), msg(4, 'bob', 3)];
  assert.deepEqual(kinds(timelineItems({ ...base, msgs, divider: 1 })), ['day', 'm1*', 'm2*', 'divider', 'm3*', 'm4']);
  assert.deepEqual(kinds(timelineItems({ ...base, msgs, divider: null })), ['day', 'm1*', 'm2*', 'm3*', 'm4']);
  assert.deepEqual(kinds(timelineItems({ ...base, msgs, divider: 4 })), ['day', 'm1*', 'm2*', 'm3*', 'm4']);
  // In the middle of bob's group, the message after the divider still
  // says it is bob's.
  const group = [msg(1, 'bob', 0), msg(2, 'bob', 1), msg(3, 'bob', 2)];
  const items = timelineItems({ ...base, msgs: group, divider: 1 });
  assert.deepEqual(kinds(items), ['day', 'm1*', 'divider', 'm2*', 'm3']);
  assert.match(items[3].sig, /^true/, 'its sig says it heads');
});

test('pending messages come last; the receipt shows only under my latest message with nothing pending', () => {
  const msgs = [msg(1, 'bob', 0), msg(2, 'me', 1)];
  const seenBy = (seq) => (seq === 2 ? ['carol', 'bob'] : []);
  let items = timelineItems({ ...base, msgs, seenBy });
  assert.deepEqual(kinds(items), ['day', 'm1*', 'm2*', 'receipt']);
  assert.equal(items.at(-1).text, 'Seen by bob and carol');
  assert.equal(items.at(-1).sig, items.at(-1).text);
  items = timelineItems({ ...base, msgs });
  assert.equal(items.at(-1).text, 'Sent');
  // Something pending: no receipt; the pending one shows its status.
  const pending = [{ cid: 'x', text: 'later', ts: new Date(t0 + 2 * 60_000).toISOString(), status: 'failed', error: 'too long' }];
  items = timelineItems({ ...base, msgs, pending });
  assert.deepEqual(kinds(items), ['day', 'm1*', 'm2*', 'p:x']);
  assert.equal(items.at(-1).sig, 'false|failed|too long');
  assert.equal(items.at(-1).msg.from, 'me');
  // Someone else spoke last: no receipt.
  assert.deepEqual(kinds(timelineItems({ ...base, msgs: [...msgs, msg(3, 'bob', 2)] })), ['day', 'm1*', 'm2*', 'm3*']);
});

test('moderation lines go in by time, the later ones at the end', () => {
  const msgs = [msg(1, 'bob', 0), msg(2, 'bob', 10)];
  const system = [
    { key: 'a', ts: t0 + 5 * 60_000, text: 'alice muted bob' },
    { key: 'b', ts: t0 + 30 * 60_000, text: 'alice unmuted bob' },
  ];
  const items = timelineItems({ ...base, msgs, system });
  assert.deepEqual(kinds(items), ['day', 'm1*', 'system', 'm2*', 'system']);
  assert.deepEqual(
    items.filter((i) => i.kind === 'system').map((i) => [i.key, i.text]),
    [
      ['sys-a', 'alice muted bob'],
      ['sys-b', 'alice unmuted bob'],
    ],
  );
  assert.equal(system.length, 2, 'the lines given are not consumed');
});
