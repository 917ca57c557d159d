/** A handler registration; call it to remove the handler. */
export type Unsubscribe = () => void;

/** A minimal typed event emitter. A throwing handler does not stop the others (the error goes to `onHandlerError`). */
export class Emitter<Events extends { [K in keyof Events]: unknown }> {
  private readonly handlers = new Map<keyof Events, Set<(payload: never) => void>>();

  constructor(private readonly onHandlerError: (error: unknown) => void = (e) => queueMicrotask(() => { throw e; })) {}

  on<K extends keyof Events>(event: K, handler: (payload: Events[K]) => void): Unsubscribe {
    let set = this.handlers.get(event);
    if (!set) {
      set = new Set();
      this.handlers.set(event, set);
    }
    set.add(handler as (payload: never) => void);
    return () => { set.delete(handler as (payload: never) => void); };
  }

  count<K extends keyof Events>(event: K): number {
    return this.handlers.get(event)?.size ?? 0;
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.handlers.get(event);
    if (!set) return;
    for (const handler of [...set]) {
      try {
        (handler as (payload: Events[K]) => void)(payload);
      } catch (error) {
        this.onHandlerError(error);
      }
    }
  }

  clear(): void {
    this.handlers.clear();
  }
}
