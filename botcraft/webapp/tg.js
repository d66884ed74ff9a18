// Telegram Mini App glue: is the page inside Telegram, its initData, theme colours,
// BackButton and MainButton. Everything here is a no-op in a plain browser.

export const tg = { app: null, active: false, initData: '' };

// Telegram's themeParams → our CSS variables. Sections sit on secondary_bg like Telegram's
// own settings screens.
const THEME = [
  ['bg_color', '--card'],
  ['section_bg_color', '--card'],
  ['secondary_bg_color', '--page'],
  ['text_color', '--text'],
  ['hint_color', '--hint'],
  ['subtitle_text_color', '--hint'],
  ['link_color', '--link'],
  ['button_color', '--accent'],
  ['button_text_color', '--accent-text'],
  ['accent_text_color', '--accent-ink'],
  ['destructive_text_color', '--danger'],
  ['section_separator_color', '--line'],
  ['header_bg_color', '--header'],
];

function fromHash(name) {
  const hash = window.location.hash.slice(1);
  if (!hash.includes('tgWebApp')) return '';
  try { return new URLSearchParams(hash).get(name) || ''; } catch { return ''; }
}

export function applyTheme(params, scheme) {
  const root = document.documentElement;
  if (scheme) root.dataset.scheme = scheme;
  if (!params) return;
  if (!params.secondary_bg_color && params.bg_color) root.style.setProperty('--page', params.bg_color);
  for (const [key, variable] of THEME) {
    const value = params[key];
    if (typeof value === 'string' && /^#[0-9a-f]{3,8}$/i.test(value)) root.style.setProperty(variable, value);
  }
  if (!params.header_bg_color && (params.secondary_bg_color || params.bg_color)) {
    root.style.setProperty('--header', params.secondary_bg_color || params.bg_color);
  }
  const meta = document.querySelector('meta[name="theme-color"]');
  if (meta && (params.secondary_bg_color || params.bg_color)) meta.content = params.secondary_bg_color || params.bg_color;
}

function adopt(app) {
  tg.app = app;
  tg.active = true;
  tg.initData = app.initData;
  document.documentElement.classList.add('in-tg');
  const call = (fn, ...args) => { try { if (typeof app[fn] === 'function') app[fn](...args); } catch { /* old client */ } };
  call('ready');
  call('expand');
  applyTheme(app.themeParams, app.colorScheme);
  call('onEvent', 'themeChanged', () => applyTheme(app.themeParams, app.colorScheme));
  const p = app.themeParams || {};
  if (p.secondary_bg_color) { call('setHeaderColor', 'secondary_bg_color'); call('setBackgroundColor', 'secondary_bg_color'); }
}

function scriptSettled(timeoutMs) {
  return new Promise((resolve) => {
    const el = document.getElementById('tg-script');
    if (!el || el.dataset.done || window.Telegram?.WebApp) { resolve(); return; }
    const done = () => resolve();
    el.addEventListener('load', done, { once: true });
    el.addEventListener('error', done, { once: true });
    setTimeout(done, timeoutMs);
  });
}

/**
 * Decides whether the page runs as a Mini App. Waits for telegram-web-app.js only when
 * Telegram launched the page (its data is in the URL hash), so a plain browser never waits.
 */
export async function detectTelegram() {
  let app = window.Telegram?.WebApp;
  if (app?.initData) { adopt(app); return tg; }
  const hashData = fromHash('tgWebAppData');
  if (hashData || window.TelegramWebviewProxy) {
    await scriptSettled(4000);
    app = window.Telegram?.WebApp;
    if (app?.initData) { adopt(app); return tg; }
    if (hashData) {
      // The script did not load, but Telegram gave us everything in the hash.
      tg.active = true;
      tg.initData = hashData;
      document.documentElement.classList.add('in-tg');
      let theme = null;
      try { theme = JSON.parse(fromHash('tgWebAppThemeParams') || 'null'); } catch { /* none */ }
      applyTheme(theme, null);
    }
  }
  return tg;
}

let backHandler = null;
/** Shows Telegram's back button with `handler`, or hides it for null. */
export function tgBack(handler) {
  const b = tg.app?.BackButton;
  if (!b) return;
  try {
    if (backHandler) b.offClick?.(backHandler);
    backHandler = handler;
    if (handler) { b.onClick(handler); b.show(); } else b.hide();
  } catch { /* old client */ }
}

let mainHandler = null;
/** Telegram's main button for the screen's primary action; null hides it. Returns true when shown. */
export function tgMain(spec) {
  const m = tg.app?.MainButton;
  if (!m) return false;
  try {
    if (mainHandler) m.offClick?.(mainHandler);
    mainHandler = null;
    if (!spec) { m.hide(); return false; }
    mainHandler = spec.onClick;
    m.setText(spec.text);
    m.onClick(mainHandler);
    m.enable?.();
    m.show();
    return true;
  } catch { return false; }
}

export function tgMainProgress(on) {
  const m = tg.app?.MainButton;
  try {
    if (on) { m?.showProgress?.(false); m?.disable?.(); } else { m?.hideProgress?.(); m?.enable?.(); }
  } catch { /* old client */ }
}

/** Telegram's native confirmation, or null when not available (the caller shows its own). */
export function tgConfirm(message) {
  const app = tg.app;
  if (!app || typeof app.showConfirm !== 'function' || !app.isVersionAtLeast?.('6.2')) return null;
  return new Promise((resolve) => {
    try { app.showConfirm(message, (ok) => resolve(Boolean(ok))); } catch { resolve(window.confirm(message)); }
  });
}

export function haptic(kind) {
  try { tg.app?.HapticFeedback?.notificationOccurred?.(kind); } catch { /* none */ }
}
