// main — start-up and the router: reads the catalogue (GET /openapi.json),
// then shows one view at a time after the URL's hash:
//   #/submit[/<operation>]   the upload form
//   #/job/<id>               one job, followed live
//   #/history                the job gallery

import { json } from './api.js';
import { readCatalogue, jobStates } from './catalogue.js';
import { h } from './dom.js';
import { historyView } from './history.js';
import { jobView } from './job.js';
import { setupKeys } from './keys.js';
import { submitView } from './submit.js';

const main = document.getElementById('main');
const ctx = {
  operations: [],
  states: [],
  /** Files submitted from this page, by job id: { <field>: File }. The API
   * does not give an input back, so only these can be shown beside results. */
  inputs: new Map(),
  /** What the submit form held, kept across views. */
  draft: { op: null, files: new Map() },
  historyFilters: { operation: '', status: '' },
  navigate(hash) {
    if (location.hash === hash)
      route();
    else
      location.hash = hash;
  },
  operation(name) {
    return this.operations.find((o) => o.name === name);
  },
};

let current = null; // { element, destroy }

function route() {
  const hash = location.hash || '#/submit';
  const parts = hash.replace(/^#\/?/, '').split('/');
  if (current?.destroy)
    current.destroy();
  let view;
  let name = parts[0];
  if (name === 'job' && parts[1])
    view = jobView(ctx, decodeURIComponent(parts[1]));
  else if (name === 'history')
    view = historyView(ctx);
  else {
    name = 'submit';
    view = submitView(ctx, parts[1] ? decodeURIComponent(parts[1]) : null);
  }
  current = view;
  main.replaceChildren(view.element);
  main.dataset.view = name;
  for (const a of document.querySelectorAll('nav a[data-view]')) {
    if (a.dataset.view === name)
      a.setAttribute('aria-current', 'page');
    else
      a.removeAttribute('aria-current');
  }
  const heading = view.element.querySelector('h1');
  document.title = `${heading ? heading.textContent : 'img-rest'} – img-rest app`;
  if (route.started && heading) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: false });
  }
  route.started = true;
}

async function start() {
  setupKeys();
  // a file dropped outside a drop zone must not replace the app
  for (const type of ['dragover', 'drop'])
    window.addEventListener(type, (ev) => ev.preventDefault());
  try {
    const doc = await json('GET', '/openapi.json');
    ctx.operations = readCatalogue(doc);
    ctx.states = jobStates(doc);
  } catch (err) {
    main.replaceChildren(h('div', { class: 'alert', role: 'alert' },
      h('h1', {}, 'The list of operations could not be read'),
      h('p', {}, `GET /openapi.json: ${err.message}`),
      h('button', { type: 'button', onclick: () => location.reload() }, 'Try again')));
    return;
  }
  window.addEventListener('hashchange', route);
  // streams and images are asked again with the new key (the form keeps its values)
  window.addEventListener('api:key-changed', () => {
    if (main.dataset.view !== 'submit')
      route();
  });
  route();
  document.documentElement.dataset.ready = 'true';
}

start();
