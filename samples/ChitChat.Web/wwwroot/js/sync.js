// Gap-free, duplicate-free message state per room, independent of the DOM.
//
// Invariant: a room's loaded messages are exactly the seqs firstSeq..lastSeq with no hole. Live events and acks that
// are not the next seq are buffered; a gap (seq > lastSeq + 1) is filled with GetHistory(afterSeq) before they are
// applied, anything at or below lastSeq is a duplicate and dropped. Joins (first join and re-joins after a reconnect)
// and gap fills run one at a time per room; live events arriving meanwhile wait in the buffer.

/** Page size for history pages the user scrolls through. */
export const PAGE_SIZE = 50;
/** Page size for catch-up paging after a join with hasMore, or a gap fill (the server's maximum). */
export const CATCH_UP_PAGE = 500;

export class RoomState {
  /** @param {string} name */
  constructor(name) {
    this.name = name;
    /** @type {Map<number, any>} seq -> message */
    this.messages = new Map();
    /** Lowest loaded seq (1 means the whole history is loaded); null before the first join. */
    this.firstSeq = null;
    /** Highest seq applied; every seq from firstSeq to lastSeq is loaded. null before the first join. */
    this.lastSeq = null;
    /** Live events waiting for a join or a gap fill. */
    this.buffer = [];
    /** Number of queued or running join/gap operations; events are buffered while > 0. */
    this.busy = 0;
    this.queue = Promise.resolve();
    this.loadingOlder = false;
    this.gapRetryTimer = 0;
    /** @type {Map<string, string>} userId -> userName */
    this.presence = new Map();
    /** @type {Map<string, {userName: string, expiresAt: number}>} */
    this.typing = new Map();
    this.unread = 0;
  }

  get joined() { return this.lastSeq !== null; }
  get hasOlder() { return this.firstSeq !== null && this.firstSeq > 1; }

  /** Messages in seq order. */
  ordered() {
    const out = [];
    if (this.firstSeq === null) return out;
    for (let s = this.firstSeq; s <= this.lastSeq; s++) {
      const m = this.messages.get(s);
      if (m) out.push(m);
    }
    return out;
  }
}

export class ChatSync {
  /**
   * @param {(method: string, ...args: any[]) => Promise<any>} invoke hub invocation
   * @param {{ appended(room: RoomState, msgs: any[]): void, prepended(room: RoomState, msgs: any[]): void,
   *           error(room: RoomState, err: unknown, phase: string): void }} listener
   */
  constructor(invoke, listener) {
    this.invoke = invoke;
    this.listener = listener;
    /** @type {Map<string, RoomState>} */
    this.rooms = new Map();
  }

  /** @param {string} name */
  room(name) {
    const key = name.toLowerCase();
    let st = this.rooms.get(key);
    if (!st) {
      st = new RoomState(key);
      this.rooms.set(key, st);
    }
    return st;
  }

  /** Runs one join/gap operation for a room, after any earlier one, buffering live events meanwhile. */
  exclusive(st, op) {
    st.busy++;
    const run = st.queue.then(op).finally(() => {
      st.busy--;
      if (st.busy === 0) this.drain(st);
    });
    st.queue = run.catch(() => {});
    return run;
  }

  /**
   * Joins (or re-joins after a reconnect) a room with the last seq seen, applying what was missed.
   * @param {string} name
   */
  join(name) {
    const st = this.room(name);
    return this.exclusive(st, async () => {
      const afterSeq = st.lastSeq;
      const result = await this.invoke('JoinRoom', st.name, afterSeq);
      const missed = Array.isArray(result?.missed) ? result.missed : [];
      const serverLast = Number(result?.lastSeq ?? 0);
      if (afterSeq === null) {
        // First join: show the latest page only; older pages load when the user scrolls up.
        let page;
        if (result?.hasMore || (missed.length > 0 && missed[missed.length - 1].seq < serverLast)) {
          page = serverLast > 0 ? await this.invoke('GetHistory', st.name, serverLast + 1, null, PAGE_SIZE) : [];
        } else {
          page = missed.slice(-PAGE_SIZE);
        }
        page = (page ?? []).filter((m) => m.seq <= serverLast).sort((a, b) => a.seq - b.seq);
        if (page.length > 0 && page[page.length - 1].seq === serverLast && isContiguous(page)) {
          st.firstSeq = page[0].seq;
          st.lastSeq = page[0].seq - 1;
          this.appendContiguous(st, page);
        } else {
          // Empty room (or an unexpected page): start after the server's last seq; earlier pages come by scrolling.
          st.firstSeq = serverLast + 1;
          st.lastSeq = serverLast;
        }
        return;
      }
      this.appendContiguous(st, missed);
      // More than the catch-up cap was missed: page forward until the join's lastSeq.
      while (st.lastSeq < serverLast) {
        const next = await this.invoke('GetHistory', st.name, null, st.lastSeq, CATCH_UP_PAGE);
        if (!Array.isArray(next) || next.length === 0 || this.appendContiguous(st, next).length === 0) break;
      }
    });
  }

  /**
   * A live message (hub `message` event or a constructed ack).
   * @param {any} msg
   */
  onLive(msg) {
    if (!msg || typeof msg.seq !== 'number' || typeof msg.room !== 'string') return;
    const st = this.rooms.get(msg.room.toLowerCase());
    if (!st) return; // not a room we follow
    if (st.busy > 0 || !st.joined) {
      st.buffer.push(msg);
      return;
    }
    if (msg.seq <= st.lastSeq) return; // duplicate
    if (msg.seq === st.lastSeq + 1) {
      this.appendContiguous(st, [msg]);
      return;
    }
    st.buffer.push(msg);
    this.fillGap(st);
  }

  /** Applies buffered events in seq order; a hole triggers a gap fill. */
  drain(st) {
    if (!st.joined || st.buffer.length === 0) return;
    const buffered = st.buffer.sort((a, b) => a.seq - b.seq);
    st.buffer = [];
    const ready = [];
    let expected = st.lastSeq + 1;
    let i = 0;
    for (; i < buffered.length; i++) {
      const m = buffered[i];
      if (m.seq < expected) continue; // duplicate
      if (m.seq !== expected) break; // hole
      ready.push(m);
      expected++;
    }
    if (ready.length > 0) this.appendContiguous(st, ready);
    if (i < buffered.length) {
      st.buffer = buffered.slice(i);
      this.fillGap(st);
    }
  }

  /** Fetches the messages between lastSeq and the earliest buffered event with GetHistory(afterSeq). */
  fillGap(st) {
    if (st.busy > 0) return; // the running operation drains (and re-fills) when it ends
    if (st.gapRetryTimer) return; // a retry is scheduled
    this.exclusive(st, async () => {
      const target = Math.min(...st.buffer.map((m) => m.seq)) - 1;
      let progressed = false;
      try {
        while (st.lastSeq < target) {
          const page = await this.invoke('GetHistory', st.name, null, st.lastSeq, Math.min(CATCH_UP_PAGE, target - st.lastSeq));
          if (!Array.isArray(page) || this.appendContiguous(st, page).length === 0) break;
          progressed = true;
        }
      } catch (err) {
        this.listener.error(st, err, 'gap');
      }
      if (!progressed && st.lastSeq < target) {
        // Not filled (disconnected, or the history has not caught up yet): try again shortly. A re-join after a
        // reconnect fills it too.
        st.gapRetryTimer = setTimeout(() => {
          st.gapRetryTimer = 0;
          this.drain(st);
        }, 1000);
      }
    });
  }

  /** Loads the page before firstSeq (infinite scroll). Resolves to the number of messages added. */
  async loadOlder(name) {
    const st = this.room(name);
    if (!st.hasOlder || st.loadingOlder) return 0;
    st.loadingOlder = true;
    try {
      const before = st.firstSeq;
      const page = await this.invoke('GetHistory', st.name, before, null, PAGE_SIZE);
      const older = (Array.isArray(page) ? page : []).filter((m) => m.seq < before).sort((a, b) => b.seq - a.seq);
      const added = [];
      for (const m of older) {
        if (m.seq !== st.firstSeq - 1) break; // only contiguous with what we have
        st.messages.set(m.seq, m);
        st.firstSeq = m.seq;
        added.unshift(m);
      }
      if (added.length === 0 && older.length === 0) st.firstSeq = 1; // nothing older exists
      if (added.length > 0) this.listener.prepended(st, added);
      return added.length;
    } finally {
      st.loadingOlder = false;
    }
  }

  /** Appends messages that continue lastSeq; returns those applied. */
  appendContiguous(st, msgs) {
    const sorted = [...msgs].sort((a, b) => a.seq - b.seq);
    const added = [];
    for (const m of sorted) {
      if (m.room && m.room.toLowerCase() !== st.name) continue;
      if (m.seq <= st.lastSeq) continue;
      if (m.seq !== st.lastSeq + 1) break;
      st.messages.set(m.seq, m);
      st.lastSeq = m.seq;
      if (st.firstSeq === null || st.firstSeq > m.seq) st.firstSeq = m.seq;
      added.push(m);
    }
    if (added.length > 0) this.listener.appended(st, added);
    return added;
  }
}

function isContiguous(sorted) {
  for (let i = 1; i < sorted.length; i++) if (sorted[i].seq !== sorted[i - 1].seq + 1) return false;
  return true;
}
