/* leadbot admin: the flow form's Consent (`consent`) section (docs/privacy.md). admin-form.js
 * calls `leadbotAdmin.consentSection(kit, body)` with its section and grid helpers; the section
 * reads back in the flow YAML's shape, writing only what the flow wrote or the admin changed, so
 * export and import round-trip. Text only, never markup. */
(() => {
  'use strict';
  const A = window.leadbotAdmin;
  const F = A.fields;
  const { el } = A;

  A.consentSection = ({ section, grid }, body) => {
    const c = body.consent;
    const sec = section('consent', 'Consent', 'What the widget asks visitors to accept before or while they chat: what you keep and why, with a link to your privacy policy. SMS, WhatsApp and email conversations have no consent step.');
    const on = F.checkbox(Boolean(c));
    const box = el('div');
    box.dataset.seg = 'consent';
    const v = c || {};
    const text = F.textarea(v.text, 3);
    const required = F.checkbox(v.required);
    const label = F.input('text', v.button, { placeholder: 'Accept', autocomplete: 'off' });
    box.append(grid(
      F.field('text', 'Consent text', text, { cls: 'span-2', hint: 'Shown as text, never as markup: write a link as a plain URL, e.g. https://example.com/privacy. At most 1000 characters.' }),
      F.field('button', 'Button', label, { optional: true, hint: 'The label of the button that accepts. Empty: Accept.' }),
      F.field('required', 'Required: the visitor cannot write before accepting', required, { cls: 'span-2' }),
    ));
    const sync = () => { box.hidden = !on.checked; };
    on.addEventListener('change', sync);
    sync();
    sec.append(F.field(null, 'Ask widget visitors for consent', on), box);
    return {
      node: sec,
      read: () => {
        if (!on.checked) return undefined;
        // The text is always written, even empty, so the server names the missing text next to
        // its field instead of the whole section vanishing from the body.
        return {
          text: text.value,
          ...F.compact([
            // `required: false` is the default: written only when the flow wrote it or it is on.
            ['required', 'required' in v || required.checked ? required.checked : undefined],
            ['button', label.value],
          ]),
        };
      },
    };
  };
})();
