import type { ProblemDetails } from './protocol.js';

/**
 * The stable error codes of the protocol, plus the SDK's own `network` (the server could not be reached),
 * `not_connected` (a hub call without a connection), `disconnected` (the client was stopped) and `unknown`.
 */
export type ChitChatErrorCode =
  | 'validation_failed'
  | 'user_exists'
  | 'invalid_credentials'
  | 'unauthorized'
  | 'forbidden'
  | 'room_exists'
  | 'room_not_found'
  | 'rate_limited'
  | 'payload_too_large'
  | 'unavailable'
  | 'too_many_rooms'
  | 'internal_error'
  | 'network'
  | 'not_connected'
  | 'disconnected'
  | 'unknown'
  | (string & {});

/** Where an error came from. */
export type ChitChatErrorSource = 'http' | 'hub' | 'client';

/** Details of a {@link ChitChatError}. */
export interface ChitChatErrorInit {
  source: ChitChatErrorSource;
  status?: number | null;
  detail?: string | null;
  errors?: Record<string, string[]> | null;
  retryAfterMs?: number | null;
  problem?: ProblemDetails | null;
  cause?: unknown;
}

/** An error with the protocol's stable `code`; applications switch on `code`, never on the message. */
export class ChitChatError extends Error {
  /** The stable code (`rate_limited`, `room_not_found`, ...). */
  readonly code: ChitChatErrorCode;
  /** `http` (problem details), `hub` (a HubException) or `client` (raised by the SDK itself). */
  readonly source: ChitChatErrorSource;
  /** The HTTP status, for HTTP errors. */
  readonly status: number | null;
  /** The server's human-readable detail (for a hub error: the text after `code: `). */
  readonly detail: string | null;
  /** Per-field messages of `validation_failed`. */
  readonly errors: Record<string, string[]> | null;
  /** How long to wait before retrying (`rate_limited`, `unavailable`), when known. */
  readonly retryAfterMs: number | null;
  /** The problem details body of an HTTP error. */
  readonly problem: ProblemDetails | null;

  constructor(code: ChitChatErrorCode, message: string, init: ChitChatErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'ChitChatError';
    this.code = code;
    this.source = init.source;
    this.status = init.status ?? null;
    this.detail = init.detail ?? null;
    this.errors = init.errors ?? null;
    this.retryAfterMs = init.retryAfterMs ?? null;
    this.problem = init.problem ?? null;
  }

  /** True for errors where trying again later can succeed (`rate_limited`, `unavailable`, `network`, ...). */
  get retriable(): boolean {
    return ['rate_limited', 'unavailable', 'network', 'not_connected', 'disconnected'].includes(this.code);
  }
}

/** Parses a `Retry-After` header (seconds or an HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number.parseInt(trimmed, 10) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

function codeFromStatus(status: number): ChitChatErrorCode {
  switch (status) {
    case 400: return 'validation_failed';
    case 401: return 'unauthorized';
    case 403: return 'forbidden';
    case 404: return 'room_not_found';
    case 413: return 'payload_too_large';
    case 429: return 'rate_limited';
    case 503: return 'unavailable';
    default: return status >= 500 ? 'internal_error' : 'unknown';
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readErrors(value: unknown): Record<string, string[]> | null {
  if (!isRecord(value)) return null;
  const out: Record<string, string[]> = {};
  for (const [field, messages] of Object.entries(value)) {
    const list = Array.isArray(messages) ? messages : [messages];
    out[field] = list.filter((m) => m !== null && m !== undefined).map((m) => String(m));
  }
  return out;
}

/** Builds a {@link ChitChatError} from an HTTP status, its (parsed) problem details body and `Retry-After`. */
export function fromProblem(status: number, body: unknown, retryAfterHeader?: string | null): ChitChatError {
  const problem: ProblemDetails | null = isRecord(body) ? (body as ProblemDetails) : null;
  const code = typeof problem?.code === 'string' && problem.code ? problem.code : codeFromStatus(status);
  const detail = typeof problem?.detail === 'string' ? problem.detail : null;
  const title = typeof problem?.title === 'string' ? problem.title : null;
  return new ChitChatError(code, detail ?? title ?? `HTTP ${status}`, {
    source: 'http',
    status,
    detail,
    errors: readErrors(problem?.errors),
    retryAfterMs: parseRetryAfter(retryAfterHeader),
    problem,
  });
}

const HUB_ERROR = /HubException: ([a-z_]+): ([\s\S]*)$/;

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (isRecord(err) && typeof err['message'] === 'string') return err['message'];
  return String(err ?? '');
}

/**
 * True when a hub call failed because the connection is (being) lost or not there, rather than because the server
 * refused it: such a call may or may not have reached the server.
 */
export function isConnectionError(err: unknown): boolean {
  if (err instanceof ChitChatError) return err.code === 'network' || err.code === 'not_connected' || err.code === 'disconnected';
  const message = messageOf(err);
  if (HUB_ERROR.test(message)) return false;
  return /connection (?:was|is|being) (?:stopped|closed)|not in the 'Connected' State|Invocation canceled|Cannot send data|WebSocket closed|Server timeout|disconnected|connection being closed|ECONNREFUSED|ECONNRESET|socket hang up|Failed to fetch|fetch failed|NetworkError/i.test(message);
}

/** The server's machine-readable retry delay at the end of a hub error (`rate_limited: ... [retryAfterMs=3200]`). */
const RETRY_AFTER_SUFFIX = /\s*\[retryAfterMs=(\d{1,12})\]$/;

/** Extracts a retry delay from a hub error text such as `at most 20 messages per 10 seconds` (servers without the suffix). */
function retryAfterFromText(text: string): number | null {
  const match = /per (\d+(?:\.\d+)?) seconds?/.exec(text);
  return match?.[1] ? Math.round(Number.parseFloat(match[1]) * 1000) : null;
}

/**
 * Turns an error thrown by a hub invocation into a {@link ChitChatError}. The server sends HubException messages
 * `code: text`, which the SignalR client wraps as `An unexpected error occurred invoking 'X' on the server.
 * HubException: code: text`.
 */
export function fromHubError(err: unknown, rateWindowMs?: number | null): ChitChatError {
  if (err instanceof ChitChatError) return err;
  const message = messageOf(err);
  const match = HUB_ERROR.exec(message);
  if (match?.[1]) {
    const code = match[1];
    const text = (match[2] ?? '').trim();
    const suffix = RETRY_AFTER_SUFFIX.exec(text);
    const detail = suffix ? text.slice(0, suffix.index).trim() : text;
    const retryAfterMs = suffix?.[1] ? Number(suffix[1]) : code === 'rate_limited' ? (retryAfterFromText(detail) ?? rateWindowMs ?? null) : null;
    return new ChitChatError(code, detail || code, { source: 'hub', detail: detail || null, retryAfterMs, cause: err });
  }
  if (/\b401\b|Unauthorized/.test(message)) {
    return new ChitChatError('unauthorized', 'The server refused the access token.', { source: 'hub', status: 401, detail: message, cause: err });
  }
  if (isConnectionError(err)) {
    return new ChitChatError('not_connected', 'The connection to the server was lost.', { source: 'client', detail: message, cause: err });
  }
  return new ChitChatError('unknown', message || 'The hub call failed.', { source: 'hub', detail: message, cause: err });
}
