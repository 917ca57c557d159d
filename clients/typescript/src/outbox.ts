import type { ChitChatError } from './errors.js';
import type { SendMessageAck } from './protocol.js';

/** The state of a message in the outbox. */
export type OutboxStatus =
  /** Waiting to be sent (no connection yet, or the connection was lost before the ack). */
  | 'queued'
  /** `SendMessage` is in flight. */
  | 'sending'
  /** The server refused it (e.g. `rate_limited`); it stays until {@link ChitChatClient.retry} or {@link ChitChatClient.discard}. */
  | 'failed';

/** A message that was sent but not acknowledged yet. */
export interface OutboxEntry {
  /** The idempotency key: every retry of this message uses it, so the server stores it once. */
  readonly clientMessageId: string;
  readonly room: string;
  readonly text: string;
  /** The id of the message this one answers (sent with `reply`), or `null`. */
  readonly replyTo: string | null;
  /** When `send` was called (ISO-8601). */
  readonly createdAt: string;
  readonly status: OutboxStatus;
  /** How many times `SendMessage` was invoked for it. */
  readonly attempts: number;
  /** Why it failed (status `failed`). */
  readonly error: ChitChatError | null;
}

/** What an {@link OutboxStorage} persists of an entry. */
export interface StoredOutboxEntry {
  clientMessageId: string;
  room: string;
  text: string;
  createdAt: string;
  replyTo?: string | null;
  failed?: { code: string; message: string } | null;
}

/** Persists the outbox, e.g. in `sessionStorage`, so unacknowledged messages survive a reload. */
export interface OutboxStorage {
  load(): StoredOutboxEntry[];
  save(entries: StoredOutboxEntry[]): void;
}

/** An {@link OutboxStorage} over a Web Storage object (`sessionStorage`, `localStorage`) under one key. */
export function webStorageOutbox(storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>, key = 'chitchat.outbox'): OutboxStorage {
  return {
    load() {
      try {
        const parsed: unknown = JSON.parse(storage.getItem(key) ?? '[]');
        return Array.isArray(parsed)
          ? parsed.filter((e): e is StoredOutboxEntry =>
            typeof e === 'object' && e !== null && typeof e.clientMessageId === 'string' && typeof e.room === 'string' && typeof e.text === 'string')
          : [];
      } catch {
        return [];
      }
    },
    save(entries) {
      if (entries.length === 0) storage.removeItem(key);
      else storage.setItem(key, JSON.stringify(entries));
    },
  };
}

/** An acknowledged send (`ack` event of the client). */
export interface AckEvent {
  clientMessageId: string;
  room: string;
  text: string;
  ack: SendMessageAck;
}
