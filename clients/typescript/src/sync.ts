import { HubMethods, type JoinRoomResult, type Message, type MessageUpdatedEvent, type RoomEvent as RoomEventDto } from './protocol.js';

/** Invokes a hub method (the SDK passes the SignalR connection's `invoke`; tests pass a scripted fake hub). */
export type HubInvoke = (method: string, ...args: unknown[]) => Promise<unknown>;

/** One event of a room, in `seq` order: a new message or a change of one. Switch on `type`; ignore types you do not know. */
export type RoomEvent = RoomMessageEvent | RoomMessageUpdatedEvent;

/** A new message of the room. */
export interface RoomMessageEvent {
  type: 'message';
  room: string;
  seq: number;
  message: Message;
}

/**
 * A message of the room changed (the `messageUpdated` event): `seq` is the event's own, `message` the message's current
 * state (its `message.seq` stays the one it was created with); `change` is `edited`, `deleted` or `reactions`.
 */
export interface RoomMessageUpdatedEvent {
  type: 'messageUpdated';
  room: string;
  seq: number;
  change: 'edited' | 'deleted' | 'reactions' | string;
  message: Message;
}

/** What a {@link RoomSync} reports to its owner. */
export interface RoomSyncListener {
  /** Events in `seq` order, each `seq` exactly once. */
  deliver(events: RoomEvent[]): void;
  /** A join (first join or re-join) completed; `lastSeq` is the server's boundary of that join. */
  joined(info: { lastSeq: number; rejoin: boolean }): void;
  /** A background operation (gap fill, re-join) failed; the sync retries by itself or on the next re-join. */
  error(error: unknown, phase: 'join' | 'gap'): void;
}

/** Options of {@link RoomSync}. */
export interface RoomSyncOptions {
  /** Join the first time with this `afterSeq` (the last seq the application already has). */
  afterSeq?: number | null;
  /** Page size of catch-up and gap-fill `GetEvents` calls (the server's `catchUpLimit`, 500). */
  catchUpPageSize?: number;
  /** Delay before a gap that could not be filled is tried again (ms). */
  gapRetryMs?: number;
  /** Timer functions (tests). */
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

const isMessage = (value: unknown): value is Message =>
  typeof value === 'object' && value !== null && typeof (value as Message).seq === 'number' && typeof (value as Message).room === 'string';

const bySeq = (a: { seq: number }, b: { seq: number }): number => a.seq - b.seq;

const messageEvent = (room: string, m: Message): RoomMessageEvent => ({ type: 'message', room, seq: m.seq, message: m });

const updateEvent = (room: string, seq: number, change: string, m: Message): RoomMessageUpdatedEvent =>
  ({ type: 'messageUpdated', room, seq, change, message: m });

/** Converts a `GetEvents` item; `null` for a type this SDK does not know. */
function fromDto(room: string, e: RoomEventDto): RoomEvent | null {
  if (!e || typeof e.seq !== 'number' || !isMessage(e.message)) return null;
  if (e.type === 'message') return messageEvent(room, e.message);
  if (e.type === 'messageUpdated') return updateEvent(room, e.seq, e.change ?? '', e.message);
  return null;
}

/**
 * The merge logic of one room: turns the JoinRoom results (`missed` and `updates`), live `message` and
 * `messageUpdated` events and `GetEvents` pages into a stream of events that holds every `seq` exactly once, in order.
 *
 * - Joins (the first one and re-joins after a reconnect, with `afterSeq` = the last delivered seq) and gap fills
 *   run one at a time; live events arriving meanwhile are buffered by `seq`.
 * - After a join: the missed messages and updates merged by `seq`, then buffered ones above the boundary; anything at
 *   or below the last delivered seq is a duplicate and dropped. When the join says `hasMore`, the rest is paged with
 *   `GetEvents`. A first join without `afterSeq` delivers the latest messages (their seqs skip the updates', which they
 *   already reflect) and continues after the join's boundary.
 * - A live `seq` jump is a gap (a lost message or a lost update): `GetEvents(room, lastDelivered, n)` until it is
 *   filled, then the buffer.
 */
export class RoomSync {
  readonly room: string;
  private lastSeqValue: number | null = null;
  private oldestSeqValue: number | null = null;
  private readonly buffer = new Map<number, RoomEvent>();
  private busy = 0;
  private queue: Promise<void> = Promise.resolve();
  private gapTimer: unknown = null;
  private disposed = false;
  private joinedOnce = false;
  private readonly initialAfterSeq: number | null;
  private readonly pageSize: number;
  private readonly gapRetryMs: number;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;

  constructor(room: string, private readonly invoke: HubInvoke, private readonly listener: RoomSyncListener, options: RoomSyncOptions = {}) {
    this.room = room;
    this.initialAfterSeq = options.afterSeq ?? null;
    this.pageSize = options.catchUpPageSize ?? 500;
    this.gapRetryMs = options.gapRetryMs ?? 1000;
    this.setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = options.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
  }

  /** The last delivered seq (`null` before the first join). */
  get lastSeq(): number | null { return this.lastSeqValue; }

  /** The lowest seq the application has (delivered or loaded with {@link loadOlder}); `null` before the first join. */
  get oldestSeq(): number | null { return this.oldestSeqValue; }

  /** True while older history than {@link oldestSeq} may exist. */
  get hasOlder(): boolean { return this.oldestSeqValue !== null && this.oldestSeqValue > 1; }

  /** True once a join succeeded. */
  get joined(): boolean { return this.lastSeqValue !== null; }

  /** Resolves when every queued join or gap fill has finished. */
  idle(): Promise<void> {
    return this.queue;
  }

  /** Stops timers; later events are ignored. */
  dispose(): void {
    this.disposed = true;
    if (this.gapTimer !== null) this.clearTimer(this.gapTimer);
    this.gapTimer = null;
    this.buffer.clear();
  }

  /** Joins (or re-joins after a reconnect) with the last delivered seq. Rejects when JoinRoom fails. */
  join(): Promise<void> {
    return this.exclusive(async () => {
      const rejoin = this.joinedOnce;
      const afterSeq = this.lastSeqValue ?? this.initialAfterSeq;
      const result = (await this.invoke(HubMethods.JoinRoom, this.room, afterSeq)) as JoinRoomResult | null;
      if (this.disposed) return;
      const missed = (Array.isArray(result?.missed) ? result.missed : []).filter(isMessage).sort(bySeq);
      const updates = (Array.isArray(result?.updates) ? result.updates : [])
        .filter((u: MessageUpdatedEvent) => u && typeof u.seq === 'number' && isMessage(u.message));
      const boundary = Number(result?.lastSeq ?? 0);
      if (afterSeq === null) {
        // Nothing known yet: start from the latest messages (current state); older ones come with loadOlder.
        const page = missed.filter((m) => m.seq <= boundary);
        const events = page.map((m) => messageEvent(this.room, m));
        this.lastSeqValue = boundary;
        this.oldestSeqValue = page[0]?.seq ?? boundary + 1;
        if (events.length > 0) this.listener.deliver(events);
      } else {
        if (this.lastSeqValue === null) {
          this.lastSeqValue = afterSeq;
          this.oldestSeqValue = afterSeq + 1;
        }
        const merged: RoomEvent[] = [
          ...missed.map((m) => messageEvent(this.room, m)),
          ...updates.map((u: MessageUpdatedEvent) => updateEvent(this.room, u.seq, u.change, u.message)),
        ];
        this.append(merged);
        // More than the catch-up cap was missed: page forward up to the join's boundary.
        while (this.lastSeqValue < boundary && !this.disposed) {
          const page = await this.events(this.lastSeqValue, this.pageSize);
          if (page.length === 0 || this.append(page) === 0) break;
        }
      }
      this.joinedOnce = true;
      this.listener.joined({ lastSeq: boundary, rejoin });
    });
  }

  /** A live `message` event (or any message known to be stored, e.g. built from an ack). */
  onLive(message: unknown): void {
    if (this.disposed || !isMessage(message) || message.room.toLowerCase() !== this.room.toLowerCase()) return;
    this.offer(messageEvent(this.room, message));
  }

  /** A live `messageUpdated` event. */
  onLiveUpdate(update: unknown): void {
    const u = update as MessageUpdatedEvent | null;
    if (this.disposed || !u || typeof u.seq !== 'number' || typeof u.room !== 'string' || !isMessage(u.message)) return;
    if (u.room.toLowerCase() !== this.room.toLowerCase()) return;
    this.offer(updateEvent(this.room, u.seq, u.change, u.message));
  }

  private offer(event: RoomEvent): void {
    if (this.busy > 0 || this.lastSeqValue === null) {
      if (this.lastSeqValue === null || event.seq > this.lastSeqValue) this.buffer.set(event.seq, event);
      return;
    }
    if (event.seq <= this.lastSeqValue) return; // a duplicate
    if (event.seq === this.lastSeqValue + 1) {
      this.append([event]);
      this.drain();
      return;
    }
    this.buffer.set(event.seq, event);
    this.fillGap();
  }

  /** `GetEvents(room, afterSeq, limit)`, converted. */
  private async events(afterSeq: number, limit: number): Promise<RoomEvent[]> {
    const page = await this.invoke(HubMethods.GetEvents, this.room, afterSeq, limit);
    return (Array.isArray(page) ? page : []).map((e: RoomEventDto) => fromDto(this.room, e)).filter((e): e is RoomEvent => e !== null);
  }

  /**
   * Loads up to `limit` messages older than {@link oldestSeq} (infinite scroll). They are returned, not delivered as
   * events (events only move forward).
   */
  async loadOlder(limit: number): Promise<Message[]> {
    const before = this.oldestSeqValue;
    if (before === null || before <= 1) return [];
    const page = await this.invoke(HubMethods.GetHistory, this.room, before, null, limit);
    // History serves messages only, so its seqs skip the numbers updates took: no contiguity to check.
    const out = (Array.isArray(page) ? page : []).filter(isMessage).filter((m) => m.seq < before).sort(bySeq);
    if (this.oldestSeqValue === before) {
      if (out.length > 0) this.oldestSeqValue = out[0]!.seq;
      else this.oldestSeqValue = 1; // nothing older exists
    }
    return out;
  }

  private exclusive(op: () => Promise<void>): Promise<void> {
    this.busy++;
    const run = this.queue.then(op).finally(() => {
      this.busy--;
      if (this.busy === 0) this.drain();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Delivers buffered events that continue lastSeq; a hole starts a gap fill. */
  private drain(): void {
    if (this.disposed || this.lastSeqValue === null || this.buffer.size === 0 || this.busy > 0) return;
    for (const seq of [...this.buffer.keys()]) if (seq <= this.lastSeqValue) this.buffer.delete(seq);
    const ready: RoomEvent[] = [];
    let next = this.lastSeqValue + 1;
    for (let m = this.buffer.get(next); m; m = this.buffer.get(next)) {
      ready.push(m);
      this.buffer.delete(next);
      next++;
    }
    if (ready.length > 0) this.append(ready);
    if (this.buffer.size > 0) this.fillGap();
  }

  private fillGap(): void {
    if (this.busy > 0 || this.gapTimer !== null || this.disposed) return; // the running operation drains when it ends
    void this.exclusive(async () => {
      let progressed = false;
      try {
        const target = Math.min(...this.buffer.keys()) - 1;
        while (this.lastSeqValue !== null && this.lastSeqValue < target && !this.disposed) {
          const list = await this.events(this.lastSeqValue, Math.min(this.pageSize, target - this.lastSeqValue));
          if (list.length === 0 || this.append(list) === 0) break;
          progressed = true;
        }
        if (!progressed && this.lastSeqValue !== null && this.lastSeqValue < target) this.scheduleGapRetry();
      } catch (error) {
        this.listener.error(error, 'gap');
        this.scheduleGapRetry(); // a re-join after a reconnect fills it too
      }
    }).catch(() => undefined);
  }

  private scheduleGapRetry(): void {
    if (this.disposed || this.gapTimer !== null) return;
    this.gapTimer = this.setTimer(() => {
      this.gapTimer = null;
      this.drain();
    }, this.gapRetryMs);
  }

  /** Delivers the events that continue lastSeq (in seq order); returns how many were delivered. */
  private append(input: RoomEvent[]): number {
    if (this.lastSeqValue === null) return 0;
    const events: RoomEvent[] = [];
    for (const e of [...input].sort(bySeq)) {
      if (e.seq <= this.lastSeqValue) continue;
      if (e.seq !== this.lastSeqValue + 1) break;
      this.lastSeqValue = e.seq;
      events.push(e);
    }
    const firstMessage = events.find((e) => e.type === 'message');
    if (this.oldestSeqValue === null || (firstMessage && firstMessage.seq < this.oldestSeqValue)) this.oldestSeqValue = firstMessage?.seq ?? this.oldestSeqValue;
    if (events.length > 0) this.listener.deliver(events);
    return events.length;
  }
}
