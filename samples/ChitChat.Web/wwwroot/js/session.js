// The login session, kept per tab in sessionStorage (gone when the tab closes).
const SESSION_KEY = 'chitchat.session';
const ROOM_KEY = 'chitchat.room';
const OUTBOX_KEY = 'chitchat.outbox';

/** @typedef {{ accessToken: string, expiresAt: string, user: { id: string, userName: string } }} Session */

export class SessionStore {
  /** @param {Storage} storage */
  constructor(storage = sessionStorage) {
    this.storage = storage;
  }

  /** The saved session, unless missing, corrupt or expired. @returns {Session | null} */
  load() {
    try {
      const s = JSON.parse(this.storage.getItem(SESSION_KEY) || 'null');
      if (s && typeof s.accessToken === 'string' && s.user && (!s.expiresAt || Date.parse(s.expiresAt) > Date.now())) return s;
    } catch { /* ignore a corrupt entry */ }
    this.storage.removeItem(SESSION_KEY);
    return null;
  }

  /** @param {Session} session */
  save(session) {
    this.storage.setItem(SESSION_KEY, JSON.stringify({ accessToken: session.accessToken, expiresAt: session.expiresAt, user: session.user }));
  }

  /** Forgets the session and what belongs to it (the outbox). */
  clear() {
    this.storage.removeItem(SESSION_KEY);
    this.storage.removeItem(OUTBOX_KEY);
  }

  get room() { return this.storage.getItem(ROOM_KEY) || 'global'; }
  set room(name) { this.storage.setItem(ROOM_KEY, name); }

  get outboxKey() { return OUTBOX_KEY; }
}
