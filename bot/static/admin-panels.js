/* leadbot admin: the flow editor's Versions and Experiments tabs.
 *
 * Versions: GET /api/flows/{id}/versions, rollback, diff between versions or the draft, export.
 * Experiments: GET /api/flows/{id}/experiments, a table of results per variant, promote.
 * Text only: textContent and text nodes, never markup. */
(() => {
  'use strict';
  const A = window.leadbotAdmin;
  const { $, el, button } = A;
  const SOURCES = { publish: 'Published', rollback: 'Rollback', seed: 'From the flow file', import: 'Imported', promote: 'Promoted a variant' };
  const METRICS = { qualified: 'Qualified', completed: 'Completed', handed_off: 'Handed off' };

  const changeList = (changes, emptyText) => {
    if (!changes || !changes.length) return el('p', 'muted change-none', emptyText || 'No changes.');
    const list = el('ul', 'change-list');
    changes.forEach((line) => list.append(el('li', null, line)));
    return list;
  };

  // ---- versions ----
  A.Versions = ({ flowId, live, hasDraft, published, unsaved }) => {
    const list = $('versions-list');
    const from = $('diff-from');
    const to = $('diff-to');
    const result = $('diff-result');
    let versions = [];

    const fillDiff = () => {
      const choices = versions.map((v) => [String(v.version), `Version ${v.version}`]);
      if (hasDraft()) choices.unshift(['draft', 'The draft']);
      // By default: what changed last (the draft against the live version, else the newest version
      // against the one before it).
      A.fields.fillSelect(from, choices, null);
      A.fields.fillSelect(to, choices, null);
      to.value = choices[0] ? choices[0][0] : '';
      from.value = choices[1] ? choices[1][0] : to.value;
      $('diff-form').querySelector('button[type="submit"]').disabled = choices.length < 2;
    };

    const rollback = async (version) => {
      const ok = await A.ask({
        title: `Roll back to version ${version}?`,
        message: `This publishes a copy of version ${version} as a new version. New conversations start on it; running conversations keep theirs, and the history stays.${unsaved()}`,
        confirm: 'Roll back',
      });
      if (!ok) return;
      try {
        const res = await A.api('POST', A.flowPath(flowId, 'rollback'), { version });
        A.clearError();
        A.notify(`Published version ${res.version}, a copy of version ${version}.`);
        await published();
      } catch (e) {
        A.showError(e);
      }
    };

    const item = (v) => {
      const li = el('li', 'version');
      const head = el('div', 'version-head');
      const title = el('h3', 'version-title', `Version ${v.version}`);
      head.append(title);
      if (v.version === live()) head.append(el('span', 'pill pill-live', 'Live'));
      head.append(el('span', 'pill', SOURCES[v.source] || v.source || ''));
      const meta = el('p', 'version-meta muted');
      meta.append(A.timeEl(v.published_at), document.createTextNode(v.published_by ? ` · ${v.published_by}` : ''));
      li.append(head, meta);
      if (v.note) li.append(el('blockquote', 'version-note', v.note));
      li.append(changeList(v.changes, v.source === 'seed' ? 'The first version.' : 'No changes from the version before.'));
      const actions = el('div', 'version-actions');
      if (v.version !== live()) {
        const back = button('button button-small', 'Roll back to this version', () => rollback(v.version));
        back.setAttribute('aria-label', `Roll back to version ${v.version}`);
        actions.append(back);
      }
      const exp = A.link('button button-small button-quiet', 'Export YAML', A.exportHref(flowId, v.version));
      exp.setAttribute('download', `${flowId}-v${v.version}.yaml`);
      exp.setAttribute('aria-label', `Export version ${v.version} as YAML`);
      actions.append(exp);
      li.append(actions);
      return li;
    };

    const load = async () => {
      try {
        const data = await A.api('GET', A.flowPath(flowId, 'versions'));
        versions = (data && data.versions) || [];
        A.clear(list);
        versions.forEach((v) => list.append(item(v)));
        $('versions-empty').hidden = versions.length > 0;
        fillDiff();
      } catch (e) {
        A.showError(e);
      }
    };

    $('diff-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      A.clear(result);
      const params = new URLSearchParams({ from: from.value, to: to.value });
      try {
        const data = await A.api('GET', `${A.flowPath(flowId, 'diff')}?${params}`);
        const name = (v) => (v === 'draft' ? 'the draft' : `version ${v}`);
        result.append(el('h3', 'subhead', `From ${name(from.value)} to ${name(to.value)}`), changeList(data.changes, 'No differences.'));
      } catch (err) {
        result.append(el('p', 'alert', err.message));
      }
    });

    return { load, refreshDiff: fillDiff };
  };

  // ---- experiments ----
  const rateCell = (r, isMetric) => {
    const td = el('td', `rate${isMetric ? ' rate-metric' : ''}`);
    if (!r) { td.textContent = '–'; return td; }
    td.append(el('span', 'rate-main', `${A.percent(r.rate)}`), el('span', 'rate-count', ` (${r.count == null ? '–' : r.count})`));
    td.append(el('span', 'rate-sub', `95%: ${A.percent(r.low)}–${A.percent(r.high)}`));
    if (r.p_value != null) td.append(el('span', 'rate-sub', `p = ${Number(r.p_value).toPrecision(2)}`));
    return td;
  };

  A.Experiments = ({ flowId, published, unsaved }) => {
    const box = $('experiments-list');

    const promote = async (experiment, variant) => {
      const ok = await A.ask({
        title: `Promote variant ${variant.id}?`,
        message: `This publishes a new version in which variant ${variant.id}'s text replaces ${experiment.target} and the experiment "${experiment.id}" ends.${unsaved()}`,
        confirm: 'Promote and publish',
      });
      if (!ok) return;
      try {
        const res = await A.api('POST', A.flowPath(flowId, 'experiments', encodeURIComponent(experiment.id), 'promote'), { variant: variant.id });
        A.clearError();
        A.notify(`Published version ${res.version} with variant ${variant.id}.`);
        await published();
      } catch (e) {
        A.showError(e);
      }
    };

    const card = (x) => {
      const section = el('section', 'card experiment');
      const titleId = A.nextId('x');
      section.setAttribute('aria-labelledby', titleId);
      const head = el('div', 'version-head');
      const h = el('h3', 'version-title', x.id);
      h.id = titleId;
      head.append(h, el('span', `pill${x.live ? ' pill-live' : ''}`, x.live ? 'Running' : 'Ended'));
      if (x.winner) head.append(el('span', 'pill pill-winner', `Winner: ${x.winner}`));
      section.append(head);
      section.append(el('p', 'muted', `Tests ${x.target} · winner by ${(METRICS[x.metric] || x.metric || '').toLowerCase()}`));
      if (x.verdict) section.append(el('p', 'verdict', x.verdict));
      const wrap = el('div', 'table-wrap');
      const table = el('table', 'data-table results');
      const caption = el('caption', 'sr-only', `Results of experiment ${x.id}`);
      const thead = el('thead');
      const hr = el('tr');
      ['Variant', 'Text', 'Conversations', 'Completed', 'Qualified', 'Handed off', ''].forEach((t, i) => {
        const th = el('th', i >= 2 && i <= 5 ? 'num' : null, t);
        th.scope = 'col';
        if (!t) th.append(el('span', 'sr-only', 'Actions'));
        hr.append(th);
      });
      thead.append(hr);
      const tbody = el('tbody');
      (x.variants || []).forEach((v) => {
        const tr = el('tr');
        const name = el('th');
        name.scope = 'row';
        name.append(el('span', 'cell-main', v.id));
        name.append(el('span', 'cell-sub', `${v.control ? 'control · ' : ''}weight ${v.weight == null ? 1 : v.weight}`));
        const text = el('td', 'variant-text', v.text || (v.control ? 'The flow\'s own text' : '–'));
        const convs = el('td', 'num', v.conversations == null ? '–' : String(v.conversations));
        const actions = el('td', 'row-actions');
        if (x.live) {
          const b = button('button button-small', 'Promote', () => promote(x, v));
          b.setAttribute('aria-label', `Promote variant ${v.id} of ${x.id}`);
          actions.append(b);
        }
        tr.append(name, text, convs, rateCell(v.completed, x.metric === 'completed'), rateCell(v.qualified, x.metric === 'qualified'), rateCell(v.handed_off, x.metric === 'handed_off'), actions);
        tbody.append(tr);
      });
      table.append(caption, thead, tbody);
      wrap.append(table);
      section.append(wrap);
      return section;
    };

    const load = async () => {
      try {
        const data = await A.api('GET', A.flowPath(flowId, 'experiments'));
        const experiments = (data && data.experiments) || [];
        A.clear(box);
        experiments.forEach((x) => box.append(card(x)));
        $('experiments-empty').hidden = experiments.length > 0;
      } catch (e) {
        A.showError(e);
      }
    };
    return { load };
  };
})();
