// HTTP API client (PROTOCOL.md, "HTTP API").
import { ChatError, fromProblem } from './errors.js';

/**
 * Sends a JSON request and returns the parsed body; throws ChatError with friendly text on failure.
 * @param {string} method
 * @param {string} path
 * @param {{ body?: any, token?: string|null }} [options]
 */
export async function request(method, path, { body, token } = {}) {
  const headers = { Accept: 'application/json, application/problem+json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch (e) {
    throw new ChatError('network', 'Cannot reach the server. Check your connection and try again.', { detail: String(e) });
  }
  let parsed = null;
  const text = await response.text();
  if (text) {
    try { parsed = JSON.parse(text); } catch { parsed = null; }
  }
  if (!response.ok) throw fromProblem(response.status, parsed, response.headers.get('Retry-After'));
  return parsed;
}

export const api = {
  register: (userName, password, firstName, lastName) =>
    request('POST', '/api/auth/register', { body: { userName, password, firstName: firstName || null, lastName: lastName || null } }),
  login: (userName, password) => request('POST', '/api/auth/login', { body: { userName, password } }),
  rooms: (token) => request('GET', '/api/rooms', { token }),
  createRoom: (token, name) => request('POST', '/api/rooms', { token, body: { name } }),
};
