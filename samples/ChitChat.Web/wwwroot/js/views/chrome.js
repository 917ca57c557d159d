// The frame around the chat: connection indicator, banner, phone sidebar.
import { byId } from '../dom.js';

const LABELS = { connecting: 'Connecting…', online: 'Online', reconnecting: 'Reconnecting…', offline: 'Offline' };

export class Banner {
  constructor() {
    this.node = byId('banner');
    this.text = byId('banner-text');
    this.action = byId('banner-action');
    byId('banner-close').addEventListener('click', () => this.hide());
  }

  /** Shows a message, with an optional action button; `kind` tags it (e.g. 'offline') so it can be hidden by kind. */
  show(text, { actionLabel = '', action = null, kind = '' } = {}) {
    this.node.dataset.kind = kind;
    this.text.textContent = text;
    this.action.hidden = !actionLabel;
    this.action.textContent = actionLabel;
    this.action.onclick = action;
    this.node.hidden = false;
  }

  hide(kind) {
    if (kind !== undefined && this.node.dataset.kind !== kind) return;
    this.node.hidden = true;
    this.node.dataset.kind = '';
  }
}

export class ConnectionIndicator {
  constructor() {
    this.node = byId('connection-state');
    this.chatView = byId('chat-view');
  }

  /** @param {'connecting'|'online'|'reconnecting'|'offline'} state */
  set(state) {
    this.node.className = `conn conn-${state}`;
    this.node.dataset.state = state;
    this.node.querySelector('.conn-label').textContent = LABELS[state];
    this.chatView.dataset.connection = state;
  }

  get state() { return this.node.dataset.state; }
}

export class Sidebar {
  constructor() {
    this.toggle = byId('sidebar-toggle');
    this.backdrop = byId('sidebar-backdrop');
    this.toggle.addEventListener('click', () => (document.body.classList.contains('sidebar-open') ? this.close() : this.open()));
    this.backdrop.addEventListener('click', () => this.close());
    document.addEventListener('keydown', (e) => { if (e.key === 'Escape') this.close(); });
  }

  open() {
    document.body.classList.add('sidebar-open');
    this.toggle.setAttribute('aria-expanded', 'true');
    this.backdrop.hidden = false;
  }

  close() {
    document.body.classList.remove('sidebar-open');
    this.toggle.setAttribute('aria-expanded', 'false');
    this.backdrop.hidden = true;
  }
}
