import {
  HubConnectionBuilder, HubConnectionState, LogLevel, type HubConnection, type IHttpConnectionOptions,
} from '@microsoft/signalr';
import { Emitter, type Unsubscribe } from './emitter.js';
import { ChitChatError, fromHubError, isConnectionError } from './errors.js';
import {
  ChitChatHttp, DEFAULT_LIMITS, type AccessTokenFactory, type BanOptions, type CreateRoomOptions, type HistoryQuery, type SearchQuery, type TokenReason,
} from './http.js';
import type { AckEvent, OutboxEntry, OutboxStorage, StoredOutboxEntry } from './outbox.js';
import {
  ChitChatRoutes, HubEvents, HubMethods,
  type Ban, type LoginResponse, type Member, type MemberEvent, type MentionEvent, type Message, type MessageUpdatedEvent, type PresenceEvent, type ReadEvent,
  type RoomEvent as RoomEventDto, type PresenceUser, type RegisterBody, type Room,
  type RoomListEntry, type SendMessageAck, type RemovedEvent, type ServerLimits, type TypingEvent, type User, type UserProfile,
} from './protocol.js';
import { RoomSubscription } from './subscription.js';
import { RoomSync } from './sync.js';

/** The hub connection's state. */
export type ConnectionState = 'disconnected' | 'connecting' | 'connected' | 'reconnecting';

/** Options of {@link ChitChatClient}. */
export interface ChitChatClientOptions {
  /** The server's root, e.g. `http://127.0.0.1:5000`; `''` (default) for the page's own origin. */
  baseUrl?: string;
  /** The hub's URL (default `${baseUrl}${ChitChatRoutes.Hub}`). */
  hubUrl?: string;
  /**
   * Supplies the access token: called at connect (`connect`), at every reconnect (`reconnect`), again when the
   * server answered 401 (`unauthorized`: refresh it), and for HTTP calls (`http`). Without it the token of
   * {@link ChitChatClient.login} (or {@link ChitChatClient.setSession}) is used.
   */
  accessTokenFactory?: AccessTokenFactory;
  /** Delays between connection attempts after a loss, in ms; the last one repeats (default 0, 1 s, 2 s, 5 s, 10 s). */
  reconnectDelaysMs?: readonly number[];
  /** Persists unacknowledged messages (e.g. {@link webStorageOutbox}(sessionStorage)). */
  outboxStorage?: OutboxStorage;
  /** Limits to assume until {@link ChitChatClient.getLimits} is called (default {@link DEFAULT_LIMITS}). */
  limits?: Partial<ServerLimits>;
  /** Passed to SignalR's `withUrl` (e.g. `{ transport: HttpTransportType.WebSockets, skipNegotiation: true }`). */
  connectionOptions?: Omit<IHttpConnectionOptions, 'accessTokenFactory'>;
  /** SignalR's log level (default `Warning`). */
  logLevel?: LogLevel;
  /** A `fetch` implementation (default: the global one). */
  fetch?: typeof fetch;
  /** Delay before a gap that could not be filled is tried again, in ms (default 1000). */
  gapRetryMs?: number;
}

/** Events of {@link ChitChatClient}. */
export interface ChitChatClientEvents {
  stateChanged: { state: ConnectionState; previous: ConnectionState };
  /** The first connection succeeded. */
  connected: undefined;
  /** The connection was lost; the client reconnects by itself. */
  reconnecting: { error: ChitChatError | null };
  /** A connection attempt failed; the next one follows after `delayMs`. */
  retrying: { attempt: number; delayMs: number; error: ChitChatError };
  /** Connected again: every room is re-joined with its last `seq`, then the outbox is sent. */
  reconnected: undefined;
  /** Stopped: by {@link ChitChatClient.disconnect} (`error` null) or because the token was refused (`unauthorized`). */
  disconnected: { error: ChitChatError | null };
  presence: PresenceEvent;
  typing: TypingEvent;
  /**
   * A membership of a joined room changed (`change`: `added`, `removed`, `role`, `muted`, `banned`). When this user is
   * the one removed, the room's subscription emits `removed` and ends.
   */
  member: MemberEvent;
  /**
   * This user's read marker moved on another of their connections (another device or tab called `markRead`), so every
   * device agrees on what is read. The connection that marked gets no event.
   */
  read: ReadEvent;
  /** A message mentions this user (`@userName`), also in a room this client has not joined. */
  mention: MentionEvent;
  /** The outbox changed (a message was added, is being sent, failed, or was acknowledged). */
  outbox: readonly OutboxEntry[];
  /** A message was acknowledged (once per message, whatever the number of retries). */
  ack: AckEvent;
}

/** Options of {@link ChitChatClient.joinRoom}. */
export interface JoinRoomOptions {
  /** The last `seq` the application already has: events start after it. Without it, the latest messages come first. */
  afterSeq?: number | null;
}

interface Waiter {
  resolve(ack: SendMessageAck): void;
  reject(error: ChitChatError): void;
}

interface MutableEntry {
  clientMessageId: string;
  room: string;
  text: string;
  replyTo: string | null;
  createdAt: string;
  status: OutboxEntry['status'];
  attempts: number;
  error: ChitChatError | null;
}

const DEFAULT_DELAYS = [0, 1000, 2000, 5000, 10000] as const;

const roomKey = (room: string): string => room.toLowerCase();

function newId(): string {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  throw new Error('crypto.randomUUID is not available');
}

/**
 * The ChitChat client: HTTP API, hub connection with reconnects, exactly-once in-order room subscriptions, an
 * outbox for idempotent sends, presence and typing.
 */
export class ChitChatClient {
  /** The HTTP API. */
  readonly http: ChitChatHttp;
  private readonly emitter = new Emitter<ChitChatClientEvents>();
  private readonly hub: HubConnection;
  private readonly options: ChitChatClientOptions;
  private readonly subscriptions = new Map<string, { sub: RoomSubscription; sync: RoomSync; ready: Promise<void>; settle: { resolve(): void; reject(e: unknown): void } | null }>();
  private readonly entries: MutableEntry[] = [];
  private readonly waiters = new Map<string, Waiter>();
  private stateValue: ConnectionState = 'disconnected';
  private sessionValue: LoginResponse | null = null;
  private limitsValue: ServerLimits;
  private stopping = false;
  private connectPromise: Promise<void> | null = null;
  private everConnected = false;
  private tokenReason: TokenReason = 'connect';
  private attemptToken: Promise<string> | null = null;
  private delayTimer: ReturnType<typeof setTimeout> | null = null;
  private delayWake: (() => void) | null = null;
  private flushing = false;

  constructor(options: ChitChatClientOptions = {}) {
    this.options = options;
    const baseUrl = (options.baseUrl ?? '').replace(/\/+$/, '');
    this.limitsValue = { ...DEFAULT_LIMITS, ...options.limits };
    const tokenFactory: AccessTokenFactory = options.accessTokenFactory ?? (() => this.sessionValue?.accessToken ?? null);
    this.http = new ChitChatHttp({
      baseUrl,
      accessTokenFactory: tokenFactory,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    this.hub = new HubConnectionBuilder()
      .withUrl(options.hubUrl ?? `${baseUrl}${ChitChatRoutes.Hub}`, { ...options.connectionOptions, accessTokenFactory: () => this.hubToken(tokenFactory) })
      .configureLogging(options.logLevel ?? LogLevel.Warning)
      .build();
    this.hub.on(HubEvents.Message, (m: Message) => {
      if (m && typeof m.room === 'string') this.subscriptions.get(roomKey(m.room))?.sync.onLive(m);
    });
    this.hub.on(HubEvents.MessageUpdated, (u: MessageUpdatedEvent) => {
      if (u && typeof u.room === 'string') this.subscriptions.get(roomKey(u.room))?.sync.onLiveUpdate(u);
    });
    this.hub.on(HubEvents.Read, (r: ReadEvent) => this.emitter.emit('read', r));
    this.hub.on(HubEvents.Mention, (m: MentionEvent) => this.emitter.emit('mention', m));
    this.hub.on(HubEvents.Presence, (p: PresenceEvent) => this.emitter.emit('presence', p));
    this.hub.on(HubEvents.Typing, (t: TypingEvent) => this.emitter.emit('typing', t));
    this.hub.on(HubEvents.Member, (m: MemberEvent) => this.emitter.emit('member', m));
    this.hub.on(HubEvents.Removed, (r: RemovedEvent) => this.onRemoved(r));
    this.hub.onclose((error) => this.onClosed(error));
    for (const stored of options.outboxStorage?.load() ?? []) this.entries.push(fromStored(stored));
  }

  // ------------------------------------------------------------------------------------------------------------
  // Session and HTTP

  /** The session of the last {@link login} (or {@link setSession}). */
  get session(): LoginResponse | null { return this.sessionValue; }

  /** The signed-in user. */
  get user(): User | null { return this.sessionValue?.user ?? null; }

  /** Sets (or clears) the session whose token is used when no `accessTokenFactory` was given. */
  setSession(session: LoginResponse | null): void {
    this.sessionValue = session;
  }

  /** `POST /api/auth/register`. */
  register(request: RegisterBody): Promise<User> {
    return this.http.register(request);
  }

  /** `POST /api/auth/login`; keeps the session (its token authenticates later calls). */
  async login(userName: string, password: string): Promise<LoginResponse> {
    const session = await this.http.login(userName, password);
    this.sessionValue = session;
    return session;
  }

  /** `GET /api/rooms`: public rooms, and the private and direct rooms the caller is a member of, with the caller's `role`. */
  getRooms(): Promise<RoomListEntry[]> {
    return this.http.getRooms();
  }

  /** `POST /api/rooms`: creates a room (`kind` `public` by default, or `private`); the caller becomes its owner. */
  createRoom(name: string, options: CreateRoomOptions = {}): Promise<Room> {
    return this.http.createRoom(name, options);
  }

  /** `GET /api/rooms/{room}`. */
  getRoom(room: string): Promise<Room> {
    return this.http.getRoom(room);
  }

  /** `GET /api/rooms/{room}/members`; keep the list current with the `member` event. */
  getMembers(room: string): Promise<Member[]> {
    return this.http.getMembers(room);
  }

  /** Adds a member (owners and moderators; your own name joins a public room). */
  addMember(room: string, userName: string): Promise<Member> {
    return this.http.addMember(room, userName);
  }

  /** Removes a member (owners, moderators) or leaves (your own name); the removed user's subscription ends with `removed`. */
  removeMember(room: string, userName: string): Promise<void> {
    return this.http.removeMember(room, userName);
  }

  /** Changes a member's role (the owner only). */
  setMemberRole(room: string, userName: string, role: 'owner' | 'moderator' | 'member'): Promise<Member> {
    return this.http.setMemberRole(room, userName, role);
  }

  /** Mutes a member until a time (owners, moderators): their sends are refused with `forbidden`. */
  muteMember(room: string, userName: string, until: Date | string): Promise<Member> {
    return this.http.muteMember(room, userName, until);
  }

  /** Lifts a member's mute (owners, moderators). */
  unmuteMember(room: string, userName: string): Promise<Member> {
    return this.http.unmuteMember(room, userName);
  }

  /** Bans a user (owners, moderators): removed at once and barred from rejoining. */
  ban(room: string, userName: string, options: BanOptions = {}): Promise<void> {
    return this.http.ban(room, userName, options);
  }

  /** Lifts a ban (owners, moderators). */
  unban(room: string, userName: string): Promise<void> {
    return this.http.unban(room, userName);
  }

  /** The bans in force (owners, moderators). */
  getBans(room: string): Promise<Ban[]> {
    return this.http.getBans(room);
  }

  /** Opens the direct room of this user and `userNames` (the same people always get the same room); join it like any room. */
  openDirect(userNames: readonly string[]): Promise<Room> {
    return this.http.openDirect(userNames);
  }

  /** The user directory: users whose name starts with `search`. */
  searchUsers(search: string, limit?: number): Promise<UserProfile[]> {
    return this.http.searchUsers(search, limit);
  }

  /** `GET /api/rooms/{room}/messages` (ascending by `seq`). */
  getHistory(room: string, query: HistoryQuery = {}): Promise<Message[]> {
    return this.http.getHistory(room, query);
  }

  /** The limits in use: {@link DEFAULT_LIMITS} until {@link getLimits} read the server's. */
  get limits(): Readonly<ServerLimits> { return this.limitsValue; }

  /** `GET /api/limits` (defaults when the server does not have it); the result is kept in {@link limits}. */
  async getLimits(): Promise<ServerLimits> {
    this.limitsValue = await this.http.getLimits();
    return this.limitsValue;
  }

  // ------------------------------------------------------------------------------------------------------------
  // Connection

  /** The hub connection's state. */
  get state(): ConnectionState { return this.stateValue; }

  /** Adds a handler; see {@link ChitChatClientEvents}. */
  on<K extends keyof ChitChatClientEvents>(event: K, handler: (payload: ChitChatClientEvents[K]) => void): Unsubscribe {
    return this.emitter.on(event, handler);
  }

  /**
   * Connects to the hub. Resolves once connected (retrying with the reconnect delays while the server cannot be
   * reached); rejects with `unauthorized` when the token is refused even after asking the factory again, or with
   * `disconnected` when {@link disconnect} is called first.
   */
  connect(): Promise<void> {
    if (this.connectPromise) return this.connectPromise;
    if (this.stateValue === 'connected') return Promise.resolve();
    this.stopping = false;
    this.setState('connecting');
    const promise = this.connectLoop(this.everConnected ? 'reconnect' : 'connect').finally(() => {
      if (this.connectPromise === promise) this.connectPromise = null;
    });
    this.connectPromise = promise;
    return promise;
  }

  /** Stops the connection (subscriptions and the outbox are kept; {@link connect} resumes them). */
  async disconnect(): Promise<void> {
    this.stopping = true;
    this.wakeDelay();
    const wasDisconnected = this.stateValue === 'disconnected';
    try { await this.hub.stop(); } catch { /* already stopped */ }
    try { await this.connectPromise; } catch { /* reported to its caller */ }
    if (!wasDisconnected && this.stateValue !== 'disconnected') {
      this.setState('disconnected');
      this.emitter.emit('disconnected', { error: null });
    }
  }

  /**
   * Disconnects and ends every subscription (handlers get `closed`, iterators finish, pending joins reject with
   * `disconnected`). The outbox is kept (and stays in its storage).
   */
  async close(): Promise<void> {
    await this.disconnect();
    for (const record of [...this.subscriptions.values()]) {
      this.subscriptions.delete(record.sub.room);
      record.sub.close();
      const settle = record.settle;
      record.settle = null;
      settle?.reject(new ChitChatError('disconnected', 'the client was closed', { source: 'client' }));
    }
  }

  /** Skips the wait before the next connection attempt (a "Retry now" button). */
  reconnectNow(): void {
    this.wakeDelay();
  }

  // ------------------------------------------------------------------------------------------------------------
  // Rooms

  /**
   * Joins a room and returns its subscription once the first join succeeded (waiting for the connection if needed).
   * Rejects with the server's error (`room_not_found`, `forbidden`, `too_many_rooms`, ...). Joining a room that is
   * already subscribed returns the same subscription.
   */
  async joinRoom(room: string, options: JoinRoomOptions = {}): Promise<RoomSubscription> {
    const key = roomKey(room);
    const existing = this.subscriptions.get(key);
    if (existing) {
      await existing.ready;
      return existing.sub;
    }
    let settle: { resolve(): void; reject(e: unknown): void } | null = null;
    const ready = new Promise<void>((resolve, reject) => { settle = { resolve, reject }; });
    let sub: RoomSubscription | null = null;
    const sync = new RoomSync(key, (method, ...args) => this.invokeRaw(method, ...args), {
      deliver: (events) => sub?.deliver(events),
      joined: (info) => sub?.emit('joined', info),
      error: (error) => sub?.emit('error', fromHubError(error, this.limitsValue.sendRateWindowMs)),
    }, {
      afterSeq: options.afterSeq ?? null,
      catchUpPageSize: this.limitsValue.catchUpLimit,
      ...(this.options.gapRetryMs !== undefined ? { gapRetryMs: this.options.gapRetryMs } : {}),
    });
    sub = new RoomSubscription(key, sync, (s) => this.leave(s));
    const record = { sub, sync, ready, settle };
    this.subscriptions.set(key, record);
    if (this.hub.state === HubConnectionState.Connected && this.stateValue === 'connected') this.startJoin(record);
    await ready;
    return sub;
  }

  /** The current subscription of a room. */
  subscription(room: string): RoomSubscription | undefined {
    return this.subscriptions.get(roomKey(room))?.sub;
  }

  /** `GetPresence(room)`: who is online in a room. */
  async getPresence(room: string): Promise<PresenceUser[]> {
    const list = await this.invoke<PresenceUser[]>(HubMethods.GetPresence, room);
    return Array.isArray(list) ? list : [];
  }

  /** `Typing(room)`: others in the room get a `typing` event (throttle it, e.g. once per 2 s while typing). */
  async typing(room: string): Promise<void> {
    await this.invoke<void>(HubMethods.Typing, room);
  }

  /** `GetHistory(room, beforeSeq, afterSeq, limit)` over the hub. */
  async getHubHistory(room: string, beforeSeq: number | null, afterSeq: number | null, limit?: number): Promise<Message[]> {
    const list = await this.invoke<Message[]>(HubMethods.GetHistory, room, beforeSeq, afterSeq, limit ?? null);
    return Array.isArray(list) ? list : [];
  }

  // ------------------------------------------------------------------------------------------------------------
  // Sending

  /** The messages not acknowledged yet, oldest first (for a "sending…" UI). */
  get pending(): readonly OutboxEntry[] {
    return this.entries.map(snapshot);
  }

  /**
   * Sends a message through the outbox: it gets a `clientMessageId` and is retried with it after every reconnect
   * until acknowledged (the server stores it once). Resolves with the ack; rejects with the server's refusal
   * (`rate_limited`, `payload_too_large`, `forbidden`, `room_not_found`, ...), after which the message stays in the
   * outbox as `failed` until {@link retry} or {@link discard}.
   */
  send(room: string, text: string): Promise<SendMessageAck> {
    return this.enqueue(room, text, null);
  }

  /**
   * Sends a reply to a message of the same room (`Reply`) through the outbox, with the guarantees of {@link send}
   * (queued while offline, retried with the same `clientMessageId`, stored once, in order with the other sends). A reply
   * to a reply joins the root's thread (`threadRoot`).
   */
  reply(room: string, replyTo: string, text: string): Promise<SendMessageAck> {
    return this.enqueue(room, text, replyTo);
  }

  /** Edits one of this user's messages (`EditMessage`); every subscriber gets a `messageUpdated` event (`edited`). */
  editMessage(room: string, id: string, text: string): Promise<Message> {
    return this.invoke<Message>(HubMethods.EditMessage, room, id, text);
  }

  /** Deletes a message (`DeleteMessage`; the author's own, owners and moderators any): it stays as a tombstone. */
  async deleteMessage(room: string, id: string): Promise<void> {
    await this.invoke<unknown>(HubMethods.DeleteMessage, room, id);
  }

  /** Adds this user's reaction (`React`); repeating it changes nothing. */
  async react(room: string, id: string, emoji: string): Promise<void> {
    await this.invoke<unknown>(HubMethods.React, room, id, emoji);
  }

  /** Removes this user's reaction (`Unreact`). */
  async unreact(room: string, id: string, emoji: string): Promise<void> {
    await this.invoke<unknown>(HubMethods.Unreact, room, id, emoji);
  }

  /** The thread of a root message (`GetReplies`), ascending by `seq`, tombstones included. */
  getReplies(room: string, rootId: string, options: { afterSeq?: number | null; limit?: number | null } = {}): Promise<Message[]> {
    return this.invoke<Message[]>(HubMethods.GetReplies, room, rootId, options.afterSeq ?? null, options.limit ?? null);
  }

  /** The room's events after `afterSeq` (`GetEvents`): messages and updates, ascending; subscriptions use it to fill gaps. */
  getEvents(room: string, afterSeq: number, limit?: number | null): Promise<RoomEventDto[]> {
    return this.invoke<RoomEventDto[]>(HubMethods.GetEvents, room, afterSeq, limit ?? null);
  }

  /**
   * Moves this user's read marker forward (`MarkRead`; a lower `seq` changes nothing). The user's other connections
   * get `read`; {@link getRooms} then reports `lastReadSeq`, `unread` and `mentions` from it.
   */
  async markRead(room: string, seq: number): Promise<void> {
    await this.invoke<unknown>(HubMethods.MarkRead, room, seq);
  }

  /** `GET /api/search`: messages of the rooms this user may read that match every word of `q`, newest first (no connection needed). */
  search(q: string, query: SearchQuery = {}): Promise<Message[]> {
    return this.http.search(q, query);
  }

  private enqueue(room: string, text: string, replyTo: string | null): Promise<SendMessageAck> {
    if (text.length > this.limitsValue.maxMessageLength) {
      return Promise.reject(new ChitChatError('payload_too_large', `at most ${this.limitsValue.maxMessageLength} characters`, { source: 'client' }));
    }
    const entry: MutableEntry = {
      clientMessageId: newId(), room, text, replyTo, createdAt: new Date().toISOString(), status: 'queued', attempts: 0, error: null,
    };
    this.entries.push(entry);
    const promise = this.waitFor(entry.clientMessageId);
    this.outboxChanged();
    void this.flush();
    return promise;
  }

  /** Sends a `failed` (or queued) message again, with the same `clientMessageId`. */
  retry(clientMessageId: string): Promise<SendMessageAck> {
    const entry = this.entries.find((e) => e.clientMessageId === clientMessageId);
    if (!entry) return Promise.reject(new ChitChatError('unknown', 'no such pending message', { source: 'client' }));
    const promise = this.waitFor(clientMessageId);
    if (entry.status === 'failed') {
      entry.status = 'queued';
      entry.error = null;
      this.outboxChanged();
    }
    void this.flush();
    return promise;
  }

  /** Removes a message that is not in flight from the outbox. Returns false when it is being sent. */
  discard(clientMessageId: string): boolean {
    const index = this.entries.findIndex((e) => e.clientMessageId === clientMessageId);
    if (index < 0) return true;
    if (this.entries[index]!.status === 'sending') return false;
    this.entries.splice(index, 1);
    this.waiters.get(clientMessageId)?.reject(new ChitChatError('discarded', 'the message was discarded', { source: 'client' }));
    this.waiters.delete(clientMessageId);
    this.outboxChanged();
    return true;
  }

  // ------------------------------------------------------------------------------------------------------------
  // Internals

  private setState(state: ConnectionState): void {
    const previous = this.stateValue;
    if (previous === state) return;
    this.stateValue = state;
    this.emitter.emit('stateChanged', { state, previous });
  }

  private hubToken(factory: AccessTokenFactory): Promise<string> {
    // One token per connection attempt (negotiate and the transport ask separately).
    if (!this.attemptToken) this.attemptToken = Promise.resolve(factory(this.tokenReason)).then((t) => t ?? '');
    return this.attemptToken;
  }

  private async connectLoop(reason: 'connect' | 'reconnect'): Promise<void> {
    const delays = this.options.reconnectDelaysMs?.length ? this.options.reconnectDelaysMs : DEFAULT_DELAYS;
    let attempt = 0;
    let refused = 0;
    this.tokenReason = reason;
    for (;;) {
      if (this.stopping) throw new ChitChatError('disconnected', 'disconnect() was called', { source: 'client' });
      this.attemptToken = null;
      try {
        await this.hub.start();
        break;
      } catch (err) {
        if (this.stopping) throw new ChitChatError('disconnected', 'disconnect() was called', { source: 'client' });
        const error = startError(err);
        if (error.code === 'unauthorized') {
          refused++;
          if (refused >= 2) {
            this.setState('disconnected');
            this.emitter.emit('disconnected', { error });
            throw error;
          }
          this.tokenReason = 'unauthorized'; // ask for a fresh token and try again at once
          continue;
        }
        refused = 0;
        this.tokenReason = reason;
        const delayMs = delays[Math.min(attempt, delays.length - 1)] ?? 1000;
        attempt++;
        if (this.stateValue === 'connecting') this.setState('reconnecting');
        this.emitter.emit('retrying', { attempt, delayMs, error });
        await this.delay(delayMs);
      }
    }
    this.attemptToken = null;
    this.setState('connected');
    const first = !this.everConnected;
    this.everConnected = true;
    this.emitter.emit(first ? 'connected' : 'reconnected', undefined);
    void this.afterConnected();
  }

  private onClosed(error: Error | undefined): void {
    if (this.stopping || this.connectPromise) return;
    this.setState('reconnecting');
    this.emitter.emit('reconnecting', { error: error ? fromHubError(error) : null });
    const promise = this.connectLoop('reconnect').catch(() => undefined).finally(() => {
      if (this.connectPromise === promise) this.connectPromise = null;
    });
    this.connectPromise = promise;
  }

  private delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        if (this.delayTimer !== null) clearTimeout(this.delayTimer);
        this.delayTimer = null;
        this.delayWake = null;
        resolve();
      };
      this.delayWake = done;
      this.delayTimer = setTimeout(done, ms);
    });
  }

  private wakeDelay(): void {
    this.delayWake?.();
  }

  private async afterConnected(): Promise<void> {
    // Re-join every room with its last delivered seq, then send what is pending.
    await Promise.all([...this.subscriptions.values()].map((r) => this.startJoin(r)));
    await this.flush();
  }

  private startJoin(record: { sub: RoomSubscription; sync: RoomSync; settle: { resolve(): void; reject(e: unknown): void } | null }): Promise<void> {
    return record.sync.join().then(() => {
      const settle = record.settle;
      record.settle = null;
      settle?.resolve();
    }, (err: unknown) => {
      const error = fromHubError(err, this.limitsValue.sendRateWindowMs);
      if (isConnectionError(error)) return; // the next reconnect joins again
      if (record.settle) {
        const settle = record.settle;
        record.settle = null;
        this.subscriptions.delete(record.sub.room);
        record.sub.close();
        settle.reject(error);
      } else {
        record.sub.emit('error', error);
      }
    });
  }

  /** The server took this user out of a room: the subscription ends and is not re-joined. */
  private onRemoved(event: RemovedEvent): void {
    if (!event || typeof event.room !== 'string') return;
    const key = roomKey(event.room);
    const record = this.subscriptions.get(key);
    if (!record) return;
    this.subscriptions.delete(key);
    const settle = record.settle;
    record.settle = null;
    record.sub.closeRemoved(event);
    settle?.reject(new ChitChatError('disconnected', `removed from the room (${event.reason})`, { source: 'client' }));
  }

  private async leave(sub: RoomSubscription): Promise<void> {
    const record = this.subscriptions.get(sub.room);
    if (record?.sub !== sub) return;
    this.subscriptions.delete(sub.room);
    sub.close();
    record.settle?.reject(new ChitChatError('disconnected', 'the subscription was left', { source: 'client' }));
    if (this.hub.state === HubConnectionState.Connected) {
      try { await this.hub.invoke(HubMethods.LeaveRoom, sub.room); } catch { /* the connection is going anyway */ }
    }
  }

  private invokeRaw(method: string, ...args: unknown[]): Promise<unknown> {
    if (this.hub.state !== HubConnectionState.Connected) {
      return Promise.reject(new ChitChatError('not_connected', 'not connected', { source: 'client' }));
    }
    return this.hub.invoke(method, ...args);
  }

  private async invoke<T>(method: string, ...args: unknown[]): Promise<T> {
    try {
      return (await this.invokeRaw(method, ...args)) as T;
    } catch (err) {
      throw fromHubError(err, this.limitsValue.sendRateWindowMs);
    }
  }

  private waitFor(clientMessageId: string): Promise<SendMessageAck> {
    return new Promise<SendMessageAck>((resolve, reject) => {
      const previous = this.waiters.get(clientMessageId);
      this.waiters.set(clientMessageId, {
        resolve: (ack) => { previous?.resolve(ack); resolve(ack); },
        reject: (e) => { previous?.reject(e); reject(e); },
      });
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.stateValue === 'connected' && this.hub.state === HubConnectionState.Connected) {
        const entry = this.entries.find((e) => e.status === 'queued');
        if (!entry) break;
        await this.sendOne(entry);
      }
    } finally {
      this.flushing = false;
    }
  }

  private async sendOne(entry: MutableEntry): Promise<void> {
    entry.status = 'sending';
    entry.attempts++;
    this.outboxChanged();
    try {
      const ack = (entry.replyTo !== null
        ? await this.hub.invoke(HubMethods.Reply, entry.room, entry.replyTo, entry.text, entry.clientMessageId)
        : await this.hub.invoke(HubMethods.SendMessage, entry.room, entry.text, entry.clientMessageId)) as SendMessageAck;
      const index = this.entries.indexOf(entry);
      if (index >= 0) this.entries.splice(index, 1);
      this.outboxChanged();
      this.emitter.emit('ack', { clientMessageId: entry.clientMessageId, room: entry.room, text: entry.text, ack });
      this.waiters.get(entry.clientMessageId)?.resolve(ack);
      this.waiters.delete(entry.clientMessageId);
    } catch (err) {
      const error = fromHubError(err, this.limitsValue.sendRateWindowMs);
      if (isConnectionError(error) || this.hub.state !== HubConnectionState.Connected) {
        entry.status = 'queued'; // sent again, with the same clientMessageId, after the reconnect
        this.outboxChanged();
        return;
      }
      entry.status = 'failed';
      entry.error = error;
      this.outboxChanged();
      this.waiters.get(entry.clientMessageId)?.reject(error);
      this.waiters.delete(entry.clientMessageId);
    }
  }

  private outboxChanged(): void {
    this.options.outboxStorage?.save(this.entries.map(toStored));
    this.emitter.emit('outbox', this.pending);
  }
}

function startError(err: unknown): ChitChatError {
  const message = err instanceof Error ? err.message : String(err);
  const status = typeof (err as { statusCode?: unknown })?.statusCode === 'number' ? (err as { statusCode: number }).statusCode : null;
  if (status === 401 || /\b401\b|Unauthorized/.test(message)) {
    return new ChitChatError('unauthorized', 'The server refused the access token.', { source: 'hub', status: 401, detail: message, cause: err });
  }
  return new ChitChatError('network', 'Cannot connect to the server.', { source: 'client', detail: message, cause: err });
}

function snapshot(e: MutableEntry): OutboxEntry {
  return Object.freeze({ ...e });
}

function toStored(e: MutableEntry): StoredOutboxEntry {
  return {
    clientMessageId: e.clientMessageId, room: e.room, text: e.text, createdAt: e.createdAt, replyTo: e.replyTo,
    failed: e.status === 'failed' && e.error ? { code: e.error.code, message: e.error.message } : null,
  };
}

function fromStored(s: StoredOutboxEntry): MutableEntry {
  return {
    clientMessageId: s.clientMessageId, room: s.room, text: s.text, replyTo: typeof s.replyTo === 'string' ? s.replyTo : null,
    createdAt: s.createdAt ?? new Date().toISOString(),
    status: s.failed ? 'failed' : 'queued', attempts: 0,
    error: s.failed ? new ChitChatError(s.failed.code, s.failed.message, { source: 'hub' }) : null,
  };
}
