// The chat: one ChitChatClient (connection, rooms, outbox) for the session, wired to the views.
import { ChitChatClient, LogLevel, webStorageOutbox } from '../lib/chitchat-client/chitchat-client.js';
import { friendly } from './friendly.js';
import { RoomModel } from './room-model.js';
import { KIND_MARK } from './views/rooms-view.js';

const RECONNECT_DELAYS_MS = [0, 1000, 2000, 4000, 8000, 15000];
/** Failed connection attempts after which the UI says "offline" (and offers "Retry now"). */
const OFFLINE_AFTER_ATTEMPTS = 3;
/** How long the Mute action mutes a member. */
const MUTE_MS = 60 * 60 * 1000;
/** At most this many suggestions (invite) and directory results. */
const DIRECTORY_LIMIT = 8;

export class Chat {
  /**
   * @param {{ session: import('./session.js').Session, sessions: import('./session.js').SessionStore,
   *           limits: import('../lib/chitchat-client/chitchat-client.js').ServerLimits,
   *           views: { rooms: import('./views/rooms-view.js').RoomsView, messages: import('./views/messages-view.js').MessagesView,
   *                    presence: import('./views/people-view.js').PresenceView, typing: import('./views/people-view.js').TypingView,
   *                    composer: import('./views/composer.js').Composer, banner: import('./views/chrome.js').Banner,
   *                    connection: import('./views/chrome.js').ConnectionIndicator, sidebar: import('./views/chrome.js').Sidebar,
   *                    members: import('./views/members-view.js').MembersView, title: HTMLElement, titleMark: HTMLElement },
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
    /** @type {{ name: string, kind: string, role: string | null }[]} the room list (GET /api/rooms), `global` first */
    this.roomList = [];
    /** @type {Map<string, string>} direct room name -> the other members' names (its label) */
    this.directLabels = new Map();
    this.onVisible = () => { if (!document.hidden && !this.stopped) this.refreshRooms(); };
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
    c.on('member', (m) => this.onMember(m));
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
    this.renderTitle();
    this.views.composer.update();
    document.addEventListener('visibilitychange', this.onVisible);
    window.addEventListener('focus', this.onVisible);
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
    document.removeEventListener('visibilitychange', this.onVisible);
    window.removeEventListener('focus', this.onVisible);
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

  /** Reloads the room list (public rooms and the private and direct rooms this user is a member of). */
  async refreshRooms() {
    try {
      const rooms = await this.client.getRooms();
      this.roomList = rooms.map((r) => ({ name: r.name, kind: r.kind || 'public', role: r.role ?? null }))
        .sort((a, b) => (a.name === 'global' ? -1 : b.name === 'global' ? 1 : this.label(a).localeCompare(this.label(b))));
      this.loadDirectLabels();
    } catch (err) {
      if (err?.code === 'unauthorized') return this.onSessionEnded(friendly(err, ''));
      this.views.banner.show(friendly(err, 'Could not load the rooms.'));
    }
    this.renderRooms();
    this.renderTitle();
    this.renderMembers();
  }

  /** The room's entry of the list (a room opened from the saved session may not be listed yet). */
  info(name) {
    return this.roomList.find((r) => r.name === name) ?? { name, kind: name.startsWith('dm-') ? 'direct' : 'public', role: null };
  }

  /** What the UI calls a room: its name, or for a direct room the other members' names. */
  label(info) {
    return info.kind === 'direct' ? this.directLabels.get(info.name) ?? 'Direct message' : info.name;
  }

  /** Fetches the members of direct rooms whose label is not known yet (once per room). */
  loadDirectLabels() {
    for (const room of this.roomList) {
      if (room.kind !== 'direct' || this.directLabels.has(room.name)) continue;
      this.directLabels.set(room.name, 'Direct message');
      this.client.getMembers(room.name).then((members) => {
        const others = members.filter((m) => m.userId !== this.me.id).map((m) => m.userName).sort();
        this.directLabels.set(room.name, others.join(', ') || this.me.userName);
        this.renderRooms();
        this.renderTitle();
      }, () => this.directLabels.delete(room.name));
    }
  }

  renderRooms() {
    const list = this.roomList.some((r) => r.name === this.current) ? this.roomList : [...this.roomList, this.info(this.current)];
    this.views.rooms.render(list.map((r) => ({ name: r.name, kind: r.kind, label: this.label(r) })), this.current, (name) => this.rooms.get(name)?.unread ?? 0);
  }

  renderTitle() {
    const info = this.info(this.current);
    this.views.title.textContent = this.label(info);
    this.views.titleMark.textContent = KIND_MARK[info.kind] ?? '#';
    this.views.titleMark.className = `hash kind-${info.kind}`;
    this.views.title.dataset.kind = info.kind;
    this.views.title.dataset.room = info.name;
  }

  async createRoom(name, kind = 'public') {
    try {
      const room = await this.client.createRoom(name, { kind });
      await this.refreshRooms();
      await this.switchRoom(room?.name || name);
    } catch (err) {
      if (err?.code === 'unauthorized') return this.onSessionEnded(friendly(err, ''));
      throw err;
    }
  }

  /** Opens (creating it the first time) the direct room with `userName` and shows it. */
  async openDirect(userName) {
    const room = await this.client.openDirect([userName]);
    this.directLabels.set(room.name, userName);
    await this.refreshRooms();
    await this.switchRoom(room.name);
  }

  /** The user directory, by user-name prefix. */
  searchUsers(prefix) {
    return this.client.searchUsers(prefix, DIRECTORY_LIMIT);
  }

  async switchRoom(name) {
    this.views.sidebar.close();
    if (name === this.current && !this.views.messages.isEmpty) return;
    this.current = name;
    this.sessions.room = name;
    this.renderTitle();
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
      sub.on('joined', () => { this.refreshPresence(model); this.loadMembers(model); });
      sub.on('removed', (r) => this.onRemoved(model, r));
      sub.on('error', (err) => { if (!this.stopped) this.views.banner.show(`#${model.name}: ${friendly(err, 'Could not re-join.')}`); });
      await Promise.all([this.refreshPresence(model), this.loadMembers(model)]);
      if (model.name === this.current) {
        this.renderStatus();
        await this.fillViewport();
      }
    }, async (err) => {
      if (this.stopped) return;
      this.rooms.delete(model.name);
      this.views.banner.show(`#${name}: ${friendly(err, 'Could not open the room.')}`);
      if ((err?.code === 'room_not_found' || err?.code === 'forbidden') && name === this.current && name !== 'global') await this.switchRoom('global');
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
  // Members and moderation

  /** Reads the room's members (after each join; `member` events keep the list current). */
  async loadMembers(model) {
    try {
      const list = await this.client.getMembers(model.name);
      if (this.rooms.get(model.name) !== model) return;
      model.members = new Map(list.map((m) => [m.userId, m]));
    } catch { /* shown as loading; the next join tries again */ }
    if (model.name === this.current) this.renderMembers();
  }

  /** This user's role in a room: from the member list, else from the room list. */
  myRole(name) {
    return this.rooms.get(name)?.members?.get(this.me.id)?.role ?? this.info(name).role;
  }

  renderMembers() {
    const model = this.rooms.get(this.current);
    this.views.members.render({ members: model?.members ?? null, meId: this.me.id, myRole: this.myRole(this.current), kind: this.info(this.current).kind });
  }

  /** A `member` event of a joined room: someone was added or removed, or their role or mute changed. */
  onMember(event) {
    const model = this.rooms.get(event.room.toLowerCase());
    if (!model) return;
    if (model.members) {
      if (event.change === 'removed' || event.change === 'banned') model.members.delete(event.userId);
      else if (event.change === 'muted') this.loadMembers(model); // the event does not say until when
      else {
        const known = model.members.get(event.userId);
        model.members.set(event.userId, { userId: event.userId, userName: event.userName, role: event.role, mutedUntil: known?.mutedUntil ?? null });
      }
    }
    if (event.userId === this.me.id && event.change === 'role') {
      const info = this.roomList.find((r) => r.name === model.name);
      if (info) info.role = event.role;
    }
    if (model.name === this.current) this.renderMembers();
  }

  /** The server took this user out of a room (removed or banned): leave it at once and say why. */
  async onRemoved(model, { reason }) {
    if (this.stopped) return;
    const info = this.info(model.name);
    const label = info.kind === 'direct' ? this.label(info) : `#${model.name}`;
    if (this.rooms.get(model.name) === model) this.rooms.delete(model.name);
    for (const p of this.client.pending) if (p.room.toLowerCase() === model.name) this.client.discard(p.clientMessageId);
    if (info.kind !== 'public') this.roomList = this.roomList.filter((r) => r.name !== model.name);
    const text = reason === 'removed' ? `You were removed from ${label}.`
      : reason === 'left' ? `You left ${label}.`
      : reason === 'banned' ? `You were banned from ${label}.`
      : `You were banned from ${label}: ${reason}`;
    if (model.name === this.current) await this.switchRoom('global');
    else this.renderRooms();
    this.views.banner.show(text, { kind: 'removed' });
    await this.refreshRooms();
  }

  /** Shows a member the server returned (the `member` event follows; this avoids waiting for it). */
  applyMember(room, member) {
    const model = this.rooms.get(room);
    if (!model?.members || !member) return;
    model.members.set(member.userId, member);
    if (model.name === this.current) this.renderMembers();
  }

  async invite(userName) {
    const room = this.current;
    this.applyMember(room, await this.client.addMember(room, userName));
  }

  /** Names for the invite suggestions: directory users who are not members yet. */
  async suggestInvite(prefix) {
    const members = this.rooms.get(this.current)?.members;
    const users = await this.client.searchUsers(prefix, DIRECTORY_LIMIT);
    return users.map((u) => u.userName).filter((n) => ![...(members?.values() ?? [])].some((m) => m.userName === n));
  }

  async mute(userName) {
    const room = this.current;
    this.applyMember(room, await this.client.muteMember(room, userName, new Date(Date.now() + MUTE_MS)));
  }

  async unmute(userName) {
    const room = this.current;
    this.applyMember(room, await this.client.unmuteMember(room, userName));
  }

  async removeMember(userName) {
    await this.client.removeMember(this.current, userName);
  }

  async ban(userName) {
    await this.client.ban(this.current, userName);
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
    this.renderMembers();
    this.views.typing.render(model.typing);
  }

  renderStatus() {
    const info = this.info(this.current);
    this.views.messages.setStatus(this.model(this.current).statusText(info.kind === 'direct' ? `your conversation with ${this.label(info)}` : undefined));
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
