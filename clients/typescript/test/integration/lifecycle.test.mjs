// Protocol version 2 through the TypeScript SDK against a real server: updates as room events, replies, read state,
// mentions and search.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ChitChatClient, LogLevel } from '../../dist/index.js';
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

async function newClient(userName = name('u'), register = true) {
  const client = new ChitChatClient({ baseUrl: server.url, logLevel: LogLevel.None });
  clients.push(client);
  if (register) await client.register({ userName, password: PASSWORD });
  await client.login(userName, PASSWORD);
  await within(client.connect(), 'connect');
  return { client, userName };
}

/** Collects a subscription's events; `until(seq)` resolves once an event with that seq was delivered. */
function collect(sub) {
  const events = [];
  const waiters = [];
  sub.on('event', (e) => {
    events.push(e);
    for (const w of [...waiters]) if (events.some((x) => x.seq >= w.seq)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(); }
  });
  return {
    events,
    until: (seq, phase) => within(events.some((x) => x.seq >= seq) ? Promise.resolve() : new Promise((resolve) => waiters.push({ seq, resolve })), phase),
  };
}

test('edits, reactions, deletes and replies arrive as room events in seq order; getEvents and getReplies agree', async () => {
  const { client: alice } = await newClient();
  const { client: bob } = await newClient();
  const room = name('life-');
  await bob.createRoom(room);
  const sub = await within(alice.joinRoom(room, { afterSeq: 0 }), 'alice joins');
  const seen = collect(sub);

  const root = await bob.send(room, 'root');
  await within(alice.react(room, root.id, '🎉'), 'alice reacts');
  const reply = await within(alice.reply(room, root.id, 'a reply'), 'alice replies');
  const edited = await within(bob.editMessage(room, root.id, 'root, edited'), 'bob edits');
  assert.equal(edited.text, 'root, edited');
  const doomed = await bob.send(room, 'to be deleted');
  await within(bob.deleteMessage(room, doomed.id), 'bob deletes');
  const deleteSeq = doomed.seq + 1;
  await seen.until(deleteSeq, 'alice receives every event');

  const seqs = seen.events.map((e) => e.seq);
  assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => root.seq + i));
  assert.deepEqual(seen.events.map((e) => `${e.type}:${e.change ?? ''}`),
    ['message:', 'messageUpdated:reactions', 'message:', 'messageUpdated:edited', 'message:', 'messageUpdated:deleted']);
  assert.deepEqual(seen.events[1].message.reactions.map((r) => [r.emoji, r.count]), [['🎉', 1]]);
  assert.equal(seen.events[2].message.threadRoot, root.id);
  assert.equal(seen.events[3].message.seq, root.seq);
  assert.ok(seen.events[3].message.editedAt);
  assert.deepEqual([seen.events[5].message.deleted, seen.events[5].message.text], [true, '']);

  const page = await bob.getEvents(room, root.seq, 2);
  assert.deepEqual(page.map((e) => [e.type, e.seq]), [['messageUpdated', root.seq + 1], ['message', reply.seq]]);
  assert.deepEqual((await bob.getReplies(room, root.id)).map((m) => m.id), [reply.id]);
  await within(alice.unreact(room, root.id, '🎉'), 'alice takes her reaction back');
  await seen.until(deleteSeq + 1, 'the reaction change arrives');
  assert.deepEqual(seen.events.at(-1).message.reactions, []);
});

test('markRead on one device gives read on the other; the room list counts unread and mentions; search finds words', async () => {
  const { client: bob } = await newClient();
  const { client: phone, userName: aliceName } = await newClient();
  const { client: tablet } = await newClient(aliceName, false);
  const room = name('read-');
  await bob.createRoom(room);
  const sub = await within(phone.joinRoom(room), 'alice joins on her phone');
  const mention = nextEvent(tablet, 'mention', 'the tablet gets the mention');
  await bob.send(room, 'hello there');
  const mentioning = await bob.send(room, `hi @${aliceName}, quick question`);
  const m = await mention;
  assert.deepEqual([m.room, m.message.id], [room, mentioning.id]);

  const listed = (await tablet.getRooms()).find((r) => r.name === room);
  assert.deepEqual([listed.lastReadSeq, listed.unread, listed.mentions], [0, 2, 1]);
  const read = nextEvent(tablet, 'read', 'the tablet hears of the read marker');
  await within(phone.markRead(room, mentioning.seq), 'alice reads on her phone');
  assert.deepEqual(await read, { room, seq: mentioning.seq });
  const after = (await tablet.getRooms()).find((r) => r.name === room);
  assert.deepEqual([after.lastReadSeq, after.unread, after.mentions], [mentioning.seq, 0, 0]);

  const found = await tablet.search('QUICK question', { room });
  assert.deepEqual(found.map((x) => x.id), [mentioning.id]);
  assert.ok(sub.joined);
});
