import { HubMethods, type JoinRoomResult, type Message } from './protocol.js';

/** Invokes a hub method (the SDK passes the SignalR connection's `invoke`; tests pass a scripted fake hub). */
export type HubInvoke = (method: string, ...args: unknown[]) => Promise<unknown>;

/** One event of a room, in `seq` order. A discriminated union so later event types (`messageUpdated`) fit in. */
export type RoomEvent = RoomMessageEvent;

/** A new message of the room. */
export interface RoomMessageEvent {
  type: 'message';
  room: string;
  seq: number;
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
  /** Page size of catch-up and gap-fill `GetHistory` calls (the server's `catchUpLimit`, 500). */
  catchUpPageSize?: number;
  /** Delay before a gap that could not be filled is tried again (ms). */
  gapRetryMs?: number;
  /** Timer functions (tests). */
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

const isMessage = (value: unknown): value is Message =>
  typeof value === 'object' && value !== null && typeof (value as Message).seq === 'number' && typeof (value as Message).room === 'string';

const bySeq = (a: Message, b: Message): number => a.seq - b.seq;

/**
 * The merge logic of one room: turns the JoinRoom results, live `message` events and history pages into a stream
 * of events that holds every `seq` exactly once, in order.
 *
 * - Joins (the first one and re-joins after a reconnect, with `afterSeq` = the last delivered seq) and gap fills
 *   run one at a time; live events arriving meanwhile are buffered by `seq`.
 * - After a join: the missed messages first, then buffered ones above the boundary; anything at or below the last
 *   delivered seq is a duplicate and dropped. When the join says `hasMore`, the rest is paged with `GetHistory`.
 * - A live `seq` jump is a gap: `GetHistory(room, null, lastDelivered, n)` until it is filled, then the buffer.
 */
export class RoomSync {
  readonly room: string;
  private lastSeqValue: number | null = null;
  private oldestSeqValue: number | null = null;
  private readonly buffer = new Map<number, Message>();
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
      const boundary = Number(result?.lastSeq ?? 0);
      if (afterSeq === null) {
        // Nothing known yet: start from the latest messages; older ones come with loadOlder.
        let page = missed.filter((m) => m.seq <= boundary);
        const last = page[page.length - 1];
        if (boundary > 0 && (!last || last.seq !== boundary || !isContiguous(page))) {
          const fetched = await this.invoke(HubMethods.GetHistory, this.room, boundary + 1, null, Math.max(missed.length, 1));
          page = (Array.isArray(fetched) ? fetched : []).filter(isMessage).filter((m) => m.seq <= boundary).sort(bySeq);
        }
        const tail = contiguousTail(page);
        this.lastSeqValue = tail.length > 0 ? tail[0]!.seq - 1 : boundary;
        this.oldestSeqValue = this.lastSeqValue + 1;
        this.append(tail);
      } else {
        if (this.lastSeqValue === null) {
          this.lastSeqValue = afterSeq;
          this.oldestSeqValue = afterSeq + 1;
        }
        this.append(missed);
        // More than the catch-up cap was missed: page forward up to the join's boundary.
        while (this.lastSeqValue < boundary && !this.disposed) {
          const page = await this.invoke(HubMethods.GetHistory, this.room, boundary + 1, this.lastSeqValue, this.pageSize);
          const list = (Array.isArray(page) ? page : []).filter(isMessage);
          if (list.length === 0 || this.append(list) === 0) break;
        }
      }
      this.joinedOnce = true;
      this.listener.joined({ lastSeq: boundary, rejoin });
    });
  }

  /** A live `message` event (or any message known to be stored, e.g. built from an ack). */
  onLive(message: unknown): void {
    if (this.disposed || !isMessage(message) || message.room.toLowerCase() !== this.room.toLowerCase()) return;
    if (this.busy > 0 || this.lastSeqValue === null) {
      if (this.lastSeqValue === null || message.seq > this.lastSeqValue) this.buffer.set(message.seq, message);
      return;
    }
    if (message.seq <= this.lastSeqValue) return; // a duplicate
    if (message.seq === this.lastSeqValue + 1) {
      this.append([message]);
      this.drain();
      return;
    }
    this.buffer.set(message.seq, message);
    this.fillGap();
  }

  /**
   * Loads up to `limit` messages older than {@link oldestSeq} (infinite scroll). They are returned, not delivered as
   * events (events only move forward).
   */
  async loadOlder(limit: number): Promise<Message[]> {
    const before = this.oldestSeqValue;
    if (before === null || before <= 1) return [];
    const page = await this.invoke(HubMethods.GetHistory, this.room, before, null, limit);
    const older = (Array.isArray(page) ? page : []).filter(isMessage).filter((m) => m.seq < before).sort(bySeq);
    const out: Message[] = [];
    let expected = before - 1;
    for (let i = older.length - 1; i >= 0; i--) {
      const m = older[i]!;
      if (m.seq !== expected) break; // only what is contiguous with what the application has
      out.unshift(m);
      expected--;
    }
    if (this.oldestSeqValue === before) {
      if (out.length > 0) this.oldestSeqValue = out[0]!.seq;
      else if (older.length === 0) this.oldestSeqValue = 1; // nothing older exists
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
    const ready: Message[] = [];
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
          const page = await this.invoke(HubMethods.GetHistory, this.room, null, this.lastSeqValue, Math.min(this.pageSize, target - this.lastSeqValue));
          const list = (Array.isArray(page) ? page : []).filter(isMessage);
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

  /** Delivers the messages that continue lastSeq; returns how many were delivered. */
  private append(messages: Message[]): number {
    if (this.lastSeqValue === null) return 0;
    const events: RoomEvent[] = [];
    for (const m of [...messages].sort(bySeq)) {
      if (m.room.toLowerCase() !== this.room.toLowerCase()) continue;
      if (m.seq <= this.lastSeqValue) continue;
      if (m.seq !== this.lastSeqValue + 1) break;
      this.lastSeqValue = m.seq;
      events.push({ type: 'message', room: this.room, seq: m.seq, message: m });
    }
    if (this.oldestSeqValue === null || (events[0] && events[0].seq < this.oldestSeqValue)) this.oldestSeqValue = events[0]?.seq ?? this.oldestSeqValue;
    if (events.length > 0) this.listener.deliver(events);
    return events.length;
  }
}

function isContiguous(sorted: Message[]): boolean {
  for (let i = 1; i < sorted.length; i++) if (sorted[i]!.seq !== sorted[i - 1]!.seq + 1) return false;
  return true;
}

/** The longest run of consecutive seqs at the end of a sorted list. */
function contiguousTail(sorted: Message[]): Message[] {
  let start = sorted.length - 1;
  while (start > 0 && sorted[start - 1]!.seq === sorted[start]!.seq - 1) start--;
  return start < 0 ? [] : sorted.slice(start);
}
