// The user directory in the sidebar: find people by user name and open a direct message with one of them.
import { avatar, byId, h, showError } from '../dom.js';
import { friendly } from '../friendly.js';

const SEARCH_DELAY_MS = 200;

export class DirectoryView {
  /**
   * @param {{ search: (prefix: string) => Promise<{ userName: string, firstName: string | null, lastName: string | null }[]>,
   *           message: (userName: string) => Promise<void>, me: () => string | null }} actions
   */
  constructor(actions) {
    this.actions = actions;
    this.form = /** @type {HTMLFormElement} */ (byId('directory-form'));
    this.input = /** @type {HTMLInputElement} */ (this.form.elements.namedItem('search'));
    this.list = byId('directory-list');
    this.error = byId('directory-error');
    this.timer = 0;
    this.token = 0;
    this.form.addEventListener('submit', (e) => { e.preventDefault(); this.search(this.input.value.trim()); });
    this.input.addEventListener('input', () => {
      clearTimeout(this.timer);
      const prefix = this.input.value.trim();
      if (!prefix) return this.clear();
      this.timer = setTimeout(() => this.search(prefix), SEARCH_DELAY_MS);
    });
  }

  async search(prefix) {
    const token = ++this.token;
    if (!prefix) return this.clear();
    let users;
    try {
      users = await this.actions.search(prefix);
    } catch (err) {
      if (token === this.token) showError(this.error, friendly(err, 'Could not search.'));
      return;
    }
    if (token !== this.token) return;
    showError(this.error, users.length ? '' : 'Nobody found.');
    const me = this.actions.me();
    this.list.replaceChildren(...users.filter((u) => u.userName !== me).map((u) => {
      const full = [u.firstName, u.lastName].filter(Boolean).join(' ');
      const button = h('button', { type: 'button', class: 'small', 'data-testid': 'user-dm', title: `Send ${u.userName} a direct message`, text: 'Message' });
      button.addEventListener('click', async () => {
        button.disabled = true;
        showError(this.error, '');
        try {
          await this.actions.message(u.userName);
          this.input.value = '';
          this.clear();
        } catch (err) {
          showError(this.error, friendly(err, 'Could not open the conversation.'));
        } finally {
          button.disabled = false;
        }
      });
      return h('li', { class: 'person', 'data-testid': 'user-result', 'data-user': u.userName },
        avatar(u.userName, 'avatar-small'), h('span', { class: 'person-name', title: full || undefined, text: u.userName }), button);
    }));
  }

  clear() {
    clearTimeout(this.timer);
    this.token++;
    this.list.replaceChildren();
    showError(this.error, '');
  }
}
