// The room list and the new-room form in the sidebar.
import { byId, h, showError } from '../dom.js';
import { friendly } from '../friendly.js';

export class RoomsView {
  /**
   * @param {{ select: (name: string) => void, create: (name: string) => Promise<void> }} actions
   */
  constructor(actions) {
    this.actions = actions;
    this.list = byId('room-list');
    this.form = /** @type {HTMLFormElement} */ (byId('new-room-form'));
    this.error = /** @type {HTMLElement} */ (this.form.nextElementSibling);
    this.form.addEventListener('submit', (e) => { e.preventDefault(); this.submit(); });
  }

  /**
   * @param {string[]} names sorted, `global` first
   * @param {string} current
   * @param {(name: string) => number} unreadOf
   */
  render(names, current, unreadOf) {
    this.list.replaceChildren(...names.map((name) => {
      const unread = name !== current ? unreadOf(name) : 0;
      const badge = unread > 0 ? h('span', { class: 'badge', 'data-testid': 'room-unread', text: String(unread) }) : null;
      const button = h('button', {
        type: 'button', class: `room${name === current ? ' active' : ''}`, 'data-testid': 'room-item', 'data-room': name,
        'aria-current': name === current ? 'page' : undefined,
      }, h('span', { class: 'hash', 'aria-hidden': 'true', text: '#' }), h('span', { class: 'room-name', text: name }), badge);
      button.addEventListener('click', () => this.actions.select(name));
      return h('li', {}, button);
    }));
  }

  async submit() {
    const input = /** @type {HTMLInputElement} */ (this.form.elements.namedItem('name'));
    const name = input.value.trim().toLowerCase();
    if (!/^[a-z0-9_-]{1,64}$/.test(name)) return showError(this.error, 'Room names use a-z, 0-9, - and _ (1 to 64 characters).');
    showError(this.error, '');
    try {
      await this.actions.create(name);
      input.value = '';
    } catch (err) {
      showError(this.error, friendly(err, 'Could not create the room.'));
    }
  }
}
