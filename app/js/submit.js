// submit — the upload form: the operation, its input file(s) (picked or
// dropped), its parameters; POST /<operation>; then the job's view.

import { ApiError, json } from './api.js';
import { announce, formatBytes, h, uid } from './dom.js';
import { locateError } from './errors.js';
import { parameterForm } from './form.js';

/** A drop zone with a file input: { element, input, setFile(file), file(),
 * setError(text), clear(), focus(), destroy() }. */
function fileZone(field, initial, onFiles) {
  const id = uid(`file-${field.name}`);
  const hintId = `${id}-hint`;
  const errId = `${id}-error`;
  const input = h('input', { id, name: field.name, type: 'file', accept: 'image/*,.heic,.heif,.avif',
    'aria-describedby': `${hintId} ${errId}`, 'aria-required': field.required ? 'true' : null });
  const preview = h('div', { class: 'preview', 'aria-live': 'polite' });
  const error = h('p', { class: 'field-error', id: errId, hidden: true });
  const element = h('div', { class: 'field drop-zone', dataset: { field: field.name } },
    h('label', { for: id }, field.name, field.required ? h('span', { class: 'required' }, ' (required)') : null),
    h('p', { class: 'hint', id: hintId }, 'Choose a file, or drop one here. ',
      (field.description || '').replace(/`/g, '').split('. ')[0].replace(/\.$/, ''), '.'),
    input, preview, error);
  let file = null;
  let url = null;

  const show = () => {
    if (url)
      URL.revokeObjectURL(url);
    url = null;
    if (!file) {
      preview.replaceChildren();
      return;
    }
    url = URL.createObjectURL(file);
    const size = h('span', { class: 'dims' });
    const img = h('img', { src: url, alt: `Preview of ${field.name}: ${file.name}` });
    img.addEventListener('load', () => {
      size.textContent = `, ${img.naturalWidth} × ${img.naturalHeight}`;
    });
    img.addEventListener('error', () => {
      img.replaceWith(h('span', { class: 'no-preview' }, 'No preview in this browser'));
    });
    preview.replaceChildren(img, h('p', {}, file.name, size, `, ${formatBytes(file.size)}`));
  };
  const setFile = (f) => {
    file = f || null;
    if (file && input.files[0] !== file) {
      const dt = new DataTransfer();
      dt.items.add(file);
      input.files = dt.files;
    } else if (!file) {
      input.value = '';
    }
    show();
  };
  input.addEventListener('change', () => {
    const files = [...input.files];
    file = files[0] || null;
    show();
    onFiles(field.name, files);
  });
  element.addEventListener('dragenter', (ev) => {
    ev.preventDefault();
    element.classList.add('dragging');
  });
  element.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    if (ev.dataTransfer)
      ev.dataTransfer.dropEffect = 'copy';
  });
  element.addEventListener('dragleave', (ev) => {
    if (!element.contains(ev.relatedTarget))
      element.classList.remove('dragging');
  });
  element.addEventListener('drop', (ev) => {
    ev.preventDefault();
    ev.stopPropagation();
    element.classList.remove('dragging');
    const files = [...(ev.dataTransfer?.files || [])];
    if (!files.length)
      return;
    setFile(files[0]);
    onFiles(field.name, files);
    announce(`${files[0].name} chosen for ${field.name}`);
  });
  if (initial)
    setFile(initial);
  return {
    name: field.name,
    element,
    input,
    setFile,
    file: () => file,
    setError(text) {
      error.textContent = text;
      error.hidden = false;
      input.setAttribute('aria-invalid', 'true');
      element.classList.add('has-error');
    },
    clear() {
      error.hidden = true;
      error.textContent = '';
      input.removeAttribute('aria-invalid');
      element.classList.remove('has-error');
    },
    focus: () => input.focus(),
    destroy() {
      if (url)
        URL.revokeObjectURL(url);
    },
  };
}

export function submitView(ctx, wanted) {
  const ops = ctx.operations;
  const initial = ctx.operation(wanted) || ctx.operation(ctx.draft.op) || ops[0];
  const selectId = uid('operation');
  const summaryId = uid('operation-summary');
  const select = h('select', { id: selectId, name: 'operation', 'aria-describedby': summaryId },
    ops.map((o) => h('option', { value: o.name, selected: o === initial }, o.name)));
  const summary = h('p', { class: 'hint', id: summaryId });
  const filesBox = h('div', { class: 'files' });
  const paramsBox = h('div', { class: 'params-box' });
  const formError = h('div', { class: 'form-error', role: 'alert', hidden: true });
  const submitButton = h('button', { type: 'submit' }, 'Submit the job');
  const busy = h('span', { class: 'busy', 'aria-live': 'polite' });
  const form = h('form', { class: 'submit-form', novalidate: true, 'aria-labelledby': 'submit-title' },
    h('div', { class: 'field' }, h('label', { for: selectId }, 'Operation'), select, summary),
    filesBox, paramsBox, formError,
    h('div', { class: 'buttons' }, submitButton, busy));
  const element = h('section', { class: 'view submit-view' },
    h('h1', { id: 'submit-title' }, 'Submit a job'),
    h('p', { class: 'lead' }, 'Choose an operation, give it an image and its parameters. ',
      'The job runs on the server; this page follows it to its result.'),
    form);

  let op = null;
  let zones = [];
  let params = null;

  // Files picked for one zone; several files dropped at once fill the zones in order.
  const onFiles = (name, files) => {
    const start = zones.findIndex((z) => z.name === name);
    files.forEach((f, i) => {
      const zone = zones[start + i];
      if (!zone)
        return;
      if (i > 0)
        zone.setFile(f);
      ctx.draft.files.set(start + i, f);
      zone.clear();
    });
  };

  const build = () => {
    op = ctx.operation(select.value);
    ctx.draft.op = op.name;
    summary.textContent = op.summary;
    zones.forEach((z) => z.destroy());
    // files are kept by position across operations (file <-> image1)
    zones = op.files.map((f, i) => fileZone(f, ctx.draft.files.get(i), onFiles));
    filesBox.replaceChildren(...zones.map((z) => z.element));
    filesBox.classList.toggle('two', zones.length > 1);
    params = parameterForm(op);
    paramsBox.replaceChildren(params.element);
    formError.hidden = true;
    if (location.hash !== `#/submit/${op.name}`)
      history.replaceState(null, '', `#/submit/${op.name}`);
  };
  select.addEventListener('change', build);
  build();

  const clearErrors = () => {
    formError.hidden = true;
    formError.replaceChildren();
    zones.forEach((z) => z.clear());
    params.clearErrors();
  };

  /** Shows an API refusal by the field it names; returns what to focus. */
  const showError = (err) => {
    const names = params.controls.map((c) => c.name);
    const where = locateError(err, {
      names,
      fileNames: zones.map((z) => z.name),
      stepNames: (i) => params.byName('steps')?.stepNames(i) || [],
    });
    let target = null;
    const zone = zones.find((z) => z.name === where.field);
    const ctl = params.byName(where.field);
    if (zone) {
      zone.setError(where.message);
      target = zone;
    } else if (ctl && where.step !== null) {
      target = ctl.setStepError(where.step, where.stepField, where.message);
    } else if (ctl) {
      ctl.setError(where.message);
      target = ctl;
      const details = ctl.element.closest('details');
      if (details)
        details.open = true;
    }
    const place = target ? ' The field concerned is marked.' : '';
    formError.replaceChildren(
      h('p', {}, h('strong', {}, `The server refused the job (${err.status} ${err.code}).`), place),
      ...(target ? [] : [h('p', { class: 'message' }, err.message)]));
    formError.hidden = false;
    return target;
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors();
    const body = new FormData();
    const files = {};
    for (const z of zones) {
      const f = z.file();
      if (f) {
        body.append(z.name, f, f.name);
        files[z.name] = f;
      }
    }
    for (const [name, value] of params.entries())
      body.append(name, value);
    submitButton.disabled = true;
    busy.textContent = 'Uploading…';
    try {
      const job = await json('POST', `/${op.name}`, { body });
      ctx.inputs.set(job.id, { operation: op.name, files });
      announce(`Job ${job.id} accepted`);
      ctx.navigate(`#/job/${job.id}`);
    } catch (err) {
      busy.textContent = '';
      submitButton.disabled = false;
      if (err instanceof ApiError) {
        const target = showError(err);
        (target || formError).focus?.();
        if (!target) {
          formError.tabIndex = -1;
          formError.focus();
        }
      } else {
        formError.replaceChildren(h('p', {}, `The server could not be reached: ${err.message}`));
        formError.hidden = false;
      }
    }
  });

  return {
    element,
    destroy() {
      zones.forEach((z) => z.destroy());
    },
  };
}
