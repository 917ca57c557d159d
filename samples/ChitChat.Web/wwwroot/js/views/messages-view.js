// The message list of the current room, the pending (not yet acknowledged) messages under it, and the history status.
import { avatar, byId, fullFormat, h, timeFormat } from '../dom.js';

export class MessagesView {
  /**
   * @param {{ nearTop: () => void, retry: (clientMessageId: string) => void, discard: (clientMessageId: string) => void }} actions
   */
  constructor(actions) {
    this.actions = actions;
    this.scroller = byId('messages');
    this.status = byId('history-status');
    this.list = byId('message-list');
    this.pendingList = byId('pending-list');
    /** @type {Map<number, HTMLElement>} seq -> <li> of the shown room */
    this.rendered = new Map();
    this.meId = null;
    this.meName = '';
    this.scroller.addEventListener('scroll', () => { if (this.scroller.scrollTop < 120) this.actions.nearTop(); }, { passive: true });
  }

  /** @param {{ id: string, userName: string }} user */
  setUser(user) {
    this.meId = user.id;
    this.meName = user.userName;
  }

  get isEmpty() { return this.rendered.size === 0; }

  /** Replaces the list with a room's messages (in seq order). */
  show(messages) {
    this.rendered = new Map();
    this.list.replaceChildren(...messages.map((m) => this.node(m)));
    this.scrollToBottom();
  }

  /** Appends messages that continue the shown ones. */
  append(messages) {
    const stick = this.nearBottom() || messages.some((m) => m.authorId === this.meId);
    for (const m of messages) if (!this.rendered.has(m.seq)) this.list.append(this.node(m));
    if (stick) this.scrollToBottom();
  }

  /** Prepends older messages, keeping what the user was looking at in place. */
  prepend(messages) {
    const before = this.scroller.scrollHeight;
    const top = this.scroller.scrollTop;
    this.list.prepend(...messages.filter((m) => !this.rendered.has(m.seq)).map((m) => this.node(m)));
    this.scroller.scrollTop = top + (this.scroller.scrollHeight - before);
  }

  /** @param {string} text */
  setStatus(text) {
    this.status.textContent = text;
  }

  /** True when the pane has enough content to scroll (so scrolling up can load more). */
  canScroll() {
    return this.scroller.scrollHeight > this.scroller.clientHeight + 10;
  }

  /**
   * @param {{ clientMessageId: string, text: string, status: 'sending'|'waiting'|'failed', error: string }[]} items
   */
  renderPending(items) {
    this.pendingList.replaceChildren(...items.map((p) => {
      const label = p.status === 'failed' ? `Not sent: ${p.error}` : p.status === 'waiting' ? 'Waiting for connection…' : 'Sending…';
      const actions = [];
      if (p.status === 'failed') {
        const retry = h('button', { type: 'button', class: 'link', 'data-testid': 'pending-retry', text: 'Retry' });
        const discard = h('button', { type: 'button', class: 'link', 'data-testid': 'pending-discard', text: 'Discard' });
        retry.addEventListener('click', () => this.actions.retry(p.clientMessageId));
        discard.addEventListener('click', () => this.actions.discard(p.clientMessageId));
        actions.push(retry, discard);
      }
      return h('li', { class: `message own pending ${p.status}`, 'data-testid': 'pending-message', 'data-status': p.status, 'data-client-message-id': p.clientMessageId },
        avatar(this.meName),
        h('div', { class: 'bubble' },
          h('div', { class: 'meta' }, h('span', { class: 'author', text: this.meName }), h('span', { class: 'time', 'data-testid': 'pending-status', text: label }), ...actions),
          h('div', { class: 'text', 'data-testid': 'message-text', text: p.text })));
    }));
  }

  scrollToBottom() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  nearBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
  }

  node(m) {
    const own = m.authorId === this.meId;
    const sent = new Date(m.sentAt);
    const valid = !Number.isNaN(sent.getTime());
    const li = h('li', {
      class: `message${own ? ' own' : ''}`, 'data-testid': 'message', 'data-seq': m.seq, 'data-author': m.authorName,
      'data-own': own ? 'true' : 'false', 'data-message-id': m.id,
    },
    avatar(m.authorName),
    h('div', { class: 'bubble' },
      h('div', { class: 'meta' },
        h('span', { class: 'author', 'data-testid': 'message-author', text: m.authorName }),
        h('time', { class: 'time', datetime: valid ? sent.toISOString() : undefined, title: valid ? fullFormat.format(sent) : undefined, text: valid ? timeFormat.format(sent) : '' })),
      h('div', { class: 'text', 'data-testid': 'message-text', text: m.text })));
    this.rendered.set(m.seq, li);
    return li;
  }
}
