/* leadbot admin: the flow editor page. Loads GET /api/flows/{id} into the form (admin-form.js),
 * validates as the admin types, saves the draft, discards it, publishes it, binds channels, and
 * wires the preview (admin-preview.js) and the Versions and Experiments tabs (admin-panels.js).
 * Text only: textContent and text nodes, never markup. */
(() => {
  'use strict';
  const A = window.leadbotAdmin;
  const { $, el, button } = A;
  const shell = $('flow-editor');
  if (!shell) return;
  const flowId = shell.dataset.flowId;
  const VALIDATE_AFTER_MS = 300;

  const S = {
    loaded: false,
    liveVersion: null,
    hasDraft: false,
    draftBy: null,
    draftAt: null,
    saved: '', // the body the server holds (draft, else live), as JSON, to tell unsaved changes
    problems: [],
    checked: '', // the body the problems are about, as JSON
    validateTimer: 0,
    validateSeq: 0,
    busy: false,
    changes: null,
  };

  const form = A.FlowForm($('flow-form'), { onChange: () => changed() });
  const body = () => form.read();
  const dirty = () => S.loaded && JSON.stringify(body()) !== S.saved;
  const preview = A.Preview({ flowId, body, slotNames: () => (body().slots || []).map((s) => s.name) });
  // Publishing from the Versions or Experiments tab reloads the form: say what that costs.
  const unsaved = () => (dirty() ? ' Your unsaved changes in the form are lost; save the draft first to keep them.' : '');
  const versions = A.Versions({ flowId, live: () => S.liveVersion, hasDraft: () => S.hasDraft, published: () => reload(), unsaved });
  const experiments = A.Experiments({ flowId, published: () => reload(), unsaved });

  // ---- the state line and the buttons ----
  const render = () => {
    const line = A.clear($('flow-state'));
    const part = (text, cls) => { line.append(el('span', cls || null, text)); };
    part(S.liveVersion == null ? 'Not published yet' : `Live: version ${S.liveVersion}`, 'state-live');
    if (S.hasDraft) {
      const draft = el('span', 'state-draft', `Draft saved${S.draftBy ? ` by ${S.draftBy}` : ''}`);
      if (S.draftAt) draft.append(document.createTextNode(', '), A.timeEl(S.draftAt));
      line.append(draft);
    } else {
      part('No draft', 'muted');
    }
    if (S.problems.length) part(S.problems.length === 1 ? '1 problem' : `${S.problems.length} problems`, 'state-problem');
    const isDirty = dirty();
    $('dirty').hidden = !isDirty;
    $('save-draft').disabled = !S.loaded || S.busy || !isDirty;
    $('discard-draft').disabled = !S.loaded || S.busy || (!S.hasDraft && !isDirty);
    $('discard-draft').textContent = S.hasDraft ? 'Discard draft' : 'Discard changes';
    const blocked = S.problems.length > 0;
    const nothing = !S.hasDraft && !isDirty;
    $('publish').disabled = !S.loaded || S.busy || blocked || nothing;
    $('publish-why').textContent = blocked ? 'Fix the problems first.' : (nothing ? 'Nothing to publish: the form is the live version.' : '');
    const exp = $('export-link');
    exp.href = A.exportHref(flowId, S.hasDraft ? 'draft' : null);
    exp.textContent = S.hasDraft ? 'Export draft YAML' : 'Export YAML';
  };

  // ---- problems: next to their fields, and all of them in a list at the top ----
  const showProblems = (problems) => {
    S.problems = problems || [];
    const unplaced = new Set(form.showProblems(S.problems));
    const box = $('problems');
    const list = A.clear($('problems-list'));
    box.hidden = !S.problems.length;
    $('problems-title').textContent = S.problems.length === 1
      ? '1 problem — fix it to publish'
      : `${S.problems.length} problems — fix them to publish`;
    S.problems.forEach((p) => {
      const li = el('li');
      if (p.path) li.append(el('code', 'problem-path', p.path), document.createTextNode(' '));
      li.append(el('span', null, p.message));
      if (!unplaced.has(p)) {
        const go = button('link-button', 'Show', () => form.focusPath(p.path));
        go.setAttribute('aria-label', `Show the field: ${p.path}`);
        li.append(document.createTextNode(' '), go);
      }
      list.append(li);
    });
    render();
  };
  const showChanges = (changes, title) => {
    S.changes = changes;
    const box = $('changes');
    box.hidden = changes == null;
    $('changes-title').textContent = title || 'Changes against the live version';
    const target = A.clear($('changes-body'));
    if (changes == null) return;
    if (!changes.length) {
      target.append(el('p', 'muted', 'None: the draft is the same as the live version.'));
      return;
    }
    const list = el('ul', 'change-list');
    changes.forEach((c) => list.append(el('li', null, c)));
    target.append(list);
  };

  // ---- validation as the admin types ----
  const validate = async () => {
    const seq = ++S.validateSeq;
    const current = body();
    const json = JSON.stringify(current);
    try {
      const res = await A.api('POST', '/api/flows/validate', current);
      if (seq !== S.validateSeq) return; // a newer check is on its way
      S.checked = json;
      showProblems(res.problems || []);
    } catch (e) {
      if (seq === S.validateSeq) A.showError(e);
    }
  };
  const changed = () => {
    if (!S.loaded) return;
    render();
    preview.changed();
    clearTimeout(S.validateTimer);
    S.validateTimer = setTimeout(validate, VALIDATE_AFTER_MS);
  };

  // ---- loading ----
  const load = async () => {
    let data;
    try {
      data = await A.api('GET', A.flowPath(flowId));
    } catch (e) {
      $('flow-loading').hidden = true;
      A.showError(e.status === 404 ? new Error(`There is no flow "${flowId}". Import one from the flows page.`) : e);
      return false;
    }
    const start = data.draft || data.live || { id: flowId, texts: {}, slots: [] };
    S.liveVersion = data.live_version;
    S.hasDraft = Boolean(data.draft);
    S.draftBy = data.draft_updated_by || null;
    S.draftAt = data.draft_updated_at || null;
    form.load(start, data.text_defaults || {});
    preview.changed();
    S.saved = JSON.stringify(body());
    S.checked = S.saved;
    S.loaded = true;
    $('flow-loading').hidden = true;
    $('flow-title').textContent = start.name || flowId;
    document.title = `${start.name || flowId} · Flows · leadbot`;
    document.querySelectorAll('#channels input[type="checkbox"]').forEach((box) => {
      box.checked = (data.channels || []).includes(box.value);
    });
    showProblems(S.hasDraft ? data.draft_problems || [] : []);
    showChanges(null);
    if (S.hasDraft && S.liveVersion != null) {
      try {
        const diff = await A.api('GET', `${A.flowPath(flowId, 'diff')}?from=${S.liveVersion}&to=draft`);
        showChanges(diff.changes || []);
      } catch (e) { /* the list of changes is a help, not a need */ }
    }
    render();
    return true;
  };
  const reload = async () => {
    clearTimeout(S.validateTimer);
    S.validateSeq++;
    const ok = await load();
    if (ok) await Promise.all([versions.load(), experiments.load()]);
  };

  // ---- draft: save, discard ----
  const save = async () => {
    clearTimeout(S.validateTimer);
    S.validateSeq++;
    const current = body();
    S.busy = true;
    render();
    try {
      const res = await A.api('PUT', A.flowPath(flowId, 'draft'), current);
      S.saved = JSON.stringify(current);
      S.checked = S.saved;
      S.hasDraft = true;
      S.draftAt = new Date().toISOString();
      S.draftBy = null;
      A.clearError();
      showProblems(res.problems || []);
      showChanges(res.changes || [], S.liveVersion == null ? 'Changes' : 'Changes against the live version');
      A.notify(res.valid === false || (res.problems || []).length
        ? 'Draft saved. It has problems; fix them before publishing.'
        : 'Draft saved.');
      versions.refreshDiff();
      return res;
    } catch (e) {
      A.showError(e);
      return null;
    } finally {
      S.busy = false;
      render();
    }
  };
  $('save-draft').addEventListener('click', save);

  $('discard-draft').addEventListener('click', async () => {
    const ok = await A.ask({
      title: S.hasDraft ? 'Discard the draft?' : 'Discard your changes?',
      message: S.hasDraft
        ? 'The draft and any unsaved changes are deleted; the form goes back to the live version.'
        : 'The form goes back to the live version.',
      confirm: 'Discard', danger: true,
    });
    if (!ok) return;
    const hadDraft = S.hasDraft;
    try {
      if (hadDraft) await A.api('DELETE', A.flowPath(flowId, 'draft'));
      A.clearError();
      await reload();
      A.notify(hadDraft ? 'Draft discarded.' : 'Changes discarded.');
    } catch (e) {
      A.showError(e);
    }
  });

  // ---- publish ----
  const dialog = $('publish-dialog');
  const publishError = $('publish-error');
  $('publish').addEventListener('click', async () => {
    if (dirty() || !S.hasDraft) {
      const res = await save();
      if (!res) return;
      if ((res.problems || []).length) return;
    }
    const changes = A.clear($('publish-changes'));
    if (S.changes && S.changes.length) {
      changes.append(el('h3', 'subhead', 'Changes'));
      const list = el('ul', 'change-list');
      S.changes.forEach((c) => list.append(el('li', null, c)));
      changes.append(list);
    }
    publishError.hidden = true;
    $('publish-note').value = '';
    dialog.showModal();
    $('publish-note').focus();
  });
  $('publish-form').addEventListener('submit', async (e) => {
    const submitter = e.submitter;
    if (!submitter || submitter.value !== 'publish') return; // Cancel closes the dialog
    e.preventDefault();
    const note = $('publish-note').value.trim();
    const confirm = $('publish-confirm');
    confirm.disabled = true;
    try {
      const res = await A.api('POST', A.flowPath(flowId, 'publish'), note ? { note } : {});
      dialog.close();
      A.clearError();
      await reload();
      showChanges(null);
      A.notify(`Published version ${res.version}. New conversations start on it.`);
    } catch (err) {
      publishError.textContent = err.message;
      publishError.hidden = false;
      if (err.data && err.data.problems) showProblems(err.data.problems);
    } finally {
      confirm.disabled = false;
    }
  });

  // ---- channels: bound at once ----
  const channelBoxes = [...document.querySelectorAll('#channels input[type="checkbox"]')];
  channelBoxes.forEach((box) => box.addEventListener('change', async () => {
    const wanted = channelBoxes.filter((b) => b.checked).map((b) => b.value);
    channelBoxes.forEach((b) => { b.disabled = true; });
    try {
      const res = await A.api('PUT', A.flowPath(flowId, 'channels'), { channels: wanted });
      const bound = res.channels || wanted;
      channelBoxes.forEach((b) => { b.checked = bound.includes(b.value); });
      A.clearError();
      A.notify(bound.length ? `Channels bound to this flow: ${bound.join(', ')}.` : 'No channels are bound to this flow.');
    } catch (e) {
      box.checked = !box.checked;
      A.showError(e);
    } finally {
      channelBoxes.forEach((b) => { b.disabled = false; });
    }
  }));

  // ---- tabs ----
  const tabs = [...document.querySelectorAll('.tabs [role="tab"]')];
  const select = (tab, focus) => {
    tabs.forEach((t) => {
      const on = t === tab;
      t.setAttribute('aria-selected', String(on));
      t.tabIndex = on ? 0 : -1;
      $(t.getAttribute('aria-controls')).hidden = !on;
    });
    if (focus) tab.focus();
    const name = tab.id.replace('tab-', '');
    history.replaceState(null, '', name === 'edit' ? location.pathname : `${location.pathname}#${name}`);
  };
  tabs.forEach((tab, i) => {
    tab.addEventListener('click', () => select(tab, false));
    tab.addEventListener('keydown', (e) => {
      const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
      if (to === undefined) return;
      e.preventDefault();
      select(tabs[(to + tabs.length) % tabs.length], true);
    });
  });
  const fromHash = tabs.find((t) => t.id === `tab-${location.hash.slice(1)}`);
  if (fromHash) select(fromHash, false);

  // ---- leaving with unsaved changes ----
  window.addEventListener('beforeunload', (e) => {
    if (!dirty()) return;
    e.preventDefault();
    e.returnValue = '';
  });

  // Keyboard: Ctrl/Cmd+S saves the draft.
  document.addEventListener('keydown', (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key === 's') {
      e.preventDefault();
      if (!$('save-draft').disabled) save();
    }
  });

  const imported = new URLSearchParams(location.search).has('imported');
  reload().then(() => {
    if (imported) {
      A.notify('Imported as the draft. Check it, then publish it.');
      history.replaceState(null, '', location.pathname + location.hash);
    }
  });
})();
