/* leadbot admin: the building blocks of the flow form — labelled fields, reorderable lists,
 * collapsible cards — and showing the server's problems next to the fields they name.
 *
 * Every node that stands for a part of the flow body carries `data-seg` (its key or index);
 * `assignPaths` joins them into `data-path`, the dotted path the API's problems use
 * ("slots.1.question"). Text only: textContent and text nodes, never markup. */
(() => {
  'use strict';
  const A = window.leadbotAdmin;
  const { el, button, nextId } = A;

  // ---- controls ----
  const input = (type, value, attrs) => {
    const node = el('input');
    node.type = type;
    if (value != null) node.value = String(value);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    return node;
  };
  const textarea = (value, rows, attrs) => {
    const node = el('textarea');
    node.rows = rows || 2;
    if (value != null) node.value = String(value);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    return node;
  };
  /* `options`: [[value, label], …]. A value that is not among them is kept as an extra option,
   * so loading a flow never silently changes it. */
  const select = (options, value, unknownLabel) => {
    const node = el('select');
    fillSelect(node, options, value, unknownLabel);
    return node;
  };
  const fillSelect = (node, options, value, unknownLabel) => {
    A.clear(node);
    const seen = new Set();
    const option = (parent, [v, label]) => {
      const o = el('option', null, label);
      o.value = v;
      parent.append(o);
      seen.add(v);
    };
    options.forEach((entry) => {
      if (Array.isArray(entry)) { option(node, entry); return; }
      const optgroup = el('optgroup'); // {group: "Texts", options: [[value, label], …]}
      optgroup.label = entry.group;
      entry.options.forEach((o) => option(optgroup, o));
      if (entry.options.length) node.append(optgroup);
    });
    if (value != null && value !== '' && !seen.has(String(value))) {
      const o = el('option', null, unknownLabel ? unknownLabel(value) : String(value));
      o.value = String(value);
      node.append(o);
    }
    node.value = value == null ? '' : String(value);
  };
  const checkbox = (checked) => {
    const node = input('checkbox');
    node.checked = Boolean(checked);
    return node;
  };

  // ---- a labelled field ----
  /* A `.field` with a label, its control and an optional hint (the control's description).
   * `seg` is its key in the body. */
  const field = (seg, labelText, control, opts) => {
    const o = opts || {};
    const wrap = el('div', `field${o.cls ? ` ${o.cls}` : ''}`);
    if (seg != null) wrap.dataset.seg = String(seg);
    control.id = control.id || nextId('f');
    const label = el('label', null, labelText);
    label.htmlFor = control.id;
    if (o.optional) label.append(' ', el('span', 'optional', '(optional)'));
    if (o.srLabel) label.className = 'sr-only';
    if (control.type === 'checkbox') {
      wrap.classList.add('field-check');
      wrap.append(control, label);
    } else {
      wrap.append(label, control);
    }
    if (o.hint) {
      const hint = el('p', 'hint', o.hint);
      hint.id = nextId('h');
      control.setAttribute('aria-describedby', hint.id);
      control.dataset.describedby = hint.id;
      wrap.append(hint);
    }
    return wrap;
  };
  /* A fieldset with a legend: a group of fields that is one part of the body. */
  const group = (seg, legendText, cls) => {
    const node = el('fieldset', `group${cls ? ` ${cls}` : ''}`);
    if (seg != null) node.dataset.seg = String(seg);
    node.append(el('legend', null, legendText));
    return node;
  };

  // ---- reading values ----
  const text = (node) => node.value;
  const filled = (value) => value != null && String(value).trim() !== '';
  /* The number in an input, `undefined` when empty, the raw text when it is not a number (so the
   * server names the problem instead of the value vanishing). */
  const number = (node) => {
    const raw = node.value.trim();
    if (raw === '') return undefined;
    const n = Number(raw);
    return Number.isFinite(n) ? n : raw;
  };
  const lines = (node) => node.value.split('\n').map((l) => l.trim()).filter(Boolean);
  /* Copy the filled entries of `pairs` ([key, value]) into a new object, in order. */
  const compact = (pairs) => {
    const out = {};
    pairs.forEach(([k, v]) => {
      if (v === undefined || v === null) return;
      if (typeof v === 'string' && v.trim() === '') return;
      if (Array.isArray(v) && !v.length) return;
      if (typeof v === 'object' && !Array.isArray(v) && !Object.keys(v).length) return;
      out[k] = v;
    });
    return out;
  };

  // ---- collapsible cards ----
  /* A card whose body shows and hides behind a disclosure button; `actions` sit beside it. */
  const collapsible = (cls, open) => {
    const wrap = el('div', `collapsible ${cls || ''}`.trim());
    wrap.dataset.collapsible = '';
    const head = el('div', 'collapsible-head');
    const toggle = button('disclosure');
    const title = el('span', 'disclosure-title');
    const badge = el('span', 'problem-badge');
    badge.hidden = true;
    toggle.append(el('span', 'disclosure-icon'), title, badge);
    const actions = el('div', 'item-actions');
    head.append(toggle, actions);
    const body = el('div', 'collapsible-body');
    body.id = nextId('c');
    toggle.setAttribute('aria-controls', body.id);
    const set = (isOpen) => {
      toggle.setAttribute('aria-expanded', String(isOpen));
      body.hidden = !isOpen;
    };
    toggle.addEventListener('click', () => set(body.hidden));
    set(Boolean(open));
    wrap.append(head, body);
    return { node: wrap, head, title, actions, body, badge, open: () => set(true) };
  };

  // ---- lists: add, remove and (optionally) reorder parts ----
  /* `make(value)` builds one part `{node, read, label?(), actions?}`; `blank()` is a new value.
   * `noun` names an item for the buttons' accessible names ("Move question 2 up"). */
  const list = ({ seg, cls, make, blank, noun, addLabel, movable, onChange }) => {
    const node = el('div', `list ${cls || ''}`.trim());
    if (seg != null) node.dataset.seg = String(seg);
    const ol = el('ol', 'list-items');
    const empty = el('p', 'list-empty muted', `No ${noun}s yet.`);
    const add = button('button button-small list-add', addLabel || `Add ${noun}`, () => {
      const item = append(blank());
      changed();
      const first = item.part.node.querySelector('input, select, textarea, button.disclosure');
      if (first) first.focus();
    });
    node.append(ol, empty, add);
    const items = [];

    const changed = () => {
      renumber();
      if (onChange) onChange();
    };
    const name = (item) => {
      const i = items.indexOf(item) + 1;
      const label = item.part.label ? item.part.label() : '';
      return label ? `${noun} ${i} (${label})` : `${noun} ${i}`;
    };
    const renumber = () => {
      items.forEach((item, i) => {
        item.li.dataset.seg = String(i);
        item.li.dataset.index = String(i + 1);
        if (item.up) {
          item.up.disabled = i === 0;
          item.down.disabled = i === items.length - 1;
          item.up.setAttribute('aria-label', `Move ${name(item)} up`);
          item.down.setAttribute('aria-label', `Move ${name(item)} down`);
        }
        item.remove.setAttribute('aria-label', `Remove ${name(item)}`);
        if (item.part.renumbered) item.part.renumbered(i);
      });
      empty.hidden = items.length > 0;
      assignPaths(node.closest('form') || node);
    };
    const move = (item, by, focusDown) => {
      const i = items.indexOf(item);
      const j = i + by;
      if (j < 0 || j >= items.length) return;
      items.splice(i, 1);
      items.splice(j, 0, item);
      ol.insertBefore(item.li, items[j + 1] ? items[j + 1].li : null);
      changed();
      const target = focusDown ? item.down : item.up;
      (target.disabled ? (focusDown ? item.up : item.down) : target).focus();
      A.notify(`Moved to position ${j + 1}.`);
    };
    const append = (value) => {
      const part = make(value);
      const li = el('li', 'list-item');
      const item = { part, li };
      const bar = part.actions || el('div', 'item-actions');
      if (movable) {
        item.up = button('icon-button', '↑', () => move(item, -1, false));
        item.down = button('icon-button', '↓', () => move(item, 1, true));
        bar.append(item.up, item.down);
      }
      item.remove = button('icon-button icon-remove', '×', () => {
        const i = items.indexOf(item);
        items.splice(i, 1);
        li.remove();
        changed();
        const next = items[i] || items[i - 1];
        (next ? next.remove : add).focus();
        A.notify(`Removed ${noun}.`);
      });
      bar.append(item.remove);
      li.append(part.node);
      if (!part.actions) li.append(bar);
      const slot = el('div', 'problems-slot');
      li.append(slot);
      ol.append(li);
      items.push(item);
      renumber();
      return item;
    };
    return {
      node,
      parts: () => items.map((item) => item.part),
      read: () => items.map((item) => item.part.read()),
      load: (values) => { (values || []).forEach(append); renumber(); },
      renumber,
    };
  };

  // ---- dotted paths ----
  const assignPaths = (root) => {
    root.querySelectorAll('[data-seg]').forEach((node) => {
      const segs = [];
      for (let n = node; n && n !== root.parentNode; n = n.parentElement) {
        if (n.dataset && n.dataset.seg != null) segs.unshift(n.dataset.seg);
      }
      node.dataset.path = segs.join('.');
    });
  };

  // ---- problems next to their fields ----
  const findTarget = (root, path) => {
    if (!path) return null;
    const parts = String(path).split('.');
    while (parts.length) {
      const node = root.querySelector(`[data-path="${CSS.escape(parts.join('.'))}"]`);
      if (node) return node;
      parts.pop();
    }
    return null;
  };
  const controlOf = (target) => (target.classList.contains('field') ? target.querySelector('input, select, textarea') : null);
  const clearProblems = (root) => {
    root.querySelectorAll('.problem').forEach((p) => p.remove());
    root.querySelectorAll('[aria-invalid]').forEach((node) => {
      node.removeAttribute('aria-invalid');
      if (node.dataset.describedby) node.setAttribute('aria-describedby', node.dataset.describedby);
      else node.removeAttribute('aria-describedby');
    });
    root.querySelectorAll('.has-problem').forEach((node) => {
      node.classList.remove('has-problem');
      node.removeAttribute('aria-describedby');
    });
  };
  const describe = (node, id) => {
    const ids = (node.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
    ids.push(id);
    node.setAttribute('aria-describedby', ids.join(' '));
  };
  /* Show each problem next to the field its path names (or the nearest part above it); returns
   * the problems that name no field here. */
  const showProblems = (root, problems) => {
    clearProblems(root);
    const unplaced = [];
    (problems || []).forEach((problem) => {
      const target = findTarget(root, problem.path);
      if (!target) { unplaced.push(problem); return; }
      const message = el('p', 'problem', problem.message);
      message.id = nextId('p');
      const control = controlOf(target);
      if (control) {
        const hint = target.querySelector(':scope > .hint');
        target.insertBefore(message, hint); // right under the field, before its hint
        control.setAttribute('aria-invalid', 'true');
        describe(control, message.id);
      } else {
        const slot = target.querySelector(':scope > .problems-slot') || target;
        slot.append(message);
        target.classList.add('has-problem');
        describe(target, message.id);
      }
    });
    root.querySelectorAll('[data-collapsible]').forEach((card) => {
      const badge = card.querySelector(':scope > .collapsible-head .problem-badge');
      if (!badge) return;
      const n = card.querySelectorAll('.problem').length;
      badge.hidden = n === 0;
      badge.textContent = n === 1 ? '1 problem' : `${n} problems`;
    });
    return unplaced;
  };
  /* Reveal and focus the field a path names. */
  const focusPath = (root, path) => {
    const target = findTarget(root, path);
    if (!target) return false;
    for (let n = target; n && n !== root; n = n.parentElement) {
      if (n.classList.contains('collapsible-body') && n.hidden) {
        const toggle = n.parentElement.querySelector(':scope > .collapsible-head .disclosure');
        if (toggle) toggle.click();
      }
    }
    const control = controlOf(target) || target.querySelector('input, select, textarea, button');
    const focusable = control || target;
    if (!control) target.tabIndex = -1;
    focusable.focus();
    target.scrollIntoView({ block: 'center', behavior: 'smooth' });
    return true;
  };

  A.fields = {
    input, textarea, select, fillSelect, checkbox, field, group, text, filled, number, lines, compact,
    collapsible, list, assignPaths, showProblems, clearProblems, focusPath, findTarget,
  };
})();
