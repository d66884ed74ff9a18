// Channels: per-agent settings for Telegram, WhatsApp and Instagram (saved secrets stay
// masked and are sent only when retyped), live status with start/stop, and what to paste
// into Meta's dashboard.

import { get, post, put } from '../api.js';
import { errorText, fmtWhen, t } from '../i18n.js';
import { haptic } from '../tg.js';
import {
  alertBox, busy, channelIcon, confirmDialog, copyButton, errorSlot, field, h, icon, markInvalid, nextId, toast,
} from '../ui.js';

const SPEC = {
  telegram: [
    { name: 'token', label: 'tg_token', secret: true, hint: 'tg_token_hint' },
  ],
  whatsapp: [
    { name: 'access_token', label: 'wa_token', secret: true },
    { name: 'phone_number_id', label: 'wa_phone', numeric: true },
  ],
  instagram: [
    { name: 'access_token', label: 'ig_token', secret: true },
    { name: 'business_account_id', label: 'ig_account', numeric: true },
    { name: 'page_id', label: 'ig_page', numeric: true, optional: true },
  ],
};

function channelsMissing(err) {
  // Until the server has the channels endpoints they answer 404 "Nothing here".
  return err?.status === 404 && err.code === 'not_found' ? t('e_channels_missing', { detail: err.detail || '404' }) : errorText(err);
}

function statusView(channel, saved, st, stErr) {
  const lines = [];
  let badge;
  if (!saved) badge = h('span', { class: 'badge off' }, t('ch_not_connected'));
  else if (st?.running) badge = h('span', { class: 'badge on' }, h('span', { class: 'dot', 'aria-hidden': 'true' }), t('ch_running'));
  else if (st?.enabled) badge = h('span', { class: 'badge st-processing' }, h('span', { class: 'spinner tiny', 'aria-hidden': 'true' }), t('ch_starting'));
  else if (st) badge = h('span', { class: 'badge idle' }, t('ch_stopped'));
  else badge = h('span', { class: 'badge idle' }, t('ch_connected'));
  if (saved && st) {
    const bits = [];
    if (st.mode) bits.push(t(`ch_mode_${st.mode}`));
    if (st.details?.bot_username) bits.push(t('bot_username', { u: st.details.bot_username }));
    if (bits.length) lines.push(h('p', { class: 'small muted', text: bits.join(' · ') }));
    lines.push(h('p', { class: 'small muted', text: st.last_event_at ? t('ch_last_event', { when: fmtWhen(st.last_event_at) }) : t('ch_no_events') }));
    if (st.last_error) lines.push(h('p', { class: 'small doc-error', text: t('ch_last_error', { error: st.last_error }) }));
  } else if (saved && stErr) {
    lines.push(h('p', { class: 'small doc-error', text: t('ch_status_unavailable', { detail: channelsMissing(stErr) }) }));
  }
  return { badge, lines };
}

function setupView(channel, setup, setupErr, saved) {
  if (channel === 'telegram') {
    // Telegram is told the address by the server itself; shown for the curious in webhook mode.
    const url = saved?.webhook_mode && setup?.telegram?.webhook_url;
    return url ? h('div', { class: 'setup' }, copyRow(t('tg_webhook_url'), url)) : null;
  }
  const box = h('div', { class: 'setup' }, h('p', { class: 'setup-title', text: t('meta_setup') }));
  if (setupErr) {
    box.append(h('p', { class: 'small doc-error', text: t('ch_setup_unavailable', { detail: channelsMissing(setupErr) }) }));
    return box;
  }
  const s = setup?.[channel] || {};
  box.append(
    s.webhook_url ? copyRow(t('meta_url'), s.webhook_url) : h('p', { class: 'small muted', text: `${t('meta_url')}: ${t('meta_no_url')}` }),
    s.verify_token ? copyRow(t('meta_verify'), s.verify_token) : h('p', { class: 'small muted', text: `${t('meta_verify')}: ${t('meta_no_verify')}` }));
  return box;
}

function copyRow(label, value) {
  const id = nextId('cp');
  return h('div', { class: 'copy-row' },
    h('span', { class: 'small muted', id, text: label }),
    h('span', { class: 'copy-box' }, h('code', { 'aria-labelledby': id, text: value }), copyButton(value)));
}

export async function screen(ctx) {
  let agent = ctx.agent;
  const id = agent.id;
  const [statusRes, setupRes] = await Promise.allSettled([
    get(`/channels/status?agent_id=${id}`, { signal: ctx.signal }),
    get(`/api/agents/${id}/channels/setup`, { signal: ctx.signal }),
  ]);
  for (const r of [statusRes, setupRes]) if (r.status === 'rejected' && r.reason?.name === 'AbortError') throw r.reason;
  let status = statusRes.status === 'fulfilled' ? statusRes.value : null;
  let statusErr = statusRes.status === 'rejected' ? statusRes.reason : null;
  const setup = setupRes.status === 'fulfilled' ? setupRes.value : null;
  const setupErr = setupRes.status === 'rejected' ? setupRes.reason : null;

  const cards = {};
  const stOf = (channel) => status?.channels?.find((c) => c.channel === channel && (c.agent_id == null || c.agent_id === id)) || null;

  const mergeStatus = (res) => {
    if (!res?.channels) return;
    const others = (status?.channels || []).filter((c) => !res.channels.some((n) => n.channel === c.channel && n.agent_id === c.agent_id));
    status = { channels: [...others, ...res.channels] };
    statusErr = null;
  };

  const build = (channel) => {
    const saved = agent.integrations?.[channel] || null;
    const st = stOf(channel);
    const { badge, lines } = statusView(channel, saved, st, statusErr);
    const error = errorSlot();
    const inputs = {};
    const fields = SPEC[channel].map((spec) => {
      const masked = spec.secret && saved?.[spec.name];
      const f = field({
        label: t(spec.label), name: spec.name, type: spec.secret ? 'password' : 'text', autocomplete: 'off',
        inputmode: spec.numeric ? 'numeric' : null, optional: spec.optional, spellcheck: 'false',
        value: spec.secret ? '' : (saved?.[spec.name] ?? ''),
        placeholder: masked ? saved[spec.name] : (spec.numeric ? '1234567890' : ''),
        hint: [masked ? t('secret_saved') : null, spec.hint ? t(spec.hint) : null].filter(Boolean).join(' ') || null,
      });
      inputs[spec.name] = f.input;
      return f.wrap;
    });
    let webhook = null;
    if (channel === 'telegram') {
      const wid = nextId('wh');
      webhook = h('input', { type: 'checkbox', id: wid, name: 'webhook_mode', checked: Boolean(saved?.webhook_mode) });
      fields.push(h('div', { class: 'check' }, webhook, h('label', { for: wid, text: t('tg_webhook') })));
    }

    const saveBtn = h('button', { type: 'submit', class: 'btn primary' }, t('save'));
    const form = h('form', { class: 'stack', novalidate: true, 'aria-label': t(`ch_${channel}`) }, fields, error);

    form.addEventListener('submit', (e) => {
      e.preventDefault();
      error.clear();
      const body = {};
      for (const spec of SPEC[channel]) {
        const value = inputs[spec.name].value.trim();
        if (spec.secret) { if (value) body[spec.name] = value; } else if (value !== (saved?.[spec.name] ?? '')) {
          if (value) body[spec.name] = value;
        }
      }
      if (webhook && webhook.checked !== Boolean(saved?.webhook_mode)) body.webhook_mode = webhook.checked;
      if (!Object.keys(body).length) { error.show(t('nothing_changed')); return; }
      busy(saveBtn, async () => {
        try {
          agent = await put(`/api/agents/${id}/integrations`, { [channel]: body });
          toast(t('ch_saved'));
          haptic('success');
          await reloadStatus();
          redraw(channel);
        } catch (err) {
          if (err.name === 'AbortError') return;
          error.show(err, { labels: Object.fromEntries(SPEC[channel].map((s) => [`${channel}.${s.name}`, t(s.label)])) });
          markInvalid(form, err, `${channel}.`);
          haptic('error');
        }
      });
    });

    const buttons = [saveBtn];
    if (saved && st) {
      const on = st.enabled ?? st.running;
      const toggle = h('button', { type: 'button', class: 'btn' }, icon(on ? 'stop' : 'play'), t(on ? 'ch_stop' : 'ch_start'));
      toggle.addEventListener('click', () => busy(toggle, async () => {
        error.clear();
        try {
          mergeStatus(await post(`/channels/${on ? 'stop' : 'start'}`, { agent_id: id, channel }));
          toast(t(on ? 'ch_stopped_toast' : 'ch_started'));
          redraw(channel);
        } catch (err) { if (err.name !== 'AbortError') error.show(channelsMissing(err)); }
      }));
      buttons.push(toggle);
    }
    if (saved) {
      const off = h('button', { type: 'button', class: 'btn ghost danger-text' }, t('ch_disconnect'));
      off.addEventListener('click', async () => {
        if (!(await confirmDialog(t('ch_disconnect_confirm', { channel: t(`ch_${channel}`) }), t('ch_disconnect')))) return;
        busy(off, async () => {
          try {
            if (st?.running) { try { await post('/channels/stop', { agent_id: id, channel }); } catch { /* removal stops it too */ } }
            agent = await put(`/api/agents/${id}/integrations`, { [channel]: null });
            toast(t('ch_disconnected'));
            await reloadStatus();
            redraw(channel);
          } catch (err) { if (err.name !== 'AbortError') error.show(err); }
        });
      });
      buttons.push(off);
    }
    form.append(h('div', { class: 'row wrap' }, buttons));

    const headId = nextId('ch');
    return h('article', { class: `card stack channel ${channel}`, 'aria-labelledby': headId, 'data-channel': channel },
      h('div', { class: 'channel-head' },
        h('span', { class: `brand-ic ${channel}`, 'aria-hidden': 'true' }, channelIcon(channel)),
        h('h2', { id: headId, text: t(`ch_${channel}`) }),
        h('span', { class: 'status-slot', 'aria-live': 'polite' }, badge)),
      lines.length ? h('div', { class: 'status-lines' }, lines) : null,
      form,
      setupView(channel, setup, setupErr, saved));
  };

  const redraw = (channel) => {
    const fresh = build(channel);
    cards[channel].replaceWith(fresh);
    cards[channel] = fresh;
  };

  const reloadStatus = async () => {
    try {
      status = await get(`/channels/status?agent_id=${id}`, { signal: ctx.signal });
      statusErr = null;
    } catch (err) {
      if (err.name === 'AbortError') throw err;
      status = null;
      statusErr = err;
    }
  };

  for (const channel of Object.keys(SPEC)) cards[channel] = build(channel);

  // Status changes on its own (events arrive, errors happen): refresh it while shown, every
  // second while a channel is starting, every five otherwise.
  const starting = () => (status?.channels || []).some((c) => c.configured && c.enabled && !c.running);
  let tick = 0;
  if (!statusErr) {
    ctx.every(async () => {
      tick += 1;
      if (tick % 5 && !starting()) return;
      const before = JSON.stringify(status);
      await reloadStatus();
      if (JSON.stringify(status) === before) return;
      for (const channel of Object.keys(SPEC)) {
        // Don't wipe what the owner is typing.
        if (!cards[channel].contains(document.activeElement)) redraw(channel);
      }
    }, 1000);
  }

  const node = h('section', { class: 'page wide' },
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1', text: t('ch_title') })),
    h('p', { class: 'muted lead', text: t('ch_intro') }),
    statusErr && !Object.values(agent.integrations || {}).some(Boolean)
      ? alertBox(channelsMissing(statusErr), 'info') : null,
    h('div', { class: 'channel-grid' }, Object.values(cards)));
  return { title: agent.name, node, back: 'agents', name: 'channels' };
}
