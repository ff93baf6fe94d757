/* leadbot admin: the list of flows (GET /api/flows) and importing a flow YAML file.
 * Text only: textContent and text nodes, never markup. */
(() => {
  'use strict';
  const A = window.leadbotAdmin;
  const { $, el, link } = A;
  const body = $('flows-body');
  if (!body) return;

  const draftCell = (flow) => {
    const cell = el('td');
    if (!flow.draft) {
      cell.append(el('span', 'muted', 'None'));
    } else if (flow.draft_valid === false) {
      cell.append(el('span', 'pill pill-problem', 'Draft — has problems'));
    } else {
      cell.append(el('span', 'pill pill-draft', 'Draft'));
    }
    return cell;
  };

  const row = (flow) => {
    const tr = el('tr');
    const name = el('th');
    name.scope = 'row';
    const open = link('flow-name', flow.name || flow.id, `/admin/flows/${encodeURIComponent(flow.id)}`);
    name.append(open, el('span', 'flow-id', flow.id));
    const live = el('td', 'num');
    if (flow.live_version == null) live.append(el('span', 'muted', 'Not published'));
    else live.textContent = `v${flow.live_version}`;
    const edited = el('td');
    if (flow.updated_by || flow.updated_at) {
      edited.append(el('span', 'cell-main', flow.updated_by || '–'), el('span', 'cell-sub'));
      edited.lastChild.append(A.timeEl(flow.updated_at));
    } else {
      edited.append(el('span', 'muted', '–'));
    }
    const channels = el('td');
    const bound = flow.channels || [];
    if (!bound.length) channels.append(el('span', 'muted', 'None'));
    bound.forEach((c) => channels.append(el('span', 'pill', c)));
    const actions = el('td', 'row-actions');
    const edit = link('button button-small', 'Edit', `/admin/flows/${encodeURIComponent(flow.id)}`);
    edit.setAttribute('aria-label', `Edit ${flow.name || flow.id}`);
    actions.append(edit);
    // The live version, or the draft of a flow that was imported but never published.
    const which = flow.live_version != null ? null : (flow.draft ? 'draft' : undefined);
    if (which !== undefined) {
      const exp = link('button button-small button-quiet', which ? 'Export draft YAML' : 'Export YAML', A.exportHref(flow.id, which));
      exp.setAttribute('aria-label', `Export ${which ? 'the draft of ' : ''}${flow.name || flow.id} as YAML`);
      exp.setAttribute('download', `${flow.id}.yaml`);
      actions.append(exp);
    }
    tr.append(name, live, draftCell(flow), edited, channels, actions);
    return tr;
  };

  const load = async () => {
    try {
      const data = await A.api('GET', '/api/flows');
      const flows = (data && data.flows) || [];
      A.clear(body);
      flows.forEach((f) => body.append(row(f)));
      $('flows-empty').hidden = flows.length > 0;
      A.clearError();
    } catch (e) {
      A.showError(e);
    } finally {
      $('flows-loading').hidden = true;
    }
  };

  // Import: read the chosen file as text, send it as it is, open the flow it names.
  const input = $('import-file');
  input.addEventListener('change', async () => {
    const file = input.files && input.files[0];
    if (!file) return;
    try {
      const text = await file.text();
      A.notify(`Importing ${file.name}…`);
      const result = await A.api('POST', '/api/flows/import', text);
      location.assign(`/admin/flows/${encodeURIComponent(result.id)}?imported=1`);
    } catch (e) {
      A.notify('');
      A.showError(e);
    } finally {
      input.value = '';
    }
  });

  load();
})();
