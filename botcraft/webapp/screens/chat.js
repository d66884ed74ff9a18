// The owner's test chat: questions go to the agent, answers stream in with their sources.

import { stream } from '../api.js';
import { errorText, sourceLabel, t } from '../i18n.js';
import { h, icon } from '../ui.js';

// Kept per agent while the app is open, so switching tabs does not lose the conversation.
const chats = new Map();

const SUGGEST = {
  ru: ['Здравствуйте!', 'Сколько стоит доставка?', 'Какие у вас цены?'],
  en: ['Hello!', 'How much is delivery?', 'What are your prices?'],
};

export function sourcesView(sources) {
  if (!sources?.length) return null;
  const seen = new Set();
  const labels = sources.map(sourceLabel).filter((l) => l && !seen.has(l) && seen.add(l));
  return h('div', { class: 'sources', 'aria-label': t('sources') },
    labels.map((l) => h('span', { class: 'source chip' }, icon('doc'), h('span', { text: l }))));
}

export function answerNotes(m) {
  const notes = [];
  if (m.answered_by === 'offline') notes.push(h('span', { class: 'note offline', text: t('chat_offline') }));
  if (m.answered_by === 'greeting') notes.push(h('span', { class: 'note', text: t('chat_greeting') }));
  if (m.needs_attention) notes.push(h('span', { class: 'note warn', text: t('chat_attention') }));
  return notes.length ? h('div', { class: 'notes' }, notes) : null;
}

function bubble(m) {
  if (m.role === 'user') return h('div', { class: 'msg out owner-q' }, h('p', { class: 'msg-text', text: m.text }));
  const body = h('div', { class: `msg in bot${m.error ? ' err' : ''}`, 'data-final': m.final ? '1' : null });
  if (m.error) body.append(h('p', { class: 'msg-text', role: 'alert' }, icon('alert'), h('span', { text: m.error })));
  else if (!m.text) body.append(h('span', { class: 'typing', 'aria-label': t('loading') }, h('i'), h('i'), h('i')));
  else body.append(h('p', { class: 'msg-text', text: m.text }));
  if (m.final) body.append(...[sourcesView(m.sources), answerNotes(m)].filter(Boolean));
  return body;
}

export async function screen(ctx) {
  const agentId = ctx.agent.id;
  const chat = chats.get(agentId) || { conversationId: null, messages: [] };
  chats.set(agentId, chat);
  let sending = null;

  const log = h('div', { class: 'chat-log', role: 'log', 'aria-live': 'polite', 'aria-label': t('chat_title') });
  const input = h('textarea', { id: 'chat-input', rows: 1, placeholder: t('chat_ph'), maxlength: 4000, enterkeyhint: 'send' });
  const send = h('button', { type: 'submit', class: 'btn primary send', 'aria-label': t('chat_send'), title: t('chat_send') }, icon('send'));
  const composer = h('form', { class: 'composer' }, h('label', { class: 'sr', for: 'chat-input', text: t('chat_ph') }), input, send);

  const draw = () => {
    if (!chat.messages.length) {
      log.replaceChildren(h('div', { class: 'chat-empty' },
        h('p', { class: 'muted', text: t('chat_intro') }),
        h('div', { class: 'row wrap center' }, SUGGEST[document.documentElement.lang === 'en' ? 'en' : 'ru'].map((s) => h('button', {
          type: 'button', class: 'chip btn-chip', text: s, onclick: () => { input.value = s; composer.requestSubmit(); },
        })))));
      return;
    }
    log.replaceChildren(...chat.messages.map(bubble));
    log.scrollTop = log.scrollHeight;
  };

  const grow = () => { input.style.height = 'auto'; input.style.height = `${Math.min(input.scrollHeight, 160)}px`; };
  input.addEventListener('input', grow);
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); composer.requestSubmit(); }
  });

  composer.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text || sending) return;
    input.value = '';
    grow();
    chat.messages.push({ role: 'user', text });
    const answer = { role: 'bot', text: '', final: false };
    chat.messages.push(answer);
    draw();
    sending = new AbortController();
    send.disabled = true;
    let answerEl = log.lastElementChild;
    try {
      await stream(`/api/agents/${agentId}/chat/stream`, { message: text, conversation_id: chat.conversationId }, (event, data) => {
        if (event === 'start' && data.conversation_id) chat.conversationId = data.conversation_id;
        else if (event === 'delta') answer.text += data.text || '';
        else if (event === 'done') Object.assign(answer, { text: data.reply, sources: data.sources, answered_by: data.answered_by, needs_attention: data.needs_attention, final: true });
        else if (event === 'error') Object.assign(answer, { error: errorText({ status: 409, code: data.code, detail: data.detail }), final: true });
        if (ctx.alive() && answerEl?.isConnected) {
          // Only the answer's bubble changes while it streams.
          const fresh = bubble(answer);
          answerEl.replaceWith(fresh);
          answerEl = fresh;
          log.scrollTop = log.scrollHeight;
        }
      }, { signal: sending.signal });
      if (!answer.final) Object.assign(answer, { final: true, error: answer.text ? null : t('e_internal_error') });
    } catch (err) {
      if (err.name === 'AbortError') {
        const at = chat.messages.indexOf(answer);
        if (at >= 0 && !answer.text) chat.messages.splice(at, 1); else answer.final = true;
        return;
      }
      Object.assign(answer, { final: true, error: errorText(err) });
    } finally {
      sending = null;
      send.disabled = false;
    }
    if (ctx.alive()) { draw(); input.focus(); }
  });

  const reset = h('button', { type: 'button', class: 'btn ghost small' }, icon('new'), t('chat_new'));
  reset.addEventListener('click', () => {
    sending?.abort();
    chat.conversationId = null;
    chat.messages = [];
    draw();
    input.focus();
  });

  draw();
  const node = h('section', { class: 'page chat-page' },
    h('div', { class: 'chat card' },
      h('div', { class: 'chat-head' }, h('h1', { tabindex: '-1', text: t('chat_title') }), reset),
      log,
      composer));
  return { title: ctx.agent.name, node, back: 'agents', name: 'chat', cleanup: () => sending?.abort() };
}
