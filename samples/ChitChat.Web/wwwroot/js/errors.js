// Turns server errors (HTTP problem details and hub errors "code: message") into friendly text.

/** Friendly text per stable error code (PROTOCOL.md, "Errors"). */
const FRIENDLY = {
  validation_failed: 'Please check what you entered.',
  user_exists: 'That user name is already taken. Pick another one.',
  invalid_credentials: 'Wrong user name or password.',
  unauthorized: 'Your session has expired. Please log in again.',
  forbidden: 'You are not allowed to do that.',
  room_exists: 'A room with that name already exists.',
  room_not_found: 'That room does not exist (any more).',
  rate_limited: 'You are sending messages too fast. Please wait a moment and try again.',
  payload_too_large: 'That message is too long.',
  unavailable: 'The chat service is temporarily unavailable. Please try again in a moment.',
};

const KNOWN_CODES = Object.keys(FRIENDLY);

/** An error with a stable code, friendly text and the server's detail. */
export class ChatError extends Error {
  /**
   * @param {string} code stable code, or 'network' / 'unknown'
   * @param {string} friendly text to show to the user
   * @param {object} [extra] detail, errors, retryAfter, status
   */
  constructor(code, friendly, extra = {}) {
    super(friendly);
    this.name = 'ChatError';
    this.code = code;
    this.friendly = friendly;
    this.detail = extra.detail ?? null;
    this.errors = extra.errors ?? null;
    this.retryAfter = extra.retryAfter ?? null;
    this.status = extra.status ?? null;
  }
}

function withRetryAfter(text, seconds) {
  return seconds ? `${text} (retry in ${seconds} s)` : text;
}

function flattenErrors(errors) {
  if (!errors || typeof errors !== 'object') return '';
  const parts = [];
  for (const [field, messages] of Object.entries(errors)) {
    const list = Array.isArray(messages) ? messages : [messages];
    for (const m of list) {
      if (typeof m === 'string' && m) parts.push(m);
      else if (m != null) parts.push(`${field}: ${String(m)}`);
    }
  }
  return parts.join(' ');
}

/**
 * Builds a ChatError from an HTTP problem details body.
 * @param {number} status HTTP status
 * @param {any} body parsed JSON body (may be null)
 * @param {string|null} retryAfterHeader Retry-After header value
 */
export function fromProblem(status, body, retryAfterHeader) {
  const code = (body && typeof body.code === 'string' && body.code) || codeFromStatus(status);
  const retryAfter = parseRetryAfter(retryAfterHeader);
  const detail = body && typeof body.detail === 'string' ? body.detail : null;
  const errors = body && body.errors && typeof body.errors === 'object' ? body.errors : null;
  let friendly;
  if (code === 'validation_failed') {
    friendly = flattenErrors(errors) || detail || FRIENDLY.validation_failed;
  } else if (FRIENDLY[code]) {
    friendly = FRIENDLY[code];
  } else {
    friendly = detail || (body && typeof body.title === 'string' && body.title) || `Request failed (HTTP ${status}).`;
  }
  if (code === 'rate_limited') friendly = 'Too many attempts. Please wait a moment and try again.';
  if (code === 'rate_limited' || code === 'unavailable') friendly = withRetryAfter(friendly, retryAfter);
  return new ChatError(code, friendly, { detail, errors, retryAfter, status });
}

function codeFromStatus(status) {
  switch (status) {
    case 401: return 'unauthorized';
    case 403: return 'forbidden';
    case 404: return 'room_not_found';
    case 413: return 'payload_too_large';
    case 429: return 'rate_limited';
    case 503: return 'unavailable';
    case 400: return 'validation_failed';
    default: return 'unknown';
  }
}

function parseRetryAfter(value) {
  if (!value) return null;
  const n = Number.parseInt(value, 10);
  return Number.isFinite(n) && n >= 0 ? n : null;
}

/**
 * Parses a hub invocation error. The server sends HubException messages "code: text"; the SignalR client wraps them
 * as "An unexpected error occurred invoking 'X' on the server. HubException: code: text".
 * @param {unknown} err error thrown by connection.invoke
 * @returns {ChatError}
 */
export function fromHubError(err) {
  const message = err && typeof err === 'object' && 'message' in err ? String(err.message) : String(err ?? '');
  const afterPrefix = message.includes('HubException:') ? message.slice(message.lastIndexOf('HubException:') + 13).trim() : message.trim();
  const match = /^([a-z_]+):\s*([\s\S]*)$/.exec(afterPrefix);
  if (match && KNOWN_CODES.includes(match[1])) {
    const code = match[1];
    const detail = match[2] || null;
    let friendly = FRIENDLY[code];
    if ((code === 'validation_failed' || code === 'payload_too_large') && detail) friendly = `${friendly} ${detail}`;
    if (code === 'rate_limited' && detail) friendly = `${friendly} (${detail})`;
    return new ChatError(code, friendly, { detail });
  }
  if (isConnectionError(message)) {
    return new ChatError('network', 'Not connected. The message will be sent when the connection is back.', { detail: message });
  }
  return new ChatError('unknown', 'Something went wrong. Please try again.', { detail: message });
}

/** True when an invocation failed because the connection is (being) lost rather than because the server refused it. */
export function isConnectionError(message) {
  return /connection (?:was|is|being) (?:stopped|closed|not in the 'Connected' State)|Invocation canceled|Cannot send data if the connection is not|WebSocket closed|Server timeout|disconnected/i.test(message);
}
