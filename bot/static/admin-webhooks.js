/* leadbot admin: CRM webhook endpoints (/api/webhooks) and the failures view with redelivery.
 * Text only: textContent and text nodes, never markup (URLs, errors and bodies come from outside). */
(() => {
  'use strict';
  const A = window.leadbotAdmin;
  const { $, el, button } = A;
  const endpointsBody = $('endpoints-body');
  if (!endpointsBody) return;

  const PRESET_LABELS = { leadbot: 'leadbot JSON', hubspot_contact: 'HubSpot contact', salesforce_lead: 'Salesforce lead' };
  const PAGE = 50;
  const form = $('endpoint-form');
  const editor = $('endpoint-editor');
  const overrideRows = $('override-rows');
  const preview = $('body-preview');
  const statusSelect = $('deliveries-status');
  const deliveriesBody = $('deliveries-body');
  const more = $('deliveries-more');
  let endpoints = [];
  let editing = null; // the endpoint being edited; null while adding one
  let offset = 0;
  let latest = 0; // the newest deliveries request: answers to older ones are dropped

  const pretty = (text) => {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch (e) {
      return text;
    }
  };
  const urlOf = (id) => {
    const found = endpoints.find((e) => e.id === id);
    return found ? found.url : 'a deleted endpoint';
  };

  // ---- dialogs: a secret to copy, a delivery's attempts ----
  const dialog = (title, build, wide) => {
    const box = el('dialog', `modal${wide ? ' modal-wide' : ''}`);
    const titleId = A.nextId('dialog');
    box.setAttribute('aria-labelledby', titleId);
    const inner = el('form', 'stack');
    inner.method = 'dialog';
    const h = el('h2', null, title);
    h.id = titleId;
    inner.append(h);
    build(inner);
    const actions = el('div', 'modal-actions');
    const close = el('button', 'button button-primary', 'Close');
    close.value = 'close';
    actions.append(close);
    inner.append(actions);
    box.append(inner);
    document.body.append(box);
    box.addEventListener('close', () => box.remove());
    box.showModal();
    close.focus();
  };

  const showSecret = (endpoint, secret, note) => dialog('Signing secret', (inner) => {
    inner.append(el('p', null, `Receivers at ${endpoint.url} check each request's Leadbot-Signature header with this secret.`));
    if (note) inner.append(el('p', 'muted', note));
    const field = el('div', 'field');
    const label = el('label', null, 'Secret');
    const input = el('input', 'secret-value');
    input.id = A.nextId('secret');
    label.htmlFor = input.id;
    input.readOnly = true;
    input.value = secret;
    input.addEventListener('focus', () => input.select());
    field.append(label, input);
    inner.append(field);
  });

  // ---- the endpoints table ----
  const endpointRow = (endpoint) => {
    const tr = el('tr');
    tr.dataset.id = endpoint.id;
    const where = el('th');
    where.scope = 'row';
    where.append(el('span', 'cell-main endpoint-url', endpoint.url));
    if (endpoint.description) where.append(el('span', 'cell-sub', endpoint.description));
    const events = el('td');
    endpoint.events.forEach((kind) => events.append(el('span', 'pill', kind)));
    const body = el('td');
    body.append(el('span', 'cell-main', PRESET_LABELS[endpoint.mapping.preset] || endpoint.mapping.preset));
    const count = Object.keys(endpoint.mapping.overrides || {}).length;
    if (count) body.append(el('span', 'cell-sub', A.plural(count, 'override')));
    const state = el('td');
    state.append(el('span', `pill ${endpoint.active ? 'pill-live' : 'pill-problem'}`, endpoint.active ? 'Active' : 'Paused'));
    const actions = el('td', 'row-actions');
    const named = (label) => `${label} ${endpoint.url}`;
    const add = (text, handler, cls) => {
      const b = button(`button button-small ${cls || ''}`, text, handler);
      b.setAttribute('aria-label', named(text));
      actions.append(b);
    };
    add('Edit', () => openEditor(endpoint));
    add('Send test', () => sendTest(endpoint));
    add('Show secret', () => revealSecret(endpoint), 'button-quiet');
    add('Rotate secret', () => rotateSecret(endpoint), 'button-quiet');
    add(endpoint.active ? 'Pause' : 'Resume', () => setActive(endpoint, !endpoint.active), 'button-quiet');
    add('Delete', () => removeEndpoint(endpoint), 'button-danger');
    tr.append(where, events, body, state, actions);
    return tr;
  };

  const loadEndpoints = async () => {
    try {
      const data = await A.api('GET', '/api/webhooks');
      endpoints = (data && data.endpoints) || [];
      A.clear(endpointsBody);
      endpoints.forEach((e) => endpointsBody.append(endpointRow(e)));
      $('endpoints-empty').hidden = endpoints.length > 0;
    } catch (e) {
      A.showError(e);
    } finally {
      $('endpoints-loading').hidden = true;
    }
  };

  const act = async (work) => {
    try {
      A.clearError();
      await work();
    } catch (e) {
      A.showError(e);
    }
  };

  const sendTest = (endpoint) => act(async () => {
    A.notify(`Sending a test event to ${endpoint.url}…`);
    const delivery = await A.api('POST', `/api/webhooks/${encodeURIComponent(endpoint.id)}/test`);
    const last = delivery.last_attempt || {};
    if (delivery.status === 'delivered') A.notify(`Test event delivered to ${endpoint.url} (HTTP ${last.status_code}).`);
    else {
      A.notify('');
      A.showError(new Error(`The test event was not delivered to ${endpoint.url}: ${delivery.last_error}`));
    }
    loadDeliveries(true);
  });

  const revealSecret = (endpoint) => act(async () => {
    const data = await A.api('GET', `/api/webhooks/${encodeURIComponent(endpoint.id)}/secret`);
    showSecret(endpoint, data.secret);
  });

  const rotateSecret = (endpoint) => act(async () => {
    const ok = await A.ask({
      title: 'Rotate the signing secret?',
      message: `${endpoint.url} gets a new secret. For 24 hours requests are signed with both, so the receiver can switch without missing anything.`,
      confirm: 'Rotate',
    });
    if (!ok) return;
    const data = await A.api('POST', `/api/webhooks/${encodeURIComponent(endpoint.id)}/secret/rotate`);
    showSecret(endpoint, data.secret, `The previous secret signs too until ${A.when(data.previous_secret_until)}.`);
  });

  const setActive = (endpoint, active) => act(async () => {
    await A.api('PATCH', `/api/webhooks/${encodeURIComponent(endpoint.id)}`, { active });
    A.notify(`${endpoint.url} is ${active ? 'active again' : 'paused'}.`);
    await loadEndpoints();
  });

  const removeEndpoint = (endpoint) => act(async () => {
    const ok = await A.ask({
      title: 'Delete this endpoint?',
      message: `${endpoint.url} gets no more events, and its deliveries are deleted with it.`,
      confirm: 'Delete',
      danger: true,
    });
    if (!ok) return;
    await A.api('DELETE', `/api/webhooks/${encodeURIComponent(endpoint.id)}`);
    A.notify(`Deleted ${endpoint.url}.`);
    if (editing && editing.id === endpoint.id) closeEditor();
    await loadEndpoints();
    loadDeliveries(true);
  });

  // ---- the add / edit form ----
  const overrideRow = (target, spec) => {
    const li = el('li', 'list-item override-row');
    const fields = el('div', 'variant-row');
    const field = (labelText, control, cls) => {
      const box = el('div', `field ${cls || ''}`);
      const label = el('label', null, labelText);
      control.id = A.nextId('override');
      label.htmlFor = control.id;
      box.append(label, control);
      return box;
    };
    const targetInput = el('input', 'override-target');
    targetInput.value = target || '';
    targetInput.placeholder = 'properties.leadbot_score';
    const kind = el('select', 'override-kind');
    [['from', 'From the event'], ['value', 'Fixed value']].forEach(([value, label]) => {
      const option = el('option', null, label);
      option.value = value;
      kind.append(option);
    });
    kind.value = spec && 'value' in spec ? 'value' : 'from';
    const source = el('input', 'override-source');
    source.value = spec ? String(spec.from != null ? spec.from : (spec.value != null ? spec.value : '')) : '';
    source.placeholder = 'lead.score';
    kind.addEventListener('change', () => { source.placeholder = kind.value === 'from' ? 'lead.score' : 'Chat'; });
    fields.append(field('Field', targetInput, 'field-grow'), field('Set', kind, 'field-kind'), field('Path or value', source, 'field-grow'));
    const remove = button('icon-button icon-remove', '×', () => { li.remove(); schedulePreview(); });
    remove.setAttribute('aria-label', 'Remove this override');
    const actions = el('div', 'item-actions');
    actions.append(remove);
    li.append(fields, actions);
    return li;
  };

  const problemBox = (field) => {
    if (field === 'url' || field === 'description' || field === 'events') return $(`problem-${field}`);
    if (field === 'mapping.preset') return $('problem-mapping-preset');
    return $('problem-mapping');
  };
  const clearProblems = () => {
    form.querySelectorAll('.problem').forEach((p) => { p.hidden = true; p.textContent = ''; });
    form.querySelectorAll('[aria-invalid]').forEach((n) => n.removeAttribute('aria-invalid'));
  };
  const showProblem = (field, message) => {
    const box = problemBox(field);
    box.textContent = message;
    box.hidden = false;
    const input = field === 'url' ? $('endpoint-url') : field === 'description' ? $('endpoint-description') : null;
    if (input) {
      input.setAttribute('aria-invalid', 'true');
      input.focus();
    }
  };

  const mappingOf = () => {
    const overrides = {};
    overrideRows.querySelectorAll('.override-row').forEach((row) => {
      const target = row.querySelector('.override-target').value.trim();
      if (!target) return;
      const text = row.querySelector('.override-source').value;
      overrides[target] = row.querySelector('.override-kind').value === 'from' ? { from: text.trim() } : { value: text };
    });
    return { preset: $('endpoint-preset').value, overrides };
  };

  const collect = () => ({
    url: $('endpoint-url').value.trim(),
    description: $('endpoint-description').value.trim(),
    events: [...form.querySelectorAll('input[name="events"]:checked')].map((box) => box.value),
    active: $('endpoint-active').checked,
    mapping: mappingOf(),
  });

  let previewTimer = 0;
  let previewSeq = 0;
  const refreshPreview = async () => {
    const mine = ++previewSeq;
    try {
      const data = await A.api('POST', '/api/webhooks/preview', { mapping: mappingOf() });
      if (mine === previewSeq) preview.textContent = JSON.stringify(data.body, null, 2);
    } catch (e) {
      if (mine === previewSeq) preview.textContent = e.message;
    }
  };
  const schedulePreview = () => {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(refreshPreview, 300);
  };

  const openEditor = (endpoint) => {
    editing = endpoint;
    clearProblems();
    $('editor-title').textContent = endpoint ? `Edit ${endpoint.url}` : 'Add an endpoint';
    $('save-endpoint').textContent = endpoint ? 'Save changes' : 'Add endpoint';
    $('endpoint-url').value = endpoint ? endpoint.url : '';
    $('endpoint-description').value = endpoint ? endpoint.description : '';
    const chosen = new Set(endpoint ? endpoint.events : ['lead.created', 'lead.updated', 'lead.qualified']);
    form.querySelectorAll('input[name="events"]').forEach((box) => { box.checked = chosen.has(box.value); });
    $('endpoint-active').checked = endpoint ? endpoint.active : true;
    $('endpoint-preset').value = endpoint ? endpoint.mapping.preset : 'leadbot';
    A.clear(overrideRows);
    Object.entries(endpoint ? endpoint.mapping.overrides : {}).forEach(([t, s]) => overrideRows.append(overrideRow(t, s)));
    editor.hidden = false;
    refreshPreview();
    $('endpoint-url').focus();
  };
  const closeEditor = () => {
    editor.hidden = true;
    editing = null;
    $('add-endpoint').focus();
  };

  form.addEventListener('input', schedulePreview);
  form.addEventListener('change', schedulePreview);
  $('add-override').addEventListener('click', () => {
    const row = overrideRow('', null);
    overrideRows.append(row);
    row.querySelector('input').focus();
  });
  $('add-endpoint').addEventListener('click', () => openEditor(null));
  $('cancel-endpoint').addEventListener('click', closeEditor);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblems();
    A.clearError();
    const body = collect();
    const save = $('save-endpoint');
    save.disabled = true;
    try {
      if (editing) {
        const saved = await A.api('PATCH', `/api/webhooks/${encodeURIComponent(editing.id)}`, body);
        A.notify(`Saved ${saved.url}.`);
      } else {
        const created = await A.api('POST', '/api/webhooks', body);
        A.notify(`Added ${created.url}.`);
        showSecret(created, created.secret, 'Copy it now or later with Show secret.');
      }
      editor.hidden = true;
      editing = null;
      await loadEndpoints();
    } catch (err) {
      if (err.status === 400 && err.data && err.data.field) showProblem(err.data.field, err.message);
      else A.showError(err);
    } finally {
      save.disabled = false;
    }
  });

  // ---- the failures view ----
  const stateCell = (d) => {
    const cell = el('td');
    if (d.status === 'failed') cell.append(el('span', 'pill pill-problem', 'Failed'));
    else if (d.status === 'delivered') cell.append(el('span', 'pill pill-live', 'Delivered'));
    else if (d.waiting_for_earlier) cell.append(el('span', 'pill', 'Waiting for an earlier delivery'));
    else {
      cell.append(el('span', 'pill pill-draft', d.attempt_count ? 'Retrying' : 'Pending'));
      if (d.next_attempt_at) {
        const next = el('span', 'cell-sub', 'next ');
        next.append(A.timeEl(d.next_attempt_at));
        cell.append(next);
      }
    }
    return cell;
  };

  const deliveryRow = (d) => {
    const tr = el('tr');
    tr.dataset.id = d.id;
    const what = el('th');
    what.scope = 'row';
    what.append(el('span', 'cell-main', d.kind));
    const sub = el('span', 'cell-sub');
    sub.append(A.timeEl(d.created_at));
    what.append(sub);
    if (d.lead_id) what.append(el('span', 'cell-sub', `lead ${d.lead_id}`));
    const error = el('td', 'delivery-error');
    error.append(d.last_error ? el('span', null, d.last_error) : el('span', 'muted', '–'));
    const actions = el('td', 'row-actions');
    const details = button('button button-small button-quiet', 'Attempts', () => showAttempts(d.id));
    details.setAttribute('aria-label', `Attempts of the ${d.kind} delivery ${d.id}`);
    const again = button('button button-small', 'Redeliver', () => redeliver(d, again));
    again.setAttribute('aria-label', `Redeliver the ${d.kind} delivery ${d.id}`);
    actions.append(details, again);
    tr.append(what, el('td', 'endpoint-url', urlOf(d.endpoint_id)), stateCell(d), el('td', 'num', String(d.attempt_count)), error, actions);
    return tr;
  };

  const loadDeliveries = async (reset) => {
    const mine = ++latest;
    const from = reset ? 0 : offset;
    const params = new URLSearchParams({ limit: String(PAGE), offset: String(from) });
    if (statusSelect.value) params.set('status', statusSelect.value);
    $('deliveries-loading').hidden = false;
    try {
      const data = await A.api('GET', `/api/webhooks/deliveries?${params}`);
      if (mine !== latest) return;
      const items = (data && data.items) || [];
      if (reset) A.clear(deliveriesBody);
      items.forEach((d) => deliveriesBody.append(deliveryRow(d)));
      offset = from + items.length;
      more.hidden = items.length < PAGE;
      $('deliveries-empty').hidden = deliveriesBody.children.length > 0;
    } catch (e) {
      if (mine === latest) A.showError(e);
    } finally {
      if (mine === latest) $('deliveries-loading').hidden = true;
    }
  };

  const redeliver = (d, control) => act(async () => {
    control.disabled = true;
    try {
      const after = await A.api('POST', `/api/webhooks/deliveries/${encodeURIComponent(d.id)}/redeliver`);
      const last = after.last_attempt || {};
      if (last.error) A.showError(new Error(`Redelivery of ${d.kind} failed again: ${last.error}`));
      else A.notify(`Redelivered ${d.kind} to ${urlOf(d.endpoint_id)} (HTTP ${last.status_code}).`);
      await loadDeliveries(true);
    } finally {
      control.disabled = false;
    }
  });

  const showAttempts = (id) => act(async () => {
    const d = await A.api('GET', `/api/webhooks/deliveries/${encodeURIComponent(id)}`);
    dialog(`${d.kind} to ${urlOf(d.endpoint_id)}`, (inner) => {
      const table = el('table', 'data-table');
      const head = el('tr');
      ['When', 'How', 'Answer', 'Error', 'Time'].forEach((t) => { const th = el('th', null, t); th.scope = 'col'; head.append(th); });
      const thead = el('thead');
      thead.append(head);
      const tbody = el('tbody');
      d.attempts.forEach((a) => {
        const tr = el('tr');
        const at = el('td', 'nowrap');
        at.append(A.timeEl(a.at));
        tr.append(at, el('td', null, a.trigger), el('td', 'num', a.status_code == null ? 'none' : String(a.status_code)),
          el('td', 'delivery-error', a.error || 'delivered'), el('td', 'num', `${a.duration_ms} ms`));
        tbody.append(tr);
      });
      table.append(thead, tbody);
      const wrap = el('div', 'table-wrap');
      wrap.append(table);
      if (!d.attempts.length) inner.append(el('p', 'muted', 'Not attempted yet.'));
      else inner.append(wrap);
      inner.append(el('h3', null, 'Body'));
      inner.append(el('pre', 'body-preview', pretty(d.body)));
    }, true);
  });

  statusSelect.addEventListener('change', () => loadDeliveries(true));
  $('deliveries-filter').addEventListener('submit', (e) => { e.preventDefault(); loadDeliveries(true); });
  more.addEventListener('click', () => loadDeliveries(false));

  loadEndpoints().then(() => loadDeliveries(true));
})();
