// What the UI keeps per room: the messages it has (from the SDK's subscription and older pages), presence, typing.

export class RoomModel {
  /** @param {string} name */
  constructor(name) {
    this.name = name;
    /** @type {Map<number, any>} seq -> message */
    this.messages = new Map();
    /** @type {import('../lib/chitchat-client/chitchat-client.js').RoomSubscription | null} */
    this.subscription = null;
    /** @type {Promise<void> | null} the first join, while it runs */
    this.joining = null;
    this.loadingOlder = false;
    this.unread = 0;
    /** @type {Map<string, string>} userId -> userName */
    this.presence = new Map();
    /** @type {Map<string, { userName: string, expiresAt: number }>} */
    this.typing = new Map();
    /** @type {Map<string, { userId: string, userName: string, role: string, mutedUntil: string | null }> | null} userId -> member, null until read */
    this.members = null;
  }

  get joined() { return this.subscription !== null; }

  get hasOlder() { return this.subscription?.hasOlder ?? false; }

  get lastSeq() { return this.subscription?.lastSeq ?? null; }

  /** Messages in seq order. */
  ordered() {
    return [...this.messages.values()].sort((a, b) => a.seq - b.seq);
  }

  add(messages) {
    for (const m of messages) this.messages.set(m.seq, m);
  }

  /**
   * The history status line.
   * @param {string} [label] how the room is called (default `#name`)
   */
  statusText(label = `#${this.name}`) {
    if (!this.joined) return 'Loading messages…';
    if (this.loadingOlder) return 'Loading earlier messages…';
    if (this.hasOlder) return '';
    return this.messages.size ? `This is the beginning of ${label}.` : `No messages in ${label} yet. Say hello!`;
  }
}
