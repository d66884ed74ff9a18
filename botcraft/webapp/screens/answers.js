// The owner's answers: questions the bot handed over (grouped when they ask the same thing),
// "Ответить" on a group (saves a Q&A pair, then offers to send it to the customers still
// waiting), and the editor of every saved pair.

import { del, get, post, put } from '../api.js';
import { fmtWhen, t } from '../i18n.js';
import { haptic } from '../tg.js';
import { add, busy, confirmDialog, errorSlot, h, icon, toast } from '../ui.js';

const lines = (text) => text.split('\n').map((s) => s.trim()).filter(Boolean);

function pairForm({ questions = [], answer = '', submitLabel, onSubmit, onCancel }) {
  const q = h('textarea', { id: 'qa-questions', rows: 3, maxlength: 4000, placeholder: t('f_questions_ph'), value: questions.join('\n') });
  const a = h('textarea', { id: 'qa-answer', rows: 3, maxlength: 4000, placeholder: t('f_answer_ph'), value: answer });
  const err = errorSlot();
  const submit = h('button', { type: 'submit', class: 'btn primary' }, icon('check'), submitLabel);
  const form = h('form', { class: 'qa-form stack' },
    h('label', { for: 'qa-questions', class: 'label', text: t('f_questions') }), q,
    h('label', { for: 'qa-answer', class: 'label', text: t('f_answer') }), a, err,
    h('div', { class: 'row' }, submit,
      onCancel ? h('button', { type: 'button', class: 'btn ghost', onclick: onCancel }, t('cancel')) : null));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!lines(q.value).length) { q.focus(); return; }
    if (!a.value.trim()) { a.focus(); return; }
    busy(submit, async () => {
      err.clear();
      try { await onSubmit({ questions: lines(q.value), answer: a.value.trim() }); } catch (x) { if (x.name !== 'AbortError') err.show(x); }
    });
  });
  return form;
}

export async function screen(ctx) {
  const agentId = ctx.agent.id;
  const opts = { signal: ctx.signal };
  let [unanswered, pairs] = await Promise.all([
    get(`/api/agents/${agentId}/unanswered`, opts),
    get(`/api/agents/${agentId}/answers`, opts),
  ]);
  const reload = async () => {
    [unanswered, pairs] = await Promise.all([get(`/api/agents/${agentId}/unanswered`, opts), get(`/api/agents/${agentId}/answers`, opts)]);
    drawGroups();
    drawPairs();
  };

  // ------------------------------------------------ unanswered questions
  const groupsEl = h('ul', { class: 'qa-groups', role: 'list' });
  const drawGroups = () => {
    groupsEl.replaceChildren(...(unanswered.groups.length ? unanswered.groups.map(groupView)
      : [h('li', { class: 'muted empty-line', text: t('unanswered_empty') })]));
  };
  const groupView = (g) => {
    const item = h('li', { class: 'qa-group', 'data-group': g.question });
    const tags = [h('span', { class: 'small muted', text: t('asked_times', { n: g.count, when: fmtWhen(g.last_asked_at) }) })];
    if (g.answer_id) tags.push(h('span', { class: 'chip ok' }, icon('check'), t('answered_since')));
    if (g.waiting.length) tags.push(h('span', { class: 'chip warn' }, icon('clock'), t('waiting_n', { n: g.waiting.length })));
    const slot = h('div', { class: 'qa-slot' });
    const answerBtn = h('button', { type: 'button', class: 'btn primary small' }, icon('send'), t('answer_it'));
    answerBtn.hidden = Boolean(g.answer_id) && !g.waiting.length;
    answerBtn.addEventListener('click', () => {
      answerBtn.hidden = true;
      slot.replaceChildren(pairForm({
        questions: g.phrasings, submitLabel: t('save'),
        onCancel: () => { slot.replaceChildren(); answerBtn.hidden = false; },
        onSubmit: async (body) => {
          const pair = await post(`/api/agents/${agentId}/answers`, body);
          toast(t('answer_saved'));
          haptic('success');
          offerSend(pair);
        },
      }));
      slot.querySelector('#qa-answer')?.focus();
    });
    const offerSend = (pair) => {
      if (!g.waiting.length) { reload(); return; }
      const send = h('button', { type: 'button', class: 'btn primary' }, icon('send'), t('send_waiting', { n: g.waiting.length }));
      const err = errorSlot();
      send.addEventListener('click', () => busy(send, async () => {
        err.clear();
        try {
          const r = await post(`/api/agents/${agentId}/answers/${pair.id}/send`, { conversation_ids: g.waiting.map((w) => w.conversation_id) });
          toast(t('sent_waiting', { n: r.sent.length }));
          await reload();
        } catch (x) { if (x.name !== 'AbortError') err.show(x); }
      }));
      slot.replaceChildren(h('p', { class: 'small', text: g.waiting.map((w) => w.customer_name || t(`ch_${w.channel}`)).join(', ') }), send, err);
    };
    if (g.answer_id && g.waiting.length) {
      answerBtn.hidden = true;
      offerSend({ id: g.answer_id });
    }
    add(item, [
      h('p', { class: 'qa-q', text: g.question }),
      g.phrasings.length > 1 ? h('p', { class: 'small muted', text: g.phrasings.slice(1).join(' · ') }) : null,
      h('p', { class: 'conv-tags' }, tags), answerBtn, slot]);
    return item;
  };
  drawGroups();

  // ------------------------------------------------ saved pairs
  const pairsEl = h('ul', { class: 'qa-pairs', role: 'list' });
  const newSlot = h('div');
  const newBtn = h('button', { type: 'button', class: 'btn' }, icon('plus'), t('answer_new'));
  newBtn.addEventListener('click', () => {
    newBtn.hidden = true;
    newSlot.replaceChildren(pairForm({
      submitLabel: t('save'),
      onCancel: () => { newSlot.replaceChildren(); newBtn.hidden = false; },
      onSubmit: async (body) => {
        await post(`/api/agents/${agentId}/answers`, body);
        toast(t('answer_saved'));
        newSlot.replaceChildren();
        newBtn.hidden = false;
        await reload();
      },
    }));
    newSlot.querySelector('#qa-questions')?.focus();
  });
  const pairView = (p) => {
    const li = h('li', { class: 'qa-pair', 'data-answer': String(p.id) });
    const show = () => {
      const edit = h('button', { type: 'button', class: 'btn ghost small' }, icon('new'), t('edit'));
      const remove = h('button', { type: 'button', class: 'btn ghost small danger-text', 'aria-label': t('delete') }, icon('trash'), t('delete'));
      edit.addEventListener('click', () => li.replaceChildren(pairForm({
        questions: p.questions, answer: p.answer, submitLabel: t('save'), onCancel: show,
        onSubmit: async (body) => { await put(`/api/agents/${agentId}/answers/${p.id}`, body); toast(t('answer_saved')); await reload(); },
      })));
      remove.addEventListener('click', async () => {
        if (!(await confirmDialog(t('answer_delete_q')))) return;
        await busy(remove, async () => { await del(`/api/agents/${agentId}/answers/${p.id}`); toast(t('answer_deleted')); await reload(); });
      });
      li.replaceChildren();
      add(li, [
        h('p', { class: 'qa-q', text: p.questions[0] }),
        p.questions.length > 1 ? h('p', { class: 'small muted', text: p.questions.slice(1).join(' · ') }) : null,
        h('p', { class: 'qa-a', text: p.answer }),
        h('div', { class: 'row' }, edit, remove)]);
    };
    show();
    return li;
  };
  const drawPairs = () => {
    pairsEl.replaceChildren(...(pairs.length ? pairs.map(pairView) : [h('li', { class: 'muted empty-line', text: t('answers_empty') })]));
  };
  drawPairs();

  const node = h('section', { class: 'page answers' },
    h('div', { class: 'card stack' },
      h('h1', { tabindex: '-1', text: t('unanswered_title') }),
      h('p', { class: 'muted small', text: t('unanswered_intro') }), groupsEl),
    h('div', { class: 'card stack' },
      h('h2', { text: t('answers_title') }),
      h('p', { class: 'muted small', text: t('answers_intro') }), newBtn, newSlot, pairsEl));
  return { title: ctx.agent.name, node, back: 'agents', name: 'answers' };
}
