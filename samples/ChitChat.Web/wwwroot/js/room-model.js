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

  /** The history status line. */
  statusText() {
    if (!this.joined) return 'Loading messages…';
    if (this.loadingOlder) return 'Loading earlier messages…';
    if (this.hasOlder) return '';
    return this.messages.size ? `This is the beginning of #${this.name}.` : `No messages in #${this.name} yet. Say hello!`;
  }
}
