// The one place that talks HTTP: adds the bearer token, parses JSON, and turns every failure
// into an ApiError the views can show as text.

import { token } from './session.js';

/** A failed request: `status` 0 means the network failed (no answer at all). */
export class ApiError extends Error {
  constructor({ status, code, detail, retryAfter = null, aborted = false }) {
    super(detail || code || `HTTP ${status}`);
    this.status = status;
    this.code = code || '';
    this.detail = detail || '';
    this.retryAfter = retryAfter;
    this.aborted = aborted;
  }

  /** True when trying again later may work (network down, server busy or restarting). */
  get transient() {
    return this.status === 0 || this.status === 429 || this.status === 502 || this.status === 503
      || this.status === 504;
  }
}

let unauthorizedHandler = () => {};

/** Called with the ApiError when a request with a token answers 401 (expired or revoked). */
export function onUnauthorized(handler) {
  unauthorizedHandler = handler;
}

/**
 * Send a request to this origin.
 * @param {string} path  e.g. '/cases'
 * @param {object} options  method, json (body sent as JSON), form (FormData), signal, bearer (a
 *                          token to use instead of the saved one, for signing in).
 * @returns {Promise<{status:number, body:any, headers:Headers}>}
 * @throws {ApiError}
 */
export async function request(path, { method = 'GET', json, form, signal, bearer } = {}) {
  const headers = { Accept: 'application/json' };
  const credential = bearer ?? token();
  if (credential) headers.Authorization = `Bearer ${credential}`;
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form; // the browser sets the multipart boundary
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body, signal, cache: 'no-store' });
  } catch (failure) {
    const aborted = failure?.name === 'AbortError';
    throw new ApiError({ status: 0, code: aborted ? 'aborted' : 'network', aborted });
  }
  const parsed = await parseBody(response);
  if (signal?.aborted) throw new ApiError({ status: 0, code: 'aborted', aborted: true });
  if (response.ok) return { status: response.status, body: parsed, headers: response.headers };
  const error = new ApiError({
    status: response.status,
    code: parsed?.code,
    detail: parsed?.detail,
    retryAfter: Number(response.headers.get('Retry-After')) || null,
  });
  if (response.status === 401 && bearer === undefined) unauthorizedHandler(error);
  throw error;
}

async function parseBody(response) {
  if (response.status === 204 || response.status === 304) return null;
  try {
    return await response.json();
  } catch {
    return null; // a proxy's HTML error page: the status alone says what happened
  }
}
