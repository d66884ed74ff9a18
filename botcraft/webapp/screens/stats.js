// How the assistant is doing: 7 or 30 days of conversations and customer messages, who
// answered them, how fast the owner replies, by channel, the top questions; a small chart
// drawn as inline SVG (no chart library), as readable at 390 px as on a desktop.

import { get } from '../api.js';
import { lang, t } from '../i18n.js';
import { add, channelIcon, h } from '../ui.js';

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...children);
  return el;
}

function duration(seconds) {
  if (seconds == null) return t('stats_none');
  if (seconds < 90) return t('dur_s', { n: Math.round(seconds) });
  if (seconds < 5400) return t('dur_m', { n: Math.round(seconds / 60) });
  return t('dur_h', { n: (seconds / 3600).toLocaleString(lang(), { maximumFractionDigits: 1 }) });
}

/** Bars of customer messages per day, the part handed over to the owner drawn on top. */
function chart(days) {
  const w = 320;
  const hgt = 120;
  const pad = 2;
  const max = Math.max(1, ...days.map((d) => d.customer_messages));
  const step = w / days.length;
  const bar = Math.max(2, step * 0.7);
  const root = svg('svg', { viewBox: `0 0 ${w} ${hgt + pad}`, class: 'chart', role: 'img', 'aria-label': t('stats_chart'), preserveAspectRatio: 'none' });
  days.forEach((d, i) => {
    const x = i * step + (step - bar) / 2;
    const total = (d.customer_messages / max) * hgt;
    const handed = (d.handed_over / max) * hgt;
    const title = svg('title', {});
    title.textContent = `${d.date}: ${d.customer_messages} · ${t('stats_handed')}: ${d.handed_over}`;
    root.append(svg('rect', { x, y: hgt - total, width: bar, height: Math.max(total, d.customer_messages ? 1 : 0), class: 'chart-bar', 'data-date': d.date, 'data-value': d.customer_messages }, title));
    if (handed) root.append(svg('rect', { x, y: hgt - handed, width: bar, height: handed, class: 'chart-bar handed' }));
  });
  root.append(svg('line', { x1: 0, y1: hgt, x2: w, y2: hgt, class: 'base' }));
  // Dates as HTML under the bars: the drawing stretches to the width, text must not.
  const dayLabel = (d) => d.date.slice(5).split('-').reverse().join('.');
  return h('div', { class: 'chart-box' }, root,
    h('div', { class: 'chart-axis small muted' }, h('span', { text: dayLabel(days[0]) }), h('span', { text: dayLabel(days[days.length - 1]) })));
}

export async function screen(ctx) {
  const agentId = ctx.agent.id;
  let days = Number(sessionStorage.getItem('botcraft.stats.days')) === 30 ? 30 : 7;
  const body = h('div', { class: 'stats-body' });
  const buttons = [7, 30].map((n) => h('button', { type: 'button', class: 'seg-btn', 'data-days': String(n), text: t('stats_days', { n }) }));
  const draw = (s) => {
    buttons.forEach((b) => b.setAttribute('aria-pressed', String(Number(b.dataset.days) === days)));
    const tile = (label, value, key) => h('div', { class: 'tile', 'data-stat': key }, h('span', { class: 'tile-v', text: String(value) }), h('span', { class: 'tile-l', text: label }));
    body.replaceChildren();
    add(body, [
      h('div', { class: 'tiles' },
        tile(t('stats_conversations'), s.conversations, 'conversations'),
        tile(t('stats_messages'), s.customer_messages, 'customer_messages'),
        tile(t('stats_bot'), s.answered_by_bot, 'answered_by_bot'),
        tile(t('stats_handed'), s.handed_over, 'handed_over'),
        tile(t('stats_owner'), s.answered_by_owner, 'answered_by_owner'),
        tile(t('stats_median'), duration(s.median_owner_reply_seconds), 'median')),
      s.customer_messages ? h('figure', { class: 'chart-wrap' }, chart(s.per_day), h('figcaption', { class: 'small muted', text: t('stats_chart') }))
        : h('p', { class: 'muted', text: t('stats_empty') }),
      s.by_channel.length ? h('div', { class: 'stack' }, h('h2', { text: t('stats_by_channel') }),
        h('ul', { class: 'plain-list' }, s.by_channel.map((c) => h('li', { class: 'row', 'data-channel': c.channel },
          channelIcon(c.channel), h('span', { text: t(`ch_${c.channel}`) }),
          h('span', { class: 'muted small', text: `${t('stats_conversations')}: ${c.conversations} · ${t('stats_messages')}: ${c.customer_messages} · ${t('stats_handed')}: ${c.handed_over}` }))))) : null,
      s.top_questions.length ? h('div', { class: 'stack' }, h('h2', { text: t('stats_top') }),
        h('ol', { class: 'top-q' }, s.top_questions.map((q) => h('li', null, h('span', { text: q.question }), h('span', { class: 'count-pill', text: String(q.count) }))))) : null]);
  };
  const load = async () => draw(await get(`/api/agents/${agentId}/stats?days=${days}`, { signal: ctx.signal }));
  buttons.forEach((b) => b.addEventListener('click', async () => {
    days = Number(b.dataset.days);
    sessionStorage.setItem('botcraft.stats.days', String(days));
    await load();
  }));
  await load();
  ctx.every(load, 30000);
  const node = h('section', { class: 'page stats' },
    h('div', { class: 'card stack' },
      h('div', { class: 'row spread' }, h('h1', { tabindex: '-1', text: t('stats_title') }),
        h('div', { class: 'seg stats-range', role: 'group', 'aria-label': t('stats_title') }, buttons)),
      body));
  return { title: ctx.agent.name, node, back: 'agents', name: 'stats' };
}
