/*! leadbot chat widget · Apache-2.0
 * Embed on any page with one tag:
 *   <script src="https://HOST/widget.js" async></script>
 * Options (data attributes on that tag): data-title="…" (panel title), data-flow="…" (qualification flow).
 * Any element with a data-leadbot-open attribute opens the chat when clicked.
 * Plain JavaScript, no dependencies, no build step. Message text is only ever rendered as text. */
(() => {
  'use strict';
  const me = document.currentScript || [...document.querySelectorAll('script[src*="widget.js"]')].pop();
  if (!me || window.leadbot) return;

  const ORIGIN = new URL(me.src, location.href).origin;
  const KEY = 'leadbot:' + ORIGIN;
  const MAX = 4000;
  const BOT = 'Assistant';
  const TITLE = me.dataset.title || 'Chat with us';
  const FLOW = me.dataset.flow;
  const ERRORS = {
    too_long: `That message is too long (max ${MAX} characters).`,
    rate_limited: 'You’re sending messages too quickly. Please wait a moment.',
    busy: 'Too many chats were started from your network just now. We’ll connect you as soon as we can.',
    unavailable: 'We’re having trouble saving messages. We’ll keep trying.',
    bad_frame: 'That message could not be sent.',
    consent_required: 'Please accept first: your message goes out then.',
    file: 'That file could not be sent.',
  };
  // expects.input -> [inputmode, autocomplete, placeholder]; the input stays type="text" so
  // answers like "skip" or "about fifty" still work.
  const HINTS = {
    email: ['email', 'email', 'you@company.com'],
    phone: ['tel', 'tel', 'Phone number'],
    number: ['numeric', 'off', 'A number, e.g. 25'],
  };
  const AUTOCOMPLETE = { name: 'name', company: 'organization' };
  const ICON_CHAT = 'M21 11.5a8.4 8.4 0 0 1-9 8.5 8.4 8.4 0 0 1-3.8-.9L3 21l1.9-5.2A8.4 8.4 0 0 1 4 11.5 8.5 8.5 0 0 1 12.5 3 8.4 8.4 0 0 1 21 11.5z';
  const ICON_X = 'M18 6 6 18|M6 6l12 12';
  const ICON_SEND = 'M22 2 11 13|M22 2l-7 20-4-9-9-4z';
  const ICON_CLIP = 'M21 11 12 20a5.5 5.5 0 0 1-8-8l9-9a3.7 3.7 0 0 1 5 5l-9 9a1.8 1.8 0 0 1-2.6-2.6L15 7';

  // ---- persisted state: {token, cid, lastSeq, open, outbox: [{id, text}], visits} ----
  let S = {};
  try { S = JSON.parse(localStorage.getItem(KEY)) || {}; } catch (e) { /* storage unavailable */ }
  if (!Array.isArray(S.outbox)) S.outbox = [];
  const save = () => { try { localStorage.setItem(KEY, JSON.stringify(S)); } catch (e) { /* ignore */ } };

  // ---- tiny DOM helpers (text only: never parse HTML) ----
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  };
  const attrs = (e, a) => { for (const k in a) e.setAttribute(k, a[k]); return e; };
  const icon = (d) => {
    const NS = 'http://www.w3.org/2000/svg';
    const s = attrs(document.createElementNS(NS, 'svg'), { viewBox: '0 0 24 24', 'aria-hidden': 'true', focusable: 'false' });
    for (const p of d.split('|')) s.append(attrs(document.createElementNS(NS, 'path'), { d: p }));
    return s;
  };
  const button = (cls, label, text) => attrs(el('button', cls, text), label ? { type: 'button', 'aria-label': label } : { type: 'button' });

  // ---- build the UI inside a shadow root so host-page CSS can't reach it ----
  const host = el('leadbot-chat');
  const root = host.attachShadow({ mode: 'open' });
  const box = el('div', 'lb');
  box.hidden = true; // until widget.css has loaded, to avoid a flash of unstyled content
  const css = attrs(el('link'), { rel: 'stylesheet', href: ORIGIN + '/widget.css' });
  css.onload = css.onerror = () => { box.hidden = false; };

  const launcher = attrs(el('button', 'lb-launch'), { type: 'button', 'aria-controls': 'lb-panel', 'aria-expanded': 'false', 'aria-label': 'Open chat' });
  const badge = attrs(el('span', 'lb-badge'), { 'aria-hidden': 'true' });
  badge.hidden = true;
  launcher.append(icon(ICON_CHAT), icon(ICON_X), badge);

  const panel = attrs(el('section', 'lb-panel'), { id: 'lb-panel', role: 'dialog', 'aria-labelledby': 'lb-title' });
  const head = el('header', 'lb-head');
  const avatar = el('span', 'lb-av');
  avatar.append(icon(ICON_CHAT));
  const heading = el('div', 'lb-tt');
  heading.append(attrs(el('h2', 'lb-title', TITLE), { id: 'lb-title' }), el('p', 'lb-sub', 'We usually reply in a few minutes'));
  const closer = button('lb-x', 'Close chat');
  closer.append(icon(ICON_X));
  head.append(avatar, heading, closer);

  const list = attrs(el('ol', 'lb-list'), { 'aria-live': 'polite', 'aria-label': 'Messages', tabindex: '0' });
  const typing = attrs(el('div', 'lb-typing'), { role: 'status' });
  const typingLabel = el('span', 'lb-sr');
  typing.append(typingLabel, el('i'), el('i'), el('i'));
  typing.hidden = true;
  const status = attrs(el('div', 'lb-status'), { role: 'status' });
  const chips = attrs(el('div', 'lb-chips'), { role: 'group', 'aria-label': 'Suggested replies' });
  const form = el('form', 'lb-form');
  const input = attrs(el('input', 'lb-input'), {
    type: 'text', maxlength: MAX, 'aria-label': 'Your message', enterkeyhint: 'send', autocomplete: 'off',
  });
  const sender = attrs(el('button', 'lb-send'), { type: 'submit', 'aria-label': 'Send' });
  sender.append(icon(ICON_SEND));
  const clip = button('lb-clip', 'Attach a file');
  clip.append(icon(ICON_CLIP));
  const picker = attrs(el('input'), { type: 'file', multiple: '', hidden: '' });
  form.append(clip, input, sender, picker);
  // The flow's consent text (hello.consent), shown as text, until the visitor accepts it.
  const consent = attrs(el('div', 'lb-consent'), { role: 'group', 'aria-label': 'Consent' });
  const consentText = el('p');
  const accept = button('lb-accept');
  accept.onclick = () => post({ type: 'consent' });
  consent.append(consentText, accept);
  consent.hidden = true;
  panel.append(head, list, typing, status, chips, consent, form, el('p', 'lb-foot', 'Powered by leadbot'));
  box.append(panel, launcher);
  root.append(css, box);
  const mount = () => document.body.append(host);
  if (document.body) mount();
  else addEventListener('DOMContentLoaded', mount);

  // ---- rendering ----
  const seen = new Set(); // seqs already on screen
  const pending = new Map(); // client id -> <li> awaiting its ack
  let last = 0; // highest message seq received on this page (resume point)
  let isOpen = false;
  let unread = 0;
  let typingTimer;
  let draft = null; // the bot's reply while the model writes it (delta frames); its message replaces it

  const scroll = () => { list.scrollTop = list.scrollHeight; };
  // Quick replies, the status line, the typing dots or a phone keyboard take room from the
  // list: keep the newest message in view.
  if (window.ResizeObserver) new ResizeObserver(scroll).observe(list);

  // Files are signed links to our server: pictures as thumbnails, anything else as a link.
  const attach = (li, files) => {
    for (const f of files || []) {
      if (!/^\/attachments\/[0-9a-f]+\?/.test(f.url)) continue;
      const a = attrs(el('a', 'lb-file'), { href: ORIGIN + f.url, target: '_blank', rel: 'noopener' });
      if (/^image\/(png|jpeg|gif|webp)$/.test(f.type)) a.append(attrs(el('img'), { src: ORIGIN + f.url, alt: f.name }));
      else a.textContent = f.name;
      li.append(a);
    }
    return li;
  };

  const bubble = (from, text, author, files) => {
    if (from === 'system') return el('li', 'lb-note', text); // "Dana joined the conversation."
    const li = el('li', 'lb-m lb-' + (from === 'visitor' || from === 'agent' ? from : 'bot'));
    li.append(el('span', 'lb-who', from === 'visitor' ? 'You' : from === 'agent' ? author || 'Agent' : BOT));
    if (text) li.append(el('span', 'lb-txt', text));
    return attach(li, files);
  };

  // Keep the list in seq order; messages still waiting for their ack stay at the bottom.
  const place = (li, seq) => {
    li.dataset.seq = seq;
    let ref = null;
    for (const c of list.children) {
      if (c.dataset.seq ? +c.dataset.seq > seq : c.classList.contains('lb-pending')) { ref = c; break; }
    }
    list.insertBefore(li, ref);
    scroll();
  };

  const showPending = (m) => {
    const li = bubble('visitor', m.text);
    li.classList.add('lb-pending');
    pending.set(m.id, li);
    list.append(li);
    scroll();
  };

  const note = (text, isError) => {
    const lastChild = list.lastElementChild;
    if (lastChild && lastChild.classList.contains('lb-note') && lastChild.textContent === text) return;
    list.append(el('li', isError ? 'lb-note lb-err' : 'lb-note', text));
    scroll();
  };

  const hideTyping = () => { typing.hidden = true; clearTimeout(typingTimer); };

  // The latest bot/agent message's `expects` shapes the input and offers quick replies.
  const hint = (x) => {
    const choices = (x && x.choices) || [];
    const [mode, auto, placeholder] = HINTS[x && x.input] ||
      ['text', AUTOCOMPLETE[x && x.slot] || 'off', choices.length ? 'Pick an option or type…' : 'Type a message…'];
    attrs(input, { inputmode: mode, autocomplete: auto, placeholder });
    chips.textContent = '';
    for (const c of choices) {
      const b = button('lb-chip', '', c);
      b.onclick = () => {
        const keyboard = b.matches(':focus-visible');
        send(c); // removes the quick replies
        if (keyboard) input.focus(); // keyboard users keep their place
      };
      chips.append(b);
    }
  };

  const setUnread = (n) => {
    unread = n;
    badge.textContent = n > 9 ? '9+' : n;
    badge.hidden = !n;
    launcher.setAttribute('aria-label', isOpen ? 'Close chat' : n ? `Open chat (${n} unread)` : 'Open chat');
  };

  const reset = () => { // the server started a new conversation: drop what belongs to the old one
    list.textContent = '';
    seen.clear();
    pending.clear();
    last = 0;
    S.outbox.forEach(showPending);
  };

  // ---- the socket ----
  let ws = null;
  let ready = false; // hello received on the current socket
  let started = false;
  let attempt = 0; // reconnect attempts since the last connection that lasted
  let helloAt = 0;
  let retryTimer;
  let limitTimer;
  let hold = 0; // ms the server asked us to wait before starting a conversation (rate_limited)
  let typedAt = 0;

  const post = (frame) => { if (ready) ws.send(JSON.stringify(frame)); };
  const flush = () => { for (const m of S.outbox) post({ type: 'message', id: m.id, text: m.text }); };

  const connect = () => {
    started = true;
    if (ws) return;
    clearTimeout(retryTimer);
    const q = new URLSearchParams();
    if (S.token) {
      q.set('token', S.token);
      q.set('after_seq', last); // 0 on a fresh page load: replay the whole history
    }
    if (FLOW) q.set('flow', FLOW);
    const sock = ws = new WebSocket(ORIGIN.replace(/^http/, 'ws') + '/ws/chat?' + q);
    sock.onmessage = (e) => {
      let d;
      try { d = JSON.parse(e.data); } catch (err) { return; }
      if (d && sock === ws) handle(d);
    };
    sock.onclose = () => {
      if (sock !== ws) return;
      if (ready && Date.now() - helloAt > 10000) attempt = 0; // back off again only if it keeps dropping
      ws = null;
      ready = false;
      hideTyping();
      status.textContent = hold ? '' : 'Reconnecting…';
      const delay = Math.min(30000, 500 * 2 ** attempt++); // 0.5 s doubling up to 30 s, with jitter
      retryTimer = setTimeout(connect, hold || delay / 2 + Math.random() * delay / 2);
      hold = 0;
    };
  };

  const handle = (d) => {
    switch (d.type) {
      case 'hello':
        if (S.cid && S.cid !== d.conversation_id) reset();
        S.token = d.visitor_token;
        S.cid = d.conversation_id;
        save();
        ready = true;
        helloAt = Date.now();
        status.textContent = '';
        consent.hidden = !d.consent;
        if (d.consent) { consentText.textContent = d.consent.text; accept.textContent = d.consent.button || 'Accept'; }
        sendVisits(); // before any message: where this visitor came from
        flush(); // same client ids: the server acks duplicates but processes them once
        break;
      case 'delta': // LLM mode: the reply as it is written; the `message` frame that follows is final
        if (d.reset && draft) { draft.remove(); draft = null; }
        if (!d.text) break;
        if (!draft) {
          draft = bubble('bot', '');
          draft.classList.add('lb-pending');
          draft.append(el('span', 'lb-txt', ''));
          list.append(draft);
          hideTyping();
        }
        draft.lastChild.textContent += String(d.text);
        scroll();
        break;
      case 'message':
        if (d.from === 'bot' && draft) { draft.remove(); draft = null; }
        if (typeof d.seq !== 'number' || seen.has(d.seq)) return;
        seen.add(d.seq);
        place(bubble(d.from, String(d.text == null ? '' : d.text), d.author, d.attachments), d.seq);
        if (d.seq > last) {
          last = S.lastSeq = d.seq;
          save();
          hint(d.from === 'visitor' ? null : d.expects);
        }
        if (d.from !== 'visitor') {
          hideTyping();
          if (!isOpen) setUnread(unread + 1);
        }
        break;
      case 'ack': {
        S.outbox = S.outbox.filter((m) => m.id !== d.id);
        save();
        const li = pending.get(d.id);
        if (!li) return;
        pending.delete(d.id);
        li.classList.remove('lb-pending');
        if (seen.has(d.seq)) li.remove(); // already shown by a replay
        else { seen.add(d.seq); place(li, d.seq); }
        break;
      }
      case 'consent': // accepted (here or in another tab): what waited goes out now
        if (consent.contains(root.activeElement)) input.focus();
        consent.hidden = true;
        sendVisits(); // not kept before consent: send them again
        flush();
        break;
      case 'typing':
        typingLabel.textContent = (d.from === 'agent' ? d.author || 'Agent' : BOT) + ' is typing';
        typing.hidden = false;
        clearTimeout(typingTimer);
        typingTimer = setTimeout(hideTyping, 8000);
        scroll();
        break;
      case 'error':
        if (d.code === 'not_found' && S.token) { // unknown or expired conversation: start a new one
          delete S.token;
          save();
          attempt = 0;
          ws.close();
          return;
        }
        if (d.code === 'consent_required') consent.hidden = false; // kept in the outbox until accepted
        else if (d.code === 'rate_limited' || d.code === 'unavailable') { // nothing stored: keep the outbox, retry
          const wait = (d.retry_after || 5) * 1000;
          if (!ready) { hold = wait; note(ERRORS.busy, true); break; } // no conversation yet; the socket closes
          clearTimeout(limitTimer);
          limitTimer = setTimeout(flush, wait);
        } else if (d.id && S.outbox.some((m) => m.id === d.id)) { // a rejected message: stop resending it
          S.outbox = S.outbox.filter((m) => m.id !== d.id);
          save();
          const li = pending.get(d.id);
          if (li) li.classList.replace('lb-pending', 'lb-failed');
        }
        note(ERRORS[d.code] || d.message || 'Something went wrong.', true);
        break;
      case 'queue': // waiting for a person: the place in line, live; null once someone joins
        status.textContent = d.position ? (d.position === 1 ? "You're next in line." : `You're number ${d.position} in line.`) : '';
        break;
      case 'event':
        if (d.name === 'agent_joined') note(`${d.author || 'An agent'} joined the chat`);
        if (d.name === 'agent_left') note(`${d.author || 'The agent'} left the chat`);
        break;
      default: // unknown frame types are ignored
    }
  };

  // ---- sending ----
  const newId = () => (crypto.randomUUID ? crypto.randomUUID() : Date.now().toString(36) + Math.random().toString(36).slice(2));

  function send(raw) {
    const text = raw.trim();
    if (!text) return false;
    if (text.length > MAX) { note(ERRORS.too_long, true); return false; }
    const m = { id: newId(), text };
    S.outbox.push(m);
    save();
    showPending(m);
    hint(null);
    if (ready) post({ type: 'message', id: m.id, text });
    else connect();
    return true;
  }

  // ---- open / close ----
  const setOpen = (open, moveFocus) => {
    isOpen = open;
    S.open = open;
    save();
    box.classList.toggle('lb-on', open);
    launcher.setAttribute('aria-expanded', open);
    setUnread(open ? 0 : unread);
    if (open) {
      connect();
      scroll();
      if (moveFocus) input.focus();
    } else if (moveFocus) launcher.focus();
  };

  launcher.onclick = () => setOpen(!isOpen, true);
  closer.onclick = () => setOpen(false, true);
  box.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && isOpen) { e.stopPropagation(); setOpen(false, true); }
  });
  form.onsubmit = (e) => {
    e.preventDefault();
    if (send(input.value)) input.value = '';
  };
  clip.onclick = () => picker.click();
  picker.onchange = async () => { // files go over HTTP (with what is typed as their caption), then show at their seq
    if (!picker.files.length || !S.token) return;
    const body = new FormData();
    const text = input.value.trim();
    body.append('id', newId());
    body.append('text', text);
    for (const f of picker.files) body.append('file', f);
    picker.value = input.value = '';
    try {
      const r = await fetch(ORIGIN + '/ws/chat/upload?token=' + encodeURIComponent(S.token), { method: 'POST', body });
      const d = await r.json();
      if (!r.ok) return note(d.message || ERRORS.file, true);
      if (!seen.has(d.seq)) { seen.add(d.seq); place(bubble('visitor', text, null, d.attachments), d.seq); }
    } catch { note(ERRORS.file, true); }
  };
  input.oninput = () => {
    if (ready && input.value && Date.now() - typedAt > 3000) {
      typedAt = Date.now();
      post({ type: 'typing' });
    }
  };
  document.addEventListener('click', (e) => {
    if (e.target.closest && e.target.closest('[data-leadbot-open]')) { e.preventDefault(); setOpen(true, true); }
  });
  addEventListener('online', () => {
    if (started && !ws) { attempt = 0; connect(); }
  });

  // ---- visits: where the visitor came from (docs/protocol.md, "Visits") ----
  // Arriving from another site, an ad's UTM link or typed in starts a visit; a link within the
  // site, a reload or Back continues the last one. The newest 5 (30 days) go after each hello.
  const page = new URL(location.href);
  page.hash = '';
  const utm = {};
  for (const k of ['source', 'medium', 'campaign', 'term', 'content']) utm[k] = (page.searchParams.get('utm_' + k) || '').slice(0, 200) || null;
  let from = '';
  try { from = new URL(document.referrer).host; } catch (e) { /* no referrer */ }
  const nav = (performance.getEntriesByType && performance.getEntriesByType('navigation')[0]) || {};
  S.visits = (S.visits || []).filter((v) => Date.now() - v.t < 2592e6);
  if (!S.visits.length || (!/reload|back_forward/.test(nav.type) && (from !== page.host || Object.values(utm).some(Boolean)))) {
    S.visits = [...S.visits, { id: newId(), t: Date.now(), utm, referrer: document.referrer.slice(0, 2000), landing_page: page.href.slice(0, 2000) }].slice(-5);
    save();
  }
  function sendVisits() {
    for (const v of S.visits) post({ ...v, t: undefined, type: 'visit', age: Math.max(0, Math.round((Date.now() - v.t) / 1000)) });
  }

  window.leadbot = { open: () => setOpen(true, true), close: () => setOpen(false, false) };
  hint(null);
  S.outbox.forEach(showPending);
  if (S.token && S.open) setOpen(true, false); // a reload re-opens the conversation and replays it
})();
