// Unit tests of moderation.js: who may act on whom, the system lines, and
// the composer notice as events and refusals arrive.
import test from 'node:test';
import assert from 'node:assert/strict';
import { load } from './fake.mjs';

const m = await load('moderation.js');

test('mayAct follows the server rule', () => {
  assert.equal(m.mayAct('owner', 'admin', 'ban'), true);
  assert.equal(m.mayAct('owner', 'member', 'role'), true);
  assert.equal(m.mayAct('owner', 'owner', 'kick'), false);
  assert.equal(m.mayAct('admin', 'member', 'mute'), true);
  assert.equal(m.mayAct('admin', 'admin', 'kick'), false);
  assert.equal(m.mayAct('admin', 'owner', 'ban'), false);
  assert.equal(m.mayAct('admin', 'member', 'role'), false);
  assert.equal(m.mayAct('admin', 'member', 'slowmode'), true);
  assert.equal(m.mayAct('member', 'member', 'kick'), false);
  assert.equal(m.mayAct('member', 'member', 'slowmode'), false);
  assert.equal(m.mayAct('owner', 'member', 'retention'), true);
  assert.equal(m.mayAct('admin', 'member', 'retention'), false);
});

test('describe words every act, live or logged', () => {
  assert.equal(m.describe({ action: 'banned', user: 'carol', by: 'bob' }), 'bob banned carol');
  assert.equal(m.describe({ action: 'ban', user: 'carol', by: 'bob' }), 'bob banned carol');
  assert.equal(m.describe({ action: 'role', user: 'bob', by: 'alice', role: 'admin' }), 'alice made bob an admin');
  assert.equal(m.describe({ action: 'slowmode', by: 'bob', seconds: 30 }), 'bob turned on slow mode (30 s between messages)');
  assert.equal(m.describe({ action: 'slowmode', by: 'bob', seconds: 0 }), 'bob turned off slow mode');
  assert.equal(m.describe({ action: 'retention', by: 'alice', seconds: 7 * 86400 }), 'alice set messages to be kept for 7 days');
  assert.equal(m.describe({ action: 'retention', by: 'alice', seconds: 3600 }), 'alice set messages to be kept for 1 hour');
  assert.equal(m.describe({ action: 'retention', by: 'alice', seconds: 90 }), 'alice set messages to be kept for 90 s');
  assert.equal(m.describe({ action: 'retention', by: 'alice', seconds: 0 }), "alice removed the room's retention");
  assert.equal(m.describe({ action: 'added', user: 'x' }), null);
});

test('events update the state and the composer notice', () => {
  const changed = [];
  const mod = new m.Moderation({ me: 'carol', changed: (id) => changed.push(id) });
  assert.equal(mod.event({ type: 'member', room: 'town', user: 'dave', action: 'added' }), false, 'not moderation');
  assert.equal(mod.event({ type: 'member', room: 'town', user: 'carol', action: 'muted', by: 'bob' }), true);
  assert.deepEqual(mod.notice('town'), { text: 'You are muted in this room: you can read, not send.', blocked: true });
  mod.event({ type: 'member', room: 'town', user: 'carol', action: 'unmuted', by: 'bob' });
  assert.equal(mod.notice('town').blocked, false);
  mod.event({ type: 'member', room: 'town', action: 'slowmode', seconds: 30, by: 'bob' });
  assert.match(mod.notice('town').text, /one message every 30 s/);
  mod.sendFailed('town', { code: 'slow_mode', waitMs: 5000 });
  assert.match(mod.notice('town').text, /send again in 5 s/);
  assert.equal(mod.notice('town').blocked, true);
  clearTimeout(mod.timer);
  assert.deepEqual(
    mod.lines('town').map((l) => l.text),
    ['bob muted carol', 'bob unmuted carol', 'bob turned on slow mode (30 s between messages)'],
  );
  assert.ok(changed.every((id) => id === 'town') && changed.length >= 3);
});

test('admins are exempt from slow mode', () => {
  const mod = new m.Moderation({ me: 'bob', changed: () => {} });
  mod.event({ type: 'member', room: 'town', user: 'bob', action: 'role', role: 'admin', by: 'alice' });
  mod.event({ type: 'member', room: 'town', action: 'slowmode', seconds: 30, by: 'alice' });
  mod.sent('town');
  assert.deepEqual(mod.notice('town'), { text: '', blocked: false });
});
