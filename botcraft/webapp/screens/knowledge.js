// Knowledge: upload files with progress, watch each document until ready or failed,
// delete, and check what the agent's search finds.

import { del, get, post, upload } from '../api.js';
import { errorText, fmtBytes, sourceLabel, t, tn } from '../i18n.js';
import { busy, confirmDialog, errorSlot, h, icon, nextId, toast } from '../ui.js';

const ACCEPT = '.pdf,.docx,.xlsx,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png,application/vnd.openxmlformats-officedocument.wordprocessingml.document,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const PARALLEL = 2;

function statusBadge(doc) {
  const busyNow = doc.status === 'queued' || doc.status === 'processing';
  return h('span', { class: `badge st-${doc.status}` },
    busyNow ? h('span', { class: 'spinner tiny', 'aria-hidden': 'true' }) : icon(doc.status === 'ready' ? 'check' : 'alert'),
    t(`st_${doc.status}`) || doc.status);
}

export async function screen(ctx) {
  const agentId = ctx.agent.id;
  const base = `/api/agents/${agentId}`;
  let docs = await get(`${base}/documents`, { signal: ctx.signal });

  // ------------------------------------------------ documents
  const listBox = h('ul', { class: 'doc-list', role: 'list', 'aria-label': t('documents') });
  const listError = errorSlot();

  const drawDocs = () => {
    if (!docs.length) {
      listBox.replaceChildren(h('li', { class: 'muted empty-line', text: t('kb_empty') }));
      return;
    }
    listBox.replaceChildren(...docs.map((doc) => {
      const meta = [fmtBytes(doc.size)];
      if (doc.status === 'ready') meta.push(tn('kb_chunks', doc.chunk_count));
      if (doc.pages) meta.push(tn('kb_pages', doc.pages));
      if (doc.status === 'ready' && (doc.embedding_status === 'queued' || doc.embedding_status === 'running')) {
        meta.push(t('kb_embedding', { a: doc.embedded_count, b: doc.embedding_total || '…' }));
      } else if (doc.status === 'ready' && doc.embedding_status === 'ready') {
        meta.push(t('kb_embedded'));
      }
      const remove = h('button', { type: 'button', class: 'icon-btn small', 'aria-label': `${t('delete')}: ${doc.filename}`, title: t('delete') }, icon('trash'));
      remove.addEventListener('click', async () => {
        if (!(await confirmDialog(t('kb_delete_confirm', { name: doc.filename })))) return;
        busy(remove, async () => {
          try {
            await del(`${base}/documents/${doc.id}`);
            docs = docs.filter((d) => d.id !== doc.id);
            drawDocs();
            toast(t('kb_deleted'));
          } catch (err) { listError.show(err); }
        });
      });
      const again = doc.status === 'failed'
        ? h('button', { type: 'button', class: 'btn small', onclick: (e) => busy(e.currentTarget, async () => {
          try { await post(`${base}/documents/${doc.id}/reprocess`); await refresh(); } catch (err) { listError.show(err); }
        }) }, icon('refresh'), t('kb_reprocess'))
        : null;
      return h('li', { class: 'doc', 'data-status': doc.status, 'data-doc': String(doc.id) },
        h('span', { class: `doc-ic ft-${doc.file_type}`, 'aria-hidden': 'true', text: (doc.file_type || '?').toUpperCase().slice(0, 4) }),
        h('span', { class: 'doc-main' },
          h('span', { class: 'doc-name', text: doc.filename }),
          h('span', { class: 'doc-meta' }, statusBadge(doc), h('span', { class: 'muted', text: meta.join(' · ') })),
          doc.status === 'failed' && doc.error ? h('span', { class: 'doc-error', text: doc.error }) : null,
          doc.status === 'ready' && doc.embedding_status === 'failed'
            ? h('span', { class: 'doc-error', text: doc.embedding_error || t('kb_embedding_failed') }) : null),
        again, remove);
    }));
  };

  const pending = () => docs.some((d) => d.status === 'queued' || d.status === 'processing'
    || (d.status === 'ready' && (d.embedding_status === 'queued' || d.embedding_status === 'running')));
  const refresh = async () => {
    docs = await get(`${base}/documents`, { signal: ctx.signal });
    listError.clear();
    drawDocs();
  };
  ctx.every(async () => {
    if (!pending()) return;
    try { await refresh(); } catch (err) { if (err.name !== 'AbortError') listError.show(err); }
  }, 1500);

  // ------------------------------------------------ uploads
  const queue = h('ul', { class: 'upload-list', role: 'list', 'aria-label': t('kb_files') });
  const inputId = nextId('file');
  const input = h('input', { type: 'file', id: inputId, multiple: true, accept: ACCEPT, class: 'file-input', 'aria-describedby': `${inputId}-f` });
  const drop = h('label', { class: 'drop', for: inputId },
    input,
    h('span', { class: 'drop-ic', 'aria-hidden': 'true' }, icon('upload')),
    h('span', { class: 'drop-main', text: t('kb_pick') }),
    h('span', { class: 'muted small', text: t('kb_drop') }),
    h('span', { class: 'muted small', id: `${inputId}-f`, text: t('kb_formats') }));

  const waiting = [];
  let running = 0;

  const startNext = () => {
    while (running < PARALLEL && waiting.length) {
      const job = waiting.shift();
      running += 1;
      job().finally(() => { running -= 1; startNext(); });
    }
  };

  const addFiles = (files) => {
    for (const file of files) {
      const bar = h('span', { class: 'bar' });
      const progress = h('span', { class: 'progress', role: 'progressbar', 'aria-label': file.name, 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0' }, bar);
      const note = h('span', { class: 'muted small', text: t('st_queued') });
      const row = h('li', { class: 'upload' },
        h('span', { class: 'doc-main' },
          h('span', { class: 'doc-name', text: file.name }),
          h('span', { class: 'doc-meta' }, h('span', { class: 'muted small', text: fmtBytes(file.size) }), note),
          progress));
      queue.append(row);
      waiting.push(async () => {
        const { promise } = upload(`${base}/documents`, file, (p) => {
          const pct = Math.round(p * 100);
          bar.style.width = `${pct}%`;
          progress.setAttribute('aria-valuenow', String(pct));
          note.textContent = t('kb_uploading', { p: pct });
        });
        try {
          const doc = await promise;
          if (!ctx.alive()) return;
          row.remove();
          if (doc.duplicate) toast(`${file.name}: ${t('kb_duplicate')}`, 'info');
          docs = [doc, ...docs.filter((d) => d.id !== doc.id)];
          drawDocs();
        } catch (err) {
          if (!ctx.alive() || err.name === 'AbortError') return;
          row.classList.add('failed');
          progress.remove();
          note.replaceChildren();
          const dismiss = h('button', { type: 'button', class: 'icon-btn small', 'aria-label': `${t('close')}: ${file.name}`, onclick: () => row.remove() }, icon('plus', 'rot45'));
          row.append(dismiss);
          row.querySelector('.doc-main').append(h('span', { class: 'doc-error', role: 'alert', text: errorText(err, { file: file.name }) }));
        }
      });
    }
    startNext();
  };

  input.addEventListener('change', () => { addFiles([...input.files]); input.value = ''; });
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer?.files?.length) addFiles([...e.dataTransfer.files]);
  });

  // ------------------------------------------------ search
  const q = h('input', { type: 'search', id: 'kb-q', name: 'q', placeholder: t('kb_search_ph'), maxlength: 500, autocomplete: 'off', enterkeyhint: 'search' });
  const searchBtn = h('button', { type: 'submit', class: 'btn primary' }, icon('search'), h('span', { class: 'hide-narrow', text: t('kb_search_btn') }));
  searchBtn.setAttribute('aria-label', t('kb_search_btn'));
  const results = h('div', { class: 'results', 'aria-live': 'polite' });
  const searchForm = h('form', { class: 'search-row', role: 'search' },
    h('label', { class: 'sr', for: 'kb-q', text: t('kb_search') }), q, searchBtn);
  searchForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const query = q.value.trim();
    if (!query) { q.focus(); return; }
    busy(searchBtn, async () => {
      try {
        const res = await get(`${base}/search?q=${encodeURIComponent(query)}&limit=5`, { signal: ctx.signal });
        results.replaceChildren(...(res.results.length
          ? res.results.map((r) => h('article', { class: 'hit' },
            h('p', { class: 'hit-text', text: r.text }),
            h('p', { class: 'source' }, icon('doc'), h('span', { text: sourceLabel(r.source) }),
              h('span', { class: 'badge found-by', text: t(`kb_found_${(r.found_by || ['words']).join('_')}`) }))))
          : [h('p', { class: 'muted', text: t('kb_no_results') })]));
      } catch (err) {
        if (err.name !== 'AbortError') results.replaceChildren(h('p', { class: 'doc-error', role: 'alert', text: errorText(err) }));
      }
    });
  });

  // Which search by meaning this server runs (from /health), in the owner's words.
  const meaningLine = h('p', { class: 'muted small kb-meaning' });
  get('/health', { signal: ctx.signal }).then((health) => {
    const e = health.embeddings || {};
    meaningLine.textContent = e.mode === 'local' ? t('kb_meaning_local', { m: e.model })
      : e.mode === 'openai' ? t('kb_meaning_server', { m: e.model }) : t('kb_meaning_off');
  }).catch(() => {});

  drawDocs();
  const node = h('section', { class: 'page wide kb' },
    h('div', { class: 'kb-main' },
      h('div', { class: 'card stack' },
        h('h1', { tabindex: '-1', text: t('kb_title') }),
        h('p', { class: 'muted', text: t('kb_intro') }),
        drop, queue),
      h('div', { class: 'card stack' }, h('h2', { text: t('documents') }), listError, listBox)),
    h('div', { class: 'card stack kb-search' },
      h('h2', { text: t('kb_search') }),
      h('p', { class: 'muted small', text: t('kb_search_hint') }),
      meaningLine, searchForm, results));
  return { title: ctx.agent.name, node, back: 'agents', name: 'knowledge' };
}
