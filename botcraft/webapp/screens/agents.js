// Agents: the list with the limit, create, edit (with the system prompt) and delete.

import { del, get, post, put } from '../api.js';
import { errorText, t } from '../i18n.js';
import { haptic, tg } from '../tg.js';
import {
  alertBox, avatar, busy, channelIcon, confirmDialog, errorSlot, field, h, icon, markInvalid, toast,
} from '../ui.js';

const LIMIT_KEY = 'botcraft.agentLimit';
const CHANNELS = ['telegram', 'whatsapp', 'instagram'];

function knownLimit() {
  try { return Number(localStorage.getItem(LIMIT_KEY)) || 5; } catch { return 5; }
}

function rememberLimit(err) {
  const limit = err?.body?.limit;
  if (limit) { try { localStorage.setItem(LIMIT_KEY, String(limit)); } catch { /* ignore */ } }
}

export async function list(ctx) {
  const agents = await get('/api/agents', { signal: ctx.signal });
  const max = Math.max(knownLimit(), agents.length);
  const atLimit = agents.length >= max;
  const limitSlot = h('div', { class: 'limit-slot' });

  const create = h('a', {
    class: `btn primary${atLimit ? ' is-disabled' : ''}`,
    href: '#/agents/new',
    'aria-describedby': 'agents-count',
  }, icon('plus'), t('agent_new'));
  create.addEventListener('click', (e) => {
    if (!atLimit) return;
    e.preventDefault();
    limitSlot.replaceChildren(alertBox(t('agents_limit', { max })));
    haptic('error');
  });

  const items = agents.map((a) => {
    const on = CHANNELS.filter((c) => a.integrations?.[c]);
    return h('li', null, h('a', { class: 'agent-card card', href: `#/agents/${a.id}/settings` },
      avatar(a.name),
      h('span', { class: 'agent-main' },
        h('span', { class: 'agent-name', text: a.name }),
        h('span', { class: 'agent-desc', text: a.business_description || t('no_description') }),
        h('span', { class: 'agent-channels' }, on.length
          ? on.map((c) => h('span', { class: `chip ch ${c}` }, channelIcon(c), t(`ch_${c}`)))
          : h('span', { class: 'muted small', text: t('channels_none') }))),
      icon('chevron', 'chev')));
  });

  const who = ctx.user?.email || ctx.user?.display_name || (ctx.user?.telegram_username ? `@${ctx.user.telegram_username}` : '');
  const node = h('section', { class: 'page' },
    h('div', { class: 'page-head' },
      h('h1', { tabindex: '-1', text: t('agents_title') }),
      h('span', { class: 'count-pill', id: 'agents-count', 'aria-label': t('agents_count_label', { n: agents.length, max }) },
        t('agents_count', { n: agents.length, max }))),
    agents.length
      ? h('ul', { class: 'agent-list', role: 'list' }, items)
      : h('div', { class: 'empty card' },
        h('div', { class: 'empty-art', 'aria-hidden': 'true' }, icon('playground')),
        h('h2', { text: t('agents_empty_title') }),
        h('p', { class: 'muted', text: t('agents_empty') })),
    h('div', { class: 'actions' }, create),
    limitSlot,
    h('div', { class: 'account' },
      h('span', { class: 'muted small', text: t('signed_in_as', { name: who }) }),
      h('button', { type: 'button', class: 'btn ghost small', onclick: ctx.logout }, icon('logout'), t('sign_out'))));

  return {
    title: t('agents'),
    node,
    name: 'agents',
    main: atLimit || !tg.active ? null : { text: t('agent_new'), onClick: () => ctx.go('agents/new'), button: create },
  };
}

// ---------------------------------------------------------------- the form

function agentFields(agent, isNew) {
  const tones = t('tones').split('|');
  const f = {
    name: field({ label: t('f_name'), name: 'name', value: agent?.name, placeholder: t('f_name_ph'), required: true, maxlength: 100 }),
    business_description: field({ label: t('f_description'), name: 'business_description', rows: 4, value: agent?.business_description, placeholder: t('f_description_ph'), maxlength: 4000 }),
    capabilities: field({ label: t('f_capabilities'), name: 'capabilities', rows: 3, value: agent?.capabilities, placeholder: t('f_capabilities_ph'), maxlength: 2000 }),
    tone: field({ label: t('f_tone'), name: 'tone', value: agent?.tone, placeholder: t('f_tone_ph'), list: 'tones', maxlength: 200 }),
    language: field({
      label: t('f_language'), name: 'language', value: agent?.language || '',
      options: [...(isNew ? [['', '—']] : []), ['ru', t('lang_ru')], ['en', t('lang_en')]],
    }),
    llm_model: field({ label: t('f_model'), name: 'llm_model', value: agent?.llm?.model, hint: t('f_model_hint'), optional: true, maxlength: 100 }),
    llm_base_url: field({ label: t('f_base_url'), name: 'llm_base_url', type: 'url', value: agent?.llm?.base_url, placeholder: 'https://api.openai.com/v1', optional: true }),
    llm_api_key: field({
      label: t('f_api_key'), name: 'llm_api_key', type: 'password', autocomplete: 'off', optional: true,
      placeholder: agent?.llm?.api_key || 'sk-…', hint: agent?.llm?.api_key ? t('secret_saved') : null,
    }),
    synonyms: field({ label: t('f_synonyms'), name: 'synonyms', rows: 3, value: agent?.synonyms, placeholder: t('f_synonyms_ph'), hint: t('f_synonyms_hint'), optional: true, maxlength: 10000 }),
    llm_temperature: field({ label: t('f_temperature'), name: 'llm_temperature', type: 'number', min: 0, max: 2, step: 0.1, value: agent?.llm?.temperature ?? '', optional: true }),
  };
  const datalist = h('datalist', { id: 'tones' }, tones.map((v) => h('option', { value: v })));
  const advanced = h('details', { class: 'advanced', open: Boolean(agent?.llm?.model || agent?.llm?.base_url || agent?.synonyms) },
    h('summary', { text: t('advanced') }),
    h('div', { class: 'stack' }, f.language.wrap, f.synonyms.wrap, f.llm_model.wrap, f.llm_base_url.wrap, f.llm_api_key.wrap, f.llm_temperature.wrap));
  return { f, nodes: [f.name.wrap, f.business_description.wrap, f.capabilities.wrap, f.tone.wrap, datalist, advanced] };
}

const labelsOf = (f) => Object.fromEntries(Object.entries(f).map(([k, v]) => [k, v.wrap.querySelector('label').firstChild.textContent]));

/** What the form says, as the API wants it; only fields that differ from `agent` when editing. */
function collect(f, agent) {
  const v = (k) => f[k].input.value;
  const out = {
    name: v('name').trim(),
    business_description: v('business_description'),
    capabilities: v('capabilities'),
    tone: v('tone'),
    synonyms: v('synonyms'),
  };
  if (v('language')) out.language = v('language');
  const model = v('llm_model').trim();
  const base = v('llm_base_url').trim();
  const temp = v('llm_temperature');
  if (!agent) {
    if (model) out.llm_model = model;
    if (base) out.llm_base_url = base;
    if (temp !== '') out.llm_temperature = Number(temp);
    if (v('llm_api_key')) out.llm_api_key = v('llm_api_key');
    return out;
  }
  const changed = {};
  for (const k of ['name', 'business_description', 'capabilities', 'tone', 'language', 'synonyms']) {
    if (k in out && out[k] !== (agent[k] ?? '')) changed[k] = out[k];
  }
  if (model !== (agent.llm?.model || '')) changed.llm_model = model || null;
  if (base !== (agent.llm?.base_url || '')) changed.llm_base_url = base || null;
  const oldTemp = agent.llm?.temperature;
  if (temp === '' ? oldTemp != null : Number(temp) !== oldTemp) changed.llm_temperature = temp === '' ? null : Number(temp);
  if (v('llm_api_key')) changed.llm_api_key = v('llm_api_key');
  return changed;
}

export async function create(ctx) {
  const { f, nodes } = agentFields(null, true);
  const error = errorSlot();
  const submit = h('button', { type: 'submit', class: 'btn primary block' }, t('create_agent'));
  const form = h('form', { class: 'card stack', novalidate: true, 'aria-labelledby': 'new-h' }, nodes, error, submit);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    error.clear();
    const body = collect(f, null);
    if (!body.name) { error.show(t('v_name')); f.name.input.setAttribute('aria-invalid', 'true'); f.name.input.focus(); return; }
    busy(submit, async () => {
      try {
        const agent = await post('/api/agents', body);
        toast(t('agent_created'));
        haptic('success');
        ctx.go(`agents/${agent.id}/knowledge`);
      } catch (err) {
        if (err.name === 'AbortError') return;
        if (err.code === 'agent_limit_reached') rememberLimit(err);
        error.show(err, { labels: labelsOf(f) });
        markInvalid(form, err);
        haptic('error');
      }
    });
  });
  const node = h('section', { class: 'page narrow' },
    h('h1', { id: 'new-h', tabindex: '-1', text: t('agent_new') }),
    form);
  return { title: t('agent_new'), node, back: 'agents', name: 'agent-new', main: { text: t('create_agent'), onClick: () => form.requestSubmit(), button: submit }, focus: f.name.input };
}

export async function edit(ctx) {
  let agent = ctx.agent;
  const { f, nodes } = agentFields(agent, false);
  const error = errorSlot();
  const submit = h('button', { type: 'submit', class: 'btn primary' }, t('save'));

  const prompt = field({ label: t('prompt'), name: 'system_prompt', rows: 12, value: agent.system_prompt, hint: t('prompt_hint'), maxlength: 8000 });
  prompt.input.classList.add('mono');
  prompt.wrap.querySelector('label').classList.add('sr');
  const regen = h('button', { type: 'button', class: 'btn' }, icon('refresh'), t('prompt_regen'));

  const form = h('form', { class: 'settings-grid', novalidate: true, 'aria-label': t('tab_settings') },
    h('div', { class: 'card stack' }, h('h2', { text: t('tab_settings') }), nodes),
    h('div', { class: 'card stack' }, h('h2', { text: t('prompt') }), prompt.wrap, h('div', { class: 'row' }, regen)),
    h('div', { class: 'form-foot' }, error, submit));

  const save = async (includePrompt) => {
    const body = collect(f, agent);
    if (includePrompt && prompt.input.value.trim() !== agent.system_prompt.trim()) body.system_prompt = prompt.input.value;
    if (body.name === '') { error.show(t('v_name')); f.name.input.focus(); return false; }
    if (!Object.keys(body).length) return true;
    agent = await put(`/api/agents/${agent.id}`, body);
    f.llm_api_key.input.value = '';
    if (agent.llm?.api_key) f.llm_api_key.input.placeholder = agent.llm.api_key;
    document.getElementById('title').textContent = agent.name;
    return true;
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    error.clear();
    busy(submit, async () => {
      try {
        if (await save(true)) { prompt.input.value = agent.system_prompt; toast(t('saved')); haptic('success'); }
      } catch (err) {
        if (err.name === 'AbortError') return;
        error.show(err, { labels: labelsOf(f) });
        markInvalid(form, err);
      }
    });
  });

  regen.addEventListener('click', () => busy(regen, async () => {
    error.clear();
    try {
      if (!(await save(false))) return;
      const res = await post(`/api/agents/${agent.id}/generate_prompt`);
      agent = { ...agent, system_prompt: res.system_prompt };
      prompt.input.value = res.system_prompt;
      toast(t('prompt_regen_done'));
    } catch (err) {
      if (err.name !== 'AbortError') error.show(err);
    }
  }));

  const delError = errorSlot();
  const delBtn = h('button', { type: 'button', class: 'btn danger' }, icon('trash'), t('agent_delete'));
  delBtn.addEventListener('click', async () => {
    if (!(await confirmDialog(t('agent_delete_confirm', { name: agent.name }), t('delete')))) return;
    busy(delBtn, async () => {
      try {
        await del(`/api/agents/${agent.id}`);
        toast(t('agent_deleted'));
        ctx.go('agents');
      } catch (err) {
        delError.show(errorText(err));
      }
    });
  });

  const node = h('section', { class: 'page wide' },
    h('h1', { class: 'sr', tabindex: '-1', text: `${agent.name}: ${t('tab_settings')}` }),
    form,
    h('div', { class: 'card stack danger-zone' }, h('h2', { text: t('danger_zone') }), delError, h('div', { class: 'row' }, delBtn)));
  return { title: agent.name, node, back: 'agents', name: 'agent-settings', main: { text: t('save'), onClick: () => form.requestSubmit(), button: submit } };
}
