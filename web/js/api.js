// api.js — the one fetch wrapper for the sworn JSON API (docs/protocol.md).
// Owns: the CSRF token for cookie-authenticated requests, turning error bodies into
// ApiError {code, status}, and code -> human message. Must never log request bodies
// (passwords, tokens) or put secrets in URLs it builds.

import { t } from './i18n.js';

let csrfToken = null;

/** Remember the CSRF token returned by /api/login, /api/me or /api/setup. */
export function setCsrf(token) {
  csrfToken = typeof token === 'string' && token.length > 0 ? token : null;
}

export class ApiError extends Error {
  constructor(code, message, status) {
    super(message || code);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
  }
}



/** A human message for an error (ApiError or anything thrown by fetch), in the page's
 * language (i18n.js `error.<code>`); an unknown code shows the server's message. */
export function messageFor(err) {
  if (err instanceof ApiError) {
    const key = `error.${err.code}`;
    const text = t(key);
    return text !== key ? text : err.message || t('error.internal');
  }
  return t('error.network');
}

async function request(method, path, body) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (_e) {
    throw new ApiError('network', 'network error', 0);
  }
  if (res.status === 204) return null;
  let data = null;
  const text = await res.text();
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch (_e) {
      data = null;
    }
  }
  if (!res.ok) {
    const e = data && data.error ? data.error : {};
    const code = typeof e.code === 'string' ? e.code : statusCode(res.status);
    throw new ApiError(code, typeof e.message === 'string' ? e.message : '', res.status);
  }
  return data;
}

function statusCode(status) {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 413) return 'too_large';
  if (status === 429) return 'rate_limited';
  if (status >= 400 && status < 500) return 'bad_request';
  return 'internal';
}

export const api = {
  get: (path) => request('GET', path),
  post: (path, body) => request('POST', path, body === undefined ? {} : body),
};

/** Signed-in staff user or null; stores the CSRF token. Redirects nowhere. */
export async function currentUser() {
  try {
    const me = await api.get('/api/me');
    setCsrf(me && me.csrf);
    return me ? me.user : null;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}

/** For console pages: the user, or a redirect to the sign-in page. */
export async function requireUser() {
  const user = await currentUser();
  if (!user) {
    const next = encodeURIComponent(location.pathname);
    location.assign(`/signin?next=${next}`);
    return new Promise(() => {});
  }
  return user;
}

export async function logout() {
  try {
    await request('POST', '/api/logout', {});
  } finally {
    setCsrf(null);
    location.assign('/signin');
  }
}
