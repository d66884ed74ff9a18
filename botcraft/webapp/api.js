// The REST API: JSON over fetch with the Bearer token, SSE over a POST, uploads with progress.
// Every failure becomes an ApiError carrying the server's `detail` and `code`.
// Each request names the language the person chose, so the server's words come in it.

import { lang } from './i18n.js';

const TOKEN_KEY = 'botcraft.token';
const AUTH_PATHS = /^\/api\/auth\/(email|register|telegram)$/;

function store() {
  try { return window.localStorage; } catch { return null; }
}

export const session = {
  get token() { return store()?.getItem(TOKEN_KEY) || null; },
  set(token) { store()?.setItem(TOKEN_KEY, token); },
  clear() { store()?.removeItem(TOKEN_KEY); },
};

export class ApiError extends Error {
  constructor(status, body = null, retryAfter = null) {
    super((body && typeof body.detail === 'string' && body.detail) || `HTTP ${status}`);
    this.status = status;
    this.code = (body && body.code) || (status ? `http_${status}` : 'network');
    this.detail = body && typeof body.detail === 'string' ? body.detail : null;
    this.errors = (body && Array.isArray(body.errors)) ? body.errors : [];
    this.body = body;
    this.retryAfter = retryAfter;
  }
}

let unauthorized = null;
/** Called with the ApiError when a signed-in request answers 401 (session over). */
export function onUnauthorized(fn) { unauthorized = fn; }

function headers(extra = {}) {
  const h = { Accept: 'application/json', 'Accept-Language': lang(), ...extra };
  const token = session.token;
  if (token) h.Authorization = `Bearer ${token}`;
  return h;
}

function parse(text) {
  if (!text) return null;
  try { return JSON.parse(text); } catch { return null; }
}

function fail(path, status, body, retryAfter, hadToken) {
  const err = new ApiError(status, body, retryAfter);
  if (status === 401 && hadToken && !AUTH_PATHS.test(path) && unauthorized) unauthorized(err);
  return err;
}

export async function api(method, path, body, { signal } = {}) {
  const hadToken = Boolean(session.token);
  const init = { method, headers: headers(), signal };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, null);
  }
  const data = res.status === 204 ? null : parse(await res.text().catch(() => ''));
  if (!res.ok) throw fail(path, res.status, data, res.headers.get('Retry-After'), hadToken);
  return data;
}

export const get = (path, opts) => api('GET', path, undefined, opts);
export const post = (path, body, opts) => api('POST', path, body ?? {}, opts);
export const put = (path, body, opts) => api('PUT', path, body, opts);
export const del = (path, opts) => api('DELETE', path, undefined, opts);

/**
 * POST that answers text/event-stream (EventSource cannot POST): calls onEvent(name, data)
 * for each event as it arrives.
 */
export async function stream(path, body, onEvent, { signal } = {}) {
  const hadToken = Boolean(session.token);
  let res;
  try {
    res = await fetch(path, {
      method: 'POST',
      headers: headers({ 'Content-Type': 'application/json', Accept: 'text/event-stream' }),
      body: JSON.stringify(body),
      signal,
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, null);
  }
  if (!res.ok || !res.body) {
    throw fail(path, res.status, parse(await res.text().catch(() => '')), null, hadToken);
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  const dispatch = (block) => {
    let event = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (data.length) onEvent(event, parse(data.join('\n')) ?? {});
  };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value.replace(/\r\n?/g, '\n');
      let cut;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        dispatch(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
      }
    }
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, null);
  }
  if (buffer.trim()) dispatch(buffer);
}

/** multipart upload of one file with progress (fetch has no upload progress). */
export function upload(path, file, onProgress) {
  const xhr = new XMLHttpRequest();
  const hadToken = Boolean(session.token);
  const promise = new Promise((resolve, reject) => {
    xhr.open('POST', path);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.setRequestHeader('Accept-Language', lang());
    if (session.token) xhr.setRequestHeader('Authorization', `Bearer ${session.token}`);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.onload = () => {
      const data = parse(xhr.responseText);
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(fail(path, xhr.status, data, xhr.getResponseHeader('Retry-After'), hadToken));
    };
    xhr.onerror = () => reject(new ApiError(0, null));
    xhr.onabort = () => reject(new DOMException('aborted', 'AbortError'));
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}
