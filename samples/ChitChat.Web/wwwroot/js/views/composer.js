// The message composer: Enter sends, Shift+Enter adds a line; a length counter against the server's limit; typing
// notifications at most once per throttle interval.
import { byId, showError } from '../dom.js';

const TYPING_THROTTLE_MS = 2000;

export class Composer {
  /**
   * @param {{ maxLength: () => number, send: (text: string) => void, typing: () => void }} actions
   */
  constructor(actions) {
    this.actions = actions;
    this.form = /** @type {HTMLFormElement} */ (byId('composer'));
    this.input = /** @type {HTMLTextAreaElement} */ (byId('composer-input'));
    this.counter = byId('char-counter');
    this.sendButton = /** @type {HTMLButtonElement} */ (byId('send'));
    this.error = byId('composer-error');
    this.lastTypingSent = 0;
    this.input.addEventListener('input', () => {
      this.update();
      const now = Date.now();
      if (this.input.value && now - this.lastTypingSent > TYPING_THROTTLE_MS) {
        this.lastTypingSent = now;
        this.actions.typing();
      }
    });
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.form.requestSubmit();
      }
    });
    this.form.addEventListener('submit', (e) => { e.preventDefault(); this.submit(); });
  }

  submit() {
    const text = this.input.value.trim();
    if (!text) return;
    const max = this.actions.maxLength();
    if (text.length > max) return this.showLengthError(text.length, max);
    this.input.value = '';
    this.lastTypingSent = 0;
    this.update();
    this.actions.send(text);
  }

  /** Shows (or clears, with '') an error under the composer. */
  showError(text) {
    this.error.dataset.kind = '';
    showError(this.error, text);
  }

  showLengthError(length, max) {
    showError(this.error, `That message is too long: ${length} characters, the limit is ${max}.`);
    this.error.dataset.kind = 'length';
  }

  /** Updates the counter, the Send button and the textarea's height. */
  update() {
    const max = this.actions.maxLength();
    const len = this.input.value.length;
    this.counter.textContent = `${len} / ${max}`;
    this.counter.classList.toggle('near', len > max * 0.9 && len <= max);
    this.counter.classList.toggle('over', len > max);
    this.sendButton.disabled = len > max || this.input.value.trim().length === 0;
    if (len > max) this.showLengthError(len, max);
    else if (this.error.dataset.kind === 'length') this.showError('');
    this.input.style.height = 'auto';
    this.input.style.height = `${this.input.scrollHeight}px`;
  }
}
