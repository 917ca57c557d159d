// The ChitChat wire types (protocol versions 1 and 2), field names exactly as on the wire (camelCase JSON).
// Ids are strings (GUIDs), times are ISO-8601 UTC strings, sequence numbers are numbers.
// Keep this file a plain list of `export interface X { field: type; }` declarations, one field per line: a .NET test
// compares it with the C# contracts.

/** A chat message (`message` event, `JoinRoomResult.missed`, history; C# `MessageDto`). */
export interface Message {
  id: string;
  room: string;
  seq: number;
  authorId: string;
  authorName: string;
  text: string;
  sentAt: string;
  clientMessageId: string | null;
  editedAt: string | null;
  deleted: boolean;
  replyTo: string | null;
  threadRoot: string | null;
  replyCount: number;
  reactions: Reaction[];
  mentions: string[];
}

/** The users who reacted to a message with one emoji (C# `ReactionDto`). */
export interface Reaction {
  emoji: string;
  count: number;
  userIds: string[];
}

/** The `messageUpdated` event: `change` is `edited`, `deleted` or `reactions`; `seq` is the event's, `message.seq` the message's own. */
export interface MessageUpdatedEvent {
  room: string;
  seq: number;
  change: string;
  message: Message;
}

/** One event of a room's sequence (`GetEvents`, `GET /api/rooms/{room}/events`; C# `RoomEventDto`): `type` `message` or `messageUpdated`. */
export interface RoomEvent {
  type: string;
  seq: number;
  message: Message;
  change: string | null;
}

/** The `read` event (no `seq`): the user's read marker moved on another of their connections. */
export interface ReadEvent {
  room: string;
  seq: number;
}

/** The `mention` event (no `seq`): a message mentions the user, also in a room this connection has not joined. */
export interface MentionEvent {
  room: string;
  message: Message;
}

/** The result of the hub method `JoinRoom(room, afterSeq?)`: `missed` and `updates` together hold every event after `afterSeq`. */
export interface JoinRoomResult {
  room: string;
  lastSeq: number;
  missed: Message[];
  updates: MessageUpdatedEvent[];
  hasMore: boolean;
}

/** The result of the hub method `SendMessage(room, text, clientMessageId)`. */
export interface SendMessageAck {
  id: string;
  seq: number;
  sentAt: string;
}

/** A room (`GET /api/rooms`, `POST /api/rooms`; C# `RoomDto`). */
export interface Room {
  id: string;
  name: string;
  kind: string;
  topic: string | null;
  createdAt: string;
  createdBy: string | null;
  lastSeq: number;
  memberCount: number;
}

/** A room of the caller's room list (`GET /api/rooms`); `lastReadSeq`, `unread`, `mentions` are the caller's read state (0 in a public room not joined). */
export interface RoomListEntry {
  id: string;
  name: string;
  kind: string;
  topic: string | null;
  createdAt: string;
  createdBy: string | null;
  lastSeq: number;
  memberCount: number;
  role: string | null;
  lastReadSeq: number;
  unread: number;
  mentions: number;
}

export interface UpdateRoomBody {
  topic: string | null;
}

export interface Member {
  userId: string;
  userName: string;
  role: string;
  mutedUntil: string | null;
}

export interface AddMemberBody {
  userName: string;
}

export interface UpdateMemberBody {
  role?: string | null;
  mutedUntil?: string | null;
}

export interface BanBody {
  until?: string | null;
  reason?: string | null;
}

export interface Ban {
  userId: string;
  userName: string;
  until: string | null;
  reason: string | null;
}

export interface CreateDirectBody {
  userNames: string[];
}

export interface UserProfile {
  id: string;
  userName: string;
  firstName: string | null;
  lastName: string | null;
}

/** A user (`POST /api/auth/register`, `LoginResponse.user`; C# `UserDto`). */
export interface User {
  id: string;
  userName: string;
}

/** The body of `POST /api/auth/register`. */
export interface RegisterBody {
  userName: string;
  password: string;
  firstName?: string | null;
  lastName?: string | null;
}

/** The body of `POST /api/auth/login`. */
export interface LoginBody {
  userName: string;
  password: string;
}

/** The result of `POST /api/auth/login`. */
export interface LoginResponse {
  accessToken: string;
  expiresAt: string;
  user: User;
}

/** The body of `POST /api/rooms`. */
export interface CreateRoomBody {
  name: string;
  kind?: string | null;
  topic?: string | null;
}

/** The body of `POST /api/rooms/{room}/messages`. */
export interface SendMessageBody {
  text: string;
  clientMessageId?: string | null;
  replyTo?: string | null;
}

/** The body of `PATCH /api/rooms/{room}/messages/{id}`. */
export interface EditMessageBody {
  text: string;
}

/** The body of `PUT /api/rooms/{room}/read`. */
export interface MarkReadBody {
  seq: number;
}

/** One entry of the hub method `GetPresence(room)`. */
export interface PresenceUser {
  userId: string;
  userName: string;
}

/** The `presence` event. */
export interface PresenceEvent {
  room: string;
  userId: string;
  userName: string;
  online: boolean;
}

/** The `typing` event. */
export interface TypingEvent {
  room: string;
  userId: string;
  userName: string;
}

/** The `member` event (no `seq`): a member was added or removed, or their role or mute changed. */
export interface MemberEvent {
  room: string;
  userId: string;
  userName: string;
  role: string;
  change: string;
}

/** The `removed` event (no `seq`), to a removed or banned user's connections: nothing more of the room follows. */
export interface RemovedEvent {
  room: string;
  reason: string;
}

/** `GET /api/limits`: the server's limits (anonymous). */
export interface ServerLimits {
  maxMessageLength: number;
  maxClientMessageIdLength: number;
  defaultHistoryPageSize: number;
  maxHistoryPageSize: number;
  catchUpLimit: number;
  recentMessagesOnJoin: number;
  maxRoomsPerConnection: number;
  sendRateLimit: number;
  sendRateWindowMs: number;
  typingExpiryMs: number;
  maxHubMessageSize: number;
  minUserNameLength: number;
  maxUserNameLength: number;
  minPasswordLength: number;
  defaultEventsPageSize: number;
  maxEventsPageSize: number;
  defaultSearchPageSize: number;
  maxSearchPageSize: number;
  maxReactionsPerMessage: number;
  maxEmojiLength: number;
  editWindowMs: number;
}

/** An RFC 9457 problem details body with ChitChat's `code` extension (C# `ChatProblem`). */
export interface ProblemDetails {
  type?: string | null;
  title?: string | null;
  status?: number | null;
  detail?: string | null;
  code?: string | null;
  errors?: Record<string, string[]> | null;
}

// The names below are the C# constants of `HubMethods`, `HubEvents` and `ChitChatRoutes` (ChitChat.Contracts); the same
// .NET test compares them. Keep each a `export const X = { Name: 'value', ... } as const;` object, one entry per line.

/** The hub's method names (client to server; C# `HubMethods`). */
export const HubMethods = {
  JoinRoom: 'JoinRoom',
  LeaveRoom: 'LeaveRoom',
  SendMessage: 'SendMessage',
  GetHistory: 'GetHistory',
  GetPresence: 'GetPresence',
  Typing: 'Typing',
  EditMessage: 'EditMessage',
  DeleteMessage: 'DeleteMessage',
  React: 'React',
  Unreact: 'Unreact',
  Reply: 'Reply',
  GetReplies: 'GetReplies',
  GetEvents: 'GetEvents',
  MarkRead: 'MarkRead',
} as const;

/** The hub's event names (server to client; C# `HubEvents`). */
export const HubEvents = {
  Message: 'message',
  Presence: 'presence',
  Typing: 'typing',
  Member: 'member',
  Removed: 'removed',
  MessageUpdated: 'messageUpdated',
  Read: 'read',
  Mention: 'mention',
} as const;

/** The paths of the HTTP API and the hub (C# `ChitChatRoutes`). */
export const ChitChatRoutes = {
  Hub: '/hubs/chat',
  Register: '/api/auth/register',
  Login: '/api/auth/login',
  Limits: '/api/limits',
  Rooms: '/api/rooms',
  Search: '/api/search',
} as const;

/** The path of a room's messages (C# `ChitChatRoutes.Messages(room)`). */
export const messagesRoute = (room: string): string => `${ChitChatRoutes.Rooms}/${encodeURIComponent(room)}/messages`;

/** The path of one message of a room (C# `ChitChatRoutes.Message(room, id)`). */
export const messageRoute = (room: string, id: string): string => `${messagesRoute(room)}/${id}`;

/** The path of a user's reaction to a message (C# `ChitChatRoutes.Reaction(room, id, emoji)`). */
export const reactionRoute = (room: string, id: string, emoji: string): string => `${messageRoute(room, id)}/reactions/${encodeURIComponent(emoji)}`;

/** The path of a thread (C# `ChitChatRoutes.Replies(room, id)`). */
export const repliesRoute = (room: string, id: string): string => `${messageRoute(room, id)}/replies`;

/** The path of a room's event sequence (C# `ChitChatRoutes.Events(room)`). */
export const eventsRoute = (room: string): string => `${ChitChatRoutes.Rooms}/${encodeURIComponent(room)}/events`;

/** The path of the caller's read marker in a room (C# `ChitChatRoutes.Read(room)`). */
export const readRoute = (room: string): string => `${ChitChatRoutes.Rooms}/${encodeURIComponent(room)}/read`;
