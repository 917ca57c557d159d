// The room list, the refresh button and the new-room form (name and kind) in the sidebar.
import { byId, h, showError } from '../dom.js';
import { friendly } from '../friendly.js';

/** The mark shown before a room's name: `#` public, a lock (lock.svg, by CSS) for private rooms, `@` for direct messages. */
export const KIND_MARK = { public: '#', private: '', direct: '@' };

export class RoomsView {
  /**
   * @param {{ select: (name: string) => void, create: (name: string, kind: string) => Promise<void>, refresh: () => void }} actions
   */
  constructor(actions) {
    this.actions = actions;
    this.list = byId('room-list');
    this.form = /** @type {HTMLFormElement} */ (byId('new-room-form'));
    this.error = /** @type {HTMLElement} */ (this.form.nextElementSibling);
    this.form.addEventListener('submit', (e) => { e.preventDefault(); this.submit(); });
    byId('rooms-refresh').addEventListener('click', () => this.actions.refresh());
  }

  /**
   * @param {{ name: string, kind: string, label: string }[]} rooms sorted, `global` first
   * @param {string} current
   * @param {(name: string) => number} unreadOf
   */
  render(rooms, current, unreadOf) {
    this.list.replaceChildren(...rooms.map(({ name, kind, label }) => {
      const unread = name !== current ? unreadOf(name) : 0;
      const badge = unread > 0 ? h('span', { class: 'badge', 'data-testid': 'room-unread', text: String(unread) }) : null;
      const button = h('button', {
        type: 'button', class: `room${name === current ? ' active' : ''}`, 'data-testid': 'room-item', 'data-room': name,
        'data-kind': kind, 'data-label': label, 'aria-current': name === current ? 'page' : undefined,
        title: kind === 'private' ? 'Private room' : kind === 'direct' ? 'Direct message' : undefined,
      }, h('span', { class: `hash kind-${kind}`, 'aria-hidden': 'true', text: KIND_MARK[kind] ?? '#' }), h('span', { class: 'room-name', text: label }), badge);
      button.addEventListener('click', () => this.actions.select(name));
      return h('li', {}, button);
    }));
  }

  async submit() {
    const input = /** @type {HTMLInputElement} */ (this.form.elements.namedItem('name'));
    const kind = /** @type {HTMLSelectElement} */ (this.form.elements.namedItem('kind')).value === 'private' ? 'private' : 'public';
    const name = input.value.trim().toLowerCase();
    if (!/^[a-z0-9_-]{1,64}$/.test(name)) return showError(this.error, 'Room names use a-z, 0-9, - and _ (1 to 64 characters).');
    if (name.startsWith('dm-')) return showError(this.error, 'Room names starting with dm- are kept for direct messages.');
    showError(this.error, '');
    try {
      await this.actions.create(name, kind);
      input.value = '';
    } catch (err) {
      showError(this.error, friendly(err, 'Could not create the room.'));
    }
  }
}
