import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChitChatError, fromHubError, fromProblem, isConnectionError, parseRetryAfter } from '../../dist/index.js';

test('hub errors carry the code after "HubException: "', () => {
  const e = fromHubError(new Error("An unexpected error occurred invoking 'SendMessage' on the server. HubException: rate_limited: at most 20 messages per 10 seconds"));
  assert.ok(e instanceof ChitChatError);
  assert.equal(e.code, 'rate_limited');
  assert.equal(e.source, 'hub');
  assert.equal(e.detail, 'at most 20 messages per 10 seconds');
  assert.equal(e.retryAfterMs, 10000);
  assert.equal(fromHubError(new Error("... HubException: room_not_found: room 'x' does not exist")).code, 'room_not_found');
});

test("the hub's [retryAfterMs=N] suffix is the retry delay and is not part of the detail", () => {
  const e = fromHubError(new Error("An unexpected error occurred invoking 'SendMessage' on the server. HubException: rate_limited: at most 20 messages per 10 seconds [retryAfterMs=3250]"), 10000);
  assert.equal(e.code, 'rate_limited');
  assert.equal(e.retryAfterMs, 3250);
  assert.equal(e.detail, 'at most 20 messages per 10 seconds');
  const u = fromHubError(new Error('HubException: unavailable: The store is down. [retryAfterMs=5000]'));
  assert.equal(u.code, 'unavailable');
  assert.equal(u.retryAfterMs, 5000);
});

test('problem details become typed errors with field errors and Retry-After', () => {
  const v = fromProblem(400, { title: 'x', status: 400, code: 'validation_failed', errors: { userName: ['too short'] } }, null);
  assert.equal(v.code, 'validation_failed');
  assert.deepEqual(v.errors, { userName: ['too short'] });
  const r = fromProblem(429, { code: 'rate_limited', detail: 'slow down' }, '7');
  assert.equal(r.retryAfterMs, 7000);
  assert.equal(r.status, 429);
  assert.equal(fromProblem(503, null, null).code, 'unavailable');
  assert.equal(parseRetryAfter('abc'), null);
});

test('connection losses are told apart from refusals', () => {
  assert.ok(isConnectionError(new Error('Invocation canceled due to the underlying connection being closed.')));
  assert.ok(!isConnectionError(new Error('HubException: forbidden: no')));
  assert.equal(fromHubError(new Error('Invocation canceled due to the underlying connection being closed.')).code, 'not_connected');
});
