import { ChitChatError, fromProblem } from './errors.js';
import {
  ChitChatRoutes, eventsRoute, messageRoute, messagesRoute, reactionRoute, readRoute, repliesRoute,
  type RoomEvent as RoomEventDto, type Ban, type LoginResponse, type Member, type Message, type RegisterBody, type Room, type RoomListEntry, type SendMessageBody,
  type ServerLimits, type User, type UserProfile,
} from './protocol.js';

/** `POST /api/direct`: opens (creates once) the direct room of the caller and other users. */
export const DirectRoute = '/api/direct';

/** `GET /api/users?search=&limit=`: the user directory. */
export const UsersRoute = '/api/users';

/** The path of a room, or of a resource under it (`roomRoute('dev', 'members', 'bob')`), each segment escaped. */
export const roomRoute = (room: string, ...segments: string[]): string =>
  [ChitChatRoutes.Rooms, room, ...segments].map((s, i) => (i === 0 ? s : encodeURIComponent(s))).join('/');

/** The kind of a room a user may create (`direct` rooms come from {@link ChitChatHttp.openDirect}). */
export type CreatableRoomKind = 'public' | 'private';

/** Options of {@link ChitChatHttp.createRoom}. */
export interface CreateRoomOptions {
  /** `public` (listed, anyone may join; the default) or `private` (members only). */
  kind?: CreatableRoomKind;
  /** The room's topic. */
  topic?: string;
}

/** Options of {@link ChitChatHttp.ban}. */
export interface BanOptions {
  /** Why (the banned user's `removed` event carries it). */
  reason?: string;
  /** When the ban ends (default: never). */
  until?: Date | string;
}

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
  defaultEventsPageSize: 100,
  maxEventsPageSize: 500,
  defaultSearchPageSize: 20,
  maxSearchPageSize: 100,
  maxReactionsPerMessage: 20,
  maxEmojiLength: 32,
  editWindowMs: 86400000,
});

/** Options of {@link ChitChatHttp.search}. */
export interface SearchQuery {
  /** Only this room (default: every room the caller may read). */
  room?: string;
  /** The page size (default 20, at most 100). */
  limit?: number;
  /** The id of the last result of the previous page: only older results follow. */
  before?: string;
}

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

  /** `GET /api/rooms`: public rooms, and the private and direct rooms the caller is a member of, with the caller's `role`. */
  getRooms(): Promise<RoomListEntry[]> {
    return this.request<RoomListEntry[]>('GET', ChitChatRoutes.Rooms);
  }

  /** `POST /api/rooms`: creates a room (public by default); the caller becomes its owner. */
  createRoom(name: string, options: CreateRoomOptions = {}): Promise<Room> {
    const body: { name: string; kind?: string; topic?: string } = { name };
    if (options.kind !== undefined) body.kind = options.kind;
    if (options.topic !== undefined) body.topic = options.topic;
    return this.request<Room>('POST', ChitChatRoutes.Rooms, { body });
  }

  /** `GET /api/rooms/{room}` (`room_not_found` also for a private or direct room the caller is not a member of). */
  getRoom(room: string): Promise<Room> {
    return this.request<Room>('GET', roomRoute(room));
  }

  /** `GET /api/rooms/{room}/members`: the members with their roles and mutes. */
  getMembers(room: string): Promise<Member[]> {
    return this.request<Member[]>('GET', roomRoute(room, 'members'));
  }

  /**
   * `POST /api/rooms/{room}/members`: your own name joins a public room; owners and moderators add anyone (the only
   * way into a private room). Adding an existing member returns it.
   */
  addMember(room: string, userName: string): Promise<Member> {
    return this.request<Member>('POST', roomRoute(room, 'members'), { body: { userName } });
  }

  /** `DELETE /api/rooms/{room}/members/{userName}`: removes a member (owners, moderators), or leaves (your own name). */
  async removeMember(room: string, userName: string): Promise<void> {
    await this.request<null>('DELETE', roomRoute(room, 'members', userName));
  }

  /** `PATCH /api/rooms/{room}/members/{userName}` `{role}`: changes a member's role (the owner only). */
  setMemberRole(room: string, userName: string, role: 'owner' | 'moderator' | 'member'): Promise<Member> {
    return this.request<Member>('PATCH', roomRoute(room, 'members', userName), { body: { role } });
  }

  /** `PATCH /api/rooms/{room}/members/{userName}` `{mutedUntil}`: mutes a member until a time (owners, moderators). */
  muteMember(room: string, userName: string, until: Date | string): Promise<Member> {
    const mutedUntil = typeof until === 'string' ? until : until.toISOString();
    return this.request<Member>('PATCH', roomRoute(room, 'members', userName), { body: { mutedUntil } });
  }

  /** `PATCH /api/rooms/{room}/members/{userName}` `{mutedUntil: null}`: lifts a mute (owners, moderators). */
  unmuteMember(room: string, userName: string): Promise<Member> {
    return this.request<Member>('PATCH', roomRoute(room, 'members', userName), { body: { mutedUntil: null } });
  }

  /** `PUT /api/rooms/{room}/bans/{userName}`: removes the user and bars them from rejoining (owners, moderators). */
  async ban(room: string, userName: string, options: BanOptions = {}): Promise<void> {
    const body: { reason?: string; until?: string } = {};
    if (options.reason !== undefined) body.reason = options.reason;
    if (options.until !== undefined) body.until = typeof options.until === 'string' ? options.until : options.until.toISOString();
    await this.request<null>('PUT', roomRoute(room, 'bans', userName), { body });
  }

  /** `DELETE /api/rooms/{room}/bans/{userName}`: lifts a ban (owners, moderators). */
  async unban(room: string, userName: string): Promise<void> {
    await this.request<null>('DELETE', roomRoute(room, 'bans', userName));
  }

  /** `GET /api/rooms/{room}/bans`: the bans in force (owners, moderators). */
  getBans(room: string): Promise<Ban[]> {
    return this.request<Ban[]>('GET', roomRoute(room, 'bans'));
  }

  /**
   * `POST /api/direct`: the direct room of the caller and `userNames` (created on first use; the same people always
   * get the same `dm-…` room). Join it like any room.
   */
  openDirect(userNames: readonly string[]): Promise<Room> {
    return this.request<Room>('POST', DirectRoute, { body: { userNames: [...userNames] } });
  }

  /** `GET /api/users?search=&limit=`: users whose name starts with `search` (ignoring case), ordered by name. */
  searchUsers(search: string, limit?: number): Promise<UserProfile[]> {
    const params = new URLSearchParams({ search });
    if (limit !== undefined) params.set('limit', String(limit));
    return this.request<UserProfile[]>('GET', `${UsersRoute}?${params.toString()}`);
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

  /** `PATCH /api/rooms/{room}/messages/{id}` `{text}`: edits one of the caller's messages; returns it in its new state. */
  editMessage(room: string, id: string, text: string): Promise<Message> {
    return this.request<Message>('PATCH', messageRoute(room, id), { body: { text } });
  }

  /** `DELETE /api/rooms/{room}/messages/{id}`: deletes a message (its author; owners and moderators any). */
  async deleteMessage(room: string, id: string): Promise<void> {
    await this.request<null>('DELETE', messageRoute(room, id));
  }

  /** `PUT /api/rooms/{room}/messages/{id}/reactions/{emoji}`. */
  async react(room: string, id: string, emoji: string): Promise<void> {
    await this.request<null>('PUT', reactionRoute(room, id, emoji));
  }

  /** `DELETE /api/rooms/{room}/messages/{id}/reactions/{emoji}`. */
  async unreact(room: string, id: string, emoji: string): Promise<void> {
    await this.request<null>('DELETE', reactionRoute(room, id, emoji));
  }

  /** `GET /api/rooms/{room}/messages/{id}/replies?after=&limit=`: the thread of a root, ascending. */
  getReplies(room: string, id: string, query: { after?: number; limit?: number } = {}): Promise<Message[]> {
    const params = new URLSearchParams();
    if (query.after !== undefined) params.set('after', String(query.after));
    if (query.limit !== undefined) params.set('limit', String(query.limit));
    const qs = params.toString();
    return this.request<Message[]>('GET', `${repliesRoute(room, id)}${qs ? `?${qs}` : ''}`);
  }

  /** `GET /api/rooms/{room}/events?after=&limit=`: the room's events (messages and updates) after `after`, ascending. */
  getEvents(room: string, after: number, limit?: number): Promise<RoomEventDto[]> {
    const params = new URLSearchParams({ after: String(after) });
    if (limit !== undefined) params.set('limit', String(limit));
    return this.request<RoomEventDto[]>('GET', `${eventsRoute(room)}?${params.toString()}`);
  }

  /** `PUT /api/rooms/{room}/read` `{seq}`: moves the caller's read marker forward (every connection of the caller gets `read`). */
  async markRead(room: string, seq: number): Promise<void> {
    await this.request<null>('PUT', readRoute(room), { body: { seq } });
  }

  /** `GET /api/search?q=&room=&limit=&before=`: messages of readable rooms matching every word of `q`, newest first. */
  search(q: string, query: SearchQuery = {}): Promise<Message[]> {
    const params = new URLSearchParams({ q });
    if (query.room !== undefined) params.set('room', query.room);
    if (query.limit !== undefined) params.set('limit', String(query.limit));
    if (query.before !== undefined) params.set('before', query.before);
    return this.request<Message[]>('GET', `${ChitChatRoutes.Search}?${params.toString()}`);
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
