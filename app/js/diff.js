// diff — a diff job's result: image 1 beside image 2, the changed regions
// (result.boxes) drawn over image 2 in the browser in a colour chosen to
// stand out on that image, each box shown or hidden from a list, the
// changed ratio, and one zoom for both images (their scrolling follows).

import { h, svg, uid } from './dom.js';

const ZOOMS = [0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 6, 8];
const PALETTE = [
  { name: 'magenta', value: '#ff00ff' },
  { name: 'cyan', value: '#00e5ff' },
  { name: 'yellow', value: '#ffea00' },
  { name: 'lime', value: '#39ff14' },
  { name: 'orange', value: '#ff6a00' },
  { name: 'blue', value: '#2962ff' },
];

/** The palette colour that the fewest pixels of the image come near (the
 * image sampled on a 64x64 grid); ties go to the one furthest on average. */
export function standOutColour(img) {
  const n = 64;
  const canvas = document.createElement('canvas');
  canvas.width = n;
  canvas.height = n;
  const g = canvas.getContext('2d', { willReadFrequently: true });
  g.drawImage(img, 0, 0, n, n);
  const px = g.getImageData(0, 0, n, n).data;
  let best = PALETTE[0];
  let bestScore = Infinity;
  for (const c of PALETTE) {
    const r = parseInt(c.value.slice(1, 3), 16);
    const gg = parseInt(c.value.slice(3, 5), 16);
    const b = parseInt(c.value.slice(5, 7), 16);
    let near = 0;
    let total = 0;
    for (let i = 0; i < px.length; i += 4) {
      const d = Math.hypot(px[i] - r, px[i + 1] - gg, px[i + 2] - b);
      total += d;
      if (d < 120)
        near += 1;
    }
    const score = near * 1e6 - total / (n * n); // fewest near first, then furthest
    if (score < bestScore) {
      bestScore = score;
      best = c;
    }
  }
  return best;
}

function pane(label, url, width, height, extra) {
  const img = h('img', { src: url, alt: label, width, height, draggable: 'false' });
  const stage = h('div', { class: 'zoom-stage', style: `aspect-ratio: ${width} / ${height}` }, img, extra);
  const box = h('div', { class: 'zoom-pane', tabindex: '0', role: 'region', 'aria-label': `${label} (scrollable when zoomed)` }, stage);
  return { img, stage, box, figure: h('figure', { class: 'diff-figure' }, box, h('figcaption', {}, label)) };
}

/** { element, destroy }. result: the job's result; image1Url may be null
 * (a job not submitted from this page); image2Url is the local image 2 or
 * the server's result image. */
export function diffViewer({ result, image1Url, image2Url, image2IsResult }) {
  const W = result.width;
  const H = result.height;
  const boxes = Array.isArray(result.boxes) ? result.boxes : [];
  const overlay = svg('svg', { class: 'diff-boxes', viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none',
    'aria-hidden': 'true', focusable: 'false' });
  const labelSize = Math.max(10, Math.round(Math.max(W, H) / 45));
  const groups = boxes.map((b, i) => svg('g', { class: 'diff-box', dataset: { index: String(i) } },
    svg('rect', { class: 'halo', x: b.x, y: b.y, width: b.width, height: b.height, 'vector-effect': 'non-scaling-stroke' }),
    svg('rect', { class: 'line', x: b.x, y: b.y, width: b.width, height: b.height, 'vector-effect': 'non-scaling-stroke' }),
    svg('text', { x: b.x + 2, y: Math.max(labelSize, b.y - 3), 'font-size': labelSize }, String(i + 1))));
  overlay.append(...groups);

  const label2 = image2IsResult
    ? `Image 2 as the server outlined it, with ${boxes.length} changed region${boxes.length === 1 ? '' : 's'} drawn over it`
    : `Image 2 with ${boxes.length} changed region${boxes.length === 1 ? '' : 's'} drawn over it`;
  const panes = [];
  if (image1Url)
    panes.push(pane('Image 1', image1Url, W, H, null));
  const second = pane(label2, image2Url, W, H, overlay);
  second.box.classList.add('diff-second');
  panes.push(second);

  // the colour: chosen once image 2 is decoded
  const swatch = h('span', { class: 'swatch', 'aria-hidden': 'true' });
  const colourName = h('span', { class: 'colour-name' }, 'magenta');
  const setColour = (c) => {
    overlay.style.setProperty('--box-colour', c.value);
    overlay.dataset.colour = c.value;
    swatch.style.background = c.value;
    colourName.textContent = c.name;
  };
  setColour(PALETTE[0]);
  const chooseColour = () => {
    try {
      setColour(standOutColour(second.img));
    } catch {
      // an image the canvas cannot read keeps the default colour
    }
  };
  if (second.img.complete && second.img.naturalWidth)
    chooseColour();
  else
    second.img.addEventListener('load', chooseColour, { once: true });

  // zoom
  let zoom = 'fit';
  const zoomOut = h('output', { class: 'zoom-level', 'aria-live': 'polite' });
  const fitScale = () => {
    const wpx = panes[0].box.clientWidth || W;
    return Math.min(1, wpx / W);
  };
  const apply = () => {
    for (const p of panes) {
      p.stage.style.width = zoom === 'fit' ? '' : `${Math.round(W * zoom)}px`;
      p.stage.classList.toggle('fit', zoom === 'fit');
    }
    const scale = zoom === 'fit' ? fitScale() : zoom;
    zoomOut.textContent = zoom === 'fit' ? `Fit (${Math.round(scale * 100)} %)` : `${Math.round(zoom * 100)} %`;
  };
  const step = (dir) => {
    const now = zoom === 'fit' ? fitScale() : zoom;
    const next = dir > 0 ? ZOOMS.find((z) => z > now + 1e-6) : [...ZOOMS].reverse().find((z) => z < now - 1e-6);
    if (next !== undefined)
      zoom = next;
    apply();
  };
  const controls = h('div', { class: 'zoom-controls', role: 'group', 'aria-label': 'Zoom both images' },
    h('button', { type: 'button', class: 'secondary small', onclick: () => step(-1) }, 'Zoom out'),
    h('button', { type: 'button', class: 'secondary small', onclick: () => step(1) }, 'Zoom in'),
    h('button', { type: 'button', class: 'secondary small', onclick: () => { zoom = 'fit'; apply(); } }, 'Fit'),
    h('button', { type: 'button', class: 'secondary small', onclick: () => { zoom = 1; apply(); } }, '100 %'),
    zoomOut);

  // the panes scroll together
  let syncing = false;
  for (const p of panes) {
    p.box.addEventListener('scroll', () => {
      if (syncing)
        return;
      syncing = true;
      for (const q of panes) {
        if (q !== p) {
          q.box.scrollLeft = p.box.scrollLeft;
          q.box.scrollTop = p.box.scrollTop;
        }
      }
      requestAnimationFrame(() => { syncing = false; });
    });
  }

  // the list of boxes, each shown or hidden
  const items = boxes.map((b, i) => {
    const id = uid('box');
    const check = h('input', { type: 'checkbox', id, checked: true, dataset: { index: String(i) } });
    check.addEventListener('change', () => {
      groups[i].setAttribute('visibility', check.checked ? 'visible' : 'hidden');
    });
    return h('li', {}, check, ' ',
      h('label', { for: id }, `Box ${i + 1}: ${b.width} × ${b.height} at (${b.x}, ${b.y})`));
  });
  const setAll = (on) => {
    for (const input of list.querySelectorAll('input'))
      if (input.checked !== on) {
        input.checked = on;
        input.dispatchEvent(new Event('change'));
      }
  };
  const list = h('ul', { class: 'box-list' }, items);
  const ratio = typeof result.changed_ratio === 'number' ? result.changed_ratio : 0;
  const facts = h('div', { class: 'diff-facts' },
    h('p', { class: 'changed' },
      h('strong', { class: 'changed-ratio', dataset: { ratio: String(ratio) } }, `${(ratio * 100).toFixed(2)} %`),
      ' of the pixels changed, in ',
      h('strong', { class: 'box-count' }, String(boxes.length)),
      ` region${boxes.length === 1 ? '' : 's'}. Boxes drawn in `, swatch, ' ', colourName, '.'),
    boxes.length
      ? h('fieldset', { class: 'boxes' }, h('legend', {}, 'Changed regions'),
        h('div', { class: 'buttons' },
          h('button', { type: 'button', class: 'secondary small', onclick: () => setAll(true) }, 'Show all'),
          h('button', { type: 'button', class: 'secondary small', onclick: () => setAll(false) }, 'Hide all')),
        list)
      : h('p', {}, 'No region changed enough to be reported.'));

  const element = h('section', { class: 'diff-view', 'aria-labelledby': uid('diff-title') },
    h('h2', { id: `${uid('diff-title')}` }, 'Differences'),
    facts, controls,
    h('div', { class: `diff-panes${panes.length > 1 ? ' two' : ''}` }, panes.map((p) => p.figure)),
    image1Url ? null : h('p', { class: 'hint' }, 'Image 1 is not kept by the API: jobs submitted from this page show it beside image 2.'));
  element.setAttribute('aria-labelledby', element.querySelector('h2').id);
  const onResize = () => apply();
  window.addEventListener('resize', onResize);
  requestAnimationFrame(apply);
  return {
    element,
    destroy() {
      window.removeEventListener('resize', onResize);
    },
  };
}
