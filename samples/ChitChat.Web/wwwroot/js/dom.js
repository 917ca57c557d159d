// Small DOM helpers. User data is only ever written as text (textContent / text nodes), never as HTML.

/**
 * Creates an element: `props` sets attributes (data-*, aria-*, ...), `class`, `text` (textContent) or properties.
 * @param {string} tag
 * @param {Record<string, unknown>} [props]
 * @param {...(Node|string|null|undefined)} children strings become text nodes
 */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = String(v);
    else if (k === 'text') node.textContent = String(v);
    else if (k.startsWith('data-') || k.startsWith('aria-') || ['title', 'type', 'role', 'datetime'].includes(k)) node.setAttribute(k, String(v));
    else node[k] = v;
  }
  for (const c of children) if (c != null) node.append(c);
  return node;
}

/** Shows `text` in an error element, or hides it when empty. */
export function showError(node, text) {
  node.textContent = text || '';
  node.hidden = !text;
}

/** A stable colour class for a name. */
export function colorClass(name) {
  let hash = 0;
  for (const ch of name) hash = (hash * 31 + (ch.codePointAt(0) ?? 0)) | 0;
  return `c${Math.abs(hash) % 8}`;
}

/** The round avatar with the first letter of a name. */
export function avatar(name, extra = '') {
  const first = ([...(name || '?')][0] ?? '?').toUpperCase();
  return h('span', { class: `avatar ${colorClass(name || '?')} ${extra}`.trim(), 'aria-hidden': 'true', text: first });
}

/** Looks up an element by id. */
export const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** Enables or disables every control of a form. */
export function setBusy(form, busy) {
  for (const c of form.querySelectorAll('button, input')) /** @type {HTMLInputElement} */ (c).disabled = busy;
}

export const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
export const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
