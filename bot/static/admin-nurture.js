/* leadbot admin: the flow form's Follow-ups (`nurture`) and Score decay (`decay`) sections
 * (docs/nurture.md). admin-form.js calls `leadbotAdmin.nurtureSections(kit)` with its section
 * and grid helpers; each section reads back in the flow YAML's shape, writing only what the flow
 * wrote or the admin changed, so export and import round-trip. Text only, never markup. */
(() => {
  'use strict';
  const A = window.leadbotAdmin;
  const F = A.fields;
  const { el } = A;

  const SITUATIONS = [
    ['mid_qualification', 'When the lead stops answering the questions'],
    ['unqualified', 'After the bot closes with a lead who does not qualify'],
  ];

  /* Template variables as lines "1 = {name|there}"; the first "=" separates the name. */
  const variablesText = (vars) => Object.entries(vars || {}).map(([k, v]) => `${k} = ${v}`).join('\n');
  const variablesOf = (text) => {
    const out = {};
    text.split('\n').forEach((line) => {
      if (!line.trim()) return;
      const at = line.indexOf('=');
      if (at < 0) { out[line.trim()] = ''; return; }
      out[line.slice(0, at).trim()] = line.slice(at + 1).trim();
    });
    return out;
  };

  A.nurtureSections = ({ section, grid, onChange }) => {
    const stepPart = (step) => {
      const s = step || { after: '1h' };
      const card = F.collapsible('slot-card step-card', !step);
      const number = el('span', 'item-number');
      const titleAfter = el('span', 'slot-name');
      const titleText = el('span', 'slot-question');
      card.title.append(number, titleAfter, titleText);
      const after = F.input('text', s.after, { placeholder: '1h', autocomplete: 'off', spellcheck: 'false' });
      const text = F.textarea(s.text, 3);
      const when = F.group('when', 'Sent');
      const written = s.when || ['mid_qualification'];
      const situations = SITUATIONS.map(([key, label]) => {
        const box = F.checkbox(written.includes(key));
        when.append(F.field(null, label, box));
        return [key, box];
      });
      const w = s.whatsapp || {};
      const whatsapp = el('div');
      whatsapp.dataset.seg = 'whatsapp';
      const sid = F.input('text', w.template_sid, { placeholder: 'HX and 32 hex digits', autocomplete: 'off', spellcheck: 'false' });
      const vars = F.textarea(variablesText(w.variables), 2, { spellcheck: 'false' });
      whatsapp.append(grid(
        F.field('template_sid', 'WhatsApp template SID', sid, { optional: true, hint: 'Sent instead of the text once WhatsApp\'s 24-hour window has closed. Empty: the step is skipped on WhatsApp then.' }),
        F.field('variables', 'Template variables', vars, { optional: true, hint: 'One per line, like 1 = {name|there}.' }),
      ));
      const title = () => {
        titleAfter.textContent = `after ${after.value.trim() || '…'}`;
        titleText.textContent = text.value.trim();
      };
      title();
      after.addEventListener('input', title);
      text.addEventListener('input', title);
      card.body.append(
        grid(
          F.field('after', 'After', after, { hint: 'Counted from when the lead went silent: 30m, 1h, 1d, 2w or 1d12h.' }),
          F.field('text', 'Text', text, { cls: 'span-2', hint: '{name} is the lead\'s name; {name|there} says "there" while it is unknown.' }),
        ),
        when,
        whatsapp,
      );
      return {
        node: card.node,
        actions: card.actions,
        label: () => after.value.trim(),
        renumbered: (i) => { number.textContent = `${i + 1}.`; },
        read: () => {
          const chosen = situations.filter(([, box]) => box.checked).map(([key]) => key);
          const usual = chosen.length === 1 && chosen[0] === 'mid_qualification';
          const template = F.compact([['template_sid', sid.value.trim()], ['variables', variablesOf(vars.value)]]);
          const out = F.compact([
            ['after', after.value.trim()], ['text', text.value],
            // The usual situation is written only when the flow wrote it.
            ['when', usual && !s.when ? undefined : chosen],
            ['whatsapp', template],
          ]);
          if (!chosen.length) out.when = []; // none ticked: the server says so next to the boxes
          return out;
        },
      };
    };

    const nurture = (body) => {
      const n = body.nurture;
      const sec = section('nurture', 'Follow-ups', 'Messages to a lead who goes silent, on their own channel, until they write, an agent takes over or they opt out (docs/nurture.md).');
      const on = F.checkbox(Boolean(n));
      const box = el('div');
      box.dataset.seg = 'nurture';
      const m = n || {};
      const steps = F.list({
        seg: 'steps', cls: 'cards', noun: 'follow-up', addLabel: 'Add follow-up', make: stepPart, blank: () => null, onChange,
      });
      const q = m.quiet_hours;
      const quietOn = F.checkbox(Boolean(q));
      const quiet = el('div');
      quiet.dataset.seg = 'quiet_hours';
      const start = F.input('text', q ? q.start : '21:00', { inputmode: 'numeric', placeholder: '21:00', maxlength: '5' });
      const end = F.input('text', q ? q.end : '08:00', { inputmode: 'numeric', placeholder: '08:00', maxlength: '5' });
      const zone = F.input('text', q ? q.timezone : '', { placeholder: 'The business hours\' time zone', autocomplete: 'off', spellcheck: 'false' });
      quiet.append(grid(
        F.field('start', 'Quiet from', start),
        F.field('end', 'Quiet until', end),
        F.field('timezone', 'Time zone', zone, { optional: true, hint: 'An IANA name like America/New_York. Empty: the business hours\' time zone.' }),
      ));
      const hoursOnly = F.checkbox(m.business_hours_only);
      box.append(
        steps.node,
        el('h3', 'subhead', 'When follow-ups may go'),
        F.field(null, 'Quiet hours: nothing goes out between these times', quietOn),
        quiet,
        F.field('business_hours_only', 'Only while business hours are open', hoursOnly),
      );
      const sync = () => {
        box.hidden = !on.checked;
        quiet.hidden = !quietOn.checked;
      };
      on.addEventListener('change', sync);
      quietOn.addEventListener('change', sync);
      sync();
      sec.append(F.field(null, 'Send follow-ups', on), box);
      return {
        node: sec,
        load: () => steps.load(m.steps || []),
        read: () => {
          if (!on.checked) return undefined;
          const quietHours = quietOn.checked
            ? F.compact([['start', start.value.trim()], ['end', end.value.trim()], ['timezone', zone.value.trim()]])
            : undefined;
          return F.compact([
            ['quiet_hours', quietHours],
            ['business_hours_only', 'business_hours_only' in m || hoursOnly.checked ? hoursOnly.checked : undefined],
            ['steps', steps.read()],
          ]);
        },
      };
    };

    const decay = (body) => {
      const d = body.decay;
      const sec = section('decay', 'Score decay', 'A lead who stays silent loses points; each change is kept in the lead\'s score history with its reason.');
      const on = F.checkbox(Boolean(d));
      const box = el('div');
      box.dataset.seg = 'decay';
      const v = d || {};
      const after = F.input('text', v.after, { placeholder: '14d', autocomplete: 'off', spellcheck: 'false' });
      const every = F.input('text', v.every, { placeholder: '7d', autocomplete: 'off', spellcheck: 'false' });
      const points = F.input('number', v.points, { placeholder: '10', min: '1', max: '100', step: '1' });
      const floor = F.input('number', v.floor, { placeholder: '0', min: '0', max: '100', step: '1' });
      box.append(grid(
        F.field('after', 'First loss after', after, { hint: 'Without a message from the lead: 14d, 2w …' }),
        F.field('every', 'Then every', every),
        F.field('points', 'Points lost each time', points),
        F.field('floor', 'Never below', floor, { optional: true, hint: 'Empty: 0.' }),
      ));
      const sync = () => { box.hidden = !on.checked; };
      on.addEventListener('change', sync);
      sync();
      sec.append(F.field(null, 'Lower the score of silent leads', on), box);
      return {
        node: sec,
        read: () => (on.checked
          ? F.compact([['after', after.value.trim()], ['every', every.value.trim()], ['points', F.number(points)], ['floor', F.number(floor)]])
          : undefined),
      };
    };

    return { nurture, decay };
  };
})();
