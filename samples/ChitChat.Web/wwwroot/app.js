// ChitChat browser client: plain ES modules on the @chitchat/client SDK (lib/chitchat-client, a committed bundle).
// This file only wires the pieces together; state lives in the objects it creates.
import { ChitChatHttp, DEFAULT_LIMITS } from './lib/chitchat-client/chitchat-client.js';
import { Chat } from './js/chat.js';
import { byId, colorClass } from './js/dom.js';
import { SessionStore } from './js/session.js';
import { AuthView } from './js/views/auth-view.js';
import { Banner, ConnectionIndicator, Sidebar } from './js/views/chrome.js';
import { Composer } from './js/views/composer.js';
import { DirectoryView } from './js/views/directory-view.js';
import { MembersView } from './js/views/members-view.js';
import { MessagesView } from './js/views/messages-view.js';
import { PresenceView, TypingView } from './js/views/people-view.js';
import { RoomsView } from './js/views/rooms-view.js';

class App {
  constructor() {
    this.sessions = new SessionStore(sessionStorage);
    /** Anonymous HTTP calls (limits, register, login); the chat's own client carries the token. */
    this.http = new ChitChatHttp({ baseUrl: '', accessTokenFactory: () => null });
    /** The server's limits (GET /api/limits; the documented defaults until it answers, or when it does not exist). */
    this.limits = { ...DEFAULT_LIMITS };
    /** @type {Chat | null} the signed-in chat */
    this.chat = null;
    this.chatView = byId('chat-view');
    this.auth = new AuthView({
      limits: () => this.limits,
      login: (userName, password) => this.login(userName, password),
      signUp: (request) => this.signUp(request),
    });
    const chat = () => this.chat;
    this.views = {
      title: byId('room-title'),
      titleMark: byId('room-title-mark'),
      banner: new Banner(),
      connection: new ConnectionIndicator(),
      sidebar: new Sidebar(),
      rooms: new RoomsView({
        select: (name) => chat()?.switchRoom(name),
        create: (name, kind) => chat()?.createRoom(name, kind) ?? Promise.resolve(),
        refresh: () => chat()?.refreshRooms(),
      }),
      members: new MembersView({
        invite: (userName) => chat()?.invite(userName) ?? Promise.resolve(),
        suggest: (prefix) => chat()?.suggestInvite(prefix) ?? Promise.resolve([]),
        mute: (userName) => chat()?.mute(userName) ?? Promise.resolve(),
        unmute: (userName) => chat()?.unmute(userName) ?? Promise.resolve(),
        remove: (userName) => chat()?.removeMember(userName) ?? Promise.resolve(),
        ban: (userName) => chat()?.ban(userName) ?? Promise.resolve(),
      }),
      directory: new DirectoryView({
        search: (prefix) => chat()?.searchUsers(prefix) ?? Promise.resolve([]),
        message: (userName) => chat()?.openDirect(userName) ?? Promise.resolve(),
        me: () => chat()?.me.userName ?? null,
      }),
      messages: new MessagesView({
        nearTop: () => chat()?.loadOlder(),
        retry: (id) => chat()?.retry(id),
        discard: (id) => chat()?.discard(id),
      }),
      presence: new PresenceView(),
      typing: new TypingView(),
      composer: new Composer({
        maxLength: () => this.limits.maxMessageLength,
        send: (text) => chat()?.send(text),
        typing: () => chat()?.typing(),
      }),
    };
    byId('logout').addEventListener('click', () => this.logout());
  }

  async start() {
    const limits = this.loadLimits();
    const session = this.sessions.load();
    if (session) await this.enterChat(session, limits);
    else this.showAuth();
  }

  /** Reads the limits once (anonymous); falls back to the defaults when the server cannot answer. */
  async loadLimits() {
    try {
      this.limits = await this.http.getLimits();
    } catch {
      this.limits = { ...DEFAULT_LIMITS };
    }
    this.auth.applyLimits(this.limits);
    this.views.composer.update();
    return this.limits;
  }

  async login(userName, password) {
    const session = await this.http.login(userName, password);
    this.sessions.save(session);
    await this.enterChat(session);
  }

  async signUp(request) {
    await this.http.register(request);
    const session = await this.http.login(request.userName, request.password);
    this.sessions.save(session);
    await this.enterChat(session);
  }

  async enterChat(session, limits = Promise.resolve(this.limits)) {
    this.auth.hide();
    this.chatView.hidden = false;
    byId('me-name').textContent = session.user.userName;
    const meAvatar = byId('me-avatar');
    meAvatar.className = `avatar avatar-small ${colorClass(session.user.userName)}`;
    meAvatar.textContent = ([...session.user.userName][0] ?? '?').toUpperCase();
    this.views.banner.hide();
    this.chat = new Chat({
      session, sessions: this.sessions, limits: await limits, views: this.views,
      onSessionEnded: (reason) => this.logout(reason),
    });
    await this.chat.start();
  }

  async logout(reason) {
    const chat = this.chat;
    this.chat = null;
    if (chat) await chat.stop();
    this.sessions.clear();
    this.showAuth(reason);
  }

  showAuth(reason) {
    this.chatView.hidden = true;
    this.views.banner.hide();
    this.auth.show(reason);
  }
}

const app = new App();
app.start();
document.documentElement.dataset.ready = 'true';
