// form — the parameter form of one operation, built from its catalogue
// entry (catalogue.js): one control per parameter with its label, range,
// default and description; a pipeline's steps as a list the user adds to,
// removes from and reorders; the API's errors shown by the field they name.
//
// Validation is the API's: the form sends what was typed (leaving out what
// was left empty or at its default) and shows the API's message where it
// belongs, so that the rules live in one place.

import { announce, h, uid } from './dom.js';

/** "1 to 16384", "from 0.1", ... or ''. */
function rangeText(f) {
  if (f.minimum !== undefined && f.maximum !== undefined)
    return `${f.minimum} to ${f.maximum}`;
  if (f.minimum !== undefined)
    return `at least ${f.minimum}`;
  if (f.maximum !== undefined)
    return `at most ${f.maximum}`;
  return '';
}

/** One control: { name, element, read(), setError(text), clear(), focus() }.
 * read() is the value to send, or undefined to leave it out. */
export function control(f, prefix) {
  const id = uid(`${prefix}-${f.name}`);
  const hintId = `${id}-hint`;
  const errId = `${id}-error`;
  const hints = [];
  const range = rangeText(f);
  if (f.kind === 'integer' || f.kind === 'number')
    hints.push(`${f.kind === 'integer' ? 'Whole number' : 'Number'}${range ? `, ${range}` : ''}.`);
  if (f.default !== undefined)
    hints.push(`Default ${f.default}.`);
  if (f.description)
    hints.push(f.description.replace(/`/g, ''));
  const describedBy = `${hintId} ${errId}`;
  let input;
  if (f.kind === 'enum') {
    const options = [];
    if (f.default === undefined)
      options.push(h('option', { value: '' }, f.required ? 'Choose…' : '(not set)'));
    for (const v of f.enum)
      options.push(h('option', { value: v, selected: String(f.default) === v }, v));
    input = h('select', { id, name: f.name, 'aria-describedby': describedBy }, options);
  } else if (f.kind === 'boolean') {
    input = h('input', { id, name: f.name, type: 'checkbox', checked: f.default === true,
      'aria-describedby': describedBy });
  } else {
    const numeric = f.kind === 'integer' || f.kind === 'number';
    input = h('input', {
      id,
      name: f.name,
      type: f.kind === 'url' ? 'url' : 'text',
      inputmode: f.kind === 'integer' ? 'numeric' : f.kind === 'number' ? 'decimal' : null,
      placeholder: f.default !== undefined ? String(f.default) : null,
      autocomplete: 'off',
      spellcheck: numeric || f.kind === 'url' ? 'false' : null,
      'aria-describedby': describedBy,
    });
  }
  if (f.required)
    input.setAttribute('aria-required', 'true');
  const error = h('p', { class: 'field-error', id: errId, hidden: true });
  const label = h('label', { for: id }, f.name, f.required ? h('span', { class: 'required' }, ' (required)') : null);
  const element = h('div', { class: `field field-${f.kind}`, dataset: { field: f.name } },
    f.kind === 'boolean' ? [input, ' ', label] : [label, input],
    h('p', { class: 'hint', id: hintId }, hints.join(' ')),
    error);
  return {
    name: f.name,
    element,
    input,
    read() {
      if (f.kind === 'boolean')
        return input.checked === (f.default === true) ? undefined : String(input.checked);
      const v = input.value.trim();
      if (v === '' || (f.kind === 'enum' && f.default !== undefined && v === String(f.default)))
        return undefined;
      return v;
    },
    setError(text) {
      error.textContent = text;
      error.hidden = false;
      input.setAttribute('aria-invalid', 'true');
      element.classList.add('has-error');
    },
    clear() {
      error.textContent = '';
      error.hidden = true;
      input.removeAttribute('aria-invalid');
      element.classList.remove('has-error');
    },
    focus() {
      input.focus();
    },
  };
}

/** A value typed in a step, as JSON wants it: numbers as numbers for
 * numeric fields (when they read as numbers), everything else as typed. */
function jsonValue(f, v) {
  if ((f.kind === 'integer' || f.kind === 'number') && /^-?\d+(\.\d+)?$/.test(v))
    return Number(v);
  if (f.kind === 'boolean')
    return v === 'true';
  return v;
}

/** The steps editor of a `steps` field. */
function stepsEditor(f, prefix) {
  const steps = []; // { op, controls, element, error, legend }
  const list = h('ol', { class: 'steps' });
  const fieldError = h('p', { class: 'field-error', id: uid('steps-error'), hidden: true });
  const addId = uid('step-add');
  const chooser = h('select', { id: addId },
    f.steps.map((s) => h('option', { value: s.name }, `${s.name} — ${s.description}`)));
  const addButton = h('button', { type: 'button', class: 'secondary', onclick: () => add(chooser.value, true) },
    'Add step');
  const hint = h('p', { class: 'hint', id: uid('steps-hint') },
    `From ${f.minItems} to ${f.maxItems} steps, applied in order; each step takes the parameters of its operation.`);
  const element = h('fieldset', { class: 'field field-steps', dataset: { field: f.name },
    'aria-describedby': `${hint.id} ${fieldError.id}` },
  h('legend', {}, 'Steps', f.required ? h('span', { class: 'required' }, ' (required)') : null),
  hint, list,
  h('div', { class: 'step-add' }, h('label', { for: addId }, 'New step'), chooser, addButton),
  fieldError);

  function renumber() {
    steps.forEach((s, i) => {
      s.legend.textContent = `Step ${i + 1}: ${s.op}`;
      s.up.disabled = i === 0;
      s.down.disabled = i === steps.length - 1;
      for (const b of [s.up, s.down, s.remove])
        b.setAttribute('aria-label', `${b.dataset.verb} step ${i + 1} (${s.op})`);
    });
    addButton.disabled = steps.length >= f.maxItems;
  }

  function render() {
    list.replaceChildren(...steps.map((s) => s.element));
    renumber();
  }

  function move(step, delta, button) {
    const i = steps.indexOf(step);
    const j = i + delta;
    if (j < 0 || j >= steps.length)
      return;
    steps.splice(i, 1);
    steps.splice(j, 0, step);
    render();
    (button.disabled ? step.remove : button).focus();
    announce(`Step ${step.op} moved to position ${j + 1} of ${steps.length}`);
  }

  function remove(step) {
    const i = steps.indexOf(step);
    steps.splice(i, 1);
    render();
    const next = steps[Math.min(i, steps.length - 1)];
    (next ? next.remove : chooser).focus();
    announce(`Step ${step.op} removed; ${steps.length} left`);
  }

  function add(op, focus) {
    const def = f.steps.find((s) => s.name === op);
    if (!def || steps.length >= f.maxItems)
      return;
    const step = { op, def };
    step.controls = def.params.map((p) => control(p, `${prefix}-step`));
    step.error = h('p', { class: 'field-error', hidden: true, id: uid('step-error') });
    step.legend = h('legend', {});
    const button = (verb, onclick) => h('button', { type: 'button', class: 'secondary small', dataset: { verb }, onclick }, verb);
    step.up = button('Move up', () => move(step, -1, step.up));
    step.down = button('Move down', () => move(step, 1, step.down));
    step.remove = button('Remove', () => remove(step));
    step.element = h('li', { class: 'step', dataset: { op } },
      h('fieldset', { 'aria-describedby': step.error.id }, step.legend,
        h('div', { class: 'step-fields' }, step.controls.map((c) => c.element)),
        step.error,
        h('div', { class: 'step-actions' }, step.up, step.down, step.remove)));
    steps.push(step);
    render();
    if (focus) {
      (step.controls[0]?.input || step.remove).focus();
      announce(`Step ${steps.length} (${op}) added`);
    }
  }

  return {
    name: f.name,
    element,
    add,
    steps,
    read() {
      if (!steps.length)
        return undefined;
      return JSON.stringify(steps.map((s) => {
        const o = { [f.discriminator]: s.op };
        s.def.params.forEach((p, i) => {
          const v = s.controls[i].read();
          if (v !== undefined)
            o[p.name] = jsonValue(p, v);
        });
        return o;
      }));
    },
    stepNames(i) {
      return steps[i] ? steps[i].def.params.map((p) => p.name) : [];
    },
    /** An error of step i (0-based), on one of its fields or the whole step. */
    setStepError(i, fieldName, text) {
      const s = steps[i];
      if (!s)
        return this.setError(text);
      const c = fieldName && s.controls.find((x) => x.name === fieldName);
      if (c) {
        c.setError(text);
        return c;
      }
      s.error.textContent = text;
      s.error.hidden = false;
      s.element.classList.add('has-error');
      return { focus: () => (s.controls[0]?.input || s.remove).focus() };
    },
    setError(text) {
      fieldError.textContent = text;
      fieldError.hidden = false;
      element.classList.add('has-error');
      return { focus: () => chooser.focus() };
    },
    clear() {
      fieldError.hidden = true;
      fieldError.textContent = '';
      element.classList.remove('has-error');
      for (const s of steps) {
        s.error.hidden = true;
        s.error.textContent = '';
        s.element.classList.remove('has-error');
        s.controls.forEach((c) => c.clear());
      }
    },
    focus() {
      chooser.focus();
    },
  };
}

/** The form of one operation's parameters and job options:
 * { element, controls, entries(), clearErrors(), byName(name) }. */
export function parameterForm(op) {
  const prefix = `op-${op.name}`;
  const controls = [];
  const make = (f) => {
    const c = f.kind === 'steps' ? stepsEditor(f, prefix) : control(f, prefix);
    controls.push(c);
    return c.element;
  };
  const params = op.params.map(make);
  const options = op.options.map(make);
  const parts = [];
  parts.push(params.length
    ? h('fieldset', { class: 'params' }, h('legend', {}, 'Parameters'), params)
    : h('p', { class: 'hint no-params' }, `${op.name} takes no parameters.`));
  if (options.length) {
    parts.push(h('details', { class: 'options' },
      h('summary', {}, 'Job options'),
      h('fieldset', {}, h('legend', { class: 'visually-hidden' }, 'Job options'), options)));
  }
  const steps = controls.find((c) => c.stepNames);
  if (steps && steps.steps.length === 0) {
    // a pipeline starts with one step so that the form can be sent as it is
    const first = op.params.find((f) => f.kind === 'steps').steps[0];
    if (first)
      steps.add(first.name, false);
  }
  return {
    element: h('div', { class: 'parameter-form' }, parts),
    controls,
    /** [name, value] pairs to send. */
    entries() {
      return controls.map((c) => [c.name, c.read()]).filter(([, v]) => v !== undefined);
    },
    byName(name) {
      return controls.find((c) => c.name === name);
    },
    clearErrors() {
      controls.forEach((c) => c.clear());
    },
  };
}
