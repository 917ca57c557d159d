import { Emitter, type Unsubscribe } from './emitter.js';
import type { ChitChatError } from './errors.js';
import type { Message, RemovedEvent } from './protocol.js';
import type { RoomEvent, RoomSync } from './sync.js';

/** Events of a {@link RoomSubscription}. */
export interface RoomSubscriptionEvents {
  /** Every room event, in `seq` order, each `seq` exactly once (across reconnects). */
  event: RoomEvent;
  /** A join completed (the first one, or a re-join after a reconnect). */
  joined: { lastSeq: number; rejoin: boolean };
  /** A background operation failed (a re-join, a gap fill); the subscription keeps trying. */
  error: ChitChatError;
  /**
   * The server removed (or banned) the user from the room: nothing more of it arrives. Emitted after every event
   * delivered before it, right before `closed`; the subscription is not re-joined after a reconnect.
   */
  removed: RemovedEvent;
  /** The subscription ended ({@link RoomSubscription.leave}, a removal or {@link ChitChatClient.close}). */
  closed: undefined;
}

/**
 * One joined room: its events in `seq` order, exactly once. Use the handler API (`on('event', ...)`) or iterate
 * (`for await (const event of subscription)`). Events that arrive before the first handler or iterator is attached
 * are kept and handed to it, so nothing is missed between `joinRoom` and attaching.
 */
export class RoomSubscription implements AsyncIterable<RoomEvent> {
  private readonly emitter = new Emitter<RoomSubscriptionEvents>();
  private backlog: RoomEvent[] | null = [];
  private readonly readers = new Set<EventQueue>();
  private closedValue = false;
  private removedValue: RemovedEvent | null = null;

  /** @internal */
  constructor(readonly room: string, private readonly sync: RoomSync, private readonly onLeave: (s: RoomSubscription) => Promise<void>) {}

  /** The last delivered `seq` (`null` before the first join): re-joins use it as `afterSeq`. */
  get lastSeq(): number | null { return this.sync.lastSeq; }

  /** The oldest `seq` delivered or loaded with {@link loadOlder}. */
  get oldestSeq(): number | null { return this.sync.oldestSeq; }

  /** True while older history may exist (for infinite scroll). */
  get hasOlder(): boolean { return this.sync.hasOlder; }

  /** True once the first join succeeded. */
  get joined(): boolean { return this.sync.joined; }

  /** True after {@link leave}, a removal or the client's `close`. */
  get closed(): boolean { return this.closedValue; }

  /** The server's `removed` event when the user was removed from or banned in the room (the subscription ended), else `null`. */
  get removed(): RemovedEvent | null { return this.removedValue; }

  /** Adds a handler; see {@link RoomSubscriptionEvents}. */
  on<K extends keyof RoomSubscriptionEvents>(event: K, handler: (payload: RoomSubscriptionEvents[K]) => void): Unsubscribe {
    const off = this.emitter.on(event, handler);
    if (event === 'event') this.flushBacklog((e) => (handler as (e: RoomEvent) => void)(e));
    return off;
  }

  /** Loads up to `limit` messages before {@link oldestSeq}, ascending (they are not delivered as events). */
  loadOlder(limit = 50): Promise<Message[]> {
    return this.sync.loadOlder(limit);
  }

  /** Resolves when no join or gap fill is running. */
  idle(): Promise<void> {
    return this.sync.idle();
  }

  /** Leaves the room (`LeaveRoom`) and ends the handlers and iterators. */
  async leave(): Promise<void> {
    if (this.closedValue) return;
    await this.onLeave(this);
  }

  [Symbol.asyncIterator](): AsyncIterator<RoomEvent> {
    const queue = new EventQueue(() => this.readers.delete(queue));
    if (this.closedValue) queue.end();
    else {
      this.readers.add(queue);
      this.flushBacklog((e) => queue.push(e));
    }
    return queue;
  }

  /** @internal */
  deliver(events: RoomEvent[]): void {
    if (this.closedValue) return;
    if (this.emitter.count('event') === 0 && this.readers.size === 0) {
      this.backlog?.push(...events);
      return;
    }
    for (const e of events) {
      this.emitter.emit('event', e);
      for (const r of this.readers) r.push(e);
    }
  }

  /** @internal */
  emit<K extends 'joined' | 'error'>(event: K, payload: RoomSubscriptionEvents[K]): void {
    this.emitter.emit(event, payload);
  }

  /** @internal The server removed the user from the room: emits `removed`, then closes. */
  closeRemoved(event: RemovedEvent): void {
    if (this.closedValue) return;
    this.removedValue = event;
    this.emitter.emit('removed', event);
    this.close();
  }

  /** @internal */
  close(): void {
    if (this.closedValue) return;
    this.closedValue = true;
    this.sync.dispose();
    for (const r of [...this.readers]) r.end();
    this.readers.clear();
    this.emitter.emit('closed', undefined);
    this.emitter.clear();
  }

  private flushBacklog(to: (e: RoomEvent) => void): void {
    const backlog = this.backlog;
    this.backlog = null;
    if (backlog) for (const e of backlog) to(e);
  }
}

class EventQueue implements AsyncIterator<RoomEvent> {
  private readonly items: RoomEvent[] = [];
  private waiting: ((r: IteratorResult<RoomEvent>) => void) | null = null;
  private ended = false;

  constructor(private readonly onReturn: () => void) {}

  push(e: RoomEvent): void {
    if (this.ended) return;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w({ value: e, done: false });
    } else this.items.push(e);
  }

  end(): void {
    this.ended = true;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<RoomEvent>> {
    const item = this.items.shift();
    if (item) return Promise.resolve({ value: item, done: false });
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => { this.waiting = resolve; });
  }

  return(): Promise<IteratorResult<RoomEvent>> {
    this.end();
    this.items.length = 0;
    this.onReturn();
    return Promise.resolve({ value: undefined, done: true });
  }
}
