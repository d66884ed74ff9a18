// Small DOM helpers: elements, icons, fields, alerts, toasts, confirmation.
// Text always goes in as text (never as HTML), so names and messages cannot inject markup.

import { errorText, t } from './i18n.js';
import { tgConfirm } from './tg.js';

const PROPS = new Set(['value', 'checked', 'disabled', 'hidden', 'selected', 'multiple', 'required', 'open', 'readOnly']);

export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (PROPS.has(k)) el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  add(el, children);
  return el;
}

export function add(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

// 24×24 outline icons (stroke = currentColor) and three brand marks (filled).
const ICONS = {
  plus: '<path d="M12 5v14M5 12h14"/>',
  chevron: '<path d="M9 6l6 6-6 6"/>',
  trash: '<path d="M4 7h16M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3"/>',
  upload: '<path d="M12 16V4M7 9l5-5 5 5M4 16v4h16v-4"/>',
  send: '<path d="M4 12l16-8-6 16-3-7-7-1z"/>',
  copy: '<rect x="9" y="9" width="11" height="11" rx="2"/><path d="M5 15V5a1 1 0 011-1h9"/>',
  search: '<circle cx="11" cy="11" r="6"/><path d="M20 20l-4.5-4.5"/>',
  doc: '<path d="M6 3h8l4 4v14H6z"/><path d="M14 3v4h4M9 12h6M9 16h6"/>',
  refresh: '<path d="M20 11a8 8 0 10-2.3 5.7M20 4v7h-7"/>',
  play: '<path d="M7 5l12 7-12 7z"/>',
  stop: '<rect x="6" y="6" width="12" height="12" rx="2"/>',
  logout: '<path d="M15 4h4v16h-4M10 8l-4 4 4 4M6 12h10"/>',
  info: '<circle cx="12" cy="12" r="9"/><path d="M12 11v5M12 8v.5"/>',
  alert: '<path d="M12 4l9 16H3z"/><path d="M12 10v4M12 17v.5"/>',
  check: '<path d="M5 12l5 5 9-10"/>',
  checks: '<path d="M2 12l5 5 9-10M12 16l1 1 9-10"/>',
  clock: '<circle cx="12" cy="12" r="8"/><path d="M12 8v4l3 2"/>',
  person: '<circle cx="12" cy="8" r="4"/><path d="M4 21c1-4 4-6 8-6s7 2 8 6"/>',
  new: '<path d="M12 20h9M16.5 3.5a2.1 2.1 0 013 3L7 19l-4 1 1-4z"/>',
  telegram: '<path fill="currentColor" stroke="none" d="M2.7 11.3l17-6.6c.8-.3 1.5.2 1.3 1.3l-2.9 13.6c-.2 1-.8 1.2-1.6.8l-4.4-3.3-2.1 2c-.2.2-.4.4-.9.4l.3-4.5 8.2-7.4c.4-.3-.1-.5-.6-.2L6.9 13.8 2.6 12.4c-.9-.3-1-.9.1-1.1z"/>',
  whatsapp: '<path d="M4 20l1.2-4.2A8 8 0 1112 20a8 8 0 01-3.9-1z"/><path fill="currentColor" stroke="none" d="M9.2 7.8c.2-.4.5-.4.8-.4h.5c.2 0 .4 0 .6.4l.7 1.6c.1.2 0 .4-.1.6l-.5.6c-.1.1-.2.3 0 .5.6 1 1.4 1.8 2.4 2.3.2.1.4.1.5-.1l.6-.7c.2-.2.4-.2.6-.1l1.6.7c.3.1.4.3.3.6-.1.8-.9 1.5-1.7 1.6-.7.1-1.6-.1-3.3-1a8 8 0 01-2.9-3c-.6-1.1-.6-2.1.1-3z"/>',
  instagram: '<rect x="3.5" y="3.5" width="17" height="17" rx="5"/><circle cx="12" cy="12" r="4"/><circle cx="17.2" cy="6.8" r="1" fill="currentColor" stroke="none"/>',
  playground: '<path d="M5 5h14v10H9l-4 4z"/><path d="M9 9h6M9 12h3"/>',
};

export function icon(name, cls = '') {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', `ic ${cls}`.trim());
  svg.innerHTML = ICONS[name] || '';
  return svg;
}

let uid = 0;
export const nextId = (prefix = 'f') => `${prefix}${++uid}`;

/**
 * A labelled form field. opts: label, name, type, value, hint, rows (textarea), placeholder,
 * autocomplete, required, maxlength, list, min, max, step, inputmode.
 */
export function field(opts) {
  const id = nextId();
  const hintId = opts.hint ? `${id}-hint` : null;
  const attrs = {
    id, name: opts.name, placeholder: opts.placeholder, autocomplete: opts.autocomplete,
    required: opts.required, maxlength: opts.maxlength, list: opts.list, min: opts.min,
    max: opts.max, step: opts.step, inputmode: opts.inputmode, 'aria-describedby': hintId,
    spellcheck: opts.spellcheck,
  };
  let input;
  if (opts.rows) input = h('textarea', { ...attrs, rows: opts.rows });
  else if (opts.options) {
    input = h('select', attrs, opts.options.map(([v, label]) => h('option', { value: v, text: label })));
  } else input = h('input', { ...attrs, type: opts.type || 'text' });
  if (opts.value != null) input.value = opts.value;
  const wrap = h('div', { class: 'field' },
    h('label', { for: id, text: opts.label }, opts.optional ? h('span', { class: 'opt', text: ` · ${t('optional')}` }) : null),
    input,
    opts.hint ? h('p', { class: 'hint', id: hintId, text: opts.hint }) : null);
  return { wrap, input };
}

export function alertBox(message, kind = 'error') {
  return h('div', { class: `alert ${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    icon({ error: 'alert', warn: 'alert', info: 'info' }[kind] || 'check'), h('span', { text: message }));
}

/** A place in a form for its error (role=alert so screen readers announce it). */
export function errorSlot() {
  const el = h('div', { class: 'form-error', role: 'alert', hidden: true });
  el.show = (err, vars) => {
    const text = typeof err === 'string' ? err : errorText(err, vars);
    el.replaceChildren(...(text ? [icon('alert'), h('span', { text })] : []));
    el.hidden = !text;
  };
  el.clear = () => { el.hidden = true; el.replaceChildren(); };
  return el;
}

/** Marks the inputs named by a 422 answer's `errors[].field` (e.g. "telegram.token"). */
export function markInvalid(form, err, prefix = '') {
  for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
  let first = null;
  for (const e of err?.errors || []) {
    const name = String(e.field || '').replace(prefix, '');
    const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
    if (input) { input.setAttribute('aria-invalid', 'true'); first = first || input; }
  }
  first?.focus();
}

export function errorBlock(err, onRetry) {
  return h('div', { class: 'state' },
    alertBox(errorText(err) || t('e_internal_error')),
    onRetry ? h('button', { type: 'button', class: 'btn', onclick: onRetry }, icon('refresh'), t('retry')) : null);
}

export function spinnerBlock() {
  return h('div', { class: 'state', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), h('span', { class: 'sr', text: t('loading') }));
}

/** Runs `fn` with the button disabled and a spinner on it; returns fn's result. */
export async function busy(button, fn) {
  if (!button) return fn();
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try { return await fn(); } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

export function toast(message, kind = 'ok') {
  const box = document.getElementById('toasts');
  if (!box || !message) return;
  const el = h('div', { class: `toast ${kind}` }, icon(kind === 'ok' ? 'check' : 'alert'), h('span', { text: message }));
  box.append(el);
  setTimeout(() => el.classList.add('out'), 3600);
  setTimeout(() => el.remove(), 4000);
}

/** Yes/no question: Telegram's native popup inside Telegram, a modal <dialog> elsewhere. */
export function confirmDialog(message, okLabel = t('delete')) {
  const native = tgConfirm(message);
  if (native) return native;
  return new Promise((resolve) => {
    const msgId = nextId('dlg');
    const dialog = h('dialog', { class: 'dialog', 'aria-describedby': msgId },
      h('p', { id: msgId, text: message }),
      h('div', { class: 'row end' },
        h('button', { type: 'button', class: 'btn', value: 'no', onclick: () => dialog.close('no') }, t('cancel')),
        h('button', { type: 'button', class: 'btn danger', value: 'yes', onclick: () => dialog.close('yes') }, okLabel)));
    dialog.addEventListener('close', () => { dialog.remove(); resolve(dialog.returnValue === 'yes'); });
    document.body.append(dialog);
    dialog.showModal();
    dialog.querySelector('.danger').focus();
  });
}

export function copyButton(text) {
  const b = h('button', { type: 'button', class: 'icon-btn small', 'aria-label': t('copy'), title: t('copy') }, icon('copy'));
  b.addEventListener('click', async () => {
    try { await navigator.clipboard.writeText(text); toast(t('copied')); } catch {
      const r = document.createRange();
      r.selectNodeContents(b.previousElementSibling || b);
      getSelection().removeAllRanges();
      getSelection().addRange(r);
    }
  });
  return b;
}

export function channelIcon(channel) {
  return icon(ICONS[channel] ? channel : 'playground', `ch-${channel}`);
}

export function initials(name) {
  return (name || '?').trim().split(/\s+/).slice(0, 2).map((w) => w[0]).join('').toUpperCase() || '?';
}

/** A stable hue per name, for avatars. */
export function hue(name) {
  let n = 0;
  for (const ch of name || '') n = (n * 31 + ch.codePointAt(0)) % 7919;
  return (n * 47) % 360; // names that differ by one letter still get distinct colours
}

export function avatar(name, cls = '') {
  return h('span', { class: `avatar ${cls}`.trim(), style: `--h:${hue(name)}`, 'aria-hidden': 'true', text: initials(name) });
}
