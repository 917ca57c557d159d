// The SDK against a real ChitChat server (dotnet samples/ChitChat.Web) through a proxy that cuts connections and
// drops frames. Every wait is for an explicit event, with a timeout that names the phase.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ChitChatClient, ChitChatError, LogLevel } from '../../dist/index.js';
import { nextEvent, startProxy, startServer, within } from './harness.mjs';

const PASSWORD = 'correct-horse-battery';
let server;
let proxy;
const clients = [];

before(async () => {
  server = await startServer();
  proxy = await startProxy(server.url);
});

after(async () => {
  await Promise.allSettled(clients.map((c) => c.disconnect()));
  await proxy?.close();
  await server?.stop();
});

const name = (prefix) => `${prefix}${randomUUID().replace(/-/g, '').slice(0, 8)}`;

/** A signed-up, logged-in client; `viaProxy` routes its hub and HTTP traffic through the proxy. */
async function newClient({ viaProxy = false, ...options } = {}) {
  const client = new ChitChatClient({
    baseUrl: viaProxy ? proxy.url : server.url,
    logLevel: LogLevel.None,
    reconnectDelaysMs: [0, 20, 50, 100],
    gapRetryMs: 50,
    ...options,
  });
  clients.push(client);
  const userName = name('u');
  await client.register({ userName, password: PASSWORD });
  await client.login(userName, PASSWORD);
  return { client, userName };
}

async function newRoom(client) {
  const room = name('room-');
  await client.createRoom(room);
  return room;
}

/** Collects a subscription's events; `waitFor(n)` resolves when n have arrived. */
function collect(sub) {
  const seqs = [];
  const texts = [];
  const waiters = [];
  sub.on('event', (e) => {
    seqs.push(e.seq);
    texts.push(e.message.text);
    for (const w of [...waiters]) if (seqs.length >= w.n) { waiters.splice(waiters.indexOf(w), 1); w.resolve(); }
  });
  return {
    seqs, texts,
    waitFor(n, phase) {
      if (seqs.length >= n) return Promise.resolve();
      return within(new Promise((resolve) => waiters.push({ n, resolve })), `${phase} (have ${seqs.length} of ${n}: ${seqs.join(',')})`);
    },
  };
}

const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Cuts the proxied connections and keeps new ones out until `restore()`. */
async function cut(client) {
  const reconnecting = nextEvent(client, 'reconnecting', 'the client to notice the cut');
  proxy.refuse = true;
  proxy.cutAll();
  await reconnecting;
  return async () => {
    const reconnected = nextEvent(client, 'reconnected', 'the client to reconnect');
    proxy.refuse = false;
    client.reconnectNow();
    await reconnected;
  };
}

test('reconnect through a cut connection while another client sends: every message exactly once, in order', async () => {
  const { client: alice } = await newClient();
  const { client: bob } = await newClient({ viaProxy: true });
  const room = await newRoom(alice);
  await alice.connect();
  await bob.connect();
  await alice.joinRoom(room);
  const sub = await bob.joinRoom(room);

  // The async iterator sees the same stream.
  const iterated = [];
  const iterating = (async () => {
    for await (const e of sub) {
      iterated.push(e.seq);
      if (e.seq === 9) break;
    }
  })();
  const bobView = collect(sub);

  await alice.send(room, 'before the cut 1');
  await alice.send(room, 'before the cut 2');
  await bobView.waitFor(2, 'bob to receive the messages before the cut');

  const restore = await cut(bob);
  for (let i = 1; i <= 5; i++) await alice.send(room, `while bob is away ${i}`);
  const offline = bob.send(room, 'bob wrote this offline');
  assert.equal(bob.pending.length, 1);
  assert.equal(bob.pending[0].status, 'queued');
  await restore();
  const ack = await within(offline, 'bob\'s offline message to be acknowledged');
  assert.equal(ack.seq, 8);
  await bobView.waitFor(8, 'bob to catch up after the reconnect');
  await alice.send(room, 'after the reconnect');
  await bobView.waitFor(9, 'live delivery after the reconnect');
  await within(iterating, 'the async iterator to reach seq 9');

  const history = await alice.getHistory(room, { limit: 50 });
  assert.deepEqual(history.map((m) => m.seq), range(1, 9));
  assert.deepEqual(bobView.seqs, range(1, 9));
  assert.deepEqual(bobView.texts, history.map((m) => m.text));
  assert.deepEqual(iterated, range(1, 9));
  assert.equal(history.filter((m) => m.text === 'bob wrote this offline').length, 1);
  assert.equal(bob.pending.length, 0);
});

test('member and removed events: the removed room\'s subscription emits removed, its iterator ends, a reconnect does not re-join it', async () => {
  const { client: alice } = await newClient();
  const { client: bob } = await newClient({ viaProxy: true });
  const room = await newRoom(alice);
  const other = await newRoom(alice);
  await alice.connect();
  await bob.connect();
  await alice.joinRoom(room);
  await alice.joinRoom(other);
  const sub = await bob.joinRoom(room);
  const otherSub = await bob.joinRoom(other);
  const iterated = [];
  const iterating = (async () => {
    for await (const e of sub) iterated.push(e.seq);
  })();
  const bobView = collect(sub);
  const otherView = collect(otherSub);
  await alice.send(room, 'before the removal 1');
  await alice.send(room, 'before the removal 2');
  await bobView.waitFor(2, 'bob to receive the messages before the removal');

  // The server cannot be made to remove a member in this process yet: the proxy sends the hub's events as the server would.
  const member = nextEvent(bob, 'member', 'bob to get the member event', (m) => m.room === room);
  const memberEvent = { room, userId: randomUUID(), userName: 'carol', role: 'member', change: 'added' };
  assert.ok(proxy.injectToClients({ type: 1, target: 'member', arguments: [memberEvent] }) > 0);
  assert.deepEqual(await member, memberEvent);

  const removed = nextEvent(sub, 'removed', 'bob\'s subscription to emit removed');
  const closed = nextEvent(sub, 'closed', 'bob\'s subscription to close');
  proxy.injectToClients({ type: 1, target: 'removed', arguments: [{ room, reason: 'removed' }] });
  assert.deepEqual(await removed, { room, reason: 'removed' });
  await closed;
  await within(iterating, 'the async iterator to end');
  assert.equal(sub.closed, true);
  assert.deepEqual(sub.removed, { room, reason: 'removed' });
  assert.equal(bob.subscription(room), undefined);
  assert.equal(bob.subscription(other), otherSub);

  const invocationsBefore = proxy.invocations.length;
  const restore = await cut(bob);
  const rejoined = nextEvent(otherSub, 'joined', 'bob to re-join the other room', (j) => j.rejoin);
  await restore();
  await rejoined;
  const joins = proxy.invocations.slice(invocationsBefore).filter((i) => i.target === 'JoinRoom').map((i) => i.arguments[0])
    .filter((r) => r === room || r === other); // the cut also reconnects the other tests' clients
  assert.deepEqual(joins, [other]);
  await alice.send(room, 'after the removal');
  await alice.send(other, 'in the other room');
  await otherView.waitFor(1, 'bob to receive the other room after the reconnect');
  assert.deepEqual(bobView.seqs, [1, 2]);
  assert.deepEqual(iterated, [1, 2]);
  assert.equal(bob.subscription(room), undefined);
  assert.equal(otherSub.closed, false);
  assert.equal(otherSub.removed, null);
});

test('a dropped live message frame is repaired with GetEvents (gap fill)', async () => {
  const { client: alice } = await newClient();
  const { client: bob } = await newClient({ viaProxy: true });
  const room = await newRoom(alice);
  await Promise.all([alice.connect(), bob.connect()]);
  const sub = await bob.joinRoom(room);
  const bobView = collect(sub);

  const dropped = proxy.dropServerRecord((m) => m.type === 1 && m.target === 'message' && m.arguments?.[0]?.room === room && m.arguments[0].seq === 1);
  const historyCallsBefore = proxy.invocations.filter((i) => i.target === 'GetEvents').length;
  await alice.send(room, 'one (dropped on the way to bob)');
  const record = await within(dropped, 'the proxy to drop the first message frame');
  assert.equal(record.arguments[0].text, 'one (dropped on the way to bob)');
  await alice.send(room, 'two');
  await alice.send(room, 'three');
  await bobView.waitFor(3, 'bob to repair the gap');
  assert.deepEqual(bobView.seqs, [1, 2, 3]);
  assert.deepEqual(bobView.texts, ['one (dropped on the way to bob)', 'two', 'three']);
  const repairs = proxy.invocations.filter((i) => i.target === 'GetEvents').slice(historyCallsBefore);
  assert.ok(repairs.some((i) => i.arguments[0] === room && i.arguments[1] === 0), `a GetEvents(room, 0, n) repair: ${JSON.stringify(repairs)}`);
});

test('a dropped live messageUpdated frame is repaired with GetEvents, exactly once and in order', async () => {
  const { client: alice } = await newClient();
  const { client: bob } = await newClient({ viaProxy: true });
  const room = await newRoom(alice);
  await Promise.all([alice.connect(), bob.connect()]);
  const sub = await bob.joinRoom(room, { afterSeq: 0 });
  const events = [];
  let reached = null;
  sub.on('event', (e) => { events.push(e); if (reached && e.seq >= reached.seq) reached.resolve(); });
  const upTo = (seq) => new Promise((resolve) => { reached = { seq, resolve }; if (events.some((e) => e.seq >= seq)) resolve(); });
  const first = await alice.send(room, 'first');
  const dropped = proxy.dropServerRecord((m) => m.type === 1 && m.target === 'messageUpdated' && m.arguments?.[0]?.room === room);
  const before = proxy.invocations.filter((i) => i.target === 'GetEvents').length;
  await alice.editMessage(room, first.id, 'first, edited');
  const record = await within(dropped, 'the proxy to drop the update frame');
  assert.equal(record.arguments[0].seq, first.seq + 1);
  const next = await alice.send(room, 'next');
  await within(upTo(next.seq), 'bob to repair the lost update');
  assert.deepEqual(events.map((e) => [e.seq, e.type]), [[first.seq, 'message'], [first.seq + 1, 'messageUpdated'], [next.seq, 'message']]);
  assert.deepEqual([events[1].change, events[1].message.text, events[1].message.seq], ['edited', 'first, edited', first.seq]);
  assert.ok(proxy.invocations.filter((i) => i.target === 'GetEvents').length > before);
});

test('a lost ack and a cut: the outbox retries with the same clientMessageId, the server stores it once, one ack', async () => {
  const { client: bob } = await newClient({ viaProxy: true });
  const room = await newRoom(bob);
  await bob.connect();
  const sub = await bob.joinRoom(room);
  const view = collect(sub);
  const acks = [];
  bob.on('ack', (a) => acks.push(a));
  const statuses = [];
  bob.on('outbox', (entries) => statuses.push(entries.map((e) => e.status).join(',')));

  const lost = proxy.dropCompletionOf('SendMessage');
  const sending = bob.send(room, 'the ack of this one is lost');
  const invocation = await within(lost, 'the proxy to drop the SendMessage completion');
  const clientMessageId = invocation.arguments[2];
  assert.equal(bob.pending.length, 1);
  assert.equal(bob.pending[0].clientMessageId, clientMessageId);
  assert.equal(bob.pending[0].status, 'sending');

  const requeued = nextEvent(bob, 'outbox', 'the lost send to go back to queued', (entries) => entries[0]?.status === 'queued');
  const restore = await cut(bob);
  await requeued;
  assert.equal(bob.pending[0].status, 'queued');
  await restore();
  const ack = await within(sending, 'the retried send to be acknowledged');
  await view.waitFor(1, 'the message in the subscription');

  const sends = proxy.invocations.filter((i) => i.target === 'SendMessage' && i.arguments[0] === room);
  assert.equal(sends.length, 2, 'sent twice: the lost one and the retry');
  assert.deepEqual(sends.map((s) => s.arguments[2]), [clientMessageId, clientMessageId]);
  const history = await bob.getHistory(room);
  assert.equal(history.length, 1, 'stored once');
  assert.equal(history[0].clientMessageId, clientMessageId);
  assert.equal(history[0].seq, ack.seq);
  assert.equal(history[0].id, ack.id);
  assert.equal(acks.length, 1, 'one ack for the application');
  assert.deepEqual(view.seqs, [1]);
  assert.equal(bob.pending.length, 0);
  assert.ok(statuses.includes('sending') && statuses.at(-1) === '', statuses.join(' | '));
});

test('a refused token: the factory is asked again (unauthorized) and the session goes on without losing events', async () => {
  const { client: alice } = await newClient();
  const carolName = name('carol');
  await alice.register({ userName: carolName, password: PASSWORD });
  const reasons = [];
  let token = (await alice.http.login(carolName, PASSWORD)).accessToken;
  const carol = new ChitChatClient({
    baseUrl: proxy.url,
    logLevel: LogLevel.None,
    reconnectDelaysMs: [0, 20, 50, 100],
    accessTokenFactory: async (reason) => {
      reasons.push(reason);
      if (reason === 'unauthorized') {
        token = (await alice.http.login(carolName, PASSWORD)).accessToken; // "refresh": log in again
        return token;
      }
      if (reason === 'reconnect' || reason === 'http') return 'expired.token.value'; // what an expired token looks like to the server
      return token;
    },
  });
  clients.push(carol);

  // HTTP: a 401 asks for a fresh token and repeats the call once.
  const room = name('room-');
  await carol.createRoom(room);
  assert.deepEqual(reasons, ['http', 'unauthorized']);

  await carol.connect();
  await alice.connect();
  const sub = await carol.joinRoom(room);
  const view = collect(sub);
  await alice.send(room, 'm1');
  await view.waitFor(1, 'carol to receive m1');

  reasons.length = 0;
  const restore = await cut(carol);
  await alice.send(room, 'm2 while carol is away');
  await alice.send(room, 'm3 while carol is away');
  await restore();
  await alice.send(room, 'm4 after the reconnect');
  await view.waitFor(4, 'carol to catch up after the token refresh');
  assert.deepEqual(view.seqs, [1, 2, 3, 4]);
  assert.ok(reasons.includes('reconnect'), reasons.join(','));
  assert.equal(reasons.at(-1), 'unauthorized', reasons.join(','));
  assert.equal(carol.state, 'connected');
});

test('a token refused twice stops the client with a typed unauthorized error', async () => {
  const client = new ChitChatClient({ baseUrl: server.url, logLevel: LogLevel.None, accessTokenFactory: () => 'not-a-token' });
  clients.push(client);
  const disconnected = nextEvent(client, 'disconnected', 'the client to give up');
  await assert.rejects(client.connect(), (e) => e instanceof ChitChatError && e.code === 'unauthorized');
  assert.equal((await disconnected).error.code, 'unauthorized');
  assert.equal(client.state, 'disconnected');
});

test('typed errors: room_not_found over the hub and HTTP, validation_failed with field errors, limits', async () => {
  const { client } = await newClient();
  await client.connect();
  await assert.rejects(client.joinRoom(name('missing-')), (e) => e instanceof ChitChatError && e.code === 'room_not_found' && e.source === 'hub');
  await assert.rejects(client.getHistory(name('missing-')), (e) => e instanceof ChitChatError && e.code === 'room_not_found' && e.status === 404);
  await assert.rejects(client.register({ userName: 'x', password: 'short' }), (e) => e instanceof ChitChatError && e.code === 'validation_failed' && e.errors !== null && Object.keys(e.errors).length > 0);
  await assert.rejects(client.createRoom('global'), (e) => e instanceof ChitChatError && e.code === 'room_exists');
  const raw = await client.http.request('GET', '/api/limits', { auth: false }); // the server's own answer, not the defaults
  assert.equal(raw.maxMessageLength, 4000);
  assert.equal(raw.sendRateLimit, 20);
  const limits = await client.getLimits();
  assert.deepEqual(limits, raw);
  assert.equal(client.limits.typingExpiryMs, limits.typingExpiryMs);
});

test('typed errors: rate_limited with a retry delay over the hub (the message stays failed in the outbox) and HTTP', async () => {
  const { client } = await newClient();
  const room = await newRoom(client);
  await client.connect();
  let refused = null;
  let sent = 0;
  for (let i = 1; i <= 25 && !refused; i++) {
    try {
      await client.send(room, `burst ${i}`);
      sent++;
    } catch (e) {
      refused = e;
    }
  }
  assert.ok(refused instanceof ChitChatError, 'a send was refused');
  assert.equal(refused.code, 'rate_limited');
  assert.ok(refused.retryAfterMs > 0, `retryAfterMs ${refused.retryAfterMs}`);
  assert.equal(sent, client.limits.sendRateLimit);
  assert.equal(client.pending.length, 1);
  assert.equal(client.pending[0].status, 'failed');
  assert.equal(client.pending[0].error.code, 'rate_limited');
  assert.ok(client.discard(client.pending[0].clientMessageId));
  assert.equal(client.pending.length, 0);

  await assert.rejects(client.http.postMessage(room, { text: 'over http' }),
    (e) => e instanceof ChitChatError && e.code === 'rate_limited' && e.status === 429 && e.retryAfterMs > 0);
});

test('presence and typing events', async () => {
  const { client: alice, userName: aliceName } = await newClient();
  const { client: bob, userName: bobName } = await newClient();
  const room = await newRoom(alice);
  await Promise.all([alice.connect(), bob.connect()]);
  await alice.joinRoom(room);
  const online = nextEvent(alice, 'presence', 'alice to see bob come online', (p) => p.room === room && p.userName === bobName && p.online);
  await bob.joinRoom(room);
  await online;
  const people = await alice.getPresence(room);
  assert.deepEqual(people.map((p) => p.userName).sort(), [aliceName, bobName].sort());
  const typing = nextEvent(alice, 'typing', 'alice to see bob typing', (t) => t.room === room && t.userName === bobName);
  await bob.typing(room);
  await typing;
  const offline = nextEvent(alice, 'presence', 'alice to see bob leave', (p) => p.room === room && p.userName === bobName && !p.online);
  await bob.subscription(room).leave();
  await offline;
});

test('the outbox survives a restart through its storage and is sent with the same clientMessageId', async () => {
  const { client: first, userName } = await newClient();
  const room = await newRoom(first);
  const saved = [];
  const storage = { load: () => saved.map((e) => ({ ...e })), save: (entries) => { saved.length = 0; saved.push(...entries); } };
  const offline = new ChitChatClient({ baseUrl: server.url, logLevel: LogLevel.None, outboxStorage: storage });
  offline.setSession(first.session);
  const never = offline.send(room, 'written before a reload');
  never.catch(() => {});
  assert.equal(saved.length, 1, 'persisted at once');
  const clientMessageId = saved[0].clientMessageId;

  // "Reload": a new client over the same storage, for the same user.
  const reloaded = new ChitChatClient({ baseUrl: server.url, logLevel: LogLevel.None, outboxStorage: storage });
  clients.push(reloaded);
  await reloaded.login(userName, PASSWORD);
  assert.deepEqual(reloaded.pending.map((e) => [e.clientMessageId, e.status]), [[clientMessageId, 'queued']]);
  const acked = nextEvent(reloaded, 'ack', 'the restored message to be acknowledged');
  await reloaded.connect();
  const ack = await acked;
  assert.equal(ack.clientMessageId, clientMessageId);
  const history = await reloaded.getHistory(room);
  assert.deepEqual(history.map((m) => [m.text, m.clientMessageId]), [['written before a reload', clientMessageId]]);
  assert.equal(saved.length, 0, 'removed from the storage once acknowledged');
});
