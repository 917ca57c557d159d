// The merge logic (RoomSync) against a scripted fake hub: the paths a live server rarely produces on demand (a gap in
// live events, duplicates, events racing a join, a catch-up beyond the cap). Ported from
// tests/ChitChat.Web.Tests/SyncLogicTests.cs (which tested the sample's former js/sync.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RoomSync } from '../../dist/index.js';

const room = 'r';
const msg = (seq) => ({ id: `m${seq}`, room, seq, authorId: 'a', authorName: 'a', text: `t${seq}`, sentAt: '2026-01-01T00:00:00Z', clientMessageId: null });
const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A fake hub over `total` stored messages; `serverLast` moves the room's last seq; `cap` is the JoinRoom catch-up cap. */
function fakeHub({ total = 40, cap = 2 } = {}) {
  const all = range(1, total).map(msg);
  const hub = {
    calls: [],
    serverLast: 10,
    joinGate: null,
    failNext: null,
    async invoke(method, ...args) {
      hub.calls.push(`${method}(${args.map((a) => (a === null || a === undefined ? 'null' : a)).join(',')})`);
      if (hub.failNext) {
        const e = hub.failNext;
        hub.failNext = null;
        throw e;
      }
      if (method === 'JoinRoom') {
        if (hub.joinGate) await hub.joinGate;
        const after = args[1] ?? null;
        const upTo = all.filter((m) => m.seq <= hub.serverLast);
        if (after === null) return { room, lastSeq: hub.serverLast, missed: upTo.slice(-50), hasMore: upTo.length > 50 };
        const missed = upTo.filter((m) => m.seq > after);
        return { room, lastSeq: hub.serverLast, missed: missed.slice(0, cap), hasMore: missed.length > cap };
      }
      if (method === 'GetEvents') {
        const [, after, limit] = args;
        const updates = hub.updates ?? [];
        const events = [
          ...all.filter((m) => m.seq <= hub.serverLast && !updates.some((u) => u.seq === m.seq)).map((m) => ({ type: 'message', seq: m.seq, message: m, change: null })),
          ...updates.filter((u) => u.seq <= hub.serverLast).map((u) => ({ type: 'messageUpdated', seq: u.seq, message: u.message, change: u.change })),
        ].filter((e) => e.seq > after).sort((a, b) => a.seq - b.seq);
        return events.slice(0, limit);
      }
      if (method === 'GetHistory') {
        const [, before, after, limit] = args;
        let page = all.filter((m) => m.seq <= hub.serverLast && (before === null || m.seq < before) && (after === null || m.seq > after));
        page = after === null ? page.slice(-limit) : page.slice(0, limit);
        return page;
      }
      throw new Error(`unexpected ${method}`);
    },
  };
  return { hub, all };
}

function newSync(hub, options = {}) {
  const delivered = [];
  const joins = [];
  const errors = [];
  const sync = new RoomSync(room, (m, ...a) => hub.invoke(m, ...a), {
    deliver: (events) => delivered.push(...events.map((e) => { if (e.type === 'message') assert.equal(e.seq, e.message.seq); return options.full ? e : e.seq; })),
    joined: (info) => joins.push(info),
    error: (e) => errors.push(e),
  }, { catchUpPageSize: 500, gapRetryMs: 5, ...options });
  return { sync, delivered, joins, errors };
}

test('merge by seq: fills gaps, drops duplicates, pages a catch-up beyond the cap and buffers events racing a join', async () => {
  const { hub, all } = fakeHub();
  const { sync, delivered, joins } = newSync(hub);

  // First join: 1..10.
  await sync.join();
  assert.deepEqual(delivered, range(1, 10), 'first join');
  assert.deepEqual(joins, [{ lastSeq: 10, rejoin: false }]);

  // Live: a duplicate, then a gap (13 while at 10) filled with GetEvents(afterSeq), then 14 twice.
  hub.serverLast = 14;
  sync.onLive(all[9]);
  sync.onLive(all[12]);
  await sync.idle();
  sync.onLive(all[13]);
  sync.onLive(all[13]);
  assert.deepEqual(delivered, range(1, 14), 'after the gap');
  assert.ok(hub.calls.includes('GetEvents(r,10,2)'), hub.calls.join(' '));

  // Re-join after a reconnect with more missed than the cap: paged forward to lastSeq.
  hub.serverLast = 30;
  await sync.join();
  assert.deepEqual(delivered, range(1, 30), 'after the re-join');
  assert.ok(hub.calls.includes('JoinRoom(r,14)'), hub.calls.join(' '));
  assert.ok(hub.calls.includes('GetEvents(r,16,500)'), hub.calls.join(' '));
  assert.deepEqual(joins.at(-1), { lastSeq: 30, rejoin: true });

  // Live events racing a join are buffered and applied once, in order, after it.
  let open;
  hub.joinGate = new Promise((r) => { open = r; });
  hub.serverLast = 33;
  const joining = sync.join();
  sync.onLive(all[34]); // 35 arrives before the join's result (34 not yet seen)
  sync.onLive(all[33]); // 34
  sync.onLive(all[31]); // 32, also in the join's missed
  open();
  await joining;
  await sync.idle();
  assert.deepEqual(delivered, range(1, 35), 'after the race');
  assert.equal(sync.lastSeq, 35);
  sync.dispose();
});

test('events that arrive before the first join result are delivered after the missed ones, each once', async () => {
  const { hub, all } = fakeHub();
  hub.serverLast = 5;
  let open;
  hub.joinGate = new Promise((r) => { open = r; });
  const { sync, delivered } = newSync(hub, { afterSeq: 2 });
  const joining = sync.join();
  sync.onLive(all[6]); // 7
  sync.onLive(all[4]); // 5 (also in missed)
  sync.onLive(all[5]); // 6
  sync.onLive(all[5]); // 6 again
  open();
  await joining;
  await sync.idle();
  assert.deepEqual(delivered, range(3, 7));
  assert.ok(hub.calls.includes('JoinRoom(r,2)'));
  sync.dispose();
});

test('a gap that cannot be filled yet is retried, and a later live event still comes in order', async () => {
  const { hub, all } = fakeHub();
  const { sync, delivered, errors } = newSync(hub);
  await sync.join();
  hub.serverLast = 13;
  hub.failNext = new Error('Invocation canceled due to the underlying connection being closed.');
  const retried = new Promise((resolve) => {
    const original = hub.invoke;
    hub.invoke = async (...args) => {
      const result = await original(...args);
      if (args[0] === 'GetEvents' && hub.calls.length > 2) resolve();
      return result;
    };
  });
  sync.onLive(all[12]); // 13 while at 10: the first gap fill fails
  await retried; // the retry after gapRetryMs fetches 11..12
  await sync.idle();
  assert.equal(errors.length, 1);
  sync.onLive(all[13]);
  assert.deepEqual(delivered, range(1, 14));
  sync.dispose();
});

test('loadOlder pages back contiguously until the beginning', async () => {
  const { hub } = fakeHub({ total: 120 });
  hub.serverLast = 120;
  const { sync, delivered } = newSync(hub);
  await sync.join();
  assert.deepEqual(delivered, range(71, 120));
  assert.equal(sync.oldestSeq, 71);
  const seen = [];
  while (sync.hasOlder) {
    const page = await sync.loadOlder(50);
    assert.ok(page.length > 0);
    seen.unshift(...page.map((m) => m.seq));
  }
  assert.deepEqual(seen, range(1, 70));
  assert.deepEqual(await sync.loadOlder(50), []);
  sync.dispose();
});

test('a first join of an empty room delivers nothing and then follows live events', async () => {
  const { hub, all } = fakeHub();
  hub.serverLast = 0;
  const { sync, delivered } = newSync(hub);
  await sync.join();
  assert.equal(sync.lastSeq, 0);
  assert.equal(sync.hasOlder, false);
  sync.onLive(all[0]);
  sync.onLive(all[1]);
  assert.deepEqual(delivered, [1, 2]);
  sync.dispose();
});

test('updates are room events: merged with missed messages by seq on a join, and a lost update is repaired with GetEvents', async () => {
  const { hub, all } = fakeHub({ total: 10, cap: 500 });
  hub.serverLast = 0;
  const { sync, delivered } = newSync(hub, { afterSeq: 0, full: true });
  await sync.join();
  // Seq 1 and 3 are messages, 2 is the edit of 1, 4 a reaction on 3 (live); 5 (a delete of 3) is lost; 6 a message.
  const edited = { ...all[0], text: 'edited', editedAt: '2026-01-01T00:01:00Z' };
  const deleted = { ...all[2], text: '', deleted: true };
  hub.updates = [{ seq: 2, change: 'edited', message: edited }, { seq: 4, change: 'reactions', message: all[2] }, { seq: 5, change: 'deleted', message: deleted }];
  hub.serverLast = 3;
  let open;
  hub.joinGate = new Promise((r) => { open = r; });
  const original = hub.invoke;
  hub.invoke = async (method, ...args) => {
    if (method === 'JoinRoom') {
      hub.calls.push(`JoinRoom(${args.join(',')})`);
      await hub.joinGate;
      return { room, lastSeq: 3, missed: [edited, all[2]], updates: [{ room, seq: 2, change: 'edited', message: edited }], hasMore: false };
    }
    return original(method, ...args);
  };
  const joining = sync.join();
  sync.onLiveUpdate({ room, seq: 4, change: 'reactions', message: all[2] }); // races the join
  open();
  await joining;
  await sync.idle();
  assert.deepEqual(delivered.map((e) => `${e.seq}:${e.type}:${e.change ?? ''}`), ['1:message:', '2:messageUpdated:edited', '3:message:', '4:messageUpdated:reactions']);
  hub.serverLast = 6;
  sync.onLive({ ...all[5] }); // seq 6 while at 4: the update 5 was lost
  await sync.idle();
  sync.onLiveUpdate({ room, seq: 5, change: 'deleted', message: deleted }); // a late duplicate
  assert.deepEqual(delivered.map((e) => e.seq), [1, 2, 3, 4, 5, 6]);
  assert.equal(delivered[4].type, 'messageUpdated');
  assert.equal(delivered[4].message.deleted, true);
  assert.equal(delivered[4].message.seq, 3);
  assert.ok(hub.calls.includes('GetEvents(r,4,1)'), hub.calls.join(' '));
  assert.ok(!hub.calls.some((c) => c.startsWith('GetHistory')), hub.calls.join(' '));
  sync.dispose();
});

test('a first join without afterSeq continues after the boundary when updates took the last seqs', async () => {
  const { hub, all } = fakeHub({ total: 10 });
  hub.invoke = async (method, ...args) => {
    hub.calls.push(method);
    if (method === 'JoinRoom') return { room, lastSeq: 8, missed: [all[2], all[4], all[5]], updates: [], hasMore: false }; // 4, 7, 8 were updates
    throw new Error(`unexpected ${method}`);
  };
  const { sync, delivered } = newSync(hub);
  await sync.join();
  sync.onLiveUpdate({ room, seq: 9, change: 'edited', message: all[4] });
  assert.deepEqual(delivered, [3, 5, 6, 9]);
  assert.equal(sync.lastSeq, 9);
  assert.deepEqual(hub.calls, ['JoinRoom']);
  sync.dispose();
});
