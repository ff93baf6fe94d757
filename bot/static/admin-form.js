/* leadbot admin: the flow form. Builds one field per part of a flow body (bot/flows.py) and
 * reads the body back in the same shape as the flow YAML, leaving out what the admin left empty,
 * so export and import round-trip.
 *
 * `leadbotAdmin.FlowForm(form, {onChange})` → `{load(body, textDefaults), read(), showProblems,
 * focusPath}`. Text only: textContent and text nodes, never markup. */
(() => {
  'use strict';
  const A = window.leadbotAdmin;
  const F = A.fields;
  const { el } = A;

  const SLOT_TYPES = [
    ['text', 'Free text'], ['company', 'Company'], ['person_name', "Person's name"],
    ['integer', 'Whole number'], ['money', 'Money per month'], ['timeline', 'Timeline'],
    ['decision_maker', 'Decision maker'], ['boolean', 'Yes or no'], ['email', 'Email'],
    ['phone', 'Phone'], ['choice', 'One of the quick replies'],
  ];
  const DEFAULT_INPUT = {
    email: 'email', phone: 'phone', integer: 'number', timeline: 'choice', decision_maker: 'choice', boolean: 'choice', choice: 'choice',
  };
  const INPUTS = [['text', 'Text'], ['email', 'Email'], ['phone', 'Phone'], ['number', 'Number'], ['choice', 'Quick replies']];
  const OPS = [
    ['gte', '≥ at least'], ['gt', '> more than'], ['lte', '≤ at most'], ['lt', '< less than'],
    ['between', 'between'], ['eq', '= is'], ['in', 'is one of'], ['known', 'is given'],
  ];
  const SCORE_OPS = OPS.filter(([op]) => op !== 'in' && op !== 'known');
  const NUMERIC = ['integer', 'money'];
  const YES_NO = ['boolean', 'decision_maker'];
  const TIMELINE = [['immediate', 'immediate (≤ 30 days)'], ['short', 'short (≤ 90 days)'], ['medium', 'medium (≤ 180 days)'], ['long', 'long']];
  const METRICS = [['qualified', 'Qualified'], ['completed', 'Completed'], ['handed_off', 'Handed off']];
  const DAYS = [['mon', 'Monday'], ['tue', 'Tuesday'], ['wed', 'Wednesday'], ['thu', 'Thursday'], ['fri', 'Friday'], ['sat', 'Saturday'], ['sun', 'Sunday']];
  const SLOT_TEXTS = [['question', 'question'], ['reask', 're-ask'], ['ack', 'acknowledgement']];
  const TEXT_HINTS = {
    greeting: 'The first thing the bot says in every conversation.',
    handoff_requested: 'When the visitor asks for a person.',
    handoff_not_understood: 'When the bot gives up after not understanding several times in a row.',
    qualified: 'When the lead qualifies and a person takes over.',
    unqualified: 'When every question is answered and the lead does not qualify.',
    opted_out: 'After the visitor writes STOP.',
    opted_in: 'After the visitor writes START again.',
    skipped: 'When the visitor skips a question.',
    thanks: 'After an answer, for questions without an acknowledgement of their own.',
    not_understood: 'When the bot could not read an answer.',
    closed: 'When the visitor writes in a closed conversation.',
    resumed: 'When the bot takes over again after a person.',
    after_hours: 'Outside business hours; {when} says when the team is back.',
    after_hours_handoff: 'A handoff outside business hours.',
    callback: 'Before asking for contact details so the team can get back.',
    all_set: 'When there is nothing left to ask.',
    help: 'When the visitor asks for help.',
    required: 'When the visitor tries to skip a required question.',
  };
  const human = (key) => (key ? key.charAt(0).toUpperCase() + key.slice(1).replace(/_/g, ' ') : key);
  const unknownSlot = (v) => `${v} (no such question)`;

  // ---- comparison values: typed as the slot reads them ----
  const scalar = (raw, type) => {
    const t = String(raw).trim();
    if (t === '') return undefined;
    if (NUMERIC.includes(type) || (!type && /^-?\d+(\.\d+)?$/.test(t))) {
      const n = Number(t);
      return Number.isFinite(n) ? n : t;
    }
    if (YES_NO.includes(type)) {
      if (/^(yes|true)$/i.test(t)) return true;
      if (/^(no|false)$/i.test(t)) return false;
    }
    return t;
  };
  const shown = (v) => (v === true ? 'yes' : v === false ? 'no' : v == null ? '' : String(v));
  /* Carry a value over when the comparison changes: [a, b] for between, a list for in. */
  const reshape = (value, op) => {
    const list = Array.isArray(value) ? value : (value === undefined || value === null ? [] : [value]);
    if (op === 'between') return [list[0], list[1]];
    if (op === 'in') return list.filter((v) => v !== undefined && v !== null);
    return list.length ? list[0] : undefined;
  };

  /* The editor for the value of `op` on a slot of `type` (null: unknown). `seg` is its key. */
  const valueEditor = (seg, type, op, value) => {
    if (op === 'known') {
      const node = el('div', 'value-none');
      node.dataset.seg = seg;
      node.append(el('span', 'muted', 'No value needed'));
      return { node, read: () => true };
    }
    if (op === 'between') {
      const [low, high] = reshape(value, op);
      const pair = el('div', 'value-pair');
      pair.dataset.seg = seg;
      const lo = F.input('number', low, { step: 'any' });
      const hi = F.input('number', high, { step: 'any' });
      pair.append(F.field('0', 'From', lo), F.field('1', 'To', hi));
      return { node: pair, read: () => [F.number(lo), F.number(hi)].map((v) => (v === undefined ? null : v)) };
    }
    if (op === 'in') {
      const items = reshape(value, op);
      const box = F.input('text', items.map(shown).join(', '));
      const hint = type === 'timeline'
        ? 'Separate with commas: immediate, short, medium, long.'
        : (YES_NO.includes(type) ? 'Separate with commas: yes, no.' : 'Separate with commas.');
      const node = F.field(seg, 'Values', box, { hint });
      return { node, read: () => box.value.split(',').map((v) => scalar(v, type)).filter((v) => v !== undefined) };
    }
    const single = reshape(value, op);
    if (op === 'eq' && YES_NO.includes(type)) {
      const choice = F.select([['true', 'yes'], ['false', 'no']], single === undefined ? 'true' : String(single));
      return { node: F.field(seg, 'Value', choice), read: () => (choice.value === 'true' ? true : choice.value === 'false' ? false : choice.value) };
    }
    if (op === 'eq' && type === 'timeline') {
      const choice = F.select(TIMELINE, single === undefined ? 'immediate' : single);
      return { node: F.field(seg, 'Value', choice), read: () => choice.value };
    }
    const numeric = op !== 'eq' || NUMERIC.includes(type);
    const box = numeric ? F.input('number', single, { step: 'any' }) : F.input('text', shown(single));
    return {
      node: F.field(seg, 'Value', box),
      read: () => (numeric ? F.number(box) : scalar(box.value, type)),
    };
  };

  // ---- a section of the form ----
  const section = (id, title, intro) => {
    const node = el('section', 'card form-section');
    node.id = `sec-${id}`;
    const h = el('h2', null, title);
    h.id = `sec-${id}-title`;
    node.setAttribute('aria-labelledby', h.id);
    node.append(h);
    if (intro) node.append(el('p', 'muted section-intro', intro));
    return node;
  };
  const grid = (...fields) => {
    const node = el('div', 'form-grid');
    node.append(...fields);
    return node;
  };

  A.FlowForm = (root, options) => {
    const onChange = (options && options.onChange) || (() => {});
    let read = () => ({});
    let slots = null;
    const watchers = [];

    const ctx = {
      textKeys: [],
      texts: {},
      slots: () => (slots ? slots.parts().map((p) => p.info()) : []),
      slot: (name) => ctx.slots().find((s) => s.name === name) || null,
      slotOptions: () => [['', 'Choose a question…'], ...ctx.slots().filter((s) => s.name).map((s) => [s.name, s.name])],
      targetOptions: () => [
        { group: 'Texts', options: ctx.textKeys.map((k) => [`texts.${k}`, human(k)]) },
        ...ctx.slots().filter((s) => s.name).map((s) => ({
          group: `Question ${s.name}`,
          options: SLOT_TEXTS.map(([t, label]) => [`slots.${s.name}.${t}`, `${s.name}: ${label}`]),
        })),
      ],
      /* The text an experiment's control shows: what the form says for its target now. */
      targetText: (target) => {
        const m = /^texts\.([a-z_]+)$|^slots\.([a-z0-9_]+)\.(question|reask|ack)$/.exec(target || '');
        if (!m) return '';
        if (m[1]) return ctx.texts[m[1]] ? (ctx.texts[m[1]].value || ctx.texts[m[1]].placeholder) : '';
        const part = slots && slots.parts().find((p) => p.info().name === m[2]);
        return part ? part.text(m[3]) : '';
      },
      /* Run `fn(oldName, newName)` whenever the questions change, while `node` is on the page. */
      watch: (node, fn) => watchers.push({ node, fn }),
      slotsChanged: (oldName, newName) => {
        for (let i = watchers.length - 1; i >= 0; i--) {
          if (!watchers[i].node.isConnected) watchers.splice(i, 1);
          else watchers[i].fn(oldName, newName);
        }
      },
    };

    // ---- basics ----
    const basics = (body) => {
      const sec = section('basics', 'Basics');
      const name = F.input('text', body.name, { autocomplete: 'off' });
      const region = F.input('text', body.region, { placeholder: 'US', maxlength: '2', autocomplete: 'off', spellcheck: 'false' });
      const currency = F.input('text', body.currency, { placeholder: 'USD', maxlength: '3', autocomplete: 'off', spellcheck: 'false' });
      const idBox = F.input('text', body.id, { readonly: '' });
      sec.append(grid(
        F.field('name', 'Name', name, { cls: 'span-2', hint: 'How admins know the flow; visitors never see it.' }),
        F.field(null, 'Flow id', idBox, { hint: 'Fixed. Widgets choose a flow with data-flow.' }),
        F.field('region', 'Phone region', region, { optional: true, hint: 'Two letters, for numbers written without +country code. Empty: US.' }),
        F.field('currency', 'Currency', currency, { optional: true, hint: 'Three letters, for budgets. Empty: USD.' }),
      ));
      return { node: sec, read: () => F.compact([['name', name.value], ['region', region.value.trim()], ['currency', currency.value.trim()]]) };
    };

    // ---- texts ----
    const textsSection = (texts, defaults) => {
      const sec = section('texts', 'Texts', 'What the bot says besides its questions. Leave a text empty to use the default shown in it.');
      const box = el('div', 'texts');
      box.dataset.seg = 'texts';
      const keys = ['greeting', ...Object.keys(defaults), ...Object.keys(texts)].filter((k, i, all) => all.indexOf(k) === i);
      ctx.textKeys = keys;
      ctx.texts = {};
      const fields = keys.map((key) => {
        const fallback = defaults[key];
        const area = F.textarea(texts[key], key === 'greeting' ? 3 : 2, fallback ? { placeholder: fallback } : {});
        ctx.texts[key] = area;
        const hint = TEXT_HINTS[key] || '';
        return F.field(key, human(key), area, { hint: fallback == null ? hint : `${hint} Empty: the default.`.trim(), optional: fallback != null });
      });
      const more = F.collapsible('texts-more', false);
      more.title.textContent = `Other texts (${fields.length - 1})`;
      more.body.append(grid(...fields.slice(1)));
      box.append(fields[0], more.node);
      sec.append(box);
      return { node: sec, read: () => F.compact(keys.map((k) => [k, ctx.texts[k].value])) };
    };

    // ---- questions (slots) ----
    const slotPart = (slot) => {
      const s = slot || {};
      const card = F.collapsible('slot-card', !slot);
      const number = el('span', 'item-number');
      const titleName = el('span', 'slot-name');
      const titleText = el('span', 'slot-question');
      card.title.append(number, titleName, titleText);
      const name = F.input('text', s.name, { autocomplete: 'off', spellcheck: 'false' });
      const type = F.select(SLOT_TYPES, s.type || 'text', (v) => `${v} (unknown type)`);
      const question = F.textarea(s.question, 2);
      const reask = F.textarea(s.reask, 2);
      const ack = F.textarea(s.ack, 2);
      const label = F.input('text', s.label, { autocomplete: 'off' });
      const required = F.checkbox(s.required);
      const choices = F.textarea((s.choices || []).join('\n'), 3);
      const input = F.select([], s.input);
      const inputOptions = () => {
        const derived = DEFAULT_INPUT[type.value] || 'text';
        F.fillSelect(input, [['', `From the type (${derived})`], ...INPUTS], input.value);
      };
      inputOptions();
      const title = () => {
        titleName.textContent = name.value.trim() || 'New question';
        titleText.textContent = question.value.trim();
        label.placeholder = name.value.trim().replace(/_/g, ' ');
      };
      title();
      card.body.append(grid(
        F.field('name', 'Name', name, { hint: 'lower_snake_case: the lead field the answer fills, e.g. team_size.' }),
        F.field('type', 'Type', type, { hint: 'How the answer is read.' }),
        F.field('question', 'Question', question, { cls: 'span-2' }),
        F.field('reask', 'Re-ask', reask, { cls: 'span-2', optional: true, hint: 'Said when an answer cannot be read. Empty: a default for the type.' }),
        F.field('ack', 'Acknowledgement', ack, { cls: 'span-2', optional: true, hint: 'Said when it is answered; {value} shows the answer as understood. Empty: the flow\'s "Thanks" text.' }),
        F.field('label', 'Label', label, { optional: true, hint: 'How replies and the inbox name it. Empty: from the name.' }),
        F.field('input', 'Input', input, { hint: 'What the widget offers for the answer.' }),
        F.field('choices', 'Quick replies', choices, { cls: 'span-2', optional: true, hint: 'One per line, offered as buttons. The type "One of the quick replies" needs them.' }),
        F.field('required', 'Required: the visitor cannot skip it', required, { cls: 'span-2' }),
      ));
      let lastName = name.value.trim();
      name.addEventListener('input', title);
      question.addEventListener('input', title);
      name.addEventListener('change', () => {
        const now = name.value.trim();
        ctx.slotsChanged(lastName, now);
        lastName = now;
      });
      type.addEventListener('change', () => { inputOptions(); ctx.slotsChanged(); });
      choices.addEventListener('change', () => ctx.slotsChanged());
      const texts = { question, reask, ack };
      return {
        node: card.node,
        actions: card.actions,
        label: () => name.value.trim(),
        renumbered: (i) => { number.textContent = `${i + 1}.`; },
        info: () => ({ name: name.value.trim(), type: type.value, choices: F.lines(choices) }),
        text: (which) => (texts[which] ? texts[which].value : ''),
        read: () => F.compact([
          ['name', name.value], ['type', type.value], ['question', question.value], ['reask', reask.value],
          ['required', required.checked || undefined], ['choices', F.lines(choices)], ['input', input.value],
          ['label', label.value], ['ack', ack.value],
        ]),
      };
    };
    const slotsSection = (body) => {
      const sec = section('slots', 'Questions', 'Asked in this order; the bot picks up any answer whenever the visitor gives it and never asks for what it already knows.');
      slots = F.list({
        seg: 'slots', cls: 'cards', noun: 'question', addLabel: 'Add question', movable: true,
        make: slotPart, blank: () => null,
        onChange: () => { ctx.slotsChanged(); onChange(); },
      });
      sec.append(slots.node);
      return { node: sec, load: () => slots.load(body.slots || []), read: () => slots.read() };
    };

    // ---- scoring ----
    /* A slot select, an op select and the value editor that fits them; `kind` 'rule' or 'route'. */
    const comparison = (slotName, op, value, opts) => {
      const scoreAllowed = opts.score;
      const subjectOptions = () => (scoreAllowed ? [['score', 'the score'], ...ctx.slotOptions().slice(1)] : ctx.slotOptions());
      const subject = F.select(subjectOptions(), slotName, unknownSlot);
      const subjectField = F.field(opts.subjectSeg(subject.value), opts.subjectLabel, subject);
      const opSel = F.select([], op);
      const opsFor = () => (scoreAllowed && subject.value === 'score' ? SCORE_OPS : OPS);
      F.fillSelect(opSel, opsFor(), op || 'gte');
      const box = el('div', 'value-box');
      let editor = null;
      let current = value;
      let typeShown = null;
      const typeOf = () => (subject.value === 'score' && scoreAllowed ? 'integer' : (ctx.slot(subject.value) || {}).type || null);
      const rebuild = () => {
        if (editor && opSel.dataset.shown !== 'known') current = editor.read();
        typeShown = typeOf();
        editor = valueEditor(opts.valueSeg(subject.value, opSel.value), typeShown, opSel.value, current);
        opSel.dataset.shown = opSel.value;
        A.clear(box).append(editor.node);
        subjectField.dataset.seg = opts.subjectSeg(subject.value);
        F.assignPaths(root);
      };
      subject.addEventListener('change', () => {
        if (!opsFor().some(([o]) => o === opSel.value)) F.fillSelect(opSel, opsFor(), 'gte');
        else F.fillSelect(opSel, opsFor(), opSel.value);
        rebuild();
      });
      opSel.addEventListener('change', rebuild);
      rebuild();
      return {
        nodes: [subjectField, F.field('op', 'Comparison', opSel), box],
        subject: () => subject.value,
        op: () => opSel.value,
        value: () => editor.read(),
        refresh: (oldName, newName) => {
          const keep = oldName && newName && subject.value === oldName ? newName : subject.value;
          F.fillSelect(subject, subjectOptions(), keep, unknownSlot);
          if (typeOf() !== typeShown) rebuild();
          else subjectField.dataset.seg = opts.subjectSeg(subject.value);
        },
      };
    };
    const rulePart = (rule) => {
      const r = rule || {};
      const row = el('div', 'rule-row');
      const cmp = comparison(r.slot, r.op, r.value, {
        score: false, subjectLabel: 'Question', subjectSeg: () => 'slot', valueSeg: () => 'value',
      });
      const points = F.input('number', r.points, { step: '1', min: '-100', max: '100' });
      row.append(...cmp.nodes, F.field('points', 'Points', points, { cls: 'field-points' }));
      ctx.watch(row, cmp.refresh);
      return {
        node: row,
        label: () => cmp.subject(),
        read: () => F.compact([
          ['slot', cmp.subject()], ['op', cmp.op()], ['value', cmp.op() === 'known' ? undefined : cmp.value()], ['points', F.number(points)],
        ]),
      };
    };
    const scoringSection = (body) => {
      const s = body.scoring || {};
      const sec = section('scoring', 'Scoring', 'Each rule the lead meets adds its points; the score (0–100) decides temperature, grade and whether the lead qualifies.');
      const box = el('div');
      box.dataset.seg = 'scoring';
      const rules = F.list({ seg: 'rules', cls: 'rows', noun: 'rule', addLabel: 'Add rule', make: rulePart, blank: () => null, onChange });
      const qualifiedAt = F.input('number', s.qualified_at, { placeholder: '70', min: '0', max: '100', step: '1' });
      const t = s.temperature || {};
      const g = s.grades || {};
      const hot = F.input('number', t.hot, { placeholder: '80', step: '1' });
      const warm = F.input('number', t.warm, { placeholder: '50', step: '1' });
      const gradeA = F.input('number', g.A, { placeholder: '80', step: '1' });
      const gradeB = F.input('number', g.B, { placeholder: '60', step: '1' });
      const gradeC = F.input('number', g.C, { placeholder: '40', step: '1' });
      const temperature = F.group('temperature', 'Temperature from score', 'group-inline');
      temperature.append(F.field('hot', 'Hot', hot), F.field('warm', 'Warm', warm), el('div', 'problems-slot'));
      const grades = F.group('grades', 'Grades from score', 'group-inline');
      grades.append(F.field('A', 'A', gradeA), F.field('B', 'B', gradeB), F.field('C', 'C', gradeC), el('div', 'problems-slot'));
      box.append(
        el('h3', 'subhead', 'Rules'), rules.node,
        grid(F.field('qualified_at', 'Qualified at', qualifiedAt, { hint: 'A score at or above this qualifies the lead. Empty: 70.' })),
        grid(temperature, grades),
      );
      sec.append(box);
      return {
        node: sec,
        load: () => rules.load(s.rules || []),
        read: () => F.compact([
          ['rules', rules.read()], ['qualified_at', F.number(qualifiedAt)],
          ['temperature', F.compact([['hot', F.number(hot)], ['warm', F.number(warm)]])],
          ['grades', F.compact([['A', F.number(gradeA)], ['B', F.number(gradeB)], ['C', F.number(gradeC)]])],
        ]),
      };
    };

    // ---- routing ----
    const routePart = (rule) => {
      const when = (rule && rule.when) || { score: { gte: 80 } };
      const opsOf = (obj) => OPS.map(([o]) => o).find((o) => obj && Object.prototype.hasOwnProperty.call(obj, o));
      const onScore = when.slot == null;
      const op = onScore ? opsOf(when.score) : opsOf(when);
      const value = op ? (onScore ? when.score[op] : when[op]) : undefined;
      const row = el('div', 'rule-row route-row');
      const whenBox = el('div', 'route-when');
      whenBox.dataset.seg = 'when';
      const cmp = comparison(onScore ? 'score' : when.slot, op, value, {
        score: true, subjectLabel: 'When',
        subjectSeg: (subject) => (subject === 'score' ? 'score' : 'slot'),
        valueSeg: (subject, o) => (subject === 'score' ? `score.${o}` : o),
      });
      whenBox.append(...cmp.nodes, el('div', 'problems-slot'));
      const team = F.input('text', rule ? rule.team : '', { autocomplete: 'off', spellcheck: 'false' });
      row.append(whenBox, F.field('team', 'Team', team, { cls: 'field-team' }));
      ctx.watch(row, cmp.refresh);
      return {
        node: row,
        label: () => team.value.trim(),
        read: () => {
          const v = cmp.op() === 'known' ? true : cmp.value();
          const condition = cmp.subject() === 'score' ? { score: { [cmp.op()]: v } } : { slot: cmp.subject(), [cmp.op()]: v };
          return F.compact([['when', condition], ['team', team.value]]);
        },
      };
    };
    const routingSection = (body) => {
      const r = body.routing || {};
      const sec = section('routing', 'Routing', 'Where a handed-off conversation goes: the first rule that matches, else the default team. A team with no agents falls back to the default team.');
      const box = el('div');
      box.dataset.seg = 'routing';
      const defaultTeam = F.input('text', r.default_team, { placeholder: 'sales', autocomplete: 'off', spellcheck: 'false' });
      const rules = F.list({ seg: 'rules', cls: 'rows', noun: 'routing rule', addLabel: 'Add routing rule', movable: true, make: routePart, blank: () => null, onChange });
      box.append(grid(F.field('default_team', 'Default team', defaultTeam, { hint: 'Empty: sales.' })), el('h3', 'subhead', 'Rules'), rules.node);
      sec.append(box);
      return {
        node: sec,
        load: () => rules.load(r.rules || []),
        read: () => F.compact([['default_team', defaultTeam.value.trim()], ['rules', rules.read()]]),
      };
    };

    // ---- handoff ----
    const handoffSection = (body) => {
      const h = body.handoff || {};
      const sec = section('handoff', 'Handoff', 'When the bot brings in a person besides the visitor asking for one or the lead qualifying.');
      const box = el('div');
      box.dataset.seg = 'handoff';
      const maxNot = F.input('number', h.max_not_understood, { placeholder: '3', min: '1', max: '20', step: '1' });
      const atLeast = F.input('number', h.score_at_least, { placeholder: 'Off', min: '0', max: '100', step: '1' });
      const phrases = F.textarea((h.phrases || []).join('\n'), 3);
      box.append(grid(
        F.field('max_not_understood', 'Not understood in a row', maxNot, { hint: 'Hand off after this many turns in a row the bot did not understand. Empty: 3.' }),
        F.field('score_at_least', 'Hand off at score', atLeast, { optional: true, hint: 'Hand off as soon as the score reaches this, without the remaining questions.' }),
        F.field('phrases', 'Phrases that ask for a person', phrases, { cls: 'span-2', optional: true, hint: 'One per line, besides the built-in ones ("talk to a human" …), e.g. pricing or demo.' }),
      ));
      sec.append(box);
      return {
        node: sec,
        read: () => F.compact([['max_not_understood', F.number(maxNot)], ['phrases', F.lines(phrases)], ['score_at_least', F.number(atLeast)]]),
      };
    };

    // ---- business hours ----
    const hoursSection = (body) => {
      const bh = body.business_hours;
      const sec = section('hours', 'Business hours', 'Outside these hours the bot tells visitors when the team is back. Off: the team is always open.');
      const on = F.checkbox(Boolean(bh));
      const box = el('div', 'hours');
      box.dataset.seg = 'business_hours';
      const zones = el('datalist');
      zones.id = A.nextId('zones');
      try { (Intl.supportedValuesOf ? Intl.supportedValuesOf('timeZone') : []).forEach((z) => { const o = el('option'); o.value = z; zones.append(o); }); } catch (e) { /* older browsers: free text */ }
      const here = (() => { try { return Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return ''; } })();
      const timezone = F.input('text', bh ? bh.timezone : here, { list: zones.id, autocomplete: 'off', spellcheck: 'false', placeholder: 'Europe/Berlin' });
      const week = F.group('week', 'Opening hours (local time)', 'week');
      const head = el('div', 'week-row week-head');
      head.setAttribute('aria-hidden', 'true');
      head.append(el('span', null, 'Day'), el('span', null, 'Opens'), el('span', null, 'Closes'));
      week.append(head);
      const days = DAYS.map(([key, dayName]) => {
        const hours = bh && bh.week ? bh.week[key] : (!bh && ['mon', 'tue', 'wed', 'thu', 'fri'].includes(key) ? ['09:00', '17:00'] : null);
        const row = el('div', 'week-row');
        row.dataset.seg = key;
        const open = F.checkbox(Boolean(hours));
        const opens = F.input('text', hours ? hours[0] : '09:00', { inputmode: 'numeric', placeholder: '09:00', maxlength: '5' });
        const closes = F.input('text', hours ? hours[1] : '17:00', { inputmode: 'numeric', placeholder: '17:00', maxlength: '5' });
        const sync = () => { opens.disabled = !open.checked; closes.disabled = !open.checked; };
        open.addEventListener('change', sync);
        sync();
        row.append(
          F.field(null, dayName, open),
          F.field('0', `${dayName} opens`, opens, { srLabel: true }),
          F.field('1', `${dayName} closes`, closes, { srLabel: true }),
        );
        week.append(row);
        return { key, open, opens, closes };
      });
      week.append(el('p', 'hint', 'Times like 09:00; close at 24:00 for midnight. A day left closed is closed all day.'), el('div', 'problems-slot'));
      box.append(zones, grid(F.field('timezone', 'Time zone', timezone, { hint: 'An IANA name like America/New_York; hours follow its daylight saving time.' })), week);
      const sync = () => { box.hidden = !on.checked; };
      on.addEventListener('change', sync);
      sync();
      sec.append(F.field(null, 'Keep business hours', on), box);
      return {
        node: sec,
        read: () => {
          if (!on.checked) return undefined;
          const w = {};
          days.forEach((d) => { if (d.open.checked) w[d.key] = [d.opens.value.trim(), d.closes.value.trim()]; });
          return { timezone: timezone.value.trim(), week: w };
        },
      };
    };

    // ---- WhatsApp ----
    const variablePart = (pair) => {
      const row = el('div', 'rule-row variable-row');
      const key = F.input('text', pair ? pair[0] : '', { autocomplete: 'off', spellcheck: 'false', inputmode: 'numeric' });
      const value = F.input('text', pair ? pair[1] : '', { autocomplete: 'off' });
      row.append(F.field(null, 'Variable', key, { cls: 'field-key' }), F.field(null, 'Value', value, { cls: 'field-grow' }));
      return { node: row, label: () => key.value.trim(), pair: () => [key.value.trim(), value.value] };
    };
    const whatsappSection = (body) => {
      const w = body.whatsapp || {};
      const sec = section('whatsapp', 'WhatsApp template', 'Sent when a reply goes out on WhatsApp after its 24-hour window closed. Empty: nothing goes out then.');
      const box = el('div');
      box.dataset.seg = 'whatsapp';
      const sid = F.input('text', w.template_sid, { placeholder: 'HX and 32 hex digits', autocomplete: 'off', spellcheck: 'false' });
      const variables = F.list({
        seg: 'variables', cls: 'rows', noun: 'variable', addLabel: 'Add variable', make: variablePart, onChange,
        blank: () => [String(variables.parts().length + 1), ''],
      });
      box.append(
        grid(F.field('template_sid', 'Template SID', sid, { cls: 'span-2', optional: true })),
        el('h3', 'subhead', 'Variables'),
        el('p', 'hint', 'Fill the template\'s numbered variables from the lead: {name} is the lead\'s name, {name|there} says "there" while it is unknown.'),
        variables.node,
      );
      sec.append(box);
      return {
        node: sec,
        load: () => variables.load(Object.entries(w.variables || {})),
        read: () => {
          const vars = {};
          variables.parts().forEach((p) => { const [k, v] = p.pair(); if (k || v) vars[k] = v; });
          return F.compact([['template_sid', sid.value.trim()], ['variables', vars]]);
        },
      };
    };

    // ---- experiments ----
    const variantPart = (targetText) => (variant) => {
      const v = variant || {};
      const row = el('div', 'variant-row');
      const badge = el('span', 'pill pill-control', 'Control');
      const id = F.input('text', v.id, { autocomplete: 'off', spellcheck: 'false' });
      const weight = F.input('number', v.weight, { placeholder: '1', min: '0', max: '1000', step: '1' });
      const text = F.textarea(v.text, 2);
      const textField = F.field('text', 'Text', text, { cls: 'field-grow' });
      const textLabel = textField.querySelector('label');
      row.append(badge, F.field('id', 'Variant', id, { cls: 'field-key' }), F.field('weight', 'Weight', weight, { cls: 'field-points' }), textField);
      return {
        node: row,
        label: () => id.value.trim(),
        renumbered: (i) => {
          badge.hidden = i !== 0;
          textLabel.textContent = i === 0 ? 'Text (empty: the flow\'s own)' : 'Text';
          text.placeholder = i === 0 ? targetText() : '';
        },
        read: () => F.compact([['id', id.value], ['weight', F.number(weight)], ['text', text.value]]),
      };
    };
    const experimentPart = (experiment) => {
      const x = experiment || { target: 'texts.greeting', variants: [{ id: 'a', weight: 1 }, { id: 'b', weight: 1 }] };
      const card = F.collapsible('experiment-card', !experiment);
      const titleId = el('span', 'slot-name');
      const titleTarget = el('span', 'slot-question');
      card.title.append(titleId, titleTarget);
      const id = F.input('text', x.id, { autocomplete: 'off', spellcheck: 'false' });
      const target = F.select(ctx.targetOptions(), x.target);
      const metric = F.select(METRICS, x.metric || 'qualified');
      const title = () => {
        titleId.textContent = id.value.trim() || 'New experiment';
        titleTarget.textContent = target.value;
      };
      title();
      const variants = F.list({
        seg: 'variants', cls: 'rows', noun: 'variant', addLabel: 'Add variant', movable: true, onChange,
        make: variantPart(() => ctx.targetText(target.value)),
        blank: () => ({ id: String.fromCharCode(97 + variants.parts().length), weight: 1 }),
      });
      card.body.append(
        grid(
          F.field('id', 'Experiment id', id, { hint: 'Lower-case letters, digits, - and _.' }),
          F.field('target', 'Tests the text', target),
          F.field('metric', 'Winner by', metric, { hint: 'The share of conversations that reach this.' }),
        ),
        el('h3', 'subhead', 'Variants'),
        el('p', 'hint', 'New conversations get a variant by weight (0 stops it). The first is the control the others are compared with.'),
        variants.node,
      );
      const placeholders = () => variants.renumber();
      id.addEventListener('input', title);
      target.addEventListener('change', () => { title(); placeholders(); });
      ctx.watch(card.node, (oldName, newName) => {
        let keep = target.value;
        if (oldName && newName && keep.startsWith(`slots.${oldName}.`)) keep = `slots.${newName}.${keep.split('.')[2]}`;
        F.fillSelect(target, ctx.targetOptions(), keep);
        title();
      });
      return {
        node: card.node,
        actions: card.actions,
        label: () => id.value.trim(),
        load: () => variants.load(x.variants || []),
        // `qualified` is the default metric: written only when the flow wrote it or chose another.
        read: () => F.compact([
          ['id', id.value], ['target', target.value],
          ['metric', metric.value === 'qualified' && !x.metric ? undefined : metric.value], ['variants', variants.read()],
        ]),
      };
    };
    const experimentsSection = (body) => {
      const sec = section('experiments', 'Experiments', 'A/B tests of the flow\'s texts. Results are on the Experiments tab once the flow is published.');
      const list = F.list({
        seg: 'experiments', cls: 'cards', noun: 'experiment', addLabel: 'Add experiment', make: (x) => {
          const part = experimentPart(x);
          part.load();
          return part;
        },
        blank: () => null, onChange,
      });
      sec.append(list.node);
      return { node: sec, load: () => list.load(body.experiments || []), read: () => list.read() };
    };

    // ---- LLM mode ----
    const llmSection = (body) => {
      const m = body.llm || {};
      const sec = section('llm', 'LLM mode', 'Used only when the server has a model configured (docs/llm.md). The flow decides what to ask; the model words it and reads free text.');
      const box = el('div');
      box.dataset.seg = 'llm';
      const flags = [['enabled', 'Use the model on this flow'], ['extract', 'The model proposes answers from free text'], ['compose', 'The model words the replies']];
      const boxes = flags.map(([key]) => F.checkbox(m[key] !== false));
      const model = F.input('text', m.model, { placeholder: 'The server\'s model', autocomplete: 'off', spellcheck: 'false' });
      const maxTokens = F.input('number', m.max_output_tokens, { placeholder: 'The server\'s limit', min: '16', max: '4000', step: '1' });
      const tone = F.input('text', m.tone, { placeholder: 'e.g. warm, brief, no emoji', maxlength: '300' });
      const knowledge = F.textarea(m.knowledge, 5);
      const prices = F.textarea(m.prices, 2);
      const urls = F.textarea((m.allowed_urls || []).join('\n'), 2);
      box.append(grid(
        ...flags.map(([key, label], i) => F.field(key, label, boxes[i])),
        F.field('model', 'Model', model, { optional: true, hint: 'Empty: LEADBOT_LLM_MODEL.' }),
        F.field('max_output_tokens', 'Longest reply (tokens)', maxTokens, { optional: true }),
        F.field('tone', 'Tone', tone, { cls: 'span-2', optional: true }),
        F.field('knowledge', 'Knowledge', knowledge, { cls: 'span-2', optional: true, hint: 'Facts the bot may answer visitors\' questions from. Empty: it answers none and offers a person.' }),
        F.field('prices', 'What the bot may say about prices', prices, { cls: 'span-2', optional: true, hint: 'Empty: a reply that names a price is not sent.' }),
        F.field('allowed_urls', 'Links a reply may hold', urls, { cls: 'span-2', optional: true, hint: 'One per line: a host (example.com) or a URL prefix. Any other link blocks the reply.' }),
      ));
      sec.append(box);
      // A switch is written when the flow wrote it or it is off (on is the default).
      const flag = (key, node) => (key in m || !node.checked ? node.checked : undefined);
      return {
        node: sec,
        read: () => F.compact([
          ...flags.map(([key], i) => [key, flag(key, boxes[i])]),
          ['model', model.value.trim()], ['max_output_tokens', F.number(maxTokens)], ['knowledge', knowledge.value],
          ['prices', prices.value], ['allowed_urls', F.lines(urls)], ['tone', tone.value],
        ]),
      };
    };

    // ---- the whole form ----
    // Parts of a body this form has no fields for yet are kept as they are, never dropped.
    const MANAGED = ['id', 'version', 'name', 'region', 'currency', 'texts', 'slots', 'scoring', 'handoff', 'routing',
      'business_hours', 'whatsapp', 'nurture', 'decay', 'consent', 'experiments', 'llm'];
    const unmanaged = (b) => Object.fromEntries(Object.entries(b).filter(([k]) => !MANAGED.includes(k)));
    const load = (body, textDefaults) => {
      watchers.length = 0;
      const b = body || {};
      const nurture = A.nurtureSections({ section, grid, onChange }); // admin-nurture.js
      const parts = {
        basics: basics(b),
        texts: textsSection(b.texts || {}, textDefaults || {}),
        consent: A.consentSection({ section, grid }, b), // admin-consent.js
        slots: slotsSection(b),
        scoring: scoringSection(b),
        routing: routingSection(b),
        handoff: handoffSection(b),
        hours: hoursSection(b),
        whatsapp: whatsappSection(b),
        nurture: nurture.nurture(b),
        decay: nurture.decay(b),
        experiments: experimentsSection(b),
        llm: llmSection(b),
      };
      A.clear(root);
      Object.values(parts).forEach((p) => root.append(p.node));
      // Lists whose items name questions are filled once the questions are on the page.
      ['slots', 'scoring', 'routing', 'whatsapp', 'nurture', 'experiments'].forEach((k) => parts[k].load());
      F.assignPaths(root);
      read = () => {
        const out = { id: b.id };
        if (b.version != null) out.version = b.version;
        Object.assign(out, parts.basics.read());
        out.texts = parts.texts.read();
        out.slots = parts.slots.read();
        return Object.assign(out, F.compact([
          ['scoring', parts.scoring.read()], ['handoff', parts.handoff.read()], ['routing', parts.routing.read()],
          ['business_hours', parts.hours.read()], ['whatsapp', parts.whatsapp.read()], ['experiments', parts.experiments.read()],
          ['llm', parts.llm.read()], ['nurture', parts.nurture.read()], ['decay', parts.decay.read()],
          ['consent', parts.consent.read()],
        ]), unmanaged(b));
      };
    };

    root.addEventListener('input', () => onChange());
    root.addEventListener('change', () => onChange());
    root.addEventListener('submit', (e) => e.preventDefault());

    return {
      load,
      read: () => read(),
      showProblems: (problems) => F.showProblems(root, problems),
      focusPath: (path) => F.focusPath(root, path),
    };
  };
})();
