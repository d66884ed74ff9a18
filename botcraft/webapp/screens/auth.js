// Sign-in and registration by e-mail; inside Telegram, a retry of the automatic sign-in.

import { post } from '../api.js';
import { t } from '../i18n.js';
import { tg } from '../tg.js';
import { alertBox, busy, errorSlot, field, h, markInvalid } from '../ui.js';

const LOGO = '<svg viewBox="0 0 32 32" aria-hidden="true"><rect width="32" height="32" rx="9" fill="currentColor"/><rect x="8" y="11" width="16" height="12" rx="4" fill="#fff"/><circle cx="13" cy="17" r="1.8" fill="currentColor"/><circle cx="19" cy="17" r="1.8" fill="currentColor"/><path d="M16 6v5" stroke="#fff" stroke-width="2" stroke-linecap="round"/></svg>';

export async function login(ctx) {
  const flash = ctx.takeFlash();
  let mode = 'in';
  const error = errorSlot();
  const email = field({ label: t('email'), name: 'email', type: 'email', autocomplete: 'username', inputmode: 'email', required: true, spellcheck: 'false' });
  const password = field({ label: t('password'), name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'btn primary block', text: t('do_sign_in') });

  const tabIn = h('button', { type: 'button', class: 'seg-btn', 'aria-pressed': 'true', text: t('sign_in') });
  const tabUp = h('button', { type: 'button', class: 'seg-btn', 'aria-pressed': 'false', text: t('sign_up') });
  const setMode = (next) => {
    mode = next;
    tabIn.setAttribute('aria-pressed', String(mode === 'in'));
    tabUp.setAttribute('aria-pressed', String(mode === 'up'));
    submit.textContent = mode === 'in' ? t('do_sign_in') : t('do_sign_up');
    password.input.autocomplete = mode === 'in' ? 'current-password' : 'new-password';
    hint.hidden = mode === 'in';
    error.clear();
  };
  tabIn.addEventListener('click', () => setMode('in'));
  tabUp.addEventListener('click', () => setMode('up'));
  const hint = h('p', { class: 'hint', id: 'pw-hint', text: t('password_hint'), hidden: true });
  password.input.setAttribute('aria-describedby', 'pw-hint');
  password.wrap.append(hint);

  const form = h('form', { class: 'stack', novalidate: true, 'aria-label': t('sign_in') },
    h('div', { class: 'seg', role: 'group', 'aria-label': `${t('sign_in')} / ${t('sign_up')}` }, tabIn, tabUp),
    email.wrap, password.wrap, error, submit);

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    error.clear();
    const body = { email: email.input.value.trim(), password: password.input.value };
    if (!/^[^\s@]+@[^\s@]+$/.test(body.email)) {
      error.show(t('v_email'));
      email.input.setAttribute('aria-invalid', 'true');
      email.input.focus();
      return;
    }
    email.input.removeAttribute('aria-invalid');
    if (!body.password || (mode === 'up' && body.password.length < 8)) {
      error.show(mode === 'up' ? t('v_password') : t('v_password_empty'));
      password.input.setAttribute('aria-invalid', 'true');
      password.input.focus();
      return;
    }
    busy(submit, async () => {
      try {
        const res = await post(mode === 'in' ? '/api/auth/email' : '/api/auth/register', body);
        await ctx.signIn(res);
      } catch (err) {
        if (err.name === 'AbortError') return;
        error.show(err, { labels: { email: t('email'), password: t('password') } });
        markInvalid(form, err);
        if (err.code === 'wrong_credentials') { password.input.select(); password.input.focus(); }
        if (err.code === 'email_taken') setTimeout(() => { setMode('in'); error.show(err); }, 0);
      }
    });
  });

  let tgBlock = null;
  if (tg.active) {
    const retry = h('button', { type: 'button', class: 'btn primary block', text: t('tg_retry') });
    const tgError = errorSlot();
    retry.addEventListener('click', () => busy(retry, async () => {
      try { await ctx.telegramSignIn(); } catch (err) { tgError.show(t('tg_failed', { detail: err.detail || err.message })); }
    }));
    tgBlock = h('div', { class: 'stack' }, retry, tgError, h('p', { class: 'divider', text: t('or_email') }));
  }

  const logo = h('div', { class: 'logo' });
  logo.innerHTML = LOGO;
  const node = h('section', { class: 'auth' },
    h('div', { class: 'auth-card card' },
      logo,
      h('h1', { class: 'auth-title', text: 'BotCraft', tabindex: '-1' }),
      h('p', { class: 'muted center', text: t('app_tagline') }),
      flash ? alertBox(flash.text, flash.kind) : null,
      tgBlock,
      form));
  return { title: 'BotCraft', node, name: 'login', focus: flash ? null : email.input };
}
