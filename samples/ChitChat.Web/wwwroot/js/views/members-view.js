// The current room's members with their roles, the moderation actions of owners and moderators, and the invite form
// (with suggestions from the user directory).
import { avatar, byId, h, showError } from '../dom.js';
import { friendly } from '../friendly.js';

const ROLE_ORDER = { owner: 0, moderator: 1, member: 2 };
const SUGGEST_DELAY_MS = 150;

export class MembersView {
  /**
   * @param {{ invite: (userName: string) => Promise<void>, suggest: (prefix: string) => Promise<string[]>,
   *           mute: (userName: string) => Promise<void>, unmute: (userName: string) => Promise<void>,
   *           remove: (userName: string) => Promise<void>, ban: (userName: string) => Promise<void> }} actions
   */
  constructor(actions) {
    this.actions = actions;
    this.section = byId('members-section');
    this.list = byId('member-list');
    this.count = byId('member-count');
    this.error = byId('members-error');
    this.form = /** @type {HTMLFormElement} */ (byId('invite-form'));
    this.input = /** @type {HTMLInputElement} */ (this.form.elements.namedItem('userName'));
    this.suggestions = byId('invite-suggestions');
    this.suggestTimer = 0;
    this.suggestToken = 0;
    this.form.addEventListener('submit', (e) => { e.preventDefault(); this.submit(); });
    this.input.addEventListener('input', () => this.scheduleSuggestions());
  }

  /**
   * @param {{ members: Map<string, { userId: string, userName: string, role: string, mutedUntil: string | null }> | null,
   *           meId: string, myRole: string | null, kind: string }} state `members` null while loading
   */
  render({ members, meId, myRole, kind }) {
    const moderator = kind !== 'direct' && (myRole === 'owner' || myRole === 'moderator');
    this.form.hidden = !moderator;
    if (!moderator) this.clearSuggestions();
    if (!members) {
      this.count.textContent = '…';
      this.list.replaceChildren();
      return;
    }
    const list = [...members.values()].sort((a, b) => (ROLE_ORDER[a.role] ?? 3) - (ROLE_ORDER[b.role] ?? 3) || a.userName.localeCompare(b.userName));
    this.count.textContent = String(list.length);
    const now = Date.now();
    this.list.replaceChildren(...list.map((m) => {
      const muted = m.mutedUntil !== null && Date.parse(m.mutedUntil) > now;
      const mayAct = moderator && m.userId !== meId && (myRole === 'owner' ? m.role !== 'owner' : m.role === 'member');
      const actions = mayAct ? h('span', { class: 'member-actions' },
        this.button(muted ? 'Unmute' : 'Mute', muted ? 'member-unmute' : 'member-mute', muted ? `Let ${m.userName} write again` : `Mute ${m.userName} for an hour`,
          () => (muted ? this.actions.unmute(m.userName) : this.actions.mute(m.userName))),
        this.button('Remove', 'member-remove', `Remove ${m.userName} from the room`, () => this.actions.remove(m.userName)),
        this.button('Ban', 'member-ban', `Remove ${m.userName} and bar them from rejoining`, () => this.actions.ban(m.userName))) : null;
      return h('li', { class: 'member', 'data-testid': 'member', 'data-user': m.userName, 'data-role': m.role, 'data-muted': muted ? 'true' : 'false' },
        h('div', { class: 'person' },
          avatar(m.userName, 'avatar-small'),
          h('span', { class: 'person-name', text: m.userName }),
          m.userId === meId ? h('span', { class: 'you', text: '(you)' }) : null,
          m.role !== 'member' ? h('span', { class: `role role-${m.role}`, 'data-testid': 'member-role', text: m.role }) : null,
          muted ? h('span', { class: 'muted-mark', title: `Muted until ${new Date(m.mutedUntil ?? '').toLocaleString()}`, text: 'muted' }) : null),
        actions);
    }));
  }

  button(label, testId, title, run) {
    const button = h('button', { type: 'button', class: 'small ghost', 'data-testid': testId, title, text: label });
    button.addEventListener('click', async () => {
      button.disabled = true;
      showError(this.error, '');
      try {
        await run();
      } catch (err) {
        showError(this.error, friendly(err, 'That did not work.'));
      } finally {
        button.disabled = false;
      }
    });
    return button;
  }

  async submit() {
    const userName = this.input.value.trim();
    if (!userName) return;
    showError(this.error, '');
    this.clearSuggestions();
    try {
      await this.actions.invite(userName);
      this.input.value = '';
    } catch (err) {
      showError(this.error, err?.code === 'user_not_found' ? `There is no user called ${userName}.` : friendly(err, 'Could not invite.'));
    }
  }

  scheduleSuggestions() {
    clearTimeout(this.suggestTimer);
    const prefix = this.input.value.trim();
    if (!prefix) return this.clearSuggestions();
    this.suggestTimer = setTimeout(() => this.loadSuggestions(prefix), SUGGEST_DELAY_MS);
  }

  async loadSuggestions(prefix) {
    const token = ++this.suggestToken;
    let names = [];
    try {
      names = await this.actions.suggest(prefix);
    } catch { /* suggestions are a convenience */ }
    if (token !== this.suggestToken || this.input.value.trim() !== prefix) return;
    this.suggestions.replaceChildren(...names.map((name) => {
      const button = h('button', { type: 'button', class: 'suggestion', 'data-testid': 'invite-suggestion', 'data-user': name, text: name });
      button.addEventListener('click', () => {
        this.input.value = name;
        this.clearSuggestions();
        this.input.focus();
      });
      return h('li', {}, button);
    }));
  }

  clearSuggestions() {
    clearTimeout(this.suggestTimer);
    this.suggestToken++;
    this.suggestions.replaceChildren();
  }

  showError(text) {
    showError(this.error, text);
  }
}
