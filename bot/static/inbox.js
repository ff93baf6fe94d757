/* leadbot agent inbox. Plain JavaScript, no dependencies, no build step.
 *
 * Live state comes over the agent socket /ws/inbox (docs/handoff.md); actions go through the
 * agent API with the session's CSRF token. Visitors write most of what is shown here — messages,
 * names, company names — so everything is rendered as text: textContent and text nodes only,
 * never markup. The page's Content-Security-Policy refuses inline script and styles as well. */
(() => {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const shell = $('inbox');
  if (!shell) return;

  const IS_ADMIN = shell.dataset.role === 'admin';
  const MAX = Number(shell.dataset.maxChars) || 4000;
  const KEY = 'leadbot:inbox:';
  const TYPING_SHOWN_MS = 6000;
  const TYPING_EVERY_MS = 2500;
  const REASON_CHIPS = {
    requested: 'Asked for a person',
    qualified: 'Qualified',
    not_understood: 'Bot was stuck',
    transferred: 'Transferred',
  };
  const ENDED = {
    expired: 'The offer expired; it went to the next agent.',
    taken: 'Another agent took the conversation you were offered.',
    agent_left: 'Your offers were withdrawn while you were away.',
  };

  // ---- tiny DOM helpers: text only, never HTML ----
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
  const storage = (area) => ({
    get: (k) => { try { return window[area].getItem(KEY + k); } catch (e) { return null; } },
    set: (k, v) => { try { window[area].setItem(KEY + k, v); } catch (e) { /* storage unavailable */ } },
    del: (k) => { try { window[area].removeItem(KEY + k); } catch (e) { /* storage unavailable */ } },
  });
  const local = storage('localStorage');
  const session = storage('sessionStorage');

  // ---- state ----
  const S = {
    me: null,
    presence: 'online',
    queues: null,
    offers: new Map(), // conversation id -> expires_at (ms, server clock)
    openId: null,
    conv: null, // the open conversation's package
    seen: new Set(), // seqs of the open conversation on screen
    unread: new Set(),
    typing: new Map(), // conversation id -> {until, who}
    skew: 0, // server clock minus ours, ms
    knownWaiting: null, // ids in the last waiting list (null until the first one)
    knownMine: null,
    claimedHere: new Set(), // claimed from this tab: no alert when they land in Mine
    alerted: new Set(),
    mode: 'reply',
    canned: [],
  };
  const now = () => Date.now() + S.skew;
  const at = (iso) => (iso ? Date.parse(iso) : NaN);
  const syncClock = (iso) => { const t = at(iso); if (!Number.isNaN(t)) S.skew = t - Date.now(); };

  // ---- formatting ----
  const two = (n) => String(n).padStart(2, '0');
  const duration = (ms) => {
    const s = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    return h ? `${h}:${two(m)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
  };
  const clockTime = (iso) => {
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  };
  const titleOf = (c) => (c.lead && (c.lead.name || c.lead.company || c.lead.email)) || `Visitor ${c.id.slice(-4)}`;
  const subtitleOf = (c) => {
    const lead = c.lead || {};
    const parts = [];
    if (lead.name && lead.company) parts.push(lead.company);
    if (lead.email && (lead.name || lead.company)) parts.push(lead.email);
    return parts.join(' · ') || `${c.channel} chat`;
  };
  const capital = (s) => (s ? s[0].toUpperCase() + s.slice(1) : s);
  const tempBadge = (lead, cls) => {
    const t = (lead && lead.temperature) || 'cold';
    const b = el('span', `temp temp-${['hot', 'warm'].includes(t) ? t : 'cold'} ${cls || ''}`.trim());
    b.append(el('span', 'temp-word', capital(t)), el('span', 'temp-score', lead ? lead.score : 0));
    b.title = `Score ${lead ? lead.score : 0}, grade ${lead ? lead.grade : '–'}`;
    return b;
  };
  const statusText = (c) => {
    if (c.mode === 'pending_human') {
      return c.position ? `Waiting · #${c.position} in ${c.team || 'the queue'}` : 'Waiting';
    }
    if (c.mode === 'human') {
      if (c.agent && S.me && c.agent.id === S.me.id) return 'With you';
      return `With ${c.agent ? c.agent.name : 'an agent'}`;
    }
    if (c.mode === 'closed') {
      const value = c.outcome_value != null ? ` · ${Number(c.outcome_value).toLocaleString()}` : '';
      return c.outcome ? `Closed · ${c.outcome}${value}` : 'Closed';
    }
    return 'With the bot';
  };

  // ---- notices ----
  const toasts = $('toasts');
  const toast = (text, kind) => {
    const t = el('div', `toast toast-${kind || 'error'}`);
    t.setAttribute('role', kind === 'info' ? 'status' : 'alert');
    const close = button('toast-x', '×', () => t.remove());
    close.setAttribute('aria-label', 'Dismiss');
    t.append(el('p', 'toast-text', text), close);
    toasts.append(t);
    setTimeout(() => t.remove(), kind === 'info' ? 5000 : 9000);
  };

  // ---- the API ----
  const { api, ApiError, signIn } = window.leadbotApi; // /static/api.js
  const act = async (method, path, body) => {
    try {
      return await api(method, path, body);
    } catch (e) {
      if (e.status !== 401) toast(e.message);
      return undefined;
    }
  };
  const convPath = (id, action) => `/api/conversations/${encodeURIComponent(id)}/${action}`;

  // ---- alerts: a chime and, when the page is not in front, a desktop notification ----
  let audio = null;
  let soundOn = local.get('sound') !== 'off';
  const soundToggle = $('sound-toggle');
  const showSound = () => {
    soundToggle.setAttribute('aria-pressed', String(soundOn));
    soundToggle.textContent = soundOn ? 'Sound on' : 'Sound off';
  };
  soundToggle.addEventListener('click', () => {
    soundOn = !soundOn;
    local.set('sound', soundOn ? 'on' : 'off');
    showSound();
    if (soundOn) chime();
  });
  const unlockAudio = () => {
    // Browsers start audio only after a gesture: make the context on the first one.
    try {
      if (!audio && (window.AudioContext || window.webkitAudioContext)) audio = new (window.AudioContext || window.webkitAudioContext)();
      if (audio && audio.state === 'suspended') audio.resume();
    } catch (e) { audio = null; }
  };
  document.addEventListener('pointerdown', unlockAudio);
  document.addEventListener('keydown', unlockAudio);
  function chime() {
    if (!soundOn || !audio || audio.state !== 'running') return;
    const t = audio.currentTime;
    [[880, 0], [1318.5, 0.12]].forEach(([freq, delay]) => {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = 'sine';
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, t + delay);
      gain.gain.exponentialRampToValueAtTime(0.18, t + delay + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + delay + 0.35);
      osc.connect(gain).connect(audio.destination);
      osc.start(t + delay);
      osc.stop(t + delay + 0.4);
    });
  }
  const notifyButton = $('notify-button');
  const canNotify = () => 'Notification' in window;
  const showNotify = () => { notifyButton.hidden = !canNotify() || Notification.permission !== 'default'; };
  notifyButton.addEventListener('click', async () => {
    // Asked only when the agent clicks: a permission prompt out of the blue gets denied.
    try { await Notification.requestPermission(); } catch (e) { /* older browsers: callback form, ignored */ }
    showNotify();
  });
  const alertFor = (id, heading, body) => {
    if (S.alerted.has(id)) return;
    S.alerted.add(id);
    chime();
    if (canNotify() && Notification.permission === 'granted' && (document.hidden || !document.hasFocus())) {
      try {
        const n = new Notification(heading, { body, tag: `leadbot-${id}` });
        n.onclick = () => { window.focus(); openConversation(id); n.close(); };
      } catch (e) { /* notifications unavailable here (e.g. some mobile browsers) */ }
    }
  };

  // ---- the socket ----
  let ws = null;
  let attempt = 0;
  let helloSeen = false;
  const connection = $('connection');
  const setConnection = (state, text) => { connection.dataset.state = state; connection.textContent = text; };
  const post = (frame) => { if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame)); };

  const connect = () => {
    const sock = new WebSocket(location.origin.replace(/^http/, 'ws') + '/ws/inbox');
    ws = sock;
    helloSeen = false;
    sock.onmessage = (e) => {
      let frame;
      try { frame = JSON.parse(e.data); } catch (err) { return; }
      if (sock === ws && frame && typeof frame === 'object') handle(frame);
    };
    sock.onclose = async (e) => {
      if (sock !== ws) return;
      ws = null;
      if (e.code === 4401) { signIn(); return; }
      setConnection('offline', 'Reconnecting…');
      if (!helloSeen && attempt > 0) {
        // Refused before the hello, more than once: maybe the sign-in ended.
        try {
          const probe = await fetch('/api/canned-replies', { credentials: 'same-origin' });
          if (probe.status === 401) { signIn(); return; }
        } catch (err) { /* offline: keep trying */ }
      }
      const delay = Math.min(30000, 500 * 2 ** attempt++);
      setTimeout(connect, delay / 2 + Math.random() * delay / 2);
    };
  };

  const handle = (d) => {
    switch (d.type) {
      case 'hello':
        helloSeen = true;
        attempt = 0;
        S.me = d.agent;
        syncClock(d.now);
        setPresence(d.presence);
        S.offers = new Map((d.offers || []).map((o) => [o.conversation_id, at(o.expires_at)]));
        setConnection('live', 'Live');
        if (S.openId) openConversation(S.openId, { reopen: true });
        else if (location.hash.length > 1) openConversation(decodeURIComponent(location.hash.slice(1)));
        renderOffers();
        break;
      case 'queues':
        syncClock(d.now);
        onQueues(d);
        break;
      case 'offer':
        if (d.ended) {
          S.offers.delete(d.conversation_id);
          if (ENDED[d.ended]) toast(ENDED[d.ended], 'info');
        } else {
          S.offers.set(d.conversation_id, at(d.expires_at));
          const card = findCard(d.conversation_id);
          alertFor(d.conversation_id, 'A conversation is offered to you', card ? `${titleOf(card)} — ${card.reason || 'waiting'}` : 'Accept it in the inbox.');
        }
        renderOffers();
        break;
      case 'conversation':
        if (d.conversation && d.conversation.id === S.openId) renderConversation(d.conversation);
        break;
      case 'message':
        if (d.conversation_id === S.openId) addMessage(d);
        break;
      case 'delivery': // { conversation_id, seq, delivery, delivery_error }
        if (d.conversation_id === S.openId) updateDelivery(d);
        break;
      case 'attachments': // { conversation_id, seq, attachments }
        if (d.conversation_id === S.openId) updateAttachments(d);
        break;
      case 'activity':
        if (d.conversation_id !== S.openId && d.from === 'visitor') {
          S.unread.add(d.conversation_id);
          S.typing.delete(d.conversation_id);
          renderLists();
        }
        break;
      case 'typing':
        S.typing.set(d.conversation_id, { until: Date.now() + TYPING_SHOWN_MS, from: d.from, author: d.author });
        showTyping();
        renderLists();
        break;
      case 'presence':
        setPresence(d.status);
        break;
      case 'conversation_removed': // erased (docs/privacy.md): nothing of it stays on screen
        if (d.conversation_id === S.openId) {
          transcript.replaceChildren();
          closeView();
          toast('This conversation was erased.', 'info');
        }
        break;
      case 'error':
        toast(d.message || 'The server refused that.');
        break;
      default: // newer frame types are ignored
    }
  };

  // ---- presence ----
  const presenceInputs = document.querySelectorAll('input[name="presence"]');
  function setPresence(status) {
    S.presence = status === 'away' ? 'away' : 'online';
    for (const input of presenceInputs) input.checked = input.value === S.presence;
    shell.dataset.presence = S.presence;
  }
  for (const input of presenceInputs) {
    input.addEventListener('change', () => { if (input.checked) post({ type: 'presence', status: input.value }); });
  }

  // ---- lists ----
  const lists = {
    waiting: [$('waiting-list'), $('waiting-count'), $('waiting-empty')],
    mine: [$('mine-list'), $('mine-count'), $('mine-empty')],
    all_open: [$('all-list'), $('all-count'), $('all-empty')],
  };
  const findCard = (id) => {
    if (!S.queues) return null;
    for (const key of ['waiting', 'mine', 'all_open']) {
      const found = (S.queues[key] || []).find((c) => c.id === id);
      if (found) return found;
    }
    return null;
  };

  function onQueues(q) {
    S.queues = q;
    S.offers = new Map((q.offers || []).map((o) => [o.conversation_id, at(o.expires_at)]));
    const waiting = new Set(q.waiting.map((c) => c.id));
    if (S.knownWaiting) {
      for (const c of q.waiting) {
        if (!S.knownWaiting.has(c.id)) alertFor(c.id, 'New conversation waiting', `${titleOf(c)} — ${c.reason || 'handed off'}`);
      }
    }
    S.knownWaiting = waiting;
    const mine = new Set(q.mine.map((c) => c.id));
    if (S.knownMine) {
      for (const c of q.mine) {
        if (!S.knownMine.has(c.id) && !S.claimedHere.has(c.id)) alertFor(c.id, 'A conversation was transferred to you', titleOf(c));
      }
    }
    S.knownMine = mine;
    for (const id of S.alerted) if (!waiting.has(id) && !S.offers.has(id)) S.alerted.delete(id);
    renderLists();
    renderOffers();
  }

  const cardMeta = (c, section) => {
    const meta = el('span', 'card-meta');
    if (section === 'waiting' || c.mode === 'pending_human') {
      if (c.reason) meta.append(el('span', `chip chip-${c.handoff_reason || 'none'}`, REASON_CHIPS[c.handoff_reason] || c.reason));
      const line = c.position ? `#${c.position} · ${c.team || 'queue'}` : c.team || 'queue';
      meta.append(el('span', 'chip chip-team', line));
      if (c.offer && (!S.me || c.offer.agent_id !== S.me.id)) {
        meta.append(el('span', 'chip chip-offered', `Offered to ${c.offer.agent_name || 'an agent'}`));
      }
    } else if (c.mode === 'human') {
      if (section !== 'mine') meta.append(el('span', 'chip chip-owner', c.agent ? c.agent.name : 'an agent'));
      if (c.team) meta.append(el('span', 'chip chip-team', c.team));
    } else if (c.mode === 'bot') {
      meta.append(el('span', 'chip chip-bot', 'With the bot'));
    }
    return meta;
  };

  const cardFor = (c, section) => {
    const li = el('li');
    const b = button('lead-card', null, () => openConversation(c.id));
    b.dataset.id = c.id;
    if (c.id === S.openId) b.setAttribute('aria-current', 'true');
    const top = el('span', 'card-top');
    top.append(el('span', 'card-name', titleOf(c)), tempBadge(c.lead));
    const sub = el('span', 'card-sub');
    sub.append(el('span', 'card-sub-text', subtitleOf(c)));
    if (c.mode === 'pending_human' && c.queued_at) {
      const wait = el('span', 'wait', duration(now() - at(c.queued_at)));
      wait.dataset.since = String(at(c.queued_at));
      wait.title = 'Waiting for';
      sub.append(wait);
    }
    b.append(top, sub, cardMeta(c, section));
    const typing = S.typing.get(c.id);
    if (typing && typing.from === 'visitor' && typing.until > Date.now()) b.append(el('span', 'card-typing', 'typing…'));
    if (S.unread.has(c.id)) {
      b.classList.add('card-unread');
      b.append(el('span', 'sr-only', ' (new message)'));
    }
    li.append(b);
    return li;
  };

  function renderLists() {
    if (!S.queues) return;
    const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest('.lead-card');
    const focusId = focused ? focused.dataset.id : null;
    const focusSection = focused ? focused.closest('.cards').id : null;
    for (const [key, [list, count, empty]] of Object.entries(lists)) {
      if (!list) continue;
      const items = S.queues[key] || [];
      list.replaceChildren(...items.map((c) => cardFor(c, key === 'all_open' ? 'all' : key)));
      count.textContent = String(items.length);
      empty.hidden = items.length > 0;
    }
    if (focusId) {
      const again = document.querySelector(`#${focusSection} .lead-card[data-id="${CSS.escape(focusId)}"]`);
      if (again) again.focus();
    }
    document.title = `${S.queues.waiting.length ? `(${S.queues.waiting.length}) ` : ''}Inbox · leadbot`;
  }

  // ---- offers ----
  const offersSection = $('offers-section');
  const offersList = $('offers-list');
  let shownOffers = new Set();
  function renderOffers() {
    const offers = [...S.offers.entries()].sort((a, b) => a[1] - b[1]);
    const before = shownOffers;
    shownOffers = new Set(offers.map(([id]) => id));
    offersSection.hidden = offers.length === 0;
    $('offers-count').textContent = String(offers.length);
    offersList.replaceChildren(...offers.map(([id, until]) => {
      const c = findCard(id) || { id, channel: 'web', lead: null, mode: 'pending_human' };
      const li = el('li', before.has(id) ? 'offer' : 'offer offer-new'); // only new ones slide in
      const open = button('offer-open', null, () => openConversation(id));
      const top = el('span', 'card-top');
      top.append(el('span', 'card-name', titleOf(c)), tempBadge(c.lead));
      const sub = el('span', 'card-sub');
      sub.append(el('span', 'card-sub-text', [subtitleOf(c), REASON_CHIPS[c.handoff_reason]].filter(Boolean).join(' · ')));
      open.append(top, sub);
      const timer = el('div', 'offer-timer');
      const total = Math.max(1, until - now());
      const bar = el('progress', 'offer-bar');
      bar.max = 100;
      bar.value = 100;
      bar.dataset.until = String(until);
      bar.dataset.total = String(total);
      bar.setAttribute('aria-label', 'Time left to accept');
      const left = el('span', 'offer-left', `${Math.ceil((until - now()) / 1000)} s`);
      left.dataset.until = String(until);
      timer.append(bar, left);
      const actions = el('div', 'offer-actions');
      actions.append(
        button('button button-primary button-small', 'Accept', () => claim(id)),
        button('button button-small', 'Decline', () => decline(id)),
      );
      li.append(open, timer, actions);
      return li;
    }));
  }

  // ---- the ticker: wait times, countdowns, typing that went quiet ----
  setInterval(() => {
    const t = now();
    for (const node of document.querySelectorAll('[data-since]')) node.textContent = duration(t - Number(node.dataset.since));
    for (const node of document.querySelectorAll('[data-until]')) {
      const left = Number(node.dataset.until) - t;
      if (node.tagName === 'PROGRESS') node.value = Math.max(0, Math.min(100, (100 * left) / Number(node.dataset.total)));
      else node.textContent = `${Math.max(0, Math.ceil(left / 1000))} s`;
    }
    let expired = false;
    for (const [id, typing] of S.typing) {
      if (typing.until <= Date.now()) { S.typing.delete(id); expired = true; }
    }
    if (expired) { showTyping(); renderLists(); }
  }, 1000);

  // ---- the open conversation ----
  const packageBox = $('package');
  // Open or folded, as the agent last left it.
  packageBox.open = local.get('package') !== 'folded';
  packageBox.addEventListener('toggle', () => local.set('package', packageBox.open ? 'open' : 'folded'));
  const stageEmpty = $('stage-empty');
  const conversation = $('conversation');
  const transcript = $('transcript');
  const body = $('conv-body');
  const typingLine = $('typing');

  function openConversation(id, options) {
    if (!id) return;
    const reopen = options && options.reopen;
    if (id !== S.openId || reopen) {
      saveDraft();
      S.openId = id;
      S.conv = null;
      S.seen.clear();
      transcript.replaceChildren();
      $('conv-name').textContent = 'Loading…';
      $('conv-sub').textContent = '';
      $('conv-status').textContent = '';
      loadDraft();
    }
    S.unread.delete(id);
    shell.classList.add('has-open');
    stageEmpty.hidden = true;
    conversation.hidden = false;
    if (location.hash.slice(1) !== encodeURIComponent(id)) history.replaceState(null, '', '#' + encodeURIComponent(id));
    post({ type: 'open', conversation_id: id });
    renderLists();
    showTyping();
  }

  const closeView = () => {
    saveDraft();
    S.openId = null;
    S.conv = null;
    shell.classList.remove('has-open');
    conversation.hidden = true;
    stageEmpty.hidden = false;
    history.replaceState(null, '', location.pathname);
    post({ type: 'open', conversation_id: null });
    renderLists();
  };
  $('conv-back').addEventListener('click', closeView);

  const show = (id, visible) => { $(id).hidden = !visible; };

  function renderConversation(c) {
    S.conv = c;
    $('conv-name').textContent = titleOf(c);
    $('conv-sub').textContent = [subtitleOf(c), c.flow ? c.flow.name : null].filter(Boolean).join(' · ');
    const status = $('conv-status');
    status.textContent = statusText(c);
    status.dataset.mode = c.mode;

    const a = c.actions || {};
    const offered = S.offers.has(c.id) || a.decline;
    show('act-claim', a.claim);
    $('act-claim').textContent = offered ? 'Accept' : c.mode === 'bot' ? 'Take over' : 'Claim';
    show('act-decline', a.decline);
    show('act-release', a.release);
    show('act-transfer', a.transfer);
    show('act-close', a.close);

    // The handoff package.
    const reason = $('pkg-reason');
    reason.textContent = c.reason || (c.mode === 'bot' ? 'Talking with the bot' : 'No handoff');
    reason.dataset.reason = c.handoff_reason || 'none';
    $('pkg-temp').replaceChildren(tempBadge(c.lead, 'temp-large'));
    $('pkg-summary').textContent = c.summary || '';
    $('pkg-slots').replaceChildren(...(c.slots || []).map((slot) => {
      const row = el('div', 'slot' + (slot.value == null ? ' slot-empty' : ''));
      const value = slot.value != null ? slot.value : slot.skipped ? 'skipped' : '—';
      row.append(el('dt', 'slot-title', slot.title), el('dd', 'slot-value', value));
      return row;
    }));
    const lead = c.lead || {};
    $('pkg-score').replaceChildren(
      el('strong', 'score-number', lead.score != null ? lead.score : 0),
      document.createTextNode(` · grade ${lead.grade || '–'} · ${lead.temperature || 'cold'}`),
    );
    $('pkg-score-reasons').replaceChildren(...((c.score_reasons || []).length
      ? c.score_reasons.map((r) => el('li', null, r))
      : [el('li', 'muted', 'No points yet')]));
    const facts = [
      ['Email', lead.email], ['Phone', lead.phone], ['Channel', c.channel], ['Lead status', lead.status],
    ];
    const w = c.whatsapp_window; // free text only within 24 h of the lead's last message
    if (w) facts.push(['WhatsApp', w.open ? `open until ${clockTime(w.closes_at)}` : 'closed: replies go as the approved template']);
    const m = c.llm; // LLM mode's spend on this conversation
    if (m) facts.push(['Model use', `${m.turns} turns · ${m.tokens} tokens · $${m.cost_usd.toFixed(4)}${m.failures ? ` · ${m.failures} failed calls` : ''}`]);
    $('pkg-contact').replaceChildren(...facts.map(([label, value]) => {
      const row = el('div', 'fact');
      row.append(el('dt', null, label), el('dd', value ? null : 'muted', value || 'not given'));
      return row;
    }));
    const routing = [];
    if (c.team) routing.push(`Team ${c.team}`);
    for (const r of c.routing_reasons || []) routing.push(r);
    if (c.queued_at) routing.push(`Queued at ${clockTime(c.queued_at)}`);
    $('pkg-routing').replaceChildren(...(routing.length ? routing : ['Not routed yet']).map((r) => el('li', null, r)));

    renderComposer();
    renderLists();
  }

  const whoWrote = (m) => {
    if (m.from === 'visitor') return (S.conv && S.conv.lead && S.conv.lead.name) || 'Visitor';
    if (m.from === 'bot') return 'Bot';
    return m.author || 'Agent';
  };

  // SMS, WhatsApp and email report how far a message got; the web widget does not.
  const DELIVERY = { queued: 'Queued', sent: 'Sent', delivered: 'Delivered', read: 'Read', failed: 'Not delivered', undelivered: 'Not delivered' };

  function showDelivery(status, m) {
    status.hidden = !m.delivery;
    if (!m.delivery) return;
    status.className = `msg-delivery msg-delivery-${m.delivery}`;
    status.textContent = DELIVERY[m.delivery] || m.delivery;
    status.title = m.delivery_error ? `Error: ${m.delivery_error}` : '';
  }

  // A delivery update for a message already shown (a `delivery` frame).
  function updateDelivery(d) {
    for (const li of transcript.children) {
      if (Number(li.dataset.seq) !== d.seq) continue;
      const status = li.querySelector('.msg-delivery');
      if (status) showDelivery(status, d);
    }
  }

  // Files under a message: pictures as thumbnails, anything else as a download link. Only
  // /attachments/<id> paths from the server are used as URLs, and names are set as text.
  function attachmentList(items) {
    const box = el('div', 'msg-files');
    for (const a of items || []) {
      if (typeof a.id !== 'string' || !/^[0-9a-f]+$/.test(a.id)) continue;
      const link = el('a', 'msg-file');
      link.href = `/attachments/${a.id}`;
      link.target = '_blank';
      link.rel = 'noopener noreferrer';
      link.title = `${a.filename} · ${a.content_type} · ${Math.ceil((a.size || 0) / 1024)} KB`;
      if (/^image\/(png|jpeg|gif|webp)$/.test(a.content_type)) {
        const img = document.createElement('img');
        img.className = 'msg-thumb';
        img.src = link.href;
        img.alt = a.filename;
        img.loading = 'lazy';
        link.append(img);
      } else {
        link.download = a.filename;
        link.textContent = `📎 ${a.filename}`;
      }
      box.append(link);
    }
    box.hidden = !box.children.length;
    return box;
  }

  // Media stored after their message was shown (an `attachments` frame).
  function updateAttachments(d) {
    for (const li of transcript.children) {
      if (Number(li.dataset.seq) !== d.seq) continue;
      const old = li.querySelector('.msg-files');
      if (old) old.replaceWith(attachmentList(d.attachments));
    }
  }

  function addMessage(m) {
    if (typeof m.seq !== 'number' || S.seen.has(m.seq)) return;
    S.seen.add(m.seq);
    const nearBottom = body.scrollHeight - body.scrollTop - body.clientHeight < 120;
    let li;
    if (m.from === 'system') {
      li = el('li', 'msg msg-system');
      li.append(el('span', 'msg-text', m.text));
    } else {
      li = el('li', `msg msg-${m.from === 'visitor' ? 'visitor' : m.from === 'bot' ? 'bot' : 'agent'}`);
      if (m.private) li.classList.add('msg-note');
      const head = el('div', 'msg-head');
      if (m.private) head.append(el('span', 'msg-flag', 'Private note'));
      if (m.meta && m.meta.follow_up) head.append(el('span', 'msg-flag', 'Follow-up'));
      head.append(el('span', 'msg-who', whoWrote(m)));
      const time = el('time', 'msg-time', clockTime(m.created_at));
      if (m.created_at) time.dateTime = m.created_at;
      head.append(time);
      const auth = m.auth || (m.meta && m.meta.auth);
      if (auth && auth.suspicious) head.append(el('span', 'msg-flag msg-flag-warn', 'Sender not verified'));
      li.append(head, el('p', 'msg-text', m.text), attachmentList(m.attachments));
      const status = el('span', 'msg-delivery');
      li.append(status);
      showDelivery(status, m);
    }
    li.dataset.seq = String(m.seq);
    let before = null;
    for (const child of transcript.children) {
      if (Number(child.dataset.seq) > m.seq) { before = child; break; }
    }
    transcript.insertBefore(li, before);
    const typing = S.typing.get(m.conversation_id);
    if (typing && typing.from === m.from) { S.typing.delete(m.conversation_id); showTyping(); }
    if (nearBottom || m.from === 'agent') body.scrollTop = body.scrollHeight;
  }

  function showTyping() {
    const typing = S.openId ? S.typing.get(S.openId) : null;
    if (!typing || typing.until <= Date.now()) { typingLine.hidden = true; return; }
    const who = typing.from === 'visitor' ? (S.conv && S.conv.lead && S.conv.lead.name) || 'The visitor'
      : typing.from === 'bot' ? 'The bot' : typing.author || 'An agent';
    typingLine.textContent = `${who} is typing…`;
    typingLine.hidden = false;
  }

  // ---- actions ----
  async function claim(id) {
    S.claimedHere.add(id);
    const done = await act('POST', convPath(id, 'claim'));
    if (done) {
      S.offers.delete(id);
      renderOffers();
      openConversation(id);
      setMode('reply');
      composerText.focus();
    }
  }
  async function decline(id) {
    if (await act('POST', convPath(id, 'decline'))) { S.offers.delete(id); renderOffers(); }
  }
  $('act-claim').addEventListener('click', () => S.openId && claim(S.openId));
  $('act-decline').addEventListener('click', () => S.openId && decline(S.openId));
  $('act-release').addEventListener('click', async () => {
    if (S.openId && await act('POST', convPath(S.openId, 'release'))) toast('Released: the bot carries on from here.', 'info');
  });

  // Transfer: to an agent (they own it at once) or a team (it queues there).
  const transferDialog = $('transfer-dialog');
  const transferAgent = $('transfer-agent');
  const transferTeam = $('transfer-team');
  const option = (value, text) => { const o = el('option', null, text); o.value = value; return o; };
  $('act-transfer').addEventListener('click', () => {
    const agents = ((S.queues && S.queues.agents) || []).filter((x) => !S.me || x.id !== S.me.id);
    transferAgent.replaceChildren(option('', 'Choose an agent…'), ...agents.map((x) => option(x.id, `${x.name} — ${x.presence}`)));
    transferTeam.replaceChildren(option('', 'Choose a team…'), ...((S.queues && S.queues.teams) || []).map((t) => option(t, t)));
    transferDialog.showModal();
  });
  transferAgent.addEventListener('change', () => { if (transferAgent.value) transferTeam.value = ''; });
  transferTeam.addEventListener('change', () => { if (transferTeam.value) transferAgent.value = ''; });
  transferDialog.addEventListener('close', async () => {
    if (transferDialog.returnValue !== 'transfer' || !S.openId) return;
    const target = transferAgent.value ? { agent: transferAgent.value } : transferTeam.value ? { team: transferTeam.value } : null;
    if (!target) { toast('Choose an agent or a team to transfer to.'); return; }
    if (await act('POST', convPath(S.openId, 'transfer'), target)) toast('Transferred.', 'info');
  });

  // Close as converted (with an optional value) or lost (with why: it is required then).
  const closeDialog = $('close-dialog');
  const closeValue = $('close-value');
  const closeReason = $('close-reason');
  const outcome = () => (document.querySelector('input[name="outcome"]:checked') || {}).value || 'converted';
  const showOutcome = () => {
    const lost = outcome() === 'lost';
    $('close-value-field').hidden = lost;
    $('close-reason-field').hidden = !lost;
    closeReason.required = lost;
  };
  for (const radio of document.querySelectorAll('input[name="outcome"]')) radio.addEventListener('change', showOutcome);
  $('act-close').addEventListener('click', () => {
    closeValue.value = closeReason.value = '';
    showOutcome();
    closeDialog.showModal();
  });
  closeDialog.addEventListener('close', async () => {
    if (closeDialog.returnValue !== 'close' || !S.openId) return;
    const payload = { outcome: outcome() };
    if (payload.outcome === 'converted' && closeValue.value.trim() !== '') {
      const value = Number(closeValue.value);
      if (!Number.isFinite(value) || value < 0) { toast('The deal value must be a number of 0 or more.'); return; }
      payload.value = value;
    }
    if (payload.outcome === 'lost') payload.reason = closeReason.value.trim();
    if (await act('POST', convPath(S.openId, 'close'), payload)) toast(`Closed as ${payload.outcome}.`, 'info');
  });

  // ---- the composer: replies and private notes; drafts survive switching and errors ----
  const composer = $('composer');
  const composerText = $('composer-text');
  const composerHint = $('composer-hint');
  const composerCount = $('composer-count');
  const sendButton = $('composer-send');
  const composerFiles = $('composer-files');
  const composerFileNames = $('composer-file-names');
  const showFiles = () => {
    composerFileNames.textContent = Array.from(composerFiles.files, (f) => f.name).join(', ');
  };
  composerFiles.addEventListener('change', showFiles);
  let typedAt = 0;
  const draftKey = () => `draft:${S.openId}:${S.mode}`;
  function saveDraft() {
    if (!S.openId) return;
    if (composerText.value) session.set(draftKey(), composerText.value);
    else session.del(draftKey());
  }
  function loadDraft() { composerText.value = (S.openId && session.get(draftKey())) || ''; countChars(); }
  const countChars = () => {
    const n = composerText.value.length;
    composerCount.textContent = n > MAX * 0.8 ? `${n} / ${MAX}` : '';
    // Grow with the text up to the stylesheet's max-height (CSSOM, which the CSP allows).
    composerText.style.height = 'auto';
    composerText.style.height = `${composerText.scrollHeight + 2}px`;
  };
  function setMode(mode) {
    if (mode === S.mode) return;
    saveDraft();
    S.mode = mode;
    loadDraft();
    renderComposer();
  }
  function renderComposer() {
    const note = S.mode === 'note';
    composer.dataset.mode = S.mode;
    $('tab-reply').setAttribute('aria-selected', String(!note));
    $('tab-note').setAttribute('aria-selected', String(note));
    $('composer-label').textContent = note ? 'Private note for the team' : 'Reply to the visitor';
    composerText.placeholder = note ? 'Write a note only agents see…' : 'Write a reply…';
    const a = (S.conv && S.conv.actions) || {};
    let hint = '';
    if (note) hint = 'Only agents see notes.';
    else if (S.conv && S.conv.opted_out) hint = 'The visitor opted out: nothing more can be sent.';
    else if (S.conv && !a.reply) hint = a.claim ? 'Claim it to reply.' : 'Only its owner replies.';
    composerHint.textContent = hint;
    sendButton.textContent = note ? 'Add note' : 'Send';
    sendButton.disabled = !note && !a.reply;
    composerFiles.disabled = note; // notes stay text; files go to the visitor with a reply
  }
  $('tab-reply').addEventListener('click', () => setMode('reply'));
  $('tab-note').addEventListener('click', () => setMode('note'));
  composerText.addEventListener('input', () => {
    saveDraft();
    countChars();
    const a = (S.conv && S.conv.actions) || {};
    if (S.mode === 'reply' && a.reply && composerText.value && Date.now() - typedAt > TYPING_EVERY_MS) {
      typedAt = Date.now();
      post({ type: 'typing', conversation_id: S.openId });
    }
  });
  composerText.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); composer.requestSubmit(); }
  });
  composer.addEventListener('submit', async (e) => {
    e.preventDefault();
    const id = S.openId;
    const mode = S.mode;
    const text = composerText.value.trim();
    const files = mode === 'reply' ? Array.from(composerFiles.files) : [];
    if (!id || (!text && !files.length) || sendButton.disabled) return;
    if (text.length > MAX) { toast(`That is longer than ${MAX} characters.`); return; }
    let body = { text };
    if (files.length) {
      body = new FormData();
      body.append('text', text);
      files.forEach((f) => body.append('file', f));
    }
    sendButton.disabled = true;
    const sent = await act('POST', convPath(id, mode === 'note' ? 'note' : 'reply'), body);
    if (sent && id === S.openId && mode === S.mode) {
      // Cleared only once stored: a refused reply stays in the box to try again.
      if (composerText.value.trim() === text) composerText.value = '';
      if (files.length) { composerFiles.value = ''; showFiles(); }
      saveDraft();
      countChars();
      addMessage({ ...sent, conversation_id: id });
    }
    renderComposer();
  });

  // ---- canned replies ----
  const cannedButton = $('canned-button');
  const cannedMenu = $('canned-menu');
  const cannedSearch = $('canned-search');
  const cannedList = $('canned-list');
  async function loadCanned() {
    const data = await act('GET', '/api/canned-replies');
    if (data) S.canned = data.items || [];
    renderCanned();
    renderCannedAdmin();
  }
  function renderCanned() {
    const q = cannedSearch.value.trim().toLowerCase();
    const items = S.canned.filter((r) => !q || r.title.toLowerCase().includes(q) || r.text.toLowerCase().includes(q));
    cannedList.replaceChildren(...items.map((r) => {
      const li = el('li');
      const pick = button('canned-item', null, () => useCanned(r));
      pick.append(el('span', 'canned-title', r.title), el('span', 'canned-text', r.text));
      li.append(pick);
      return li;
    }));
    $('canned-empty').hidden = items.length > 0;
    $('canned-empty').textContent = S.canned.length ? 'No canned reply matches.' : 'No canned replies yet.';
  }
  const setCannedOpen = (open) => {
    cannedMenu.hidden = !open;
    cannedButton.setAttribute('aria-expanded', String(open));
    if (open) { cannedSearch.value = ''; loadCanned(); cannedSearch.focus(); }
  };
  function useCanned(reply) {
    const current = composerText.value.trimEnd();
    composerText.value = current ? `${current}\n${reply.text}` : reply.text;
    setCannedOpen(false);
    saveDraft();
    countChars();
    composerText.focus();
  }
  cannedButton.addEventListener('click', () => setCannedOpen(cannedMenu.hidden));
  cannedSearch.addEventListener('input', renderCanned);
  cannedMenu.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') { e.stopPropagation(); setCannedOpen(false); cannedButton.focus(); }
  });
  document.addEventListener('click', (e) => {
    if (!cannedMenu.hidden && !e.target.closest('.canned')) setCannedOpen(false);
  });

  // Admins keep the list: add and delete in a dialog.
  const cannedDialog = $('canned-dialog');
  function renderCannedAdmin() {
    const list = $('canned-admin-list');
    if (!list) return;
    list.replaceChildren(...S.canned.map((r) => {
      const li = el('li', 'canned-row');
      const words = el('div', 'canned-words');
      words.append(el('span', 'canned-title', r.title), el('span', 'canned-text', r.text));
      const remove = button('button button-quiet button-danger', 'Delete', async () => {
        if (await act('DELETE', `/api/canned-replies/${encodeURIComponent(r.id)}`) !== undefined) loadCanned();
      });
      remove.setAttribute('aria-label', `Delete canned reply ${r.title}`);
      li.append(words, remove);
      return li;
    }));
    if (!S.canned.length) list.append(el('li', 'muted', 'No canned replies yet. Add the first one below.'));
  }
  if (cannedDialog && IS_ADMIN) {
    $('canned-manage').addEventListener('click', () => { setCannedOpen(false); renderCannedAdmin(); cannedDialog.showModal(); });
    $('canned-done').addEventListener('click', () => cannedDialog.close());
    $('canned-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const error = $('canned-error');
      error.hidden = true;
      try {
        await api('POST', '/api/canned-replies', { title: $('canned-new-title').value, text: $('canned-new-text').value });
        $('canned-new-title').value = '';
        $('canned-new-text').value = '';
        loadCanned();
      } catch (err) {
        error.textContent = err.message; // what was typed stays in the form
        error.hidden = false;
      }
    });
  }

  // ---- start ----
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && shell.classList.contains('has-open') && !document.querySelector('dialog[open]') && cannedMenu.hidden
        && window.matchMedia('(max-width: 60rem)').matches) closeView();
  });
  showSound();
  showNotify();
  renderComposer();
  loadCanned();
  connect();
})();
