// Who is online in the current room, and who is typing.
import { avatar, byId, h } from '../dom.js';

export class PresenceView {
  constructor() {
    this.list = byId('presence-list');
    this.count = byId('presence-count');
  }

  /**
   * @param {Map<string, string>} presence userId -> userName
   * @param {string|null} meId
   */
  render(presence, meId) {
    const people = [...presence.entries()].sort((a, b) => a[1].localeCompare(b[1]));
    this.count.textContent = String(people.length);
    this.list.replaceChildren(...people.map(([userId, userName]) => h('li', { class: 'person', 'data-testid': 'presence-user', 'data-user': userName },
      avatar(userName, 'avatar-small'), h('span', { class: 'person-name', text: userName }), userId === meId ? h('span', { class: 'you', text: '(you)' }) : null,
      h('span', { class: 'online-dot', 'aria-label': 'online' }))));
  }
}

export class TypingView {
  constructor() {
    this.node = byId('typing');
    this.timer = 0;
  }

  /**
   * Shows who is typing; removes expired entries and re-renders when the next one expires.
   * @param {Map<string, { userName: string, expiresAt: number }>} typing userId -> entry
   */
  render(typing) {
    clearTimeout(this.timer);
    const now = Date.now();
    const names = [];
    let nextExpiry = Infinity;
    for (const [userId, t] of typing) {
      if (t.expiresAt <= now) { typing.delete(userId); continue; }
      names.push(t.userName);
      nextExpiry = Math.min(nextExpiry, t.expiresAt);
    }
    let text = '';
    if (names.length === 1) text = `${names[0]} is typing…`;
    else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
    else if (names.length > 2) text = 'Several people are typing…';
    this.node.textContent = text;
    if (nextExpiry !== Infinity) this.timer = setTimeout(() => this.render(typing), nextExpiry - now + 50);
  }

  stop() {
    clearTimeout(this.timer);
  }
}
