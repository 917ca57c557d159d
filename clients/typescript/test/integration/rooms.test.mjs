// Rooms of a kind, members, roles, mutes, bans, direct rooms and the user directory against a real server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ChitChatClient, ChitChatError, LogLevel } from '../../dist/index.js';
import { nextEvent, startServer, within } from './harness.mjs';

const PASSWORD = 'correct-horse-battery';
let server;
const clients = [];

before(async () => {
  server = await startServer();
});

after(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await server?.stop();
});

const name = (prefix) => `${prefix}${randomUUID().replace(/-/g, '').slice(0, 8)}`;

async function newClient() {
  const client = new ChitChatClient({ baseUrl: server.url, logLevel: LogLevel.None });
  clients.push(client);
  const userName = name('u');
  await client.register({ userName, password: PASSWORD });
  await client.login(userName, PASSWORD);
  return { client, userName };
}

async function refused(promise, code) {
  await assert.rejects(promise, (e) => e instanceof ChitChatError && e.code === code);
}

test('a private room through the SDK: invite, roles, mute, ban (the banned subscription ends), unban', async () => {
  const { client: alice, userName: aliceName } = await newClient();
  const { client: bob, userName: bobName } = await newClient();
  const { client: carol } = await newClient();
  const room = name('secret-');

  const created = await alice.createRoom(room, { kind: 'private', topic: 'plans' });
  assert.deepEqual([created.kind, created.topic], ['private', 'plans']);
  assert.ok(!(await bob.getRooms()).some((r) => r.name === room));
  await refused(carol.getRoom(room), 'room_not_found');

  const added = await alice.addMember(room, bobName);
  assert.deepEqual([added.userName, added.role], [bobName, 'member']);
  assert.equal((await bob.getRooms()).find((r) => r.name === room)?.role, 'member');
  assert.ok(!(await carol.getRooms()).some((r) => r.name === room));
  const members = (await bob.getMembers(room)).map((m) => [m.userName, m.role]).sort();
  assert.deepEqual(members, [[aliceName, 'owner'], [bobName, 'member']].sort());

  assert.equal((await alice.setMemberRole(room, bobName, 'moderator')).role, 'moderator');
  assert.equal((await alice.setMemberRole(room, bobName, 'member')).role, 'member');

  await bob.connect();
  const sub = await bob.joinRoom(room);
  const muted = await alice.muteMember(room, bobName, new Date(Date.now() + 3600_000));
  assert.ok(muted.mutedUntil);
  const mutedSend = bob.send(room, 'muted');
  await refused(mutedSend, 'forbidden');
  const promoted = await alice.setMemberRole(room, bobName, 'moderator');
  assert.deepEqual([promoted.role, promoted.mutedUntil], ['moderator', muted.mutedUntil]);
  await alice.setMemberRole(room, bobName, 'member');
  bob.pending.filter((p) => p.status === 'failed').forEach((p) => bob.discard(p.clientMessageId));
  assert.equal((await alice.unmuteMember(room, bobName)).mutedUntil, null);
  await bob.send(room, 'unmuted');

  const removed = nextEvent(sub, 'removed', 'bob\'s subscription to emit removed');
  await alice.ban(room, bobName, { reason: 'spam' });
  assert.equal((await removed).room, room);
  assert.equal(bob.subscription(room), undefined);
  const bans = await alice.getBans(room);
  assert.deepEqual(bans.map((b) => [b.userName, b.reason, b.until]), [[bobName, 'spam', null]]);
  assert.ok(!(await bob.getRooms()).some((r) => r.name === room));
  await refused(bob.getMembers(room), 'room_not_found');

  await alice.unban(room, bobName);
  assert.deepEqual(await alice.getBans(room), []);
  await refused(bob.getBans('global'), 'forbidden');
});

test('members are removed and leave through the SDK; the last owner cannot leave', async () => {
  const { client: alice, userName: aliceName } = await newClient();
  const { userName: bobName } = await newClient();
  const room = name('team-');
  await alice.createRoom(room, { kind: 'private' });
  await alice.addMember(room, bobName);

  await alice.removeMember(room, bobName);
  assert.deepEqual((await alice.getMembers(room)).map((m) => m.userName), [aliceName]);
  await refused(alice.removeMember(room, name('nobody')), 'user_not_found');
  await refused(alice.removeMember(room, aliceName), 'validation_failed');
});

test('a direct room is opened from the user directory, is the same room every time, and carries messages', async () => {
  const { client: alice, userName: aliceName } = await newClient();
  const { client: bob, userName: bobName } = await newClient();

  const found = await alice.searchUsers(bobName.slice(0, -2), 5);
  assert.ok(found.some((u) => u.userName === bobName));
  assert.deepEqual(await alice.searchUsers('zz-no-such-user'), []);

  const direct = await alice.openDirect([bobName]);
  assert.equal(direct.kind, 'direct');
  assert.match(direct.name, /^dm-/);
  assert.equal((await bob.openDirect([aliceName])).id, direct.id);
  assert.ok((await bob.getRooms()).some((r) => r.name === direct.name && r.kind === 'direct'));

  await alice.connect();
  await bob.connect();
  const sub = await bob.joinRoom(direct.name, { afterSeq: 0 });
  const received = nextEvent(sub, 'event', 'bob to receive alice\'s direct message');
  const ack = await alice.send(direct.name, 'hi bob');
  const event = await within(received, 'the direct message');
  assert.deepEqual([event.seq, event.message.text], [ack.seq, 'hi bob']);
  await refused(alice.openDirect([name('nobody')]), 'user_not_found');
});
