import { ChitChatError, fromProblem } from './errors.js';
import {
  ChitChatRoutes, messagesRoute,
  type LoginResponse, type Message, type RegisterBody, type Room, type SendMessageBody, type ServerLimits, type User,
} from './protocol.js';

/** The server's documented defaults, used when `GET /api/limits` is not available (404). */
export const DEFAULT_LIMITS: Readonly<ServerLimits> = Object.freeze({
  maxMessageLength: 4000,
  maxClientMessageIdLength: 64,
  defaultHistoryPageSize: 50,
  maxHistoryPageSize: 500,
  catchUpLimit: 500,
  recentMessagesOnJoin: 50,
  maxRoomsPerConnection: 50,
  sendRateLimit: 20,
  sendRateWindowMs: 10000,
  typingExpiryMs: 5000,
  maxHubMessageSize: 32768,
  minUserNameLength: 3,
  maxUserNameLength: 32,
  minPasswordLength: 8,
});

/** Why the SDK asks for a token. */
export type TokenReason = 'connect' | 'reconnect' | 'unauthorized' | 'http';

/** Supplies the access token; `unauthorized` means the last token was refused (log in again or refresh it). */
export type AccessTokenFactory = (reason: TokenReason) => string | null | undefined | Promise<string | null | undefined>;

/** Paging of `GET /api/rooms/{room}/messages` (`before`/`after` are sequence numbers). */
export interface HistoryQuery {
  limit?: number;
  before?: number;
  after?: number;
}

/** Options of {@link ChitChatHttp}. */
export interface ChitChatHttpOptions {
  /** The server's root, e.g. `http://127.0.0.1:5000`; `''` for the page's own origin. */
  baseUrl: string;
  /** The token for authenticated calls; asked again with `unauthorized` after a 401, and the call is repeated once. */
  accessTokenFactory: AccessTokenFactory;
  /** A `fetch` implementation (default: the global one). */
  fetch?: typeof fetch;
}

/** The HTTP API (`/api/...`): every method throws {@link ChitChatError} on failure. */
export class ChitChatHttp {
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  private readonly tokenFactory: AccessTokenFactory;

  constructor(options: ChitChatHttpOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.tokenFactory = options.accessTokenFactory;
  }

  /** `POST /api/auth/register`. */
  register(request: RegisterBody): Promise<User> {
    return this.request<User>('POST', ChitChatRoutes.Register, { body: request, auth: false });
  }

  /** `POST /api/auth/login`. */
  login(userName: string, password: string): Promise<LoginResponse> {
    return this.request<LoginResponse>('POST', ChitChatRoutes.Login, { body: { userName, password }, auth: false });
  }

  /** `GET /api/rooms`. */
  getRooms(): Promise<Room[]> {
    return this.request<Room[]>('GET', ChitChatRoutes.Rooms);
  }

  /** `POST /api/rooms`. */
  createRoom(name: string): Promise<Room> {
    return this.request<Room>('POST', ChitChatRoutes.Rooms, { body: { name } });
  }

  /** `GET /api/rooms/{room}/messages?limit&before&after`, ascending by `seq`. */
  getHistory(room: string, query: HistoryQuery = {}): Promise<Message[]> {
    const params = new URLSearchParams();
    if (query.limit !== undefined) params.set('limit', String(query.limit));
    if (query.before !== undefined) params.set('before', String(query.before));
    if (query.after !== undefined) params.set('after', String(query.after));
    const qs = params.toString();
    return this.request<Message[]>('GET', `${messagesRoute(room)}${qs ? `?${qs}` : ''}`);
  }

  /** `POST /api/rooms/{room}/messages` (idempotent with a `clientMessageId`). */
  postMessage(room: string, request: SendMessageBody): Promise<Message> {
    return this.request<Message>('POST', messagesRoute(room), { body: request });
  }

  /** `GET /api/limits`; {@link DEFAULT_LIMITS} when the server does not have the endpoint (404). */
  async getLimits(): Promise<ServerLimits> {
    try {
      const limits = await this.request<Partial<ServerLimits>>('GET', ChitChatRoutes.Limits, { auth: false });
      return { ...DEFAULT_LIMITS, ...limits };
    } catch (err) {
      if (err instanceof ChitChatError && err.status === 404) return { ...DEFAULT_LIMITS };
      throw err;
    }
  }

  /** Sends a JSON request and returns the parsed body. */
  async request<T>(method: string, path: string, options: { body?: unknown; auth?: boolean } = {}): Promise<T> {
    const auth = options.auth ?? true;
    const token = auth ? await this.tokenFactory('http') : null;
    let response = await this.send(method, path, options.body, token);
    if (auth && response.status === 401) {
      const fresh = await this.tokenFactory('unauthorized');
      if (fresh && fresh !== token) response = await this.send(method, path, options.body, fresh);
    }
    const text = await response.text();
    let parsed: unknown = null;
    if (text) {
      try { parsed = JSON.parse(text); } catch { parsed = null; }
    }
    if (!response.ok) throw fromProblem(response.status, parsed, response.headers.get('Retry-After'));
    return parsed as T;
  }

  private async send(method: string, path: string, body: unknown, token: string | null | undefined): Promise<Response> {
    const headers: Record<string, string> = { Accept: 'application/json, application/problem+json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (token) headers['Authorization'] = `Bearer ${token}`;
    const init: RequestInit = { method, headers, credentials: 'omit', cache: 'no-store' };
    if (body !== undefined) init.body = JSON.stringify(body);
    try {
      return await this.fetchImpl(`${this.baseUrl}${path}`, init);
    } catch (e) {
      throw new ChitChatError('network', 'Cannot reach the server.', { source: 'http', detail: String(e), cause: e });
    }
  }
}
