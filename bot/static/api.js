/* leadbot pages' client for the JSON API, shared by the inbox and the admin pages.
 *
 * Every call carries the session's CSRF token. `body` goes as JSON, as multipart when it is a
 * FormData (files: the browser sets the boundary), or as text when it is a string (a YAML file).
 * A refusal throws ApiError with the status, the server's message and its JSON (`data`, e.g. the
 * `problems` of a refused publish). A 401 sends the person to sign in and back.
 *
 * Exposes `window.leadbotApi`. */
(() => {
  'use strict';
  const CSRF = (document.querySelector('meta[name="csrf-token"]') || {}).content || '';

  class ApiError extends Error {
    constructor(status, message, data) {
      super(message);
      this.status = status;
      this.data = data || null;
    }
  }

  const signIn = () => location.assign('/login?next=' + encodeURIComponent(location.pathname + location.search + location.hash));

  const api = async (method, path, body) => {
    const init = { method, credentials: 'same-origin', headers: { 'X-CSRF-Token': CSRF, Accept: 'application/json' } };
    if (body instanceof FormData) {
      init.body = body;
    } else if (typeof body === 'string') {
      init.headers['Content-Type'] = 'text/yaml; charset=utf-8';
      init.body = body;
    } else if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, 'The server could not be reached. Check your connection and try again.');
    }
    if (response.status === 401) {
      signIn();
      throw new ApiError(401, 'Your sign-in has ended.');
    }
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) {
      throw new ApiError(response.status, (data && data.message) || `The server answered ${response.status}.`, data);
    }
    return data;
  };

  window.leadbotApi = { api, ApiError, signIn, CSRF };
})();
