// BotCraft web app: boot (Telegram or browser sign-in), a hash router, the top bar and tabs.
// Each screen is `async (ctx) => ({ title, node, back, main, cleanup })`; a failed request
// while a screen loads shows the API's words and a retry button instead of a blank page.

import { get, onUnauthorized, post, session } from './api.js';
import { errorText, lang, ready as langReady, setLang, t } from './i18n.js';
import { errorBlock, h, icon, spinnerBlock } from './ui.js';
import { detectTelegram, tg, tgBack, tgMain } from './tg.js';
import * as auth from './screens/auth.js';
import * as agents from './screens/agents.js';
import * as knowledge from './screens/knowledge.js';
import * as channels from './screens/channels.js';
import * as chat from './screens/chat.js';
import * as inbox from './screens/inbox.js';
import * as answers from './screens/answers.js';
import * as stats from './screens/stats.js';

const state = { user: null, flash: null };

const TABS = [
  ['settings', 'tab_settings', 'new'],
  ['knowledge', 'tab_knowledge', 'doc'],
  ['channels', 'tab_channels', 'send'],
  ['chat', 'tab_chat', 'playground'],
  ['inbox', 'tab_inbox', 'person'],
  ['answers', 'tab_answers', 'check'],
  ['stats', 'tab_stats', 'clock'],
];

const ROUTES = [
  { re: /^login$/, screen: auth.login, public: true },
  { re: /^agents$/, screen: agents.list },
  { re: /^agents\/new$/, screen: agents.create },
  { re: /^agents\/(\d+)(?:\/settings)?$/, screen: agents.edit, tab: 'settings' },
  { re: /^agents\/(\d+)\/knowledge$/, screen: knowledge.screen, tab: 'knowledge' },
  { re: /^agents\/(\d+)\/channels$/, screen: channels.screen, tab: 'channels' },
  { re: /^agents\/(\d+)\/chat$/, screen: chat.screen, tab: 'chat' },
  { re: /^agents\/(\d+)\/inbox(?:\/(\d+))?$/, screen: inbox.screen, tab: 'inbox' },
  { re: /^agents\/(\d+)\/answers$/, screen: answers.screen, tab: 'answers' },
  { re: /^agents\/(\d+)\/stats$/, screen: stats.screen, tab: 'stats' },
];

const $ = (id) => document.getElementById(id);
const view = $('view');

const currentPath = () => decodeURIComponent(window.location.hash.replace(/^#\/?/, '')).replace(/\/+$/, '');

export function go(path) {
  if (currentPath() === path) render();
  else window.location.hash = `#/${path}`;
}

function replace(path) {
  window.history.replaceState(null, '', `#/${path}`);
  render();
}

// ---------------------------------------------------------------- session

function signedIn(res) {
  session.set(res.access_token);
  state.user = res.user;
  state.flash = null;
}

async function telegramSignIn() {
  signedIn(await post('/api/auth/telegram', { initData: tg.initData }));
}

function endSession(message) {
  session.clear();
  state.user = null;
  state.flash = message ? { kind: 'error', text: message } : null;
  replace('login');
}

// While booting, boot() handles its own 401; afterwards any 401 ends the session.
onUnauthorized(() => { if (listening && (state.user || session.token)) endSession(t('session_over')); });

async function logout() {
  try { await post('/api/auth/logout'); } catch { /* the token is dropped either way */ }
  session.clear();
  state.user = null;
  state.flash = { kind: 'ok', text: t('signed_out') };
  replace('login');
}

// ---------------------------------------------------------------- rendering

let seq = 0;
let cleanups = [];
let firstRender = true;

function runCleanups() {
  for (const fn of cleanups.splice(0)) { try { fn(); } catch { /* keep going */ } }
}

function makeCtx(my, params, signal) {
  return {
    params,
    signal,
    user: state.user,
    go,
    replace,
    logout,
    rerender: render,
    alive: () => my === seq,
    takeFlash() { const f = state.flash; state.flash = null; return f; },
    onCleanup(fn) { cleanups.push(fn); },
    async signIn(res) { signedIn(res); replace('agents'); },
    async telegramSignIn() { await telegramSignIn(); replace('agents'); },
    /** Calls fn every `ms` while this screen is shown (skipped while the tab is hidden). */
    every(fn, ms) {
      let timer = null;
      const tick = async () => {
        if (my !== seq) return;
        if (!document.hidden) { try { await fn(); } catch { /* the screen shows its own errors */ } }
        if (my === seq) timer = setTimeout(tick, ms);
      };
      timer = setTimeout(tick, ms);
      cleanups.push(() => clearTimeout(timer));
    },
  };
}

function setTitle(text) {
  $('title').textContent = text || 'BotCraft';
  document.title = text && text !== 'BotCraft' ? `${text} · BotCraft` : 'BotCraft';
}

function setBack(path) {
  const back = $('back');
  const show = Boolean(path) && !tg.active;
  back.hidden = !show;
  $('brand').hidden = show || tg.active;
  if (path) back.href = `#/${path}`;
  tgBack(path ? () => go(path) : null);
}

function setTabs(agentId, active) {
  const nav = $('tabs');
  if (!agentId) { nav.hidden = true; nav.replaceChildren(); document.body.classList.remove('with-tabs'); return; }
  nav.hidden = false;
  document.body.classList.add('with-tabs');
  nav.setAttribute('aria-label', t('agent_sections'));
  nav.replaceChildren(h('div', { class: 'tabs-in' }, TABS.map(([key, label, ic]) => h('a', {
    href: `#/agents/${agentId}/${key}`,
    class: 'tab',
    'aria-current': key === active ? 'page' : null,
  }, icon(ic), h('span', { text: t(label) }),
  key === 'inbox' ? h('span', { class: 'tab-count', 'data-tab-count': 'inbox' }) : null))));
  nav.querySelector('[aria-current]')?.scrollIntoView?.({ block: 'nearest', inline: 'nearest' });
  // The counter of conversations that need the owner, on the inbox tab of every screen.
  get(`/api/agents/${agentId}/conversations?attention=true&per_page=1`)
    .then((r) => nav.querySelector('[data-tab-count="inbox"]')?.replaceChildren(r.attention_total ? String(r.attention_total) : ''))
    .catch(() => { /* the counter is a hint; the inbox shows its own errors */ });
}

// A notification's button opens the web app at one conversation: ?conversation=<id>, or
// Telegram's start parameter "c<id>" for a t.me/<bot>/<app>?startapp=c<id> link.
function conversationLink() {
  const fromUrl = new URLSearchParams(window.location.search).get('conversation');
  const start = tg.app?.initDataUnsafe?.start_param || '';
  const id = fromUrl || (/^c\d+$/.test(start) ? start.slice(1) : '');
  return /^\d+$/.test(id) ? Number(id) : null;
}

async function openLinkedConversation() {
  const id = conversationLink();
  if (!id || !state.user) return false;
  window.history.replaceState(null, '', window.location.pathname + window.location.hash);
  try {
    const c = await get(`/api/conversations/${id}`);
    replace(`agents/${c.agent_id}/inbox/${c.id}`);
    return true;
  } catch { return false; /* not this account's, or gone: the usual start screen */ }
}

function setMain(spec) {
  const shown = tgMain(spec ? { text: spec.text, onClick: spec.onClick } : null);
  if (shown && spec.button) spec.button.classList.add('tg-hide');
}

function markReady() {
  if (document.body.dataset.ready !== '1') {
    document.body.dataset.ready = '1';
    try { performance.mark('botcraft-ready'); } catch { /* old browser */ }
  }
}

async function render() {
  const my = ++seq;
  runCleanups();
  const path = currentPath();
  const route = ROUTES.map((r) => ({ r, m: r.re.exec(path) })).find((x) => x.m);
  if (!route) { replace(state.user ? 'agents' : 'login'); return; }
  const { r, m } = route;
  if (!r.public && !state.user) { replace('login'); return; }
  if (r.public && state.user) { replace('agents'); return; }

  const controller = new AbortController();
  cleanups.push(() => controller.abort());
  const ctx = makeCtx(my, m.slice(1), controller.signal);
  const agentId = r.tab ? m[1] : null;
  setTabs(agentId, r.tab);
  tgMain(null);
  const slow = setTimeout(() => { if (my === seq) view.replaceChildren(spinnerBlock()); }, 150);
  let screen;
  try {
    if (agentId) ctx.agent = await get(`/api/agents/${agentId}`, { signal: controller.signal });
    screen = await r.screen(ctx);
  } catch (err) {
    clearTimeout(slow);
    if (my !== seq || err.name === 'AbortError') return;
    if (err.status === 401 && !state.user) return; // endSession already moved to sign-in
    setTitle(ctx.agent?.name || 'BotCraft');
    setBack(r.public || path === 'agents' ? null : 'agents');
    view.replaceChildren(errorBlock(err, render));
    markReady();
    return;
  }
  clearTimeout(slow);
  if (my !== seq) { screen?.cleanup?.(); return; }
  if (screen.cleanup) cleanups.push(screen.cleanup);
  setTitle(screen.title);
  setBack(screen.back ?? null);
  view.replaceChildren(screen.node);
  if (screen.main) setMain(screen.main);
  document.body.dataset.screen = screen.name || r.tab || path.split('/')[0];
  if (!firstRender) {
    const heading = view.querySelector('h1, h2');
    (screen.focus || heading || view).focus?.({ preventScroll: false });
    if (!screen.focus) window.scrollTo(0, 0);
  }
  firstRender = false;
  markReady();
}

// ---------------------------------------------------------------- language

function applyStaticTexts() {
  document.documentElement.lang = lang();
  const other = lang() === 'ru' ? 'EN' : 'RU';
  const button = $('lang');
  button.textContent = other;
  button.setAttribute('aria-label', t('switch_lang'));
  button.title = t('switch_lang');
  $('back').setAttribute('aria-label', t('back'));
  document.querySelector('.skip').textContent = t('skip');
}

$('lang').addEventListener('click', async () => {
  try { await setLang(lang() === 'ru' ? 'en' : 'ru'); } catch { return; }
  applyStaticTexts();
  render();
});

// ---------------------------------------------------------------- start

async function boot() {
  await langReady;
  applyStaticTexts();
  await detectTelegram();
  if (tg.initData) {
    view.replaceChildren(h('div', { class: 'state', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), h('span', { text: t('tg_signing_in') })));
    try {
      await telegramSignIn();
    } catch (err) {
      session.clear();
      state.flash = { kind: 'error', text: t('tg_failed', { detail: errorText(err) }) };
    }
  } else if (session.token) {
    try {
      state.user = await get('/api/auth/me');
    } catch (err) {
      if (err.status === 401) {
        session.clear();
        state.flash = { kind: 'error', text: t('session_over') };
      } else {
        setTitle('BotCraft');
        view.replaceChildren(errorBlock(err, boot));
        markReady();
        return;
      }
    }
  }
  if (!listening) { listening = true; window.addEventListener('hashchange', render); }
  if (await openLinkedConversation()) return;
  render();
}

let listening = false;

boot();
