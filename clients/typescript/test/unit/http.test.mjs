import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChitChatError, ChitChatHttp, DEFAULT_LIMITS } from '../../dist/index.js';

const json = (status, body, headers = {}) => new Response(body === undefined ? '' : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });

test('getLimits falls back to the defaults when the server has no /api/limits (404)', async () => {
  const http = new ChitChatHttp({ baseUrl: 'http://127.0.0.1:1', accessTokenFactory: () => null, fetch: async () => json(404, { code: 'not_found' }) });
  assert.deepEqual(await http.getLimits(), { ...DEFAULT_LIMITS });
});

test('getLimits merges what the server sends over the defaults', async () => {
  const http = new ChitChatHttp({ baseUrl: 'http://127.0.0.1:1', accessTokenFactory: () => null, fetch: async () => json(200, { maxMessageLength: 100 }) });
  const limits = await http.getLimits();
  assert.equal(limits.maxMessageLength, 100);
  assert.equal(limits.typingExpiryMs, DEFAULT_LIMITS.typingExpiryMs);
});

test('a 401 asks the token factory again (unauthorized) and repeats the call once with the new token', async () => {
  const reasons = [];
  const seen = [];
  const http = new ChitChatHttp({
    baseUrl: 'http://127.0.0.1:1',
    accessTokenFactory: (reason) => { reasons.push(reason); return reason === 'unauthorized' ? 'fresh' : 'stale'; },
    fetch: async (_url, init) => {
      seen.push(init.headers.Authorization);
      return init.headers.Authorization === 'Bearer fresh' ? json(200, []) : json(401, { code: 'unauthorized' });
    },
  });
  assert.deepEqual(await http.getRooms(), []);
  assert.deepEqual(reasons, ['http', 'unauthorized']);
  assert.deepEqual(seen, ['Bearer stale', 'Bearer fresh']);
});

test('HTTP failures are typed: problem code, Retry-After, network', async () => {
  const http = new ChitChatHttp({ baseUrl: 'http://127.0.0.1:1', accessTokenFactory: () => 't', fetch: async () => json(429, { code: 'rate_limited', detail: 'x' }, { 'Retry-After': '3' }) });
  await assert.rejects(http.postMessage('r', { text: 'x' }), (e) => e instanceof ChitChatError && e.code === 'rate_limited' && e.retryAfterMs === 3000);
  const down = new ChitChatHttp({ baseUrl: 'http://127.0.0.1:1', accessTokenFactory: () => 't', fetch: async () => { throw new TypeError('fetch failed'); } });
  await assert.rejects(down.getRooms(), (e) => e instanceof ChitChatError && e.code === 'network');
});
