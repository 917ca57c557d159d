// The sign-in / sign-up view.
import { byId, setBusy, showError } from '../dom.js';
import { friendly } from '../friendly.js';

export class AuthView {
  /**
   * @param {{ limits: () => import('../../lib/chitchat-client/chitchat-client.js').ServerLimits,
   *           login: (userName: string, password: string) => Promise<void>,
   *           signUp: (request: { userName: string, password: string, firstName: string|null, lastName: string|null }) => Promise<void> }} actions
   */
  constructor(actions) {
    this.actions = actions;
    this.view = byId('auth-view');
    this.tabLogin = byId('tab-login');
    this.tabSignup = byId('tab-signup');
    this.loginForm = /** @type {HTMLFormElement} */ (byId('login-form'));
    this.signupForm = /** @type {HTMLFormElement} */ (byId('signup-form'));
    this.tabLogin.addEventListener('click', () => this.selectTab('login'));
    this.tabSignup.addEventListener('click', () => this.selectTab('signup'));
    this.loginForm.addEventListener('submit', (e) => { e.preventDefault(); this.submitLogin(); });
    this.signupForm.addEventListener('submit', (e) => { e.preventDefault(); this.submitSignup(); });
  }

  /** Shows the view (with an optional message in the login form). */
  show(reason) {
    this.view.hidden = false;
    this.selectTab('login');
    if (reason) showError(this.loginForm.querySelector('.form-error'), reason);
  }

  hide() {
    this.view.hidden = true;
  }

  /** Applies the server's limits to the inputs. */
  applyLimits(limits) {
    for (const form of [this.loginForm, this.signupForm]) {
      const userName = form.querySelector('input[name=userName]');
      userName?.setAttribute('maxlength', String(limits.maxUserNameLength));
    }
    this.signupForm.querySelector('input[name=userName]')?.setAttribute('minlength', String(limits.minUserNameLength));
    this.signupForm.querySelector('input[name=password]')?.setAttribute('minlength', String(limits.minPasswordLength));
  }

  selectTab(which) {
    const login = which === 'login';
    this.tabLogin.classList.toggle('active', login);
    this.tabSignup.classList.toggle('active', !login);
    this.tabLogin.setAttribute('aria-selected', String(login));
    this.tabSignup.setAttribute('aria-selected', String(!login));
    this.loginForm.hidden = !login;
    this.signupForm.hidden = login;
    (login ? this.loginForm : this.signupForm).querySelector('input')?.focus();
  }

  async submitLogin() {
    const f = new FormData(this.loginForm);
    const errorNode = this.loginForm.querySelector('.form-error');
    const userName = String(f.get('userName') || '').trim();
    const password = String(f.get('password') || '');
    if (!userName || !password) return showError(errorNode, 'Enter your user name and password.');
    showError(errorNode, '');
    setBusy(this.loginForm, true);
    try {
      await this.actions.login(userName, password);
      this.loginForm.reset();
    } catch (err) {
      showError(errorNode, friendly(err, 'Login failed.', { http: true }));
    } finally {
      setBusy(this.loginForm, false);
    }
  }

  async submitSignup() {
    const limits = this.actions.limits();
    const f = new FormData(this.signupForm);
    const errorNode = this.signupForm.querySelector('.form-error');
    const userName = String(f.get('userName') || '').trim();
    const password = String(f.get('password') || '');
    const firstName = String(f.get('firstName') || '').trim();
    const lastName = String(f.get('lastName') || '').trim();
    if (userName.length < limits.minUserNameLength) return showError(errorNode, `Choose a user name of at least ${limits.minUserNameLength} characters.`);
    if (password.length < limits.minPasswordLength) return showError(errorNode, `Choose a password of at least ${limits.minPasswordLength} characters.`);
    showError(errorNode, '');
    setBusy(this.signupForm, true);
    try {
      await this.actions.signUp({ userName, password, firstName: firstName || null, lastName: lastName || null });
      this.signupForm.reset();
    } catch (err) {
      showError(errorNode, friendly(err, 'Sign-up failed.', { http: true }));
    } finally {
      setBusy(this.signupForm, false);
    }
  }
}
