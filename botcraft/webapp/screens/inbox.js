// Conversations: the inbox (needs-attention first, or only those), a transcript with delivery
// status that opens at the newest message, take over / hand back, the owner's own replies with
// "Запомнить ответ", and where the owner's notifications go. Phone: one pane; desktop: two.

import { get, post, put } from '../api.js';
import { errorText, fmtWhen, t } from '../i18n.js';
import { haptic } from '../tg.js';
import { avatar, busy, channelIcon, errorSlot, h, icon, toast } from '../ui.js';
import { answerNotes, sourcesView } from './chat.js';

const PER_PAGE = 25;
const STATUS_ICON = { queued: 'clock', pending: 'clock', sent: 'check', delivered: 'checks', read: 'checks', failed: 'alert' };

const channelName = (c) => t(`ch_${c}`);
const handle = (c) => (c.customer_username ? `@${c.customer_username}` : (c.channel === 'whatsapp' ? `+${c.external_chat_id}` : ''));
function who(c) {
  if (c.is_test || c.channel === 'playground') return t('test_chat');
  return c.customer_name || handle(c) || `${channelName(c.channel)} ${c.external_chat_id}`;
}
const LAST_BY = { customer: 'last_by_customer', bot: 'last_by_bot', owner: 'last_by_owner' };

function itemView(agentId, c, activeId) {
  return h('li', null, h('a', {
    class: `conv${c.needs_attention ? ' attn' : ''}`,
    href: `#/agents/${agentId}/inbox/${c.id}`,
    'aria-current': c.id === activeId ? 'true' : null,
    'data-conv': String(c.id),
  },
  avatar(who(c)),
  h('span', { class: 'conv-main' },
    h('span', { class: 'conv-top' },
      h('span', { class: 'conv-name', text: who(c) }),
      c.customer_name && handle(c) && !c.is_test ? h('span', { class: 'conv-handle', text: handle(c) }) : null,
      h('time', { class: 'conv-time', datetime: c.last_message_at, text: fmtWhen(c.last_message_at) })),
    h('span', { class: 'conv-last', text: c.last_customer_text || c.last_message_text || '' }),
    h('span', { class: 'conv-tags' },
      c.last_author ? h('span', { class: `chip last-${c.last_author}`, 'data-last': c.last_author, text: t(LAST_BY[c.last_author] || 'last_by_bot') }) : null,
      h('span', { class: `chip ch ${c.channel}` }, channelIcon(c.channel), channelName(c.channel)),
      c.needs_attention ? h('span', { class: 'chip warn' }, icon('alert'), t('attention')) : null,
      c.mode === 'human' ? h('span', { class: 'chip human' }, icon('person'), t('mode_human')) : null,
      c.blocked ? h('span', { class: 'chip muted', text: t('blocked') }) : null))));
}

function messageView(m, onRemember) {
  const out = m.direction === 'out';
  const meta = [h('span', { text: t(`author_${m.author}`) }), h('time', { datetime: m.created_at, text: fmtWhen(m.created_at) })];
  if (out && m.status) {
    meta.push(h('span', { class: `st st-${m.status}` }, STATUS_ICON[m.status] ? icon(STATUS_ICON[m.status]) : null, t(`s_${m.status}`)));
  }
  return h('div', { class: `msg ${out ? 'out' : 'in'} ${m.author}`, 'data-status': m.status, 'data-author': m.author },
    h('p', { class: 'msg-text', text: m.text }),
    m.author === 'bot' ? sourcesView(m.sources) : null,
    m.author === 'bot' ? answerNotes(m) : null,
    m.status === 'failed' && m.error ? h('p', { class: 'msg-error', role: 'alert', text: m.error }) : null,
    h('p', { class: 'msg-meta' }, meta),
    m.author === 'owner' && onRemember ? rememberButton(m, onRemember) : null);
}

function rememberButton(m, onRemember) {
  const b = h('button', { type: 'button', class: 'btn ghost small remember' }, icon('check'), t('remember'));
  b.addEventListener('click', () => busy(b, () => onRemember(m, b)));
  return b;
}

// Where notifications go, and the switch for this assistant; "Подключить Telegram" opens the bot.
async function notificationsCard(agentId, opts) {
  const settings = await get('/api/notifications', opts);
  const mine = settings.agents.find((a) => a.agent_id === agentId);
  const box = h('div', { class: 'notify card-in', 'data-notify': settings.telegram_linked ? 'telegram' : 'none' });
  const err = errorSlot();
  const where = settings.telegram_linked
    ? t('notify_tg_linked', { user: settings.telegram_username ? ` (@${settings.telegram_username})` : '' })
    : (settings.email && settings.email_available ? t('notify_email', { email: settings.email }) : t('notify_none'));
  const toggle = h('input', { type: 'checkbox', id: 'notify-on', checked: mine ? mine.enabled : true });
  toggle.addEventListener('change', async () => {
    err.clear();
    try {
      await put(`/api/agents/${agentId}/notifications`, { enabled: toggle.checked });
      toast(t(toggle.checked ? 'notify_saved_on' : 'notify_saved_off'));
    } catch (e) { toggle.checked = !toggle.checked; err.show(e); }
  });
  const parts = [h('p', { class: 'small' }, h('strong', { text: `${t('notify_title')}: ` }), where),
    h('label', { class: 'check small', for: 'notify-on' }, toggle, h('span', { text: t('notify_on') }))];
  if (!settings.telegram_linked && settings.telegram_available) {
    const link = h('button', { type: 'button', class: 'btn small' }, icon('telegram'), t('notify_link'));
    link.addEventListener('click', () => busy(link, async () => {
      err.clear();
      try {
        const r = await post('/api/notifications/telegram-link');
        if (window.Telegram?.WebApp?.openTelegramLink) window.Telegram.WebApp.openTelegramLink(r.url);
        else window.open(r.url, '_blank', 'noopener');
      } catch (e) { err.show(e); }
    }));
    parts.push(h('p', { class: 'small muted', text: t('notify_link_hint') }), link);
  }
  box.replaceChildren(...parts, err);
  return box;
}

export async function screen(ctx) {
  const agentId = ctx.agent.id;
  const convId = ctx.params[1] ? Number(ctx.params[1]) : null;
  const opts = { signal: ctx.signal };
  let pages = 1;
  let onlyAttention = sessionStorage.getItem('botcraft.inbox.attention') === '1';
  // Every page shown so far, needs-attention first; refreshed as a whole (order changes).
  const loadList = async () => {
    const items = [];
    let total = 0;
    for (let p = 1; p <= pages; p += 1) {
      const filter = onlyAttention ? '&attention=true' : '';
      const r = await get(`/api/agents/${agentId}/conversations?attention_first=true${filter}&page=${p}&per_page=${PER_PAGE}`, opts);
      items.push(...r.items);
      total = r.total;
      attentionTotal = r.attention_total;
      if (r.items.length < PER_PAGE) break;
    }
    const seen = new Set();
    return { items: items.filter((c) => !seen.has(c.id) && seen.add(c.id)), total, attentionTotal };
  };
  let attentionTotal = 0;
  let [page, conv, messages, notify] = await Promise.all([
    loadList(),
    convId ? get(`/api/conversations/${convId}`, opts) : null,
    convId ? get(`/api/conversations/${convId}/messages`, opts) : null,
    notificationsCard(agentId, opts).catch(() => null),
  ]);

  // ------------------------------------------------ the list
  const listEl = h('ul', { class: 'conv-list', role: 'list', 'aria-label': t('inbox_title') });
  const moreBtn = h('button', { type: 'button', class: 'btn ghost block' }, t('more'));
  moreBtn.addEventListener('click', () => busy(moreBtn, async () => {
    pages += 1;
    try { page = await loadList(); drawList(); } catch (err) { if (err.name !== 'AbortError') listErr.show(err); }
  }));
  const listErr = errorSlot();
  const filterAll = h('button', { type: 'button', class: 'seg-btn', 'data-filter': 'all' }, t('filter_all'));
  const counter = h('span', { class: 'count', 'data-count': 'attention' });
  const filterAttn = h('button', { type: 'button', class: 'seg-btn', 'data-filter': 'attention' }, t('filter_attention'), counter);
  const filters = h('div', { class: 'seg inbox-filter', role: 'group', 'aria-label': t('inbox_title') }, filterAll, filterAttn);
  const setFilter = (attn) => {
    onlyAttention = attn;
    sessionStorage.setItem('botcraft.inbox.attention', attn ? '1' : '0');
    pages = 1;
    return loadList().then((p) => { page = p; drawList(); }).catch((err) => { if (err.name !== 'AbortError') listErr.show(err); });
  };
  filterAll.addEventListener('click', () => setFilter(false));
  filterAttn.addEventListener('click', () => setFilter(true));
  const drawList = () => {
    filterAll.setAttribute('aria-pressed', String(!onlyAttention));
    filterAttn.setAttribute('aria-pressed', String(onlyAttention));
    counter.textContent = page.attentionTotal ? String(page.attentionTotal) : '';
    counter.hidden = !page.attentionTotal;
    document.querySelector('[data-tab-count="inbox"]')?.replaceChildren(page.attentionTotal ? String(page.attentionTotal) : '');
    listEl.replaceChildren(...(page.items.length
      ? page.items.map((c) => itemView(agentId, c, convId))
      : [h('li', { class: 'muted empty-line', text: t(onlyAttention ? 'inbox_attention_empty' : 'inbox_empty') })]));
    moreBtn.hidden = page.items.length >= page.total;
  };
  drawList();

  const listPane = h('div', { class: 'pane-list card' },
    h('h1', { class: 'pane-title', tabindex: '-1', text: t('inbox_title') }), notify, filters, listErr, listEl, moreBtn);

  // ------------------------------------------------ one conversation
  let detail;
  if (!conv) {
    detail = h('div', { class: 'pane-detail card empty-pane' }, h('p', { class: 'muted', text: t('inbox_pick') }));
  } else {
    const head = h('div', { class: 'conv-head' });
    const banner = h('div', { class: 'banner-slot' });
    const transcript = h('div', { class: 'chat-log transcript', role: 'log', 'aria-label': t('transcript') });
    const actionErr = errorSlot();
    const modeBtn = h('button', { type: 'button', class: 'btn' });
    const hint = h('p', { class: 'small muted', id: 'reply-hint' });

    const drawHead = () => {
      const human = conv.mode === 'human';
      modeBtn.className = human ? 'btn' : 'btn primary';
      modeBtn.replaceChildren(icon(human ? 'playground' : 'person'), t(human ? 'hand_back' : 'take_over'));
      head.replaceChildren(
        h('div', { class: 'conv-title' },
          avatar(who(conv)),
          h('div', null,
            h('h2', { text: who(conv) }),
            h('p', { class: 'conv-tags' },
              h('span', { class: `chip ch ${conv.channel}` }, channelIcon(conv.channel), channelName(conv.channel)),
              h('span', { class: `chip ${human ? 'human' : ''}`, 'data-mode': conv.mode }, t(human ? 'mode_human' : 'mode_bot'))))),
        modeBtn);
      banner.replaceChildren(...(conv.needs_attention
        ? [h('div', { class: 'alert warn', role: 'status' }, icon('alert'), h('span', { text: [t('attention'), conv.attention_reason].filter(Boolean).join(': ') }))]
        : []));
      hint.textContent = human ? '' : t('reply_bot_mode');
      hint.hidden = human;
    };

    const remember = async (m, button) => {
      actionErr.clear();
      try {
        await post(`/api/conversations/${conv.id}/messages/${m.id}/remember`);
        button.disabled = true;
        toast(t('remembered'));
        haptic('success');
      } catch (err) { if (err.name !== 'AbortError') actionErr.show(err); }
    };
    const drawMessages = () => {
      const first = !transcript.dataset.drawn;
      const stick = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 80;
      transcript.replaceChildren(...(messages.length ? messages.map((m) => messageView(m, remember)) : [h('p', { class: 'muted center', text: t('no_messages') })]));
      if (stick || first) transcript.scrollTop = transcript.scrollHeight;
      transcript.dataset.drawn = '1';
      // A thread opens at its newest message, on a phone (the page scrolls) as on a desktop.
      if (first) requestAnimationFrame(() => transcript.lastElementChild?.scrollIntoView({ block: 'end' }));
    };

    modeBtn.addEventListener('click', () => busy(modeBtn, async () => {
      actionErr.clear();
      const next = conv.mode === 'human' ? 'bot' : 'human';
      try {
        conv = await post(`/api/conversations/${conv.id}/mode`, { mode: next });
        drawHead();
        toast(t(next === 'human' ? 'taken_over' : 'handed_back'));
        haptic('success');
        page = await loadList();
        drawList();
      } catch (err) { if (err.name !== 'AbortError') actionErr.show(err); }
    }));

    const input = h('textarea', { id: 'reply-input', rows: 2, maxlength: 4000, placeholder: t('reply_ph'), 'aria-describedby': 'reply-hint' });
    const sendBtn = h('button', { type: 'submit', class: 'btn primary', 'aria-label': t('reply_send') }, icon('send'), h('span', { class: 'hide-narrow', text: t('reply_send') }));
    const composer = h('form', { class: 'reply' },
      h('label', { class: 'sr', for: 'reply-input', text: t('reply_ph') }), input, sendBtn);
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); composer.requestSubmit(); }
    });
    composer.addEventListener('submit', (e) => {
      e.preventDefault();
      const text = input.value.trim();
      if (!text) { input.focus(); return; }
      busy(sendBtn, async () => {
        actionErr.clear();
        try {
          const msg = await post(`/api/conversations/${conv.id}/messages`, { text });
          input.value = '';
          messages = [...messages, msg];
          drawMessages();
          transcript.scrollTop = transcript.scrollHeight;
          const [c, p] = await Promise.all([get(`/api/conversations/${conv.id}`, opts), loadList()]);
          conv = c; page = p;
          drawHead();
          drawList();
        } catch (err) { if (err.name !== 'AbortError') actionErr.show(errorText(err)); }
      });
    });

    drawHead();
    drawMessages();
    detail = h('div', { class: 'pane-detail card' }, head, banner, transcript, actionErr, h('div', { class: 'reply-wrap' }, hint, composer));

    ctx.every(async () => {
      const [c, m] = await Promise.all([get(`/api/conversations/${conv.id}`, opts), get(`/api/conversations/${conv.id}/messages`, opts)]);
      if (JSON.stringify(m) !== JSON.stringify(messages)) { messages = m; drawMessages(); }
      if (JSON.stringify(c) !== JSON.stringify(conv)) { conv = c; drawHead(); }
    }, 3000);
  }

  ctx.every(async () => {
    const p = await loadList();
    listErr.clear();
    if (JSON.stringify(p) !== JSON.stringify(page)) { page = p; drawList(); }
  }, 5000);

  const node = h('section', { class: `page wide inbox${conv ? ' has-detail' : ''}` }, listPane, detail);
  return {
    title: ctx.agent.name,
    node,
    back: conv ? `agents/${agentId}/inbox` : 'agents',
    name: conv ? 'conversation' : 'inbox',
  };
}
