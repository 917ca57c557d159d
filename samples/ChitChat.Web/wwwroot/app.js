// ChitChat browser client. Plain ES modules, no framework. User data is only ever written with textContent.
import { api } from './js/api.js';
import { ChatError, fromHubError, isConnectionError } from './js/errors.js';
import { ChatSync } from './js/sync.js';

const MAX_LENGTH = 4000;
const TYPING_THROTTLE_MS = 2000;
const TYPING_EXPIRY_MS = 5000;
const SESSION_KEY = 'chitchat.session';
const ROOM_KEY = 'chitchat.room';
const RECONNECT_DELAYS = [0, 1000, 2000, 4000, 8000];
const MANUAL_RETRY_DELAYS = [2000, 4000, 8000, 15000];

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

const el = {
  authView: $('auth-view'), chatView: $('chat-view'),
  tabLogin: $('tab-login'), tabSignup: $('tab-signup'),
  loginForm: /** @type {HTMLFormElement} */ ($('login-form')), signupForm: /** @type {HTMLFormElement} */ ($('signup-form')),
  roomTitle: $('room-title'), conn: $('connection-state'), meName: $('me-name'), meAvatar: $('me-avatar'), logout: $('logout'),
  sidebar: $('sidebar'), sidebarToggle: $('sidebar-toggle'), backdrop: $('sidebar-backdrop'),
  roomList: $('room-list'), newRoomForm: /** @type {HTMLFormElement} */ ($('new-room-form')),
  presenceList: $('presence-list'), presenceCount: $('presence-count'),
  banner: $('banner'), bannerText: $('banner-text'), bannerAction: $('banner-action'), bannerClose: $('banner-close'),
  messages: $('messages'), historyStatus: $('history-status'), messageList: $('message-list'), pendingList: $('pending-list'),
  typing: $('typing'), composer: /** @type {HTMLFormElement} */ ($('composer')),
  input: /** @type {HTMLTextAreaElement} */ ($('composer-input')), counter: $('char-counter'), send: /** @type {HTMLButtonElement} */ ($('send')),
  composerError: $('composer-error'),
};

/** @type {{ token: string, expiresAt: string, user: { id: string, userName: string } } | null} */
let session = null;
/** @type {any} signalR.HubConnection */
let connection = null;
let stopped = true;
let manualRetryTimer = 0;
let manualRetryAttempt = 0;
let currentRoom = 'global';
let lastTypingSent = 0;
let typingTimer = 0;
/** @type {ChatSync} */
let sync;
/** Pending sends per clientMessageId: { clientMessageId, room, text, status: 'sending'|'waiting'|'failed', error } */
const pending = new Map();
/** seq -> rendered <li> for the current room. */
let rendered = new Map();

// ---------------------------------------------------------------------------------------------------------------
// Small DOM helpers (text only)

function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('data-') || k === 'title' || k === 'type' || k === 'role' || k.startsWith('aria-') || k === 'datetime') node.setAttribute(k, String(v));
    else node[k] = v;
  }
  for (const c of children) if (c != null) node.append(c); // strings become text nodes
  return node;
}

function showError(node, text) {
  node.textContent = text || '';
  node.hidden = !text;
}

function colorClass(name) {
  let hash = 0;
  for (const ch of name) hash = (hash * 31 + ch.codePointAt(0)) | 0;
  return `c${Math.abs(hash) % 8}`;
}

function avatar(name, extra = '') {
  const first = [...(name || '?')][0].toUpperCase();
  return h('span', { class: `avatar ${colorClass(name || '?')} ${extra}`.trim(), 'aria-hidden': 'true', text: first });
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

// ---------------------------------------------------------------------------------------------------------------
// Session

function loadSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
    if (s && typeof s.token === 'string' && s.user && (!s.expiresAt || Date.parse(s.expiresAt) > Date.now())) return s;
  } catch { /* ignore a corrupt entry */ }
  sessionStorage.removeItem(SESSION_KEY);
  return null;
}

function saveSession(login) {
  session = { token: login.accessToken, expiresAt: login.expiresAt, user: login.user };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
}

async function logout(reason) {
  await stopConnection();
  session = null;
  sessionStorage.removeItem(SESSION_KEY);
  pending.clear();
  showAuth();
  if (reason) showError(el.loginForm.querySelector('.form-error'), reason);
}

// ---------------------------------------------------------------------------------------------------------------
// Auth view

function showAuth() {
  el.chatView.hidden = true;
  el.authView.hidden = false;
  selectTab('login');
}

function selectTab(which) {
  const login = which === 'login';
  el.tabLogin.classList.toggle('active', login);
  el.tabSignup.classList.toggle('active', !login);
  el.tabLogin.setAttribute('aria-selected', String(login));
  el.tabSignup.setAttribute('aria-selected', String(!login));
  el.loginForm.hidden = !login;
  el.signupForm.hidden = login;
  (login ? el.loginForm : el.signupForm).querySelector('input')?.focus();
}

function setBusy(form, busy) {
  for (const c of form.querySelectorAll('button, input')) /** @type {HTMLInputElement} */ (c).disabled = busy;
}

el.tabLogin.addEventListener('click', () => selectTab('login'));
el.tabSignup.addEventListener('click', () => selectTab('signup'));

el.loginForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = new FormData(el.loginForm);
  const errorNode = el.loginForm.querySelector('.form-error');
  const userName = String(f.get('userName') || '').trim();
  const password = String(f.get('password') || '');
  if (!userName || !password) return showError(errorNode, 'Enter your user name and password.');
  showError(errorNode, '');
  setBusy(el.loginForm, true);
  try {
    saveSession(await api.login(userName, password));
    el.loginForm.reset();
    await enterChat();
  } catch (err) {
    showError(errorNode, err instanceof ChatError ? err.friendly : 'Login failed.');
  } finally {
    setBusy(el.loginForm, false);
  }
});

el.signupForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = new FormData(el.signupForm);
  const errorNode = el.signupForm.querySelector('.form-error');
  const userName = String(f.get('userName') || '').trim();
  const password = String(f.get('password') || '');
  const firstName = String(f.get('firstName') || '').trim();
  const lastName = String(f.get('lastName') || '').trim();
  if (userName.length < 3) return showError(errorNode, 'Choose a user name of at least 3 characters.');
  if (password.length < 8) return showError(errorNode, 'Choose a password of at least 8 characters.');
  showError(errorNode, '');
  setBusy(el.signupForm, true);
  try {
    await api.register(userName, password, firstName, lastName);
    saveSession(await api.login(userName, password));
    el.signupForm.reset();
    await enterChat();
  } catch (err) {
    showError(errorNode, err instanceof ChatError ? err.friendly : 'Sign-up failed.');
  } finally {
    setBusy(el.signupForm, false);
  }
});

el.logout.addEventListener('click', () => logout());

// ---------------------------------------------------------------------------------------------------------------
// Chat view

async function enterChat() {
  el.authView.hidden = true;
  el.chatView.hidden = false;
  el.meName.textContent = session.user.userName;
  el.meAvatar.className = `avatar avatar-small ${colorClass(session.user.userName)}`;
  el.meAvatar.textContent = [...session.user.userName][0].toUpperCase();
  currentRoom = sessionStorage.getItem(ROOM_KEY) || 'global';
  sync = new ChatSync((method, ...args) => invoke(method, ...args), {
    appended: onAppended,
    prepended: onPrepended,
    error: (room, err) => console.warn(`sync of ${room.name} failed`, err),
  });
  rendered = new Map();
  el.messageList.replaceChildren();
  el.pendingList.replaceChildren();
  el.roomTitle.textContent = currentRoom;
  updateCounter();
  renderRoom();
  renderPresence();
  renderTyping();
  await refreshRooms();
  await startConnection();
}

async function refreshRooms() {
  try {
    const rooms = await api.rooms(session.token);
    renderRooms(Array.isArray(rooms) ? rooms : []);
  } catch (err) {
    if (err instanceof ChatError && err.code === 'unauthorized') return logout(err.friendly);
    showBanner(err instanceof ChatError ? err.friendly : 'Could not load the rooms.');
  }
}

let knownRooms = [];
function renderRooms(rooms) {
  if (rooms) knownRooms = rooms.map((r) => r.name).sort((a, b) => (a === 'global' ? -1 : b === 'global' ? 1 : a.localeCompare(b)));
  if (!knownRooms.includes(currentRoom)) knownRooms.push(currentRoom);
  el.roomList.replaceChildren(...knownRooms.map((name) => {
    const st = sync?.rooms.get(name);
    const unread = st && name !== currentRoom && st.unread > 0 ? h('span', { class: 'badge', 'data-testid': 'room-unread', text: String(st.unread) }) : null;
    const button = h('button', { type: 'button', class: `room${name === currentRoom ? ' active' : ''}`, 'data-testid': 'room-item', 'data-room': name, 'aria-current': name === currentRoom ? 'page' : undefined },
      h('span', { class: 'hash', 'aria-hidden': 'true', text: '#' }), h('span', { class: 'room-name', text: name }), unread);
    button.addEventListener('click', () => switchRoom(name));
    return h('li', {}, button);
  }));
}

el.newRoomForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const input = /** @type {HTMLInputElement} */ (el.newRoomForm.elements.namedItem('name'));
  const errorNode = /** @type {HTMLElement} */ (el.newRoomForm.nextElementSibling);
  const name = input.value.trim().toLowerCase();
  if (!/^[a-z0-9_-]{1,64}$/.test(name)) return showError(errorNode, 'Room names use a-z, 0-9, - and _ (1 to 64 characters).');
  showError(errorNode, '');
  try {
    const room = await api.createRoom(session.token, name);
    input.value = '';
    await refreshRooms();
    await switchRoom(room?.name || name);
  } catch (err) {
    if (err instanceof ChatError && err.code === 'unauthorized') return logout(err.friendly);
    showError(errorNode, err instanceof ChatError ? err.friendly : 'Could not create the room.');
  }
});

async function switchRoom(name) {
  closeSidebar();
  if (name === currentRoom && rendered.size > 0) return;
  currentRoom = name;
  sessionStorage.setItem(ROOM_KEY, name);
  el.roomTitle.textContent = name;
  const st = sync.room(name);
  st.unread = 0;
  renderRooms();
  renderRoom();
  renderPresence();
  renderTyping();
  if (isOnline() && !st.joined) await joinRoom(name);
  else await fillViewport();
}

function isOnline() {
  return connection && connection.state === signalR.HubConnectionState.Connected;
}

async function joinRoom(name) {
  const st = sync.room(name);
  try {
    await sync.join(name);
    if (name === currentRoom) {
      renderHistoryStatus();
      await fillViewport();
    }
  } catch (err) {
    const e = fromHubError(err);
    if (e.code === 'room_not_found') {
      sync.rooms.delete(st.name);
      showBanner(`#${name}: ${e.friendly}`);
      if (name === currentRoom && name !== 'global') await switchRoom('global');
      return;
    }
    if (e.code !== 'network') showBanner(e.friendly);
    return;
  }
  await refreshPresence(name);
}

async function refreshPresence(name) {
  try {
    const list = await invoke('GetPresence', name);
    const st = sync.room(name);
    st.presence = new Map((Array.isArray(list) ? list : []).map((p) => [p.userId, p.userName]));
    if (name === currentRoom) renderPresence();
  } catch { /* best effort; presence events keep it current */ }
}

// ---------------------------------------------------------------------------------------------------------------
// Messages

function messageNode(m) {
  const own = session && m.authorId === session.user.id;
  const sent = new Date(m.sentAt);
  const valid = !Number.isNaN(sent.getTime());
  return h('li', {
    class: `message${own ? ' own' : ''}`, 'data-testid': 'message', 'data-seq': m.seq, 'data-author': m.authorName,
    'data-own': own ? 'true' : 'false', 'data-message-id': m.id,
  },
  avatar(m.authorName),
  h('div', { class: 'bubble' },
    h('div', { class: 'meta' },
      h('span', { class: 'author', 'data-testid': 'message-author', text: m.authorName }),
      h('time', { class: 'time', datetime: valid ? sent.toISOString() : undefined, title: valid ? fullFormat.format(sent) : undefined, text: valid ? timeFormat.format(sent) : '' })),
    h('div', { class: 'text', 'data-testid': 'message-text', text: m.text })));
}

function nearBottom() {
  const s = el.messages;
  return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
}

function scrollToBottom() {
  el.messages.scrollTop = el.messages.scrollHeight;
}

function renderRoom() {
  const st = sync.room(currentRoom);
  rendered = new Map();
  el.messageList.replaceChildren(...st.ordered().map((m) => {
    const node = messageNode(m);
    rendered.set(m.seq, node);
    return node;
  }));
  renderPending();
  renderHistoryStatus();
  scrollToBottom();
}

function renderHistoryStatus() {
  const st = sync.room(currentRoom);
  let text = '';
  if (!st.joined) text = 'Loading messages…';
  else if (st.loadingOlder) text = 'Loading earlier messages…';
  else if (!st.hasOlder) text = st.messages.size ? `This is the beginning of #${st.name}.` : `No messages in #${st.name} yet. Say hello!`;
  el.historyStatus.textContent = text;
}

function onAppended(st, msgs) {
  for (const m of msgs) {
    if (m.clientMessageId && pending.has(m.clientMessageId) && session && m.authorId === session.user.id) pending.delete(m.clientMessageId);
    st.typing.delete(m.authorId);
  }
  if (st.name !== currentRoom) {
    st.unread += msgs.filter((m) => !session || m.authorId !== session.user.id).length;
    renderRooms();
    return;
  }
  const stick = nearBottom() || msgs.some((m) => session && m.authorId === session.user.id);
  for (const m of msgs) {
    if (rendered.has(m.seq)) continue;
    const node = messageNode(m);
    rendered.set(m.seq, node);
    el.messageList.append(node); // appended messages always continue lastSeq
  }
  renderPending();
  renderTyping();
  renderHistoryStatus();
  if (stick) scrollToBottom();
}

function onPrepended(st, msgs) {
  if (st.name !== currentRoom) return;
  const before = el.messages.scrollHeight;
  const top = el.messages.scrollTop;
  const nodes = [];
  for (const m of msgs) {
    if (rendered.has(m.seq)) continue;
    const node = messageNode(m);
    rendered.set(m.seq, node);
    nodes.push(node);
  }
  el.messageList.prepend(...nodes);
  renderHistoryStatus();
  // Keep what the user was looking at in place.
  el.messages.scrollTop = top + (el.messages.scrollHeight - before);
}

async function loadOlder() {
  const st = sync.room(currentRoom);
  if (!st.joined || !st.hasOlder || st.loadingOlder || !isOnline()) return 0;
  const room = currentRoom;
  const promise = sync.loadOlder(room);
  renderHistoryStatus();
  try {
    return await promise;
  } catch (err) {
    const e = fromHubError(err);
    if (e.code !== 'network') showBanner(e.friendly);
    return 0;
  } finally {
    if (room === currentRoom) renderHistoryStatus();
  }
}

/** Loads older pages until the pane can scroll (so scrolling up can trigger more). */
async function fillViewport() {
  for (let i = 0; i < 20; i++) {
    if (el.messages.scrollHeight > el.messages.clientHeight + 10) return;
    if ((await loadOlder()) === 0) return;
  }
}

el.messages.addEventListener('scroll', () => {
  if (el.messages.scrollTop < 120) loadOlder();
}, { passive: true });

// ---------------------------------------------------------------------------------------------------------------
// Sending (idempotent: one clientMessageId per message, reused by every retry)

function renderPending() {
  const items = [...pending.values()].filter((p) => p.room === currentRoom);
  el.pendingList.replaceChildren(...items.map((p) => {
    const label = p.status === 'failed' ? `Not sent: ${p.error}` : p.status === 'waiting' ? 'Waiting for connection…' : 'Sending…';
    const actions = p.status === 'failed'
      ? [h('button', { type: 'button', class: 'link', 'data-testid': 'pending-retry', text: 'Retry' }), h('button', { type: 'button', class: 'link', 'data-testid': 'pending-discard', text: 'Discard' })]
      : [];
    if (actions.length) {
      actions[0].addEventListener('click', () => trySend(p));
      actions[1].addEventListener('click', () => { pending.delete(p.clientMessageId); renderPending(); });
    }
    return h('li', { class: `message own pending ${p.status}`, 'data-testid': 'pending-message', 'data-status': p.status, 'data-client-message-id': p.clientMessageId },
      avatar(session.user.userName),
      h('div', { class: 'bubble' },
        h('div', { class: 'meta' }, h('span', { class: 'author', text: session.user.userName }), h('span', { class: 'time', 'data-testid': 'pending-status', text: label }), ...actions),
        h('div', { class: 'text', 'data-testid': 'message-text', text: p.text })));
  }));
}

async function trySend(p) {
  // One invocation per message at a time: a send started from the composer while the connection's re-join is still
  // running must not be sent a second time by flushPending (a duplicate is harmless to the data, but it costs a
  // rate-limit permit).
  if (p.inFlight) return;
  if (!isOnline()) {
    p.status = 'waiting';
    renderPending();
    return;
  }
  p.status = 'sending';
  p.inFlight = true;
  renderPending();
  let again = false;
  try {
    const ack = await invoke('SendMessage', p.room, p.text, p.clientMessageId);
    pending.delete(p.clientMessageId);
    showError(el.composerError, '');
    // The ack carries seq: apply it as the message (the live event for the same seq is then a duplicate).
    if (ack && typeof ack.seq === 'number') {
      sync.onLive({
        id: ack.id, room: p.room, seq: ack.seq, authorId: session.user.id, authorName: session.user.userName,
        text: p.text, sentAt: ack.sentAt, clientMessageId: p.clientMessageId,
      });
    }
    if (p.room === currentRoom) renderPending();
  } catch (err) {
    const e = fromHubError(err);
    if (e.code === 'network' || !isOnline() || isConnectionError(String(err))) {
      p.status = 'waiting'; // sent again, with the same clientMessageId, once the connection is back
      // The old connection's invocation can fail after the new connection has already flushed: send it now.
      p.attempts = (p.attempts || 0) + 1;
      again = isOnline() && p.attempts < 3;
    } else {
      p.status = 'failed';
      p.error = e.friendly;
      showError(el.composerError, e.friendly);
    }
    renderPending();
  } finally {
    p.inFlight = false;
  }
  if (again && pending.has(p.clientMessageId)) await trySend(p);
}

async function flushPending() {
  for (const p of [...pending.values()]) {
    if (p.status === 'waiting' || p.status === 'sending') await trySend(p);
  }
}

function updateCounter() {
  const len = el.input.value.length;
  el.counter.textContent = `${len} / ${MAX_LENGTH}`;
  el.counter.classList.toggle('near', len > MAX_LENGTH * 0.9 && len <= MAX_LENGTH);
  el.counter.classList.toggle('over', len > MAX_LENGTH);
  const over = len > MAX_LENGTH;
  el.send.disabled = over || el.input.value.trim().length === 0;
  if (over) showError(el.composerError, `That message is too long: ${len} characters, the limit is ${MAX_LENGTH}.`);
  else if (el.composerError.dataset.kind === 'length' || el.composerError.textContent.startsWith('That message is too long:')) showError(el.composerError, '');
  // Grow the textarea with its content, up to the CSS max-height.
  el.input.style.height = 'auto';
  el.input.style.height = `${el.input.scrollHeight}px`;
}

el.input.addEventListener('input', () => {
  updateCounter();
  const now = Date.now();
  if (el.input.value && now - lastTypingSent > TYPING_THROTTLE_MS && isOnline()) {
    lastTypingSent = now;
    invoke('Typing', currentRoom).catch(() => {});
  }
});

el.input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    el.composer.requestSubmit();
  }
});

el.composer.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = el.input.value.trim();
  if (!text) return;
  if (text.length > MAX_LENGTH) {
    showError(el.composerError, `That message is too long: ${text.length} characters, the limit is ${MAX_LENGTH}.`);
    return;
  }
  const p = { clientMessageId: crypto.randomUUID(), room: currentRoom, text, status: 'sending', error: '' };
  pending.set(p.clientMessageId, p);
  el.input.value = '';
  lastTypingSent = 0;
  updateCounter();
  scrollToBottom();
  trySend(p);
});

// ---------------------------------------------------------------------------------------------------------------
// Presence and typing

function renderPresence() {
  const st = sync.room(currentRoom);
  const people = [...st.presence.entries()].sort((a, b) => a[1].localeCompare(b[1]));
  el.presenceCount.textContent = String(people.length);
  el.presenceList.replaceChildren(...people.map(([userId, userName]) => {
    const me = session && userId === session.user.id;
    return h('li', { class: 'person', 'data-testid': 'presence-user', 'data-user': userName },
      avatar(userName, 'avatar-small'), h('span', { class: 'person-name', text: userName }), me ? h('span', { class: 'you', text: '(you)' }) : null,
      h('span', { class: 'online-dot', 'aria-label': 'online' }));
  }));
}

function renderTyping() {
  clearTimeout(typingTimer);
  const st = sync?.room(currentRoom);
  const now = Date.now();
  const names = [];
  let nextExpiry = Infinity;
  if (st) {
    for (const [userId, t] of st.typing) {
      if (t.expiresAt <= now) { st.typing.delete(userId); continue; }
      names.push(t.userName);
      nextExpiry = Math.min(nextExpiry, t.expiresAt);
    }
  }
  let text = '';
  if (names.length === 1) text = `${names[0]} is typing…`;
  else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
  else if (names.length > 2) text = 'Several people are typing…';
  el.typing.textContent = text;
  if (nextExpiry !== Infinity) typingTimer = setTimeout(renderTyping, nextExpiry - now + 50);
}

// ---------------------------------------------------------------------------------------------------------------
// Connection: automatic reconnect, then a manual retry loop; every (re)connect re-joins each room with its last seq

function setConnState(state) {
  const labels = { connecting: 'Connecting…', online: 'Online', reconnecting: 'Reconnecting…', offline: 'Offline' };
  el.conn.className = `conn conn-${state}`;
  el.conn.dataset.state = state;
  el.conn.querySelector('.conn-label').textContent = labels[state];
  el.chatView.dataset.connection = state;
  if (state === 'offline') {
    showBanner('You are offline. Messages you send are kept and delivered when the connection is back.', 'Retry now', () => retryNow());
  } else if (el.banner.dataset.kind === 'offline') {
    hideBanner();
  }
  if (state === 'offline') el.banner.dataset.kind = 'offline';
}

async function invoke(method, ...args) {
  if (!connection) throw new Error('Cannot send data if the connection is not in the \'Connected\' State.');
  return connection.invoke(method, ...args);
}

function buildConnection() {
  const c = new signalR.HubConnectionBuilder()
    .withUrl('/hubs/chat', { accessTokenFactory: () => session?.token ?? '' })
    .withAutomaticReconnect(RECONNECT_DELAYS)
    .configureLogging(signalR.LogLevel.Warning)
    .build();
  c.on('message', (m) => sync.onLive(m));
  c.on('presence', (p) => {
    if (!p || typeof p.room !== 'string') return;
    const st = sync.rooms.get(p.room.toLowerCase());
    if (!st) return;
    if (p.online) st.presence.set(p.userId, p.userName);
    else st.presence.delete(p.userId);
    if (st.name === currentRoom) renderPresence();
  });
  c.on('typing', (t) => {
    if (!t || typeof t.room !== 'string' || (session && t.userId === session.user.id)) return;
    const st = sync.rooms.get(t.room.toLowerCase());
    if (!st) return;
    st.typing.set(t.userId, { userName: t.userName, expiresAt: Date.now() + TYPING_EXPIRY_MS });
    if (st.name === currentRoom) renderTyping();
  });
  c.onreconnecting(() => setConnState('reconnecting'));
  c.onreconnected(() => afterConnected());
  c.onclose(() => {
    if (stopped) return;
    setConnState('offline');
    scheduleManualRetry();
  });
  return c;
}

async function startConnection() {
  stopped = false;
  manualRetryAttempt = 0;
  connection = buildConnection();
  setConnState('connecting');
  await tryStart();
}

async function tryStart() {
  if (stopped || !connection) return;
  try {
    await connection.start();
  } catch (err) {
    if (stopped) return;
    if (err && (err.statusCode === 401 || /401|Unauthorized/.test(String(err.message)))) {
      await logout('Your session has expired. Please log in again.');
      return;
    }
    setConnState('offline');
    scheduleManualRetry();
    return;
  }
  await afterConnected();
}

function scheduleManualRetry() {
  clearTimeout(manualRetryTimer);
  const delay = MANUAL_RETRY_DELAYS[Math.min(manualRetryAttempt, MANUAL_RETRY_DELAYS.length - 1)];
  manualRetryAttempt++;
  manualRetryTimer = setTimeout(() => {
    setConnState('reconnecting');
    tryStart();
  }, delay);
}

function retryNow() {
  if (!connection || connection.state !== signalR.HubConnectionState.Disconnected) return;
  clearTimeout(manualRetryTimer);
  setConnState('reconnecting');
  tryStart();
}

async function afterConnected() {
  if (stopped) return;
  manualRetryAttempt = 0;
  setConnState('online');
  // Re-join every room we follow with the last seq seen (the current one first), then re-send what is pending.
  sync.room(currentRoom);
  const names = [currentRoom, ...[...sync.rooms.keys()].filter((n) => n !== currentRoom)];
  await Promise.all(names.map((n) => joinRoom(n)));
  await flushPending();
}

async function stopConnection() {
  stopped = true;
  clearTimeout(manualRetryTimer);
  const c = connection;
  connection = null;
  if (c) {
    try { await c.stop(); } catch { /* already stopped */ }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Banner, sidebar

function showBanner(text, actionLabel, action) {
  el.banner.dataset.kind = '';
  el.bannerText.textContent = text;
  el.bannerAction.hidden = !actionLabel;
  el.bannerAction.textContent = actionLabel || '';
  el.bannerAction.onclick = action || null;
  el.banner.hidden = false;
}

function hideBanner() {
  el.banner.hidden = true;
  el.banner.dataset.kind = '';
}

el.bannerClose.addEventListener('click', hideBanner);

function openSidebar() {
  document.body.classList.add('sidebar-open');
  el.sidebarToggle.setAttribute('aria-expanded', 'true');
  el.backdrop.hidden = false;
}

function closeSidebar() {
  document.body.classList.remove('sidebar-open');
  el.sidebarToggle.setAttribute('aria-expanded', 'false');
  el.backdrop.hidden = true;
}

el.sidebarToggle.addEventListener('click', () => (document.body.classList.contains('sidebar-open') ? closeSidebar() : openSidebar()));
el.backdrop.addEventListener('click', closeSidebar);
document.addEventListener('keydown', (e) => { if (e.key === 'Escape') closeSidebar(); });

// ---------------------------------------------------------------------------------------------------------------
// Start

session = loadSession();
if (session) enterChat();
else showAuth();
document.documentElement.dataset.ready = 'true';
