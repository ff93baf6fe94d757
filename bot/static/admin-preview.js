/* leadbot admin: the preview — a test chat on the flow as it is in the form right now, through
 * POST /api/flows/{id}/preview. Nothing is stored: no conversation, no lead, nothing in the inbox.
 * The server hands back the chat's `state`, which goes back with the next text.
 *
 * `leadbotAdmin.Preview({flowId, body, slotNames})`. Text only, never markup. */
(() => {
  'use strict';
  const A = window.leadbotAdmin;
  const { $, el, button } = A;

  const shown = (v) => {
    if (v === true) return 'yes';
    if (v === false) return 'no';
    if (v == null || v === '') return '–';
    if (Array.isArray(v)) return v.map(shown).join(', ');
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  };
  const describeDecision = (d) => {
    if (d == null || d === '') return '–';
    if (typeof d === 'string') return d;
    if (typeof d === 'object') {
      return Object.entries(d).filter(([, v]) => v != null && v !== '').map(([k, v]) => `${k}: ${shown(v)}`).join(' · ') || '–';
    }
    return String(d);
  };

  A.Preview = ({ flowId, body, slotNames }) => {
    const chat = $('preview-chat');
    if (!chat) return { changed: () => {} };
    const start = $('preview-start');
    const form = $('preview-form');
    const box = $('preview-text');
    const send = $('preview-send');
    const choices = $('preview-choices');
    const status = $('preview-status');
    const stale = $('preview-stale');
    let state = null;
    let running = false;
    let busy = false;
    let last = null; // the last answer, for the facts
    let startedWith = '';
    const variantBox = $('preview-variants');
    let variantsShown = '';
    const chosen = {}; // experiment id -> the variant to show (the control when not chosen)

    /* One select per experiment in the form, so each variant's text can be tried. */
    const showVariants = () => {
      const experiments = (body().experiments || []).filter((x) => x.id && (x.variants || []).some((v) => v.id));
      const key = JSON.stringify(experiments.map((x) => [x.id, x.target, (x.variants || []).map((v) => v.id)]));
      if (key === variantsShown) return;
      variantsShown = key;
      A.clear(variantBox);
      variantBox.hidden = !experiments.length;
      experiments.forEach((x) => {
        const ids = x.variants.map((v) => v.id).filter(Boolean);
        const pick = A.fields.select(ids.map((id, i) => [id, i === 0 ? `${id} (control)` : id]), ids.includes(chosen[x.id]) ? chosen[x.id] : ids[0]);
        chosen[x.id] = pick.value;
        pick.addEventListener('change', () => {
          chosen[x.id] = pick.value;
          if (running) stale.hidden = false;
        });
        variantBox.append(A.fields.field(null, `Variant of ${x.id}`, pick, { cls: 'field-inline' }));
      });
    };
    const variants = () => {
      const ids = new Set((body().experiments || []).map((x) => x.id));
      return Object.fromEntries(Object.entries(chosen).filter(([id]) => ids.has(id)));
    };

    const setStatus = (text, bad) => {
      status.textContent = text || '';
      status.classList.toggle('preview-status-bad', Boolean(bad));
    };
    const setBusy = (on) => {
      busy = on;
      send.disabled = on || !running;
      box.disabled = !running;
      start.disabled = on;
      chat.setAttribute('aria-busy', String(on));
    };
    const bubble = (who, text) => {
      const li = el('li', `bubble bubble-${who}`);
      li.append(el('span', 'sr-only', who === 'bot' ? 'Bot: ' : 'Visitor: '), el('p', 'bubble-text', text));
      chat.append(li);
      li.scrollIntoView({ block: 'nearest' });
    };
    const quickReplies = (expects) => {
      A.clear(choices);
      const options = (expects && expects.choices) || [];
      choices.hidden = !options.length;
      options.forEach((c) => choices.append(button('chip-button', c, () => say(c))));
    };

    const facts = () => {
      const r = last || {};
      const score = r.score || {};
      const dl = A.clear($('preview-score'));
      const row = (list, term, value, cls) => {
        const wrap = el('div', `fact${cls ? ` ${cls}` : ''}`);
        wrap.append(el('dt', null, term), el('dd', null, value));
        list.append(wrap);
      };
      row(dl, 'Score', score.score == null ? '–' : String(score.score));
      row(dl, 'Grade', shown(score.grade));
      row(dl, 'Temperature', shown(score.temperature));
      row(dl, 'Qualified', score.qualified == null ? '–' : (score.qualified ? 'yes' : 'no'));
      const slots = A.clear($('preview-slots'));
      const values = r.slots || {};
      const skipped = new Set(r.skipped || []);
      const names = [...slotNames(), ...Object.keys(values)].filter((n, i, all) => n && all.indexOf(n) === i);
      names.forEach((name) => {
        const known = values[name] != null && values[name] !== '';
        row(slots, name, skipped.has(name) ? 'skipped' : shown(values[name]), known ? 'fact-known' : 'fact-empty');
      });
      const reasons = A.clear($('preview-reasons'));
      (score.reasons || []).forEach((reason) => reasons.append(el('li', null, reason)));
      if (!reasons.children.length) reasons.append(el('li', 'muted', 'No rule has added points yet.'));
      const decision = [describeDecision(r.decision)];
      if (r.handoff_reason) decision.push(`handoff: ${r.handoff_reason}`);
      const variants = Object.entries(r.variants || {}).map(([k, v]) => `${k} → ${shown(v)}`);
      if (variants.length) decision.push(`variants: ${variants.join(', ')}`);
      $('preview-decision').textContent = decision.join(' · ');
    };

    const turn = async (text) => {
      setBusy(true);
      try {
        const result = await A.api('POST', A.flowPath(flowId, 'preview'), { flow: body(), state, text, variants: variants() });
        state = result.state;
        last = result;
        (result.messages || []).forEach((m) => bubble('bot', m.text));
        const messages = result.messages || [];
        quickReplies(messages.length ? messages[messages.length - 1].expects : null);
        facts();
        setStatus('');
        return true;
      } catch (e) {
        if (e.status === 422 && e.data && e.data.problems) {
          const n = e.data.problems.length;
          setStatus(`The flow in the form has ${n === 1 ? 'a problem' : `${n} problems`}; fix ${n === 1 ? 'it' : 'them'} to preview.`, true);
        } else {
          setStatus(e.message, true);
        }
        return false;
      } finally {
        setBusy(false);
      }
    };
    const say = async (text) => {
      if (!running || busy || !text.trim()) return;
      bubble('visitor', text);
      quickReplies(null);
      box.value = '';
      await turn(text);
      box.focus();
    };
    const begin = async () => {
      A.clear(chat);
      quickReplies(null);
      state = null;
      last = null;
      stale.hidden = true;
      startedWith = JSON.stringify([body(), variants()]);
      running = true;
      start.textContent = 'Restart';
      setStatus('Starting…');
      const ok = await turn(null);
      if (!ok && !chat.children.length) running = false;
      setBusy(false);
      if (running) box.focus();
    };

    start.addEventListener('click', begin);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      say(box.value);
    });
    setBusy(false);
    facts();
    return {
      /* The form changed: new turns use it; the opening is only shown again on Restart. */
      changed: () => {
        showVariants();
        if (running) stale.hidden = JSON.stringify([body(), variants()]) === startedWith;
        else facts(); // the questions' names, before the chat starts
      },
    };
  };
})();
