// The chat: one ChitChatClient (connection, rooms, outbox) for the session, wired to the views.
import { ChitChatClient, LogLevel, webStorageOutbox } from '../lib/chitchat-client/chitchat-client.js';
import { friendly } from './friendly.js';
import { RoomModel } from './room-model.js';

const RECONNECT_DELAYS_MS = [0, 1000, 2000, 4000, 8000, 15000];
/** Failed connection attempts after which the UI says "offline" (and offers "Retry now"). */
const OFFLINE_AFTER_ATTEMPTS = 3;

export class Chat {
  /**
   * @param {{ session: import('./session.js').Session, sessions: import('./session.js').SessionStore,
   *           limits: import('../lib/chitchat-client/chitchat-client.js').ServerLimits,
   *           views: { rooms: import('./views/rooms-view.js').RoomsView, messages: import('./views/messages-view.js').MessagesView,
   *                    presence: import('./views/people-view.js').PresenceView, typing: import('./views/people-view.js').TypingView,
   *                    composer: import('./views/composer.js').Composer, banner: import('./views/chrome.js').Banner,
   *                    connection: import('./views/chrome.js').ConnectionIndicator, sidebar: import('./views/chrome.js').Sidebar,
   *                    title: HTMLElement },
   *           onSessionEnded: (reason: string) => void }} options
   */
  constructor({ session, sessions, limits, views, onSessionEnded }) {
    this.session = session;
    this.sessions = sessions;
    this.limits = limits;
    this.views = views;
    this.onSessionEnded = onSessionEnded;
    this.me = session.user;
    this.current = sessions.room;
    /** @type {Map<string, RoomModel>} */
    this.rooms = new Map();
    /** @type {string[]} */
    this.roomNames = [];
    /** Acknowledged sends whose message has not been delivered yet: clientMessageId -> { room, text, seq } (no flicker). */
    this.acked = new Map();
    this.stopped = false;
    this.client = new ChitChatClient({
      baseUrl: '',
      limits,
      reconnectDelaysMs: RECONNECT_DELAYS_MS,
      outboxStorage: webStorageOutbox(sessionStorage, sessions.outboxKey),
      logLevel: LogLevel.Warning,
    });
    this.client.setSession(session);
    this.wire();
  }

  wire() {
    const c = this.client;
    c.on('stateChanged', ({ state }) => {
      if (state === 'connected') {
        this.views.connection.set('online');
        this.views.banner.hide('offline');
      } else if (state === 'connecting') this.views.connection.set('connecting');
      else if (state === 'reconnecting') this.views.connection.set('reconnecting');
      else this.views.connection.set('offline');
      this.renderPending();
    });
    c.on('retrying', ({ attempt }) => {
      if (attempt < OFFLINE_AFTER_ATTEMPTS || this.stopped) return;
      this.views.connection.set('offline');
      this.views.banner.show('You are offline. Messages you send are kept and delivered when the connection is back.',
        { actionLabel: 'Retry now', action: () => c.reconnectNow(), kind: 'offline' });
    });
    c.on('disconnected', ({ error }) => {
      if (error?.code === 'unauthorized' && !this.stopped) this.onSessionEnded('Your session has expired. Please log in again.');
    });
    c.on('presence', (p) => {
      const model = this.rooms.get(p.room.toLowerCase());
      if (!model) return;
      if (p.online) model.presence.set(p.userId, p.userName);
      else model.presence.delete(p.userId);
      if (model.name === this.current) this.renderPresence();
    });
    c.on('typing', (t) => {
      const model = this.rooms.get(t.room.toLowerCase());
      if (!model || t.userId === this.me.id) return;
      model.typing.set(t.userId, { userName: t.userName, expiresAt: Date.now() + this.limits.typingExpiryMs });
      if (model.name === this.current) this.views.typing.render(model.typing);
    });
    c.on('outbox', () => this.renderPending());
    c.on('ack', ({ clientMessageId, room, text, ack }) => {
      const model = this.rooms.get(room.toLowerCase());
      if (model && (model.lastSeq ?? 0) < ack.seq) this.acked.set(clientMessageId, { room: model.name, text, seq: ack.seq });
      this.views.composer.showError('');
      this.renderPending();
    });
  }

  /** Shows the chat and connects. */
  async start() {
    this.views.messages.setUser(this.me);
    this.views.title.textContent = this.current;
    this.views.composer.update();
    this.show(this.model(this.current));
    await this.refreshRooms();
    this.openRoom(this.current);
    try {
      await this.client.connect();
    } catch (err) {
      if (this.stopped) return;
      if (err?.code !== 'unauthorized') this.views.banner.show(friendly(err, 'Could not connect.'));
    }
  }

  /** Disconnects and ends the subscriptions (logout). */
  async stop() {
    this.stopped = true;
    this.views.typing.stop();
    await this.client.close();
  }

  model(name) {
    const key = name.toLowerCase();
    let model = this.rooms.get(key);
    if (!model) {
      model = new RoomModel(key);
      this.rooms.set(key, model);
    }
    return model;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Rooms

  async refreshRooms() {
    try {
      const rooms = await this.client.getRooms();
      this.roomNames = rooms.map((r) => r.name).sort((a, b) => (a === 'global' ? -1 : b === 'global' ? 1 : a.localeCompare(b)));
    } catch (err) {
      if (err?.code === 'unauthorized') return this.onSessionEnded(friendly(err, ''));
      this.views.banner.show(friendly(err, 'Could not load the rooms.'));
    }
    this.renderRooms();
  }

  renderRooms() {
    const names = this.roomNames.includes(this.current) ? this.roomNames : [...this.roomNames, this.current];
    this.views.rooms.render(names, this.current, (name) => this.rooms.get(name)?.unread ?? 0);
  }

  async createRoom(name) {
    try {
      const room = await this.client.createRoom(name);
      await this.refreshRooms();
      await this.switchRoom(room?.name || name);
    } catch (err) {
      if (err?.code === 'unauthorized') return this.onSessionEnded(friendly(err, ''));
      throw err;
    }
  }

  async switchRoom(name) {
    this.views.sidebar.close();
    if (name === this.current && !this.views.messages.isEmpty) return;
    this.current = name;
    this.sessions.room = name;
    this.views.title.textContent = name;
    const model = this.model(name);
    model.unread = 0;
    this.renderRooms();
    this.show(model);
    if (!model.joined) this.openRoom(name);
    else await this.fillViewport();
  }

  /** Joins a room through the SDK (once; the SDK re-joins it after every reconnect). */
  openRoom(name) {
    const model = this.model(name);
    if (model.joined || model.joining) return;
    model.joining = this.client.joinRoom(name).then(async (sub) => {
      model.subscription = sub;
      sub.on('event', (e) => { if (e.type === 'message') this.onMessage(model, e.message); });
      sub.on('joined', () => this.refreshPresence(model));
      sub.on('error', (err) => { if (!this.stopped) this.views.banner.show(`#${model.name}: ${friendly(err, 'Could not re-join.')}`); });
      await this.refreshPresence(model);
      if (model.name === this.current) {
        this.renderStatus();
        await this.fillViewport();
      }
    }, async (err) => {
      if (this.stopped) return;
      this.rooms.delete(model.name);
      this.views.banner.show(`#${name}: ${friendly(err, 'Could not open the room.')}`);
      if (err?.code === 'room_not_found' && name === this.current && name !== 'global') await this.switchRoom('global');
    }).finally(() => { model.joining = null; });
  }

  async refreshPresence(model) {
    try {
      const list = await this.client.getPresence(model.name);
      model.presence = new Map(list.map((p) => [p.userId, p.userName]));
      if (model.name === this.current) this.renderPresence();
    } catch { /* best effort; presence events keep it current */ }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Messages

  onMessage(model, m) {
    model.add([m]);
    model.typing.delete(m.authorId);
    for (const [id, a] of this.acked) if (a.room === model.name && a.seq <= m.seq) this.acked.delete(id);
    if (model.name !== this.current) {
      if (m.authorId !== this.me.id) model.unread++;
      this.renderRooms();
      return;
    }
    this.views.messages.append([m]);
    this.renderPending();
    this.views.typing.render(model.typing);
    this.renderStatus();
  }

  show(model) {
    this.views.messages.show(model.ordered());
    this.renderPending();
    this.renderStatus();
    this.renderPresence();
    this.views.typing.render(model.typing);
  }

  renderStatus() {
    this.views.messages.setStatus(this.model(this.current).statusText());
  }

  renderPresence() {
    this.views.presence.render(this.model(this.current).presence, this.me.id);
  }

  renderPending() {
    const online = this.client.state === 'connected';
    const items = this.client.pending.filter((p) => p.room === this.current).map((p) => ({
      clientMessageId: p.clientMessageId,
      text: p.text,
      status: p.status === 'failed' ? 'failed' : p.status === 'sending' || online ? 'sending' : 'waiting',
      error: p.error ? friendly(p.error, 'Something went wrong.') : '',
    }));
    for (const [clientMessageId, a] of this.acked) {
      if (a.room === this.current) items.push({ clientMessageId, text: a.text, status: 'sending', error: '' });
    }
    this.views.messages.renderPending(items);
  }

  /** Loads the page before the oldest message shown (infinite scroll); resolves to the number of messages added. */
  async loadOlder() {
    const model = this.model(this.current);
    if (!model.subscription || !model.hasOlder || model.loadingOlder || this.client.state !== 'connected') return 0;
    model.loadingOlder = true;
    this.renderStatus();
    try {
      const older = await model.subscription.loadOlder(this.limits.defaultHistoryPageSize);
      model.add(older);
      if (model.name === this.current) this.views.messages.prepend(older);
      return older.length;
    } catch (err) {
      if (err?.code !== 'not_connected') this.views.banner.show(friendly(err, 'Could not load earlier messages.'));
      return 0;
    } finally {
      model.loadingOlder = false;
      if (model.name === this.current) this.renderStatus();
    }
  }

  /** Loads older pages until the pane can scroll (so scrolling up can load more). */
  async fillViewport() {
    for (let i = 0; i < 20; i++) {
      if (this.views.messages.canScroll()) return;
      if ((await this.loadOlder()) === 0) return;
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Sending

  send(text) {
    this.views.messages.scrollToBottom();
    this.client.send(this.current, text).catch((err) => this.views.composer.showError(friendly(err, 'Could not send the message.')));
  }

  retry(clientMessageId) {
    this.client.retry(clientMessageId).catch((err) => this.views.composer.showError(friendly(err, 'Could not send the message.')));
  }

  discard(clientMessageId) {
    this.client.discard(clientMessageId);
  }

  typing() {
    if (this.client.state === 'connected') this.client.typing(this.current).catch(() => {});
  }
}
