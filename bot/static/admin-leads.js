/* leadbot admin: find a lead (GET /api/privacy/leads?q=), see it (GET /api/leads/{id}), export it
 * (GET /api/leads/{id}/export, a download) or erase it (DELETE /api/leads/{id}, after a question).
 * Lead data is the visitors' own words: text only, textContent and text nodes, never markup. */
(() => {
  'use strict';
  const A = window.leadbotAdmin;
  const { $, el } = A;
  const form = $('lead-search');
  if (!form) return;
  const query = $('lead-q');
  const results = $('results');
  const rows = $('results-body');
  const detail = $('lead');
  const facts = $('lead-facts');
  // The answers (slots): bot/api/views.py lead_json puts them between `id` and `score`.
  const answers = (lead) => {
    const keys = Object.keys(lead);
    return keys.slice(keys.indexOf('id') + 1, keys.indexOf('score'));
  };
  const COUNTS = {
    conversations: ['conversation', 'conversations'], messages: ['message', 'messages'], attachments: ['file', 'files'],
    leads: ['lead record', 'lead records'], touchpoints: ['touchpoint', 'touchpoints'],
    webhook_deliveries: ['webhook delivery', 'webhook deliveries'], redis_keys: ['Redis key', 'Redis keys'],
  };
  let shown = null; // the lead on screen

  const text = (value) => (value == null || value === '' ? '–' : typeof value === 'object' ? JSON.stringify(value) : String(value));
  const setUrl = (params) => {
    const url = new URL(location.href);
    url.search = new URLSearchParams(params).toString();
    history.replaceState(null, '', url);
  };

  const fact = (label, value) => {
    facts.append(el('dt', null, label));
    const dd = el('dd');
    if (value instanceof Node) dd.append(value);
    else dd.textContent = text(value);
    facts.append(dd);
  };

  const showLead = (lead) => {
    shown = lead;
    A.clear(facts);
    $('lead-title').textContent = lead.name || lead.email || lead.phone || 'Lead';
    $('lead-id').textContent = `Lead ${lead.id}`;
    $('lead-export').href = `/api/leads/${encodeURIComponent(lead.id)}/export`;
    $('lead-export').download = `lead-${lead.id}.json`;
    fact('Status', `${lead.status} · score ${lead.score} (${lead.grade}, ${lead.temperature})`);
    answers(lead).forEach((k) => fact(k.replace(/_/g, ' '), lead[k]));
    const convs = el('ul', 'change-list change-list-compact');
    (lead.conversation_ids || []).forEach((id) => convs.append(el('li', null, id)));
    fact('Conversations', (lead.conversation_ids || []).length ? convs : '–');
    const c = lead.consent;
    fact('Consent', c ? `Accepted ${A.when(c.at)}: “${c.text}”` : 'Not given in the widget');
    if ((lead.merged_ids || []).length) fact('Merged leads', lead.merged_ids.join(', '));
    fact('First seen', A.when(lead.created_at));
    fact('Last change', A.when(lead.updated_at));
    detail.hidden = false;
  };

  const open = async (id) => {
    try {
      showLead(await A.api('GET', `/api/leads/${encodeURIComponent(id)}`));
      setUrl(query.value.trim() ? { q: query.value.trim(), lead: id } : { lead: id });
      A.clearError();
      $('lead-title').focus();
    } catch (e) {
      detail.hidden = true;
      A.showError(e);
    }
  };

  const row = (lead) => {
    const tr = el('tr');
    tr.dataset.lead = lead.id;
    const actions = el('td', 'row-actions');
    actions.append(A.button('button button-small', 'Open', () => open(lead.id)));
    tr.append(el('td', null, text(lead.name)), el('td', null, text(lead.email)), el('td', null, text(lead.phone)),
      el('td', null, lead.status), el('td', 'nowrap', A.when(lead.updated_at)), actions);
    return tr;
  };

  const search = async (q) => {
    try {
      const data = await A.api('GET', `/api/privacy/leads?${new URLSearchParams({ q })}`);
      A.clear(rows);
      data.items.forEach((lead) => rows.append(row(lead)));
      $('results-empty').hidden = data.items.length > 0;
      results.hidden = false;
      setUrl({ q });
      A.clearError();
    } catch (e) {
      A.showError(e);
    }
  };

  const erase = async () => {
    const lead = shown;
    if (!lead) return;
    const n = (lead.conversation_ids || []).length;
    const ok = await A.ask({
      title: 'Erase this lead?',
      message: `Everything about ${$('lead-title').textContent} is removed for good, everywhere. This cannot be undone.`,
      lines: [`${A.plural(n, 'conversation')} with every message and file`, 'the lead record, its score and answers',
        'touchpoints, webhook deliveries and jobs about them', 'their open chat windows and inbox views'],
      confirm: 'Erase everything',
      danger: true,
    });
    if (!ok) return;
    try {
      const done = await A.api('DELETE', `/api/leads/${encodeURIComponent(lead.id)}`);
      const parts = Object.entries(done.removed || {}).filter(([k]) => COUNTS[k])
        .map(([k, v]) => `${v} ${COUNTS[k][v === 1 ? 0 : 1]}`);
      A.notify(`Erased. Removed ${parts.join(', ') || 'the lead'}.`);
      detail.hidden = true;
      shown = null;
      const gone = rows.querySelector(`tr[data-lead="${CSS.escape(lead.id)}"]`);
      if (gone) gone.remove();
      setUrl({});
      A.clearError();
    } catch (e) {
      A.showError(e);
    }
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (query.value.trim()) search(query.value.trim());
  });
  $('lead-erase').addEventListener('click', erase);
  $('lead-title').tabIndex = -1;

  const params = new URLSearchParams(location.search);
  if (params.get('q')) { query.value = params.get('q'); search(params.get('q')); }
  if (params.get('lead')) open(params.get('lead'));
})();
