import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RoomSubscription, RoomSync } from '../../dist/index.js';

const msg = (seq) => ({ id: `m${seq}`, room: 'r', seq, authorId: 'a', authorName: 'a', text: `t${seq}`, sentAt: '2026-01-01T00:00:00Z', clientMessageId: null });

function subscription(lastSeq) {
  let sub;
  const sync = new RoomSync('r', async (method) => {
    if (method === 'JoinRoom') return { room: 'r', lastSeq, missed: Array.from({ length: lastSeq }, (_, i) => msg(i + 1)), hasMore: false };
    return [];
  }, { deliver: (events) => sub.deliver(events), joined: () => {}, error: () => {} });
  sub = new RoomSubscription('r', sync, async (s) => s.close());
  return { sub, sync };
}

test('events delivered before the first handler is attached are handed to it, then live ones follow', async () => {
  const { sub, sync } = subscription(3);
  await sync.join();
  const seen = [];
  sub.on('event', (e) => seen.push(e.seq));
  assert.deepEqual(seen, [1, 2, 3]);
  sync.onLive(msg(4));
  assert.deepEqual(seen, [1, 2, 3, 4]);
});

test('the async iterator gets the backlog and live events, and ends when the subscription is left', async () => {
  const { sub, sync } = subscription(2);
  await sync.join();
  const iterator = sub[Symbol.asyncIterator]();
  sync.onLive(msg(3));
  const seqs = [];
  const reading = (async () => {
    for (let r = await iterator.next(); !r.done; r = await iterator.next()) seqs.push(r.value.seq);
  })();
  await sub.leave();
  await reading;
  assert.deepEqual(seqs, [1, 2, 3]);
  assert.equal(sub.closed, true);
  assert.equal((await sub[Symbol.asyncIterator]().next()).done, true);
});
