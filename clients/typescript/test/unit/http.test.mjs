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

test('membership calls: methods, escaped paths and bodies that carry only what changes (a role change keeps a mute)', async () => {
  const calls = [];
  const http = new ChitChatHttp({
    baseUrl: 'http://127.0.0.1:1',
    accessTokenFactory: () => 't',
    fetch: async (url, init) => {
      calls.push([init.method, url.replace('http://127.0.0.1:1', ''), init.body === undefined ? undefined : JSON.parse(init.body)]);
      return init.method === 'DELETE' || init.method === 'PUT' ? new Response(null, { status: 204 }) : json(200, {});
    },
  });
  await http.createRoom('crew', { kind: 'private' });
  await http.createRoom('open');
  await http.addMember('crew', 'bob');
  await http.setMemberRole('crew', 'bob', 'moderator');
  await http.muteMember('crew', 'bob', new Date('2030-01-02T03:04:05.000Z'));
  await http.unmuteMember('crew', 'bob');
  assert.equal(await http.removeMember('crew', 'a b'), undefined);
  await http.ban('crew', 'bob', { reason: 'spam' });
  await http.ban('crew', 'eve');
  await http.unban('crew', 'bob');
  await http.getBans('crew');
  await http.openDirect(['bob', 'carol']);
  await http.searchUsers('b&o', 5);
  assert.deepEqual(calls, [
    ['POST', '/api/rooms', { name: 'crew', kind: 'private' }],
    ['POST', '/api/rooms', { name: 'open' }],
    ['POST', '/api/rooms/crew/members', { userName: 'bob' }],
    ['PATCH', '/api/rooms/crew/members/bob', { role: 'moderator' }],
    ['PATCH', '/api/rooms/crew/members/bob', { mutedUntil: '2030-01-02T03:04:05.000Z' }],
    ['PATCH', '/api/rooms/crew/members/bob', { mutedUntil: null }],
    ['DELETE', '/api/rooms/crew/members/a%20b', undefined],
    ['PUT', '/api/rooms/crew/bans/bob', { reason: 'spam' }],
    ['PUT', '/api/rooms/crew/bans/eve', {}],
    ['DELETE', '/api/rooms/crew/bans/bob', undefined],
    ['GET', '/api/rooms/crew/bans', undefined],
    ['POST', '/api/direct', { userNames: ['bob', 'carol'] }],
    ['GET', '/api/users?search=b%26o&limit=5', undefined],
  ]);
});
