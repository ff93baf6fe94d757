/* leadbot admin: the audit log (GET /api/audit), newest first, filtered by flow.
 * Text only: textContent and text nodes, never markup. */
(() => {
  'use strict';
  const A = window.leadbotAdmin;
  const { $, el } = A;
  const body = $('audit-body');
  if (!body) return;
  const PAGE = 50;
  const ACTIONS = {
    'draft.save': 'Saved the draft',
    'draft.discard': 'Discarded the draft',
    publish: 'Published',
    rollback: 'Rolled back',
    import: 'Imported',
    promote: 'Promoted a variant',
    channels: 'Bound channels',
    seed: 'Loaded from the flow file',
    'lead.viewed': 'Viewed a lead',
    'conversation.viewed': 'Opened a conversation',
    'lead.exported': 'Exported a lead',
    'touchpoints.viewed': 'Viewed touchpoints',
    'webhook_delivery.viewed': 'Opened a webhook delivery',
    'leads.listed': 'Listed leads',
    'conversations.listed': 'Listed conversations',
    'leads.searched': 'Searched leads',
    'lead.erased': 'Erased a lead',
    'retention.purged': 'Retention purge',
    'webhook.create': 'Added a webhook endpoint',
    'webhook.update': 'Changed a webhook endpoint',
    'webhook.rotate_secret': 'Rotated a webhook secret',
    'webhook.delete': 'Deleted a webhook endpoint',
  };
  const kind = $('audit-kind');
  const select = $('audit-flow');
  const more = $('audit-more');
  let offset = 0;
  let latest = 0; // the newest request: an answer to an older one (another filter) is dropped

  const row = (item) => {
    const tr = el('tr');
    const at = el('td', 'nowrap');
    at.append(A.timeEl(item.at));
    const flow = el('td');
    if (item.flow_id) flow.append(A.link(null, item.flow_id, `/admin/flows/${encodeURIComponent(item.flow_id)}`));
    else if (item.lead_id) flow.append(A.link(null, `lead ${item.lead_id}`, `/admin/leads?lead=${encodeURIComponent(item.lead_id)}`));
    else if (item.conversation_id) flow.append(el('span', null, `conversation ${item.conversation_id}`));
    else if (item.subject_hash) flow.append(el('span', 'muted', `an erased lead (${item.subject_hash.slice(0, 12)}…)`));
    const changes = el('td');
    const lines = [...(item.changes || [])];
    Object.entries(item.removed || {}).forEach(([what, n]) => lines.push(`${n} ${what.replace(/_/g, ' ')} removed`));
    if (item.count != null) lines.push(`${item.count} shown`);
    if (item.days != null) lines.push(`idle for more than ${item.days} days`);
    if (lines.length) {
      const list = el('ul', 'change-list change-list-compact');
      lines.forEach((line) => list.append(el('li', null, line)));
      changes.append(list);
    } else {
      changes.append(el('span', 'muted', '–'));
    }
    const action = el('td');
    action.append(el('span', `pill pill-action pill-${String(item.action).replace(/[^a-z]/g, '-')}`, ACTIONS[item.action] || item.action));
    tr.append(at, el('td', null, item.actor || '–'), action, flow, el('td', 'num', item.version == null ? '–' : `v${item.version}`), changes);
    return tr;
  };

  const load = async (reset) => {
    const mine = ++latest;
    const from = reset ? 0 : offset;
    const params = new URLSearchParams({ limit: String(PAGE), offset: String(from) });
    if (select.value) params.set('flow', select.value);
    if (kind.value) params.set('kind', kind.value);
    $('audit-loading').hidden = false;
    more.disabled = true;
    try {
      const data = await A.api('GET', `/api/audit?${params}`);
      if (mine !== latest) return;
      const items = (data && data.items) || [];
      if (reset) A.clear(body);
      items.forEach((item) => body.append(row(item)));
      offset = from + items.length;
      more.hidden = items.length < PAGE;
      $('audit-empty').hidden = body.children.length > 0;
      A.clearError();
    } catch (e) {
      if (mine === latest) A.showError(e);
    } finally {
      if (mine === latest) {
        $('audit-loading').hidden = true;
        more.disabled = false;
      }
    }
  };

  const fillFlows = async () => {
    const wanted = new URLSearchParams(location.search).get('flow') || '';
    try {
      const data = await A.api('GET', '/api/flows');
      ((data && data.flows) || []).forEach((f) => {
        const option = el('option', null, f.name ? `${f.name} (${f.id})` : f.id);
        option.value = f.id;
        select.append(option);
      });
    } catch (e) {
      A.showError(e);
    }
    if (wanted && ![...select.options].some((o) => o.value === wanted)) {
      const option = el('option', null, wanted);
      option.value = wanted;
      select.append(option);
    }
    select.value = wanted;
  };

  // A filter is kept in the address, so a reload or a shared link shows the same entries.
  const filterBy = (control, param) => control.addEventListener('change', () => {
    const url = new URL(location.href);
    if (control.value) url.searchParams.set(param, control.value);
    else url.searchParams.delete(param);
    history.replaceState(null, '', url);
    load(true);
  });
  kind.value = new URLSearchParams(location.search).get('kind') || '';
  filterBy(kind, 'kind');
  filterBy(select, 'flow');
  $('audit-filter').addEventListener('submit', (e) => { e.preventDefault(); load(true); });
  more.addEventListener('click', () => load(false));

  fillFlows().then(() => load(true));
})();
