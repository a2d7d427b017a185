// job — one job: its status and progress followed live, then its result
// beside its input (a before/after slider when both have the same size),
// its size, format and bytes, a download link, and the job's JSON on demand.
//
// Following: GET /jobs/<id>/events read with fetch() streaming (sse.js), so
// that an API key can go in a header; when the stream is refused (e.g. 503
// too_many_streams) or breaks before the job ends, the page polls
// GET <status_url>?wait=10 instead, which answers as soon as the job ends.

import { ApiError, blob, json } from './api.js';
import { diffViewer } from './diff.js';
import { announce, formatBytes, formatTime, h, uid } from './dom.js';
import { readStream } from './sse.js';

const EXT = { jpeg: 'jpg', png: 'png', webp: 'webp', avif: 'avif', tiff: 'tif', gif: 'gif', heif: 'heif' };

const terminal = (job) => job.status === 'complete' || job.status === 'failed';

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      reject(new DOMException('aborted', 'AbortError'));
    }, { once: true });
  });
}

function paramsText(params) {
  const entries = Object.entries(params || {});
  if (!entries.length)
    return 'none';
  return entries.map(([k, v]) => `${k} = ${typeof v === 'object' ? JSON.stringify(v) : v}`).join(', ');
}

/** A before/after slider over two images of the same size. */
function compareSlider(beforeUrl, afterUrl, width, height) {
  const id = uid('compare');
  const range = h('input', { type: 'range', id, min: 0, max: 100, value: 50, step: 1,
    'aria-valuetext': '50 % input' });
  const stage = h('div', { class: 'compare-stage', style: `aspect-ratio: ${width} / ${height}; --pos: 50%` },
    h('img', { class: 'after', src: afterUrl, alt: 'After: the result', width, height }),
    h('img', { class: 'before', src: beforeUrl, alt: 'Before: the input', width, height }),
    h('div', { class: 'compare-line', 'aria-hidden': 'true' }));
  range.addEventListener('input', () => {
    stage.style.setProperty('--pos', `${range.value}%`);
    range.setAttribute('aria-valuetext', `${range.value} % input`);
  });
  return h('figure', { class: 'compare' },
    stage,
    h('div', { class: 'compare-control' }, h('label', { for: id }, 'Before / after'), range),
    h('figcaption', {}, 'Left of the line: the input; right of it: the result. Move the slider to compare.'));
}

export function jobView(ctx, id) {
  const abort = new AbortController();
  const { signal } = abort;
  const urls = [];
  const objectUrl = (b) => {
    const u = URL.createObjectURL(b);
    urls.push(u);
    return u;
  };
  let diff = null;

  const title = h('h1', {}, 'Job');
  const badge = h('span', { class: 'badge', id: 'job-status', dataset: { status: 'loading' } }, 'loading');
  const transport = h('span', { class: 'transport', id: 'job-transport' });
  const progressId = uid('progress');
  const progress = h('progress', { id: progressId, max: 100, class: 'job-progress' });
  const progressText = h('span', { id: 'job-progress-text', class: 'progress-text' });
  const facts = h('dl', { class: 'facts' });
  const result = h('div', { class: 'result', id: 'job-result' });
  const jsonPre = h('pre', { class: 'json', id: 'job-json', tabindex: '0' });
  const element = h('section', { class: 'view job-view' },
    title,
    h('p', { class: 'job-id' }, 'Id ', h('code', {}, id)),
    h('div', { class: 'status-row' },
      h('p', {}, 'Status: ', badge, ' ', transport),
      h('div', { class: 'progress-row' }, h('label', { for: progressId }, 'Progress'), progress, progressText)),
    facts,
    result,
    h('details', { class: 'job-json' }, h('summary', {}, 'The job’s JSON'), jsonPre),
    h('p', { class: 'links' },
      h('a', { href: '#/submit' }, 'Submit another job'), ' · ', h('a', { href: '#/history' }, 'All jobs')));

  let shownResult = false;
  let lastStatus = '';

  const setProgress = (job) => {
    if (job.status === 'queued') {
      progress.removeAttribute('value');
      progressText.textContent = 'waiting in the queue';
    } else if (job.status === 'processing') {
      const p = Number.isInteger(job.progress) ? job.progress : 0;
      progress.value = p;
      progressText.textContent = `${p} %`;
    } else if (job.status === 'complete') {
      progress.value = 100;
      progressText.textContent = '100 %';
    } else {
      progress.value = 0;
      progressText.textContent = 'stopped';
    }
  };

  const update = (job) => {
    if (job.id !== id)
      return;
    title.textContent = `${job.operation} job`;
    document.title = `${job.operation} job – img-rest app`;
    badge.textContent = job.status;
    badge.dataset.status = job.status;
    setProgress(job);
    const input = job.input
      ? `${job.input.width} × ${job.input.height} ${job.input.format}, ${formatBytes(job.input.bytes)}` : '–';
    facts.replaceChildren(
      h('dt', {}, 'Operation'), h('dd', {}, job.operation),
      h('dt', {}, 'Parameters'), h('dd', { class: 'params' }, paramsText(job.params)),
      h('dt', {}, 'Input'), h('dd', {}, input),
      h('dt', {}, 'Created'), h('dd', {}, formatTime(job.created_at)),
      h('dt', {}, 'Started'), h('dd', {}, formatTime(job.started_at)),
      h('dt', {}, 'Finished'), h('dd', {}, formatTime(job.finished_at)),
      h('dt', {}, 'Attempts'), h('dd', {}, String(job.attempts ?? '–')));
    jsonPre.textContent = JSON.stringify(job, null, 2);
    if (job.status !== lastStatus) {
      announce(`Job ${job.status}`);
      lastStatus = job.status;
    }
    if (terminal(job) && !shownResult) {
      shownResult = true;
      showResult(job).catch((err) => {
        if (!signal.aborted)
          result.replaceChildren(h('p', { class: 'alert', role: 'alert' }, `The result could not be read: ${err.message}`));
      });
    }
  };

  const onProgress = (data) => {
    if (data.id !== id || lastStatus !== 'processing')
      return;
    progress.value = data.progress;
    progressText.textContent = `${data.progress} %`;
  };

  async function showResult(job) {
    const op = ctx.operation(job.operation);
    const local = ctx.inputs.get(id)?.files || {};
    if (job.status === 'failed') {
      result.replaceChildren(h('div', { class: 'alert', role: 'alert' },
        h('h2', {}, 'The job failed'),
        h('p', {}, h('code', {}, job.error?.code || 'failed'), ': ', job.error?.message || '')));
      return;
    }
    if (op?.jsonResult) {
      const rows = Object.entries(job.result || {}).map(([k, v]) => [h('dt', {}, k),
        h('dd', {}, Array.isArray(v) ? v.map((x) => (typeof x === 'number' ? Number(x.toFixed(3)) : x)).join(', ') : String(v))]);
      const file = await blob(job.result_url, { signal });
      result.replaceChildren(h('h2', {}, 'Result'),
        h('dl', { class: 'facts result-json', id: 'result-json' }, rows),
        h('p', {}, h('a', { class: 'button', href: objectUrl(file.blob), download: `${job.operation}-${id.slice(0, 8)}.json` },
          'Download the result (JSON)')));
      return;
    }
    const file = await blob(job.result_url, { signal });
    const url = objectUrl(file.blob);
    const r = job.result || {};
    const img = h('img', { id: 'result-image', src: url, width: r.width, height: r.height,
      alt: `Result of the ${job.operation} job, ${r.width} × ${r.height} ${r.format}` });
    const resultFacts = h('dl', { class: 'facts compact' },
      h('dt', {}, 'Size'), h('dd', { id: 'result-size' }, `${r.width} × ${r.height} px`),
      h('dt', {}, 'Format'), h('dd', { id: 'result-format' }, String(r.format)),
      h('dt', {}, 'Bytes'), h('dd', { id: 'result-bytes' }, formatBytes(r.bytes)),
      r.cached ? [h('dt', {}, 'Reused'), h('dd', {}, 'yes: the result of an identical earlier job')] : null,
      Array.isArray(r.steps) ? [h('dt', {}, 'Steps'), h('dd', {}, h('ol', { class: 'step-results' },
        r.steps.map((s) => h('li', {}, `${s.op}: ${s.width} × ${s.height}`))))] : null);
    const download = h('a', { class: 'button', id: 'result-download', href: url,
      download: `${job.operation}-${id.slice(0, 8)}.${EXT[r.format] || r.format}` },
    `Download the result (${r.format}, ${formatBytes(r.bytes).split(' (')[0]})`);
    const resultFigure = h('figure', { class: 'result-figure' }, img,
      h('figcaption', {}, `Result: ${r.width} × ${r.height} ${r.format}`));

    const parts = [h('h2', {}, 'Result')];
    if (job.operation === 'diff') {
      const u1 = local.image1 ? objectUrl(local.image1) : null;
      const u2 = local.image2 ? objectUrl(local.image2) : url;
      diff = diffViewer({ result: r, image1Url: u1, image2Url: u2, image2IsResult: !local.image2 });
      parts.push(diff.element, h('h3', {}, 'The result image'), resultFacts, download, resultFigure);
    } else {
      const first = local.file || local.image || Object.values(local)[0];
      const inputFigure = first
        ? h('figure', { class: 'input-figure' }, h('img', { id: 'input-image', src: objectUrl(first), alt: `Input: ${first.name}` }),
          h('figcaption', {}, `Input: ${first.name}${job.input ? `, ${job.input.width} × ${job.input.height} ${job.input.format}` : ''}`))
        : h('figure', { class: 'input-figure missing' },
          h('p', {}, 'The API does not give inputs back: jobs submitted from this page show theirs here.'),
          h('figcaption', {}, job.input ? `Input: ${job.input.width} × ${job.input.height} ${job.input.format}` : 'Input'));
      parts.push(resultFacts, download, h('div', { class: 'side-by-side' }, inputFigure, resultFigure));
      const sameSize = first && job.input && job.input.width === r.width && job.input.height === r.height;
      if (sameSize)
        parts.push(h('h3', {}, 'Compare'), compareSlider(inputFigure.querySelector('img').src, url, r.width, r.height));
    }
    result.replaceChildren(...parts);
  }

  async function follow() {
    let job;
    try {
      job = await json('GET', `/jobs/${encodeURIComponent(id)}`, { signal });
    } catch (err) {
      if (signal.aborted)
        return;
      badge.textContent = err.status === 404 ? 'not found' : 'unknown';
      badge.dataset.status = 'failed';
      result.replaceChildren(h('p', { class: 'alert', role: 'alert' },
        err.status === 404 ? 'There is no such job (it may have been deleted or expired).' : err.message));
      return;
    }
    update(job);
    if (terminal(job))
      return;
    let last = job;
    try {
      transport.textContent = '(live)';
      transport.dataset.transport = 'events';
      await readStream(`/jobs/${id}/events`, {
        signal,
        onEvent(type, data) {
          if (type === 'status') {
            last = data;
            update(data);
          } else if (type === 'progress') {
            onProgress(data);
          }
        },
      });
    } catch (err) {
      if (signal.aborted)
        return;
      if (err instanceof ApiError && (err.status === 401 || err.status === 404)) {
        transport.textContent = '';
        return;
      }
    }
    // the stream was refused or ended before the job did: ask with ?wait
    while (!terminal(last) && !signal.aborted) {
      transport.textContent = '(polling)';
      transport.dataset.transport = 'polling';
      try {
        last = await json('GET', `${job.status_url}?wait=10`, { signal });
        update(last);
      } catch (err) {
        if (signal.aborted || (err instanceof ApiError && (err.status === 404 || err.status === 401)))
          return;
        await sleep(err.retryAfter ? err.retryAfter * 1000 : 2000, signal).catch(() => {});
      }
    }
    if (terminal(last))
      transport.textContent = '';
  }

  follow();

  return {
    element,
    destroy() {
      abort.abort();
      diff?.destroy();
      urls.forEach((u) => URL.revokeObjectURL(u));
    },
  };
}
