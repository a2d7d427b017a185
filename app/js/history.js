// history — the jobs (GET /jobs, newest first, page after page over
// next_cursor as the list scrolls) as a gallery of thumbnails
// (GET /jobs/<id>/thumbnail, asked only for complete image results and
// only when the card comes into view), filtered by operation and status,
// each deletable (DELETE /jobs/<id>) after a confirmation, and kept up to
// date by the stream of every job's status (GET /jobs/events).

import { ApiError, blob, json } from './api.js';
import { announce, formatTime, h, uid } from './dom.js';
import { readStream } from './sse.js';

const PAGE = 24;

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}

export function historyView(ctx) {
  const abort = new AbortController();
  const { signal } = abort;
  const filters = ctx.historyFilters;
  const cards = new Map(); // id -> { job, element, thumb, url, seen }
  let cursor = null;
  let done = false;
  let loading = false;
  let generation = 0; // bumps when the filters change: late pages are dropped

  const opId = uid('filter-op');
  const stId = uid('filter-status');
  const opSelect = h('select', { id: opId },
    h('option', { value: '' }, 'all operations'),
    ctx.operations.map((o) => h('option', { value: o.name, selected: filters.operation === o.name }, o.name)));
  const stSelect = h('select', { id: stId },
    h('option', { value: '' }, 'any status'),
    ctx.states.map((s) => h('option', { value: s, selected: filters.status === s }, s)));
  const live = h('p', { class: 'live', id: 'history-live', dataset: { state: 'connecting' } }, 'Live updates: connecting…');
  const count = h('p', { class: 'count', id: 'history-count', 'aria-live': 'polite' });
  const gallery = h('ul', { class: 'gallery', id: 'gallery', 'aria-labelledby': 'history-title' });
  const more = h('button', { type: 'button', class: 'secondary', id: 'history-more', onclick: () => loadPage() },
    'Load more jobs');
  const element = h('section', { class: 'view history-view' },
    h('h1', { id: 'history-title' }, 'Jobs'),
    h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter the jobs', onsubmit: (e) => e.preventDefault() },
      h('div', { class: 'field' }, h('label', { for: opId }, 'Operation'), opSelect),
      h('div', { class: 'field' }, h('label', { for: stId }, 'Status'), stSelect)),
    h('div', { class: 'history-bar' }, count, live),
    gallery,
    h('div', { class: 'more' }, more));

  const matches = (job) => (!filters.operation || job.operation === filters.operation)
    && (!filters.status || job.status === filters.status);

  const showCount = () => {
    const n = cards.size;
    count.textContent = n === 0 && done ? 'No jobs.'
      : `${n} job${n === 1 ? '' : 's'} shown${done ? '' : '; more below'}.`;
    more.hidden = done;
  };

  // -- thumbnails, asked when a card is in view ------------------------------
  const placeholder = (card, text) => {
    card.thumb.replaceChildren(h('span', { class: 'placeholder' }, text));
    card.thumb.dataset.state = 'placeholder';
  };
  const loadThumb = async (card, tries = 0) => {
    const { job } = card;
    const op = ctx.operation(job.operation);
    if (op?.jsonResult)
      return placeholder(card, 'JSON result');
    if (job.status === 'failed')
      return placeholder(card, 'Failed');
    if (job.status !== 'complete')
      return placeholder(card, job.status === 'queued' ? 'Queued…' : 'Processing…');
    if (card.thumb.dataset.state === 'image' || card.thumb.dataset.state === 'loading')
      return undefined;
    card.thumb.dataset.state = 'loading';
    try {
      const got = await blob(`/jobs/${job.id}/thumbnail`, { signal });
      if (got.status === 202 && tries < 10) {
        card.thumb.dataset.state = '';
        await sleep(1000, signal);
        return signal.aborted ? undefined : loadThumb(card, tries + 1);
      }
      if (!got.blob)
        return placeholder(card, 'No preview');
      if (card.url)
        URL.revokeObjectURL(card.url);
      card.url = URL.createObjectURL(got.blob);
      const r = job.result || {};
      // decorative inside the card's link, whose text names the job
      card.thumb.replaceChildren(h('img', { src: card.url, class: 'thumb-img', alt: '',
        dataset: { size: `${r.width}x${r.height}` } }));
      card.thumb.dataset.state = 'image';
    } catch (err) {
      if (!signal.aborted)
        placeholder(card, err instanceof ApiError && err.status === 404 ? 'No preview' : 'Preview failed');
    }
    return undefined;
  };
  const watcher = new IntersectionObserver((entries) => {
    for (const e of entries) {
      const card = [...cards.values()].find((c) => c.element === e.target);
      if (card && e.isIntersecting && !card.seen) {
        card.seen = true;
        loadThumb(card);
      }
    }
  }, { rootMargin: '200px' });

  // -- cards -------------------------------------------------------------------
  const describe = (job) => {
    const r = job.result;
    if (job.status === 'complete' && r && r.width && r.height && !ctx.operation(job.operation)?.jsonResult)
      return `${r.width} × ${r.height} ${r.format}`;
    if (job.status === 'failed')
      return job.error?.message || 'failed';
    if (job.status === 'processing' && Number.isInteger(job.progress))
      return `${job.progress} %`;
    return job.input ? `input ${job.input.width} × ${job.input.height} ${job.input.format}` : '';
  };
  const fillCard = (card) => {
    const { job } = card;
    card.element.dataset.status = job.status;
    card.badge.textContent = job.status;
    card.badge.dataset.status = job.status;
    card.detail.textContent = describe(job);
  };
  const makeCard = (job) => {
    const short = job.id.slice(0, 8);
    const card = { job, seen: false, url: null };
    card.thumb = h('div', { class: 'thumb' });
    card.badge = h('span', { class: 'badge' });
    card.detail = h('span', { class: 'detail' });
    const del = h('button', { type: 'button', class: 'danger small delete',
      'aria-label': `Delete the ${job.operation} job ${short}`, onclick: () => confirmDelete(card, del) }, 'Delete');
    card.element = h('li', { class: 'card', dataset: { id: job.id, operation: job.operation } },
      h('a', { class: 'card-link', href: `#/job/${job.id}` },
        card.thumb, h('span', { class: 'card-op' }, job.operation,
          h('span', { class: 'visually-hidden' }, ` job ${short}`))),
      h('p', { class: 'card-meta' }, card.badge, ' ', card.detail),
      h('p', { class: 'card-time' }, h('time', { datetime: job.created_at }, formatTime(job.created_at)),
        ' · ', h('code', {}, short)),
      del);
    fillCard(card);
    placeholder(card, '…');
    cards.set(job.id, card);
    watcher.observe(card.element);
    return card;
  };
  const dropCard = (id) => {
    const card = cards.get(id);
    if (!card)
      return;
    watcher.unobserve(card.element);
    card.element.remove();
    if (card.url)
      URL.revokeObjectURL(card.url);
    cards.delete(id);
  };

  // -- delete --------------------------------------------------------------------
  const confirmDelete = (card, button) => {
    const dialog = document.getElementById('confirm-dialog');
    const short = card.job.id.slice(0, 8);
    document.getElementById('confirm-text').textContent =
      `The ${card.job.operation} job ${short} and its result will be removed from the server. This cannot be undone.`;
    dialog.returnValue = '';
    const onClose = async () => {
      dialog.removeEventListener('close', onClose);
      if (dialog.returnValue !== 'delete') {
        button.focus();
        return;
      }
      const all = [...cards.values()];
      const next = all[all.indexOf(card) + 1] || all[all.indexOf(card) - 1];
      try {
        await json('DELETE', `/jobs/${card.job.id}`);
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 404)) {
          announce(`The job could not be deleted: ${err.message}`);
          button.focus();
          return;
        }
      }
      dropCard(card.job.id);
      showCount();
      announce(`The ${card.job.operation} job ${short} was deleted`);
      (next ? next.element.querySelector('.delete') : element.querySelector('h1')).focus();
    };
    dialog.addEventListener('close', onClose);
    dialog.showModal();
  };

  // -- pages -----------------------------------------------------------------------
  async function loadPage() {
    if (loading || done)
      return;
    loading = true;
    more.disabled = true;
    const mine = generation;
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (filters.operation)
      q.set('operation', filters.operation);
    if (filters.status)
      q.set('status', filters.status);
    if (cursor)
      q.set('cursor', cursor);
    try {
      const page = await json('GET', `/jobs?${q}`, { signal });
      if (mine !== generation)
        return;
      for (const job of page.jobs) {
        if (!cards.has(job.id))
          gallery.append(makeCard(job).element);
      }
      cursor = page.next_cursor;
      done = !cursor;
    } catch (err) {
      if (signal.aborted || mine !== generation)
        return;
      count.textContent = `The jobs could not be listed: ${err.message}`;
      done = true;
      return;
    } finally {
      if (mine === generation) {
        loading = false;
        more.disabled = false;
      }
    }
    showCount();
    // keep filling while the end of the list is in view
    if (!done && sentinelVisible)
      queueMicrotask(loadPage);
  }
  let sentinelVisible = false;
  const scroller = new IntersectionObserver((entries) => {
    sentinelVisible = entries.some((e) => e.isIntersecting);
    if (sentinelVisible)
      loadPage();
  }, { rootMargin: '300px' });
  scroller.observe(more);

  const reload = () => {
    generation += 1;
    for (const id of [...cards.keys()])
      dropCard(id);
    cursor = null;
    done = false;
    loading = false;
    loadPage();
  };
  opSelect.addEventListener('change', () => {
    filters.operation = opSelect.value;
    reload();
  });
  stSelect.addEventListener('change', () => {
    filters.status = stSelect.value;
    reload();
  });

  // -- live updates -------------------------------------------------------------
  const onStatus = (job) => {
    const card = cards.get(job.id);
    if (card && !matches(job)) {
      dropCard(job.id);
      showCount();
      return;
    }
    if (card) {
      const was = card.job.status;
      card.job = job;
      fillCard(card);
      if (was !== job.status && card.seen)
        loadThumb(card);
      return;
    }
    if (!matches(job))
      return;
    // newer than every card shown: it goes first (the list is newest first)
    const first = cards.values().next().value;
    if (first && job.created_at < first.job.created_at)
      return;
    const fresh = makeCard(job);
    gallery.prepend(fresh.element);
    showCount();
    announce(`New ${job.operation} job, ${job.status}`);
  };
  const onProgress = (data) => {
    const card = cards.get(data.id);
    if (card && card.job.status === 'processing') {
      card.job = { ...card.job, progress: data.progress };
      fillCard(card);
    }
  };
  const setLive = (state, text) => {
    live.dataset.state = state;
    live.textContent = `Live updates: ${text}`;
  };
  (async () => {
    let delay = 1000;
    while (!signal.aborted) {
      try {
        setLive('connecting', 'connecting…');
        await readStream('/jobs/events', {
          signal,
          onOpen: () => {
            setLive('on', 'on');
            delay = 1000;
          },
          onEvent: (type, data) => (type === 'status' ? onStatus(data) : type === 'progress' ? onProgress(data) : null),
        });
      } catch (err) {
        if (signal.aborted)
          return;
        if (err instanceof ApiError && err.status === 401) {
          setLive('off', 'off (an API key is needed)');
          return;
        }
        if (err instanceof ApiError && err.retryAfter)
          delay = Math.max(delay, err.retryAfter * 1000);
      }
      setLive('off', `off; trying again in ${Math.round(delay / 1000)} s`);
      await sleep(delay, signal);
      delay = Math.min(delay * 2, 30000);
    }
  })();

  loadPage();

  return {
    element,
    destroy() {
      abort.abort();
      watcher.disconnect();
      scroller.disconnect();
      for (const c of cards.values())
        if (c.url)
          URL.revokeObjectURL(c.url);
    },
  };
}
