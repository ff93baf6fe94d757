/* leadbot admin pages: what every admin script shares. Plain JavaScript, no dependencies.
 *
 * Flows, audit entries and the texts in them are written by people (and imported files), so
 * everything is rendered as text: textContent and text nodes only, never markup. The pages'
 * Content-Security-Policy refuses inline script and styles as well.
 *
 * Exposes `window.leadbotAdmin` for admin-flows.js, admin-flow.js, admin-form.js,
 * admin-preview.js, admin-panels.js and admin-audit.js. */
(() => {
  'use strict';
  const $ = (id) => document.getElementById(id);

  // ---- DOM helpers: text only, never HTML ----
  const el = (tag, cls, text) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = String(text);
    return node;
  };
  const button = (cls, text, onClick) => {
    const b = el('button', cls, text);
    b.type = 'button';
    if (onClick) b.addEventListener('click', onClick);
    return b;
  };
  const link = (cls, text, href) => {
    const a = el('a', cls, text);
    a.href = href;
    return a;
  };
  let uid = 0;
  const nextId = (prefix) => `${prefix || 'f'}-${++uid}`;
  const clear = (node) => { while (node.firstChild) node.removeChild(node.firstChild); return node; };

  // ---- formatting ----
  const when = (iso) => {
    if (!iso) return '';
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    return d.toLocaleString([], { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  };
  const timeEl = (iso) => {
    const t = el('time', null, when(iso));
    if (iso) t.dateTime = String(iso);
    return t;
  };
  const percent = (rate) => (rate == null || Number.isNaN(Number(rate)) ? '–' : `${(Number(rate) * 100).toFixed(1)}%`);
  const plural = (n, one, many) => `${n} ${n === 1 ? one : (many || `${one}s`)}`;

  // ---- the API (/static/api.js) ----
  const { api, ApiError } = window.leadbotApi;
  const flowPath = (id, ...parts) => ['/api/flows', encodeURIComponent(id), ...parts].join('/');
  const exportHref = (id, version) => {
    const base = flowPath(id, 'export');
    return version == null || version === 'live' ? base : `${base}?version=${encodeURIComponent(version)}`;
  };

  // ---- notices: #notice (role=status) for what went well, #error (role=alert) for what did not ----
  let noticeTimer = 0;
  const notify = (text) => {
    const box = $('notice');
    if (!box) return;
    clearTimeout(noticeTimer);
    box.textContent = text;
    box.classList.toggle('notice-shown', Boolean(text));
    if (text) noticeTimer = setTimeout(() => { box.textContent = ''; box.classList.remove('notice-shown'); }, 8000);
  };
  const showError = (err) => {
    const box = $('error');
    if (!box) return;
    const text = err ? (err.message || String(err)) : '';
    box.textContent = text;
    box.hidden = !text;
  };
  const clearError = () => showError(null);

  // ---- a modal question, answered by a button (Escape or Cancel say no) ----
  const ask = ({ title, message, confirm, danger, lines }) => new Promise((resolve) => {
    const dialog = el('dialog', 'modal');
    const titleId = nextId('ask');
    dialog.setAttribute('aria-labelledby', titleId);
    const form = el('form', 'stack');
    form.method = 'dialog';
    const h = el('h2', null, title);
    h.id = titleId;
    form.append(h);
    if (message) form.append(el('p', null, message));
    if (lines && lines.length) {
      const list = el('ul', 'change-list');
      lines.forEach((line) => list.append(el('li', null, line)));
      form.append(list);
    }
    const actions = el('div', 'modal-actions');
    const cancel = el('button', 'button', 'Cancel');
    cancel.value = 'cancel';
    const ok = el('button', `button ${danger ? 'button-danger-solid' : 'button-primary'}`, confirm || 'OK');
    ok.value = 'ok';
    actions.append(cancel, ok);
    form.append(actions);
    dialog.append(form);
    document.body.append(dialog);
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'ok');
      dialog.remove();
    });
    dialog.showModal();
    (danger ? cancel : ok).focus(); // a destructive answer is never one Enter away
  });

  window.leadbotAdmin = {
    $, el, button, link, nextId, clear, when, timeEl, percent, plural,
    ApiError, api, flowPath, exportHref, notify, showError, clearError, ask,
  };
})();
