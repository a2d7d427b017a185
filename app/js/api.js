// api — the only module that talks HTTP: fetch() with the API key's header,
// JSON errors turned into ApiError, results read as blobs.
//
// The key lives in sessionStorage (this tab only, gone when it closes) and is
// sent as "Authorization: Bearer <key>" or "X-API-Key: <key>", as chosen.

const KEY = 'img-rest.api-key';
const SCHEME = 'img-rest.api-key-scheme';

export class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

export function apiKey() {
  try {
    return sessionStorage.getItem(KEY) || '';
  } catch {
    return '';
  }
}

/** 'bearer' (Authorization: Bearer) or 'x-api-key'. */
export function apiKeyScheme() {
  try {
    return sessionStorage.getItem(SCHEME) === 'x-api-key' ? 'x-api-key' : 'bearer';
  } catch {
    return 'bearer';
  }
}

/** Keeps (or, with an empty key, forgets) the key; tells the page. */
export function setApiKey(key, scheme) {
  if (key) {
    sessionStorage.setItem(KEY, key);
    sessionStorage.setItem(SCHEME, scheme === 'x-api-key' ? 'x-api-key' : 'bearer');
  } else {
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(SCHEME);
  }
  window.dispatchEvent(new CustomEvent('api:key-changed'));
}

export function authHeaders() {
  const key = apiKey();
  if (!key)
    return {};
  return apiKeyScheme() === 'x-api-key' ? { 'X-API-Key': key } : { Authorization: `Bearer ${key}` };
}

/** The ApiError of a response that is not ok (its JSON error when it has one). */
export async function errorOf(res) {
  let code = `http_${res.status}`;
  let message = `The server answered ${res.status} ${res.statusText}`.trim();
  try {
    const body = await res.json();
    if (body && body.error) {
      code = body.error.code || code;
      message = body.error.message || message;
    }
  } catch {
    // not JSON: keep the status line
  }
  const retry = Number.parseInt(res.headers.get('Retry-After') || '', 10);
  const err = new ApiError(res.status, code, message, Number.isFinite(retry) ? retry : undefined);
  if (res.status === 401)
    window.dispatchEvent(new CustomEvent('api:unauthorized', { detail: err }));
  return err;
}

/** fetch() with the key's header; the Response, whatever its status. */
export function send(method, path, { body, signal, headers } = {}) {
  return fetch(path, {
    method,
    body,
    signal,
    cache: 'no-store',
    headers: { Accept: 'application/json', ...authHeaders(), ...(headers || {}) },
  });
}

/** The JSON body of a 2xx answer (null for 204); ApiError otherwise. */
export async function json(method, path, options) {
  const res = await send(method, path, options);
  if (!res.ok)
    throw await errorOf(res);
  return res.status === 204 ? null : res.json();
}

/** { status, blob } of a binary route: 200 gives the blob; 202 (not ready)
 * gives status 202 and no blob; other answers throw ApiError. */
export async function blob(path, { signal } = {}) {
  const res = await fetch(path, { signal, headers: { ...authHeaders() } });
  if (res.status === 202) {
    await res.body?.cancel();
    return { status: 202, blob: null };
  }
  if (!res.ok)
    throw await errorOf(res);
  return { status: res.status, blob: await res.blob() };
}
