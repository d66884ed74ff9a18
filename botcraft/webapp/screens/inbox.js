// Conversations: the inbox (needs-attention first), a transcript with delivery status,
// take over / hand back, and the owner's own replies. Phone: one pane; desktop: two.

import { get, post } from '../api.js';
import { errorText, fmtWhen, t } from '../i18n.js';
import { haptic } from '../tg.js';
import { avatar, busy, channelIcon, errorSlot, h, icon, toast } from '../ui.js';
import { answerNotes, sourcesView } from './chat.js';

const PER_PAGE = 25;
const STATUS_ICON = { queued: 'clock', pending: 'clock', sent: 'check', delivered: 'checks', read: 'checks', failed: 'alert' };

const channelName = (c) => t(`ch_${c}`);
const who = (c) => c.customer_name || `${channelName(c.channel)} ${c.external_chat_id}`;

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
      h('time', { class: 'conv-time', datetime: c.last_message_at, text: fmtWhen(c.last_message_at) })),
    h('span', { class: 'conv-last', text: c.last_message_text || '' }),
    h('span', { class: 'conv-tags' },
      h('span', { class: `chip ch ${c.channel}` }, channelIcon(c.channel), channelName(c.channel)),
      c.needs_attention ? h('span', { class: 'chip warn' }, icon('alert'), t('attention')) : null,
      c.mode === 'human' ? h('span', { class: 'chip human' }, icon('person'), t('mode_human')) : null,
      c.blocked ? h('span', { class: 'chip muted', text: t('blocked') }) : null))));
}

function messageView(m) {
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
    h('p', { class: 'msg-meta' }, meta));
}

export async function screen(ctx) {
  const agentId = ctx.agent.id;
  const convId = ctx.params[1] ? Number(ctx.params[1]) : null;
  const opts = { signal: ctx.signal };
  let pages = 1;
  // Every page shown so far, needs-attention first; refreshed as a whole (order changes).
  const loadList = async () => {
    const items = [];
    let total = 0;
    for (let p = 1; p <= pages; p += 1) {
      const r = await get(`/api/agents/${agentId}/conversations?attention_first=true&page=${p}&per_page=${PER_PAGE}`, opts);
      items.push(...r.items);
      total = r.total;
      if (r.items.length < PER_PAGE) break;
    }
    const seen = new Set();
    return { items: items.filter((c) => !seen.has(c.id) && seen.add(c.id)), total };
  };
  let [page, conv, messages] = await Promise.all([
    loadList(),
    convId ? get(`/api/conversations/${convId}`, opts) : null,
    convId ? get(`/api/conversations/${convId}/messages`, opts) : null,
  ]);

  // ------------------------------------------------ the list
  const listEl = h('ul', { class: 'conv-list', role: 'list', 'aria-label': t('inbox_title') });
  const moreBtn = h('button', { type: 'button', class: 'btn ghost block' }, t('more'));
  moreBtn.addEventListener('click', () => busy(moreBtn, async () => {
    pages += 1;
    try { page = await loadList(); drawList(); } catch (err) { if (err.name !== 'AbortError') listErr.show(err); }
  }));
  const listErr = errorSlot();
  const drawList = () => {
    listEl.replaceChildren(...(page.items.length
      ? page.items.map((c) => itemView(agentId, c, convId))
      : [h('li', { class: 'muted empty-line', text: t('inbox_empty') })]));
    moreBtn.hidden = page.items.length >= page.total;
  };
  drawList();

  const listPane = h('div', { class: 'pane-list card' },
    h('h1', { class: 'pane-title', tabindex: '-1', text: t('inbox_title') }), listErr, listEl, moreBtn);

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

    const drawMessages = () => {
      const stick = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 80;
      transcript.replaceChildren(...(messages.length ? messages.map(messageView) : [h('p', { class: 'muted center', text: t('no_messages') })]));
      if (stick || !transcript.dataset.drawn) transcript.scrollTop = transcript.scrollHeight;
      transcript.dataset.drawn = '1';
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
