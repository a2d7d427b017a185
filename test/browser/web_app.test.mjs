// Browser test of the web app served by img-rest at /app.
//
// Drives Debian's Chromium with playwright-core (from docs/node_modules) as a
// person would, against a real img-rest and img-engine. Scenarios
// (IMG_APP_SCENARIO):
//   main      (default) every operation submitted from the form (the
//             pipeline's steps added and reordered with the keyboard, the
//             diff's two files dropped) and followed to its result, whose
//             natural size is checked against the job's; refused parameters
//             shown by their fields; a diff with known changed rectangles
//             drawn as that many boxes at the right places; the history's
//             pages, thumbnails, filters, live updates (a job submitted with
//             curl meanwhile) and delete; a phone-width viewport without
//             horizontal scrolling; axe-core on every view.
//   progress  the page follows a job that a fake engine (driven by the
//             Python side through stdin/stdout lines) moves through queued,
//             processing 40 %, 75 %, failed; a second tab's history follows.
//   keys      a server with API keys: the page asks for one, keeps it in
//             sessionStorage, and every request (streams and images too)
//             carries it, in either header.
// In every scenario: no console error (other than the refusals the test
// provokes), no uncaught error, no request to another origin.
//
// Environment: IMG_BASE_URL, IMG_OUT_DIR (screenshots), IMG_TEST_JPEG,
// IMG_DIFF_A, IMG_DIFF_B, IMG_DIFF_RECTS (JSON [[x, y, w, h], ...]),
// IMG_SMALL_PNG, IMG_API_KEY (keys), IMG_FAIL_MESSAGE (progress),
// IMG_CHROMIUM. Prints one line per check and "N passed, N failed".

import { execFileSync } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import {
  BASE_URL, api, assert, axeCheck, check, finish, installGuard, launch, noHorizontalScroll,
  results, screenshot, watch,
} from './app_harness.mjs';

const SCENARIO = process.env.IMG_APP_SCENARIO || 'main';
const JPEG = process.env.IMG_TEST_JPEG || '/usr/share/backgrounds/mate/nature/Dune.jpg';
const DIFF_A = process.env.IMG_DIFF_A || '';
const DIFF_B = process.env.IMG_DIFF_B || '';
const DIFF_RECTS = JSON.parse(process.env.IMG_DIFF_RECTS || '[]');
const SMALL_PNG = process.env.IMG_SMALL_PNG || '';
const API_KEY = process.env.IMG_API_KEY || '';
const MARGIN = 12; // the diff's blur widens a region by a few pixels
const NAMED_OPERATIONS = ['resize', 'thumbnail', 'diff', 'dither', 'info', 'rotate', 'flip', 'crop',
  'blur', 'sharpen', 'grayscale', 'convert', 'pipeline'];

installGuard(SCENARIO === 'main' ? 540000 : 240000);

// -- page helpers -------------------------------------------------------------------

async function openApp(page, hash = '') {
  if (page.url().startsWith(`${BASE_URL}/app`))
    await page.goto('about:blank'); // a new document, not a hash change
  const res = await page.goto(`${BASE_URL}/app${hash}`);
  assert(res && res.status() === 200, `GET /app answered ${res && res.status()}`);
  await page.waitForSelector('html[data-ready="true"]');
}

const topField = (name) => `.parameter-form .field[data-field="${name}"]:not(.step .field)`;

async function chooseOperation(page, op) {
  await page.selectOption('main select[name="operation"]', op);
  await page.waitForFunction((o) => location.hash === `#/submit/${o}`, op);
}

async function setField(page, name, value, scope = '') {
  const sel = scope ? `${scope} .field[data-field="${name}"]` : topField(name);
  const el = page.locator(`${sel} input, ${sel} select`).first();
  if (await el.evaluate((e) => e.tagName === 'SELECT'))
    await el.selectOption(String(value));
  else
    await el.fill(String(value));
}

async function submitForm(page) {
  await page.click('main form.submit-form button[type="submit"]');
}

/** Submits and waits for the job's view; returns the job id. */
async function submitAndOpen(page) {
  await submitForm(page);
  await page.waitForFunction(() => /^#\/job\//.test(location.hash), null, { timeout: 30000 });
  return decodeURIComponent((await page.evaluate(() => location.hash)).split('/')[2]);
}

async function waitJobEnd(page) {
  await page.waitForSelector('#job-status[data-status="complete"], #job-status[data-status="failed"]',
    { timeout: 120000 });
  return page.getAttribute('#job-status', 'data-status');
}

async function jobStatus(id, headers) {
  const r = await api('GET', `/jobs/${id}`, { headers });
  assert(r.status === 200, `GET /jobs/${id} answered ${r.status}`);
  return r.body;
}

/** The result image's natural size, checked against the job's result. */
async function checkResultImage(page, job) {
  await page.waitForFunction(() => {
    const img = document.querySelector('#result-image');
    return img && img.complete && img.naturalWidth > 0;
  }, null, { timeout: 30000 });
  const [w, h] = await page.$eval('#result-image', (img) => [img.naturalWidth, img.naturalHeight]);
  assert(w === job.result.width && h === job.result.height,
    `the result image is ${w}x${h} in the page, the job says ${job.result.width}x${job.result.height}`);
  const size = await page.textContent('#result-size');
  assert(size.includes(`${w} × ${h}`), `the page says "${size}"`);
  assert((await page.textContent('#result-format')).trim() === job.result.format, 'wrong format shown');
  assert((await page.textContent('#result-bytes')).includes(job.result.bytes.toLocaleString('en')),
    'the result bytes are not shown');
  const dl = await page.$eval('#result-download', (a) => [a.getAttribute('download'), a.href]);
  assert(dl[0] && dl[1].startsWith('blob:'), `no download link: ${dl}`);
  // the bytes behind the link are the API's result
  const linked = await page.evaluate(async (href) => (await (await fetch(href)).arrayBuffer()).byteLength, dl[1]);
  assert(linked === job.result.bytes, `the download holds ${linked} bytes, the job says ${job.result.bytes}`);
}

// -- the main scenario ---------------------------------------------------------------

const OPS = [
  { op: 'resize', fields: { width: 200 }, expect: (j) => j.result.width === 200 && j.result.height === 125 },
  { op: 'thumbnail', fields: { size: 96 }, expect: (j) => j.result.width === 96 && j.result.height === 96 },
  { op: 'dither', fields: { levels: 4 }, same: true },
  { op: 'info', json: true },
  // rotate and vertical flip of a 1680x1050 photo fail on the server today
  // ("out of order read": inputs are opened for sequential access); this
  // test is about the page, so these two take the 480x320 PNG
  { op: 'rotate', input: 'small', fields: { angle: '90' }, expect: (j) => j.result.width === j.input.height && j.result.height === j.input.width && j.result.width !== j.result.height },
  { op: 'flip', input: 'small', fields: { direction: 'vertical' }, same: true },
  { op: 'crop', fields: { left: 10, top: 20, width: 300, height: 200 },
    expect: (j) => j.result.width === 300 && j.result.height === 200 },
  { op: 'blur', fields: { sigma: 2 }, same: true },
  { op: 'sharpen', fields: {}, same: true },
  { op: 'grayscale', fields: {}, same: true },
  { op: 'convert', fields: { format: 'png' }, same: true, expect: (j) => j.result.format === 'png' },
];

async function mainScenario(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  const w = watch(page);
  const jobs = {}; // op -> id

  const loaded = await check('GET /app shows the form with every operation of /openapi.json', async () => {
    await openApp(page);
    const doc = (await api('GET', '/openapi.json')).body;
    const names = doc.components.schemas.OperationName.enum;
    for (const n of NAMED_OPERATIONS)
      assert(names.includes(n), `the catalogue lacks ${n}`);
    const options = await page.$$eval('main select[name="operation"] option', (o) => o.map((x) => x.value));
    assert(JSON.stringify([...options].sort()) === JSON.stringify([...names].sort()),
      `the form offers ${options}, the catalogue ${names}`);
    // the resize form is built from its schema: range, default, enum
    const width = page.locator(`${topField('width')} input`);
    assert(await width.count() === 1, 'no width field');
    assert(/1 to 16384/.test(await page.textContent(`${topField('width')} .hint`)), 'no range in the width hint');
    const fits = await page.$$eval(`${topField('fit')} option`, (o) => o.map((x) => x.value));
    assert(fits.join() === 'inside,cover,fill,outside', `fit offers ${fits}`);
    assert(await page.$eval(`${topField('fit')} select`, (s) => s.value) === 'inside', 'fit default not chosen');
    const docsLink = await page.getAttribute('nav a[href="/"]', 'href');
    assert(docsLink === '/', 'no link to the docs page');
    await screenshot(page, 'submit');
    await axeCheck(page, 'submit view');
  });
  if (!loaded)
    return;

  await check('the docs page at / links to /app', async () => {
    const html = (await api('GET', '/')).body;
    assert(/href="\/app"/.test(Buffer.from(html).toString()), 'no link to /app on the docs page');
  });

  await check('a refused parameter shows the API\'s message by its field', async () => {
    await page.setInputFiles('.drop-zone[data-field="file"] input[type="file"]', JPEG);
    await setField(page, 'width', '0');
    w.expectRefusal(/^\/resize$/, 400);
    await submitForm(page);
    const err = page.locator(`${topField('width')} .field-error`);
    await err.waitFor({ state: 'visible' });
    const text = await err.textContent();
    assert(text === 'width must be an integer from 1 to 16384', `the width error reads "${text}"`);
    assert(await page.getAttribute(`${topField('width')} input`, 'aria-invalid') === 'true', 'width not marked invalid');
    const focused = await page.evaluate(() => document.activeElement?.name);
    assert(focused === 'width', `focus is on "${focused}", not the width field`);
    assert(await page.isVisible('.form-error'), 'no summary of the refusal');
    await screenshot(page, 'submit-refused');
    await axeCheck(page, 'submit view with a refusal');
    // blur without its required sigma
    await chooseOperation(page, 'blur');
    w.expectRefusal(/^\/blur$/, 400);
    await submitForm(page);
    await page.locator(`${topField('sigma')} .field-error`).waitFor({ state: 'visible' });
    const sigma = await page.textContent(`${topField('sigma')} .field-error`);
    assert(sigma === 'sigma is required', `the sigma error reads "${sigma}"`);
    // diff with one image: the missing one is marked
    await chooseOperation(page, 'diff');
    w.expectRefusal(/^\/diff$/, 400);
    await submitForm(page);
    const missing = page.locator('.drop-zone[data-field="image2"] .field-error');
    await missing.waitFor({ state: 'visible' });
    assert(/image2/.test(await missing.textContent()), 'the image2 error does not name it');
    assert(!(await page.isVisible('.drop-zone[data-field="image1"] .field-error')), 'image1 marked too');
  });

  await check('a refused pipeline step shows its message by the step\'s field', async () => {
    await chooseOperation(page, 'pipeline');
    await page.selectOption('.step-add select', 'crop');
    await page.click('.step-add button');
    await setField(page, 'width', '0', '.steps > li:nth-child(2)');
    await setField(page, 'height', '10', '.steps > li:nth-child(2)');
    w.expectRefusal(/^\/pipeline$/, 400);
    await submitForm(page);
    const err = page.locator('.steps > li:nth-child(2) .field[data-field="width"] .field-error');
    await err.waitFor({ state: 'visible' });
    const text = await err.textContent();
    assert(text === 'width must be an integer from 1 to 10000000', `the step error reads "${text}"`);
    assert(!(await page.isVisible('.steps > li:nth-child(1) .field-error')), 'step 1 marked too');
    await screenshot(page, 'pipeline-refused');
  });

  for (const spec of OPS) {
    await check(`submit ${spec.op} from the form: status, progress and result`, async () => {
      await openApp(page, `#/submit/${spec.op}`);
      await page.setInputFiles('.drop-zone[data-field="file"] input[type="file"]', spec.input ? DIFF_A : JPEG);
      for (const [k, v] of Object.entries(spec.fields || {}))
        await setField(page, k, v);
      const id = await submitAndOpen(page);
      jobs[spec.op] = id;
      const status = await waitJobEnd(page);
      const job = await jobStatus(id);
      assert(status === 'complete' && job.status === 'complete',
        `the page says ${status}, the API ${job.status}: ${JSON.stringify(job.error)}`);
      assert(job.operation === spec.op, `the job is a ${job.operation}`);
      for (const [k, v] of Object.entries(spec.fields || {}))
        assert(String(job.params[k]) === String(v), `param ${k} is ${job.params[k]}, the form had ${v}`);
      assert(await page.$eval('#job-progress-text', (e) => e.textContent) === '100 %', 'progress not at 100 %');
      assert(await page.$eval('progress.job-progress', (e) => e.value) === 100, 'the progress bar is not full');
      if (spec.json) {
        await page.waitForSelector('#result-json');
        const shown = await page.textContent('#result-json');
        assert(shown.includes(String(job.result.width)) && shown.includes(String(job.result.height))
          && shown.includes(job.result.format), `the info result is not shown: ${shown}`);
        assert(await page.$('#result-image') === null, 'an image shown for a JSON result');
      } else {
        await checkResultImage(page, job);
        if (spec.expect)
          assert(spec.expect(job), `unexpected result ${JSON.stringify(job.result)}`);
        if (spec.same) {
          assert(job.result.width === job.input.width && job.result.height === job.input.height,
            `${spec.op} changed the size: ${JSON.stringify(job.result)}`);
          assert(await page.$('.compare input[type="range"]') !== null, 'no before/after slider for a same-size result');
          await page.focus('.compare input[type="range"]');
          await page.keyboard.press('Home');
          const pos = await page.$eval('.compare-stage', (s) => s.style.getPropertyValue('--pos'));
          assert(pos === '0%', `the slider does not move the line (${pos})`);
        } else {
          assert(await page.$('.compare') === null, 'a before/after slider for results of another size');
        }
        assert(await page.$('#input-image') !== null, 'the input is not shown beside the result');
      }
      // the job's JSON on demand
      await page.click('.job-json summary');
      const shownJson = JSON.parse(await page.textContent('#job-json'));
      assert(shownJson.id === id && shownJson.status === 'complete', 'the job JSON is not the job\'s');
      await screenshot(page, `job-${spec.op}`);
      if (spec.op === 'dither' || spec.op === 'info')
        await axeCheck(page, `${spec.op} job view`);
    });
  }

  await check('pipeline: steps added, reordered with the keyboard, sent in order', async () => {
    await openApp(page, '#/submit/pipeline');
    await page.setInputFiles('.drop-zone[data-field="file"] input[type="file"]', JPEG);
    const steps = page.locator('.steps > li');
    assert(await steps.count() === 1, 'the pipeline does not start with one step');
    await setField(page, 'width', '400', '.steps > li:nth-child(1)');
    for (const op of ['rotate', 'grayscale', 'crop']) {
      await page.selectOption('.step-add select', op);
      await page.click('.step-add button');
    }
    await setField(page, 'angle', '180', '.steps > li:nth-child(2)');
    await setField(page, 'width', '100', '.steps > li:nth-child(4)');
    await setField(page, 'height', '80', '.steps > li:nth-child(4)');
    // grayscale (3rd) up twice, from the keyboard
    await page.focus('.steps > li:nth-child(3) button[data-verb="Move up"]');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Enter');
    const order = await steps.evaluateAll((li) => li.map((x) => x.dataset.op));
    assert(order.join() === 'grayscale,resize,rotate,crop', `the steps are ${order}`);
    const focused = await page.evaluate(() => document.activeElement?.closest('li')?.dataset.op);
    assert(focused === 'grayscale', `focus left the moved step (${focused})`);
    // a step removed and the legend renumbered
    await page.selectOption('.step-add select', 'flip');
    await page.click('.step-add button');
    await page.click('.steps > li:nth-child(5) button[data-verb="Remove"]');
    assert(await steps.count() === 4, 'the step was not removed');
    assert((await page.textContent('.steps > li:nth-child(1) legend')) === 'Step 1: grayscale', 'legends not renumbered');
    await screenshot(page, 'submit-pipeline');
    await axeCheck(page, 'pipeline form');
    const id = await submitAndOpen(page);
    jobs.pipeline = id;
    assert(await waitJobEnd(page) === 'complete', 'the pipeline failed');
    const job = await jobStatus(id);
    const sent = job.params.steps.map((s) => s.op);
    assert(sent.join() === 'grayscale,resize,rotate,crop', `the API got steps ${sent}`);
    assert(job.params.steps[1].width === 400 && String(job.params.steps[2].angle) === '180', JSON.stringify(job.params.steps));
    assert(job.result.width === 100 && job.result.height === 80, `result ${JSON.stringify(job.result)}`);
    await checkResultImage(page, job);
    assert(await page.$$eval('.step-results li', (l) => l.length) === 4, 'the steps of the result are not listed');
    await screenshot(page, 'job-pipeline');
  });

  await check('diff: two files dropped, boxes drawn where the changes are, toggles and zoom', async () => {
    assert(existsSync(DIFF_A) && existsSync(DIFF_B) && DIFF_RECTS.length > 0,
      'IMG_DIFF_A, IMG_DIFF_B and IMG_DIFF_RECTS are needed (test_web_app.py makes them)');
    await openApp(page, '#/submit/diff');
    // both files dropped at once on the first zone fill both
    const a = readFileSync(DIFF_A).toString('base64');
    const b = readFileSync(DIFF_B).toString('base64');
    await page.evaluate(([x, y]) => {
      const file = (data, name) => new File([Uint8Array.from(atob(data), (c) => c.charCodeAt(0))], name, { type: 'image/png' });
      const dt = new DataTransfer();
      dt.items.add(file(x, 'before.png'));
      dt.items.add(file(y, 'after.png'));
      const zone = document.querySelector('.drop-zone[data-field="image1"]');
      for (const type of ['dragenter', 'dragover', 'drop'])
        zone.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, [a, b]);
    const names = await page.$$eval('.drop-zone input[type="file"]', (i) => i.map((x) => x.files[0]?.name));
    assert(names.join() === 'before.png,after.png', `the zones hold ${names}`);
    await setField(page, 'min_area', '100');
    const id = await submitAndOpen(page);
    jobs.diff = id;
    assert(await waitJobEnd(page) === 'complete', 'the diff failed');
    const job = await jobStatus(id);
    const boxes = job.result.boxes;
    // the API found the painted rectangles
    assert(boxes.length === DIFF_RECTS.length, `the API found ${boxes.length} boxes for ${DIFF_RECTS.length} rectangles`);
    for (const [x, y, rw, rh] of DIFF_RECTS) {
      const inside = boxes.filter((q) => q.x <= x && q.y <= y && q.x + q.width >= x + rw && q.y + q.height >= y + rh);
      assert(inside.length === 1, `rectangle ${[x, y, rw, rh]} is not in exactly one box`);
      const q = inside[0];
      assert(q.x >= x - MARGIN && q.y >= y - MARGIN && q.x + q.width <= x + rw + MARGIN
        && q.y + q.height <= y + rh + MARGIN, `box ${JSON.stringify(q)} is far larger than ${[x, y, rw, rh]}`);
    }
    // the page draws exactly those boxes, at those places over image 2
    await page.waitForFunction(() => [...document.querySelectorAll('.diff-figure img')].every((i) => i.complete && i.naturalWidth));
    const drawn = await page.$$eval('.diff-second g.diff-box rect.line', (rs) => rs.map((r) => ({
      x: +r.getAttribute('x'), y: +r.getAttribute('y'), width: +r.getAttribute('width'), height: +r.getAttribute('height'),
      box: r.getBoundingClientRect().toJSON(),
      img: r.closest('.zoom-stage').querySelector('img').getBoundingClientRect().toJSON(),
    })));
    assert(drawn.length === boxes.length, `${drawn.length} boxes drawn for ${boxes.length}`);
    drawn.forEach((d, i) => {
      const q = boxes[i];
      assert(d.x === q.x && d.y === q.y && d.width === q.width && d.height === q.height,
        `box ${i + 1} drawn at ${JSON.stringify(d)}, the API says ${JSON.stringify(q)}`);
      const s = d.img.width / job.result.width;
      const near = (p, v) => Math.abs(p - v) <= 1; // sub-pixel rounding only
      assert(near(d.box.left, d.img.left + q.x * s) && near(d.box.top, d.img.top + q.y * s)
        && near(d.box.width, q.width * s) && near(d.box.height, q.height * s),
      `box ${i + 1} is on screen at ${JSON.stringify(d.box)}, not over ${JSON.stringify(q)} of the image at ${JSON.stringify(d.img)}`);
    });
    assert(await page.$$eval('.diff-figure', (f) => f.length) === 2, 'image 1 is not beside image 2');
    const count = await page.textContent('.box-count');
    assert(count === String(boxes.length), `the page counts ${count} boxes`);
    const ratio = await page.getAttribute('.changed-ratio', 'data-ratio');
    assert(Number(ratio) === job.result.changed_ratio, `ratio ${ratio} shown, the job says ${job.result.changed_ratio}`);
    assert((await page.textContent('.changed-ratio')) === `${(job.result.changed_ratio * 100).toFixed(2)} %`, 'ratio text');
    // the colour stands out: few pixels of image 2 are near it
    const share = await page.evaluate(() => {
      const img = document.querySelector('.diff-second img');
      const c = document.createElement('canvas');
      c.width = img.naturalWidth;
      c.height = img.naturalHeight;
      const g = c.getContext('2d');
      g.drawImage(img, 0, 0);
      const px = g.getImageData(0, 0, c.width, c.height).data;
      const hex = document.querySelector('.diff-boxes').dataset.colour;
      const [r, gg, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
      let near = 0;
      for (let i = 0; i < px.length; i += 4)
        if (Math.hypot(px[i] - r, px[i + 1] - gg, px[i + 2] - b) < 100)
          near++;
      return near / (px.length / 4);
    });
    assert(share < 0.02, `${(share * 100).toFixed(1)} % of the image is near the boxes' colour`);
    // toggles
    await page.click('.box-list li:nth-child(1) input');
    const vis = await page.$$eval('.diff-second g.diff-box', (g) => g.map((x) => x.getAttribute('visibility') || 'visible'));
    assert(vis[0] === 'hidden' && vis.slice(1).every((v) => v === 'visible'), `visibility ${vis}`);
    await page.click('.box-list li:nth-child(1) input');
    assert(await page.$eval('.diff-second g.diff-box', (g) => g.getAttribute('visibility')) === 'visible', 'box 1 not shown again');
    // zoom: both images grow together
    const before = await page.$$eval('.zoom-stage', (s) => s.map((x) => x.getBoundingClientRect().width));
    await page.click('.zoom-controls button:has-text("Zoom in")');
    await page.click('.zoom-controls button:has-text("Zoom in")');
    const after = await page.$$eval('.zoom-stage', (s) => s.map((x) => x.getBoundingClientRect().width));
    assert(after[0] > before[0] && after[0] === after[1], `zoom: ${before} -> ${after}`);
    await page.click('.zoom-controls button:has-text("Fit")');
    await checkResultImage(page, job);
    await screenshot(page, 'job-diff');
    await axeCheck(page, 'diff job view');
  });

  await historyChecks(page, w, jobs);
  await phoneChecks(browser, jobs);

  await check('main page: no console error, no uncaught error, no other origin', () => {
    assert(w.foreign.length === 0, `requests to other origins: ${w.foreign.slice(0, 3)}`);
    assert(w.errors.length === 0, w.errors.slice(0, 5).join(' | '));
    const unseen = w.expected.filter((e) => !e.seen);
    assert(unseen.length === 0, `refusals expected and not seen: ${unseen.map((e) => e.path)}`);
  });
  await context.close();
}

function curlSubmit(op, file, fields = {}) {
  const args = ['-sS', '-F', `file=@${file}`];
  for (const [k, v] of Object.entries(fields))
    args.push('-F', `${k}=${v}`);
  if (API_KEY)
    args.push('-H', `X-API-Key: ${API_KEY}`);
  const out = execFileSync('curl', [...args, `${BASE_URL}/${op}`], { encoding: 'utf8' });
  return JSON.parse(out);
}

async function allJobIds(query = '') {
  const ids = [];
  let cursor = null;
  do {
    const r = await api('GET', `/jobs?limit=100${query}${cursor ? `&cursor=${cursor}` : ''}`);
    assert(r.status === 200, `GET /jobs answered ${r.status}`);
    ids.push(...r.body.jobs.map((j) => j.id));
    cursor = r.body.next_cursor;
  } while (cursor);
  return ids;
}

async function historyChecks(page, w, jobs) {
  await check('history: every job over the cursor\'s pages, newest first, with thumbnails', async () => {
    assert(existsSync(SMALL_PNG), 'IMG_SMALL_PNG is needed');
    // more jobs than one page holds
    for (let i = 0; i < 26; i++)
      curlSubmit('grayscale', SMALL_PNG);
    const expected = await allJobIds();
    assert(expected.length > 24, `only ${expected.length} jobs`);
    await openApp(page, '#/history');
    await page.waitForSelector('#gallery .card');
    await page.waitForSelector('#history-live[data-state="on"]');
    // scrolling to the end loads the next pages
    for (let i = 0; i < 40 && await page.isVisible('#history-more'); i++) {
      await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
      await page.waitForTimeout(250);
    }
    assert(!(await page.isVisible('#history-more')), 'the list never reached its end');
    const shown = await page.$$eval('#gallery .card', (c) => c.map((x) => x.dataset.id));
    assert(shown.length === new Set(shown).size, 'a job shown twice');
    assert(shown.join() === expected.join(), `the gallery shows ${shown.length} jobs, the API lists ${expected.length} (or another order)`);
    // thumbnails of the cards in view
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.waitForFunction(() => {
      const imgs = [...document.querySelectorAll('#gallery .card')].slice(0, 4).map((c) => c.querySelector('.thumb img'));
      return imgs.every((i) => i && i.complete && i.naturalWidth > 0);
    }, null, { timeout: 30000 });
    const sizes = await page.$$eval('#gallery .card .thumb img', (i) => i.slice(0, 4).map((x) => [x.naturalWidth, x.naturalHeight]));
    assert(sizes.every(([x, y]) => x > 0 && x <= 256 && y > 0 && y <= 256), `thumbnail sizes ${JSON.stringify(sizes)}`);
    await screenshot(page, 'history');
    await axeCheck(page, 'history view');
  });

  await check('history: filters by operation and status; no thumbnail asked for a JSON result', async () => {
    await page.selectOption('.filters select >> nth=0', 'info');
    await page.waitForFunction(() => [...document.querySelectorAll('#gallery .card')].every((c) => c.dataset.operation === 'info')
      && document.querySelectorAll('#gallery .card').length > 0);
    const infoIds = await allJobIds('&operation=info');
    const shown = await page.$$eval('#gallery .card', (c) => c.map((x) => x.dataset.id));
    assert(shown.join() === infoIds.join(), `info filter shows ${shown}, the API ${infoIds}`);
    await page.waitForSelector('#gallery .card .thumb[data-state="placeholder"] .placeholder');
    assert((await page.textContent('#gallery .card .placeholder')) === 'JSON result', 'no JSON placeholder');
    const asked = w.requests.filter((r) => infoIds.some((id) => r.url.includes(`/jobs/${id}/thumbnail`)));
    assert(asked.length === 0, 'a thumbnail was asked for an info job');
    await page.selectOption('.filters select >> nth=0', 'crop');
    await page.waitForFunction(() => [...document.querySelectorAll('#gallery .card')].every((c) => c.dataset.operation === 'crop'));
    const cropIds = await allJobIds('&operation=crop');
    await page.waitForFunction((n) => document.querySelectorAll('#gallery .card').length === n, cropIds.length);
    await page.selectOption('.filters select >> nth=0', '');
    await page.selectOption('.filters select >> nth=1', 'failed');
    const failedIds = await allJobIds('&status=failed');
    await page.waitForFunction((n) => document.querySelectorAll('#gallery .card').length === n
      && /shown|No jobs/.test(document.getElementById('history-count').textContent), failedIds.length);
    await page.selectOption('.filters select >> nth=1', '');
    await page.waitForFunction(() => document.querySelectorAll('#gallery .card').length >= 24);
  });

  let liveId = null;
  await check('history: a job submitted with curl meanwhile appears live, first, with its thumbnail', async () => {
    await page.waitForSelector('#history-live[data-state="on"]');
    const job = curlSubmit('resize', JPEG, { width: 120 });
    liveId = job.id;
    await page.waitForFunction((id) => document.querySelector('#gallery .card')?.dataset.id === id, liveId, { timeout: 30000 });
    await page.waitForFunction((id) => {
      const card = document.querySelector(`#gallery .card[data-id="${id}"]`);
      const img = card?.querySelector('.thumb img');
      return card?.dataset.status === 'complete' && img && img.complete && img.naturalWidth > 0;
    }, liveId, { timeout: 60000 });
    await screenshot(page, 'history-live');
  });

  await check('history: delete asks first (Escape keeps the job), then removes it', async () => {
    assert(liveId, 'no job to delete');
    const del = `#gallery .card[data-id="${liveId}"] button.delete`;
    await page.focus(del);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#confirm-dialog[open]');
    assert(/cannot be undone/.test(await page.textContent('#confirm-text')), 'no confirmation text');
    await screenshot(page, 'history-confirm');
    await axeCheck(page, 'delete confirmation');
    await page.keyboard.press('Escape');
    await page.waitForSelector('#confirm-dialog:not([open])', { state: 'attached' });
    assert(await page.$(del) !== null, 'Escape deleted the job');
    const back = await page.evaluate(() => document.activeElement?.closest('.card')?.dataset.id);
    assert(back === liveId, 'focus did not return to the delete button');
    assert((await api('GET', `/jobs/${liveId}`)).status === 200, 'the job is gone after Escape');
    await page.click(del);
    await page.click('#confirm-dialog button[value="delete"]');
    await page.waitForSelector(`#gallery .card[data-id="${liveId}"]`, { state: 'detached' });
    const gone = await api('GET', `/jobs/${liveId}`);
    assert(gone.status === 404, `GET /jobs/<deleted id> answered ${gone.status}`);
  });
}

async function phoneChecks(browser, jobs) {
  await check('a phone-width viewport (375x800) has no horizontal scroll in any view', async () => {
    const context = await browser.newContext({ viewport: { width: 375, height: 800 }, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    const w = watch(page);
    const views = [['submit-pipeline', '#/submit/pipeline'], ['job-blur', `#/job/${jobs.blur}`],
      ['job-diff', `#/job/${jobs.diff}`], ['history', '#/history']];
    for (const [name, hash] of views) {
      await openApp(page, hash);
      if (name.startsWith('job'))
        await page.waitForSelector('#job-result img, #job-result .alert', { timeout: 30000 });
      if (name === 'history')
        await page.waitForSelector('#gallery .card');
      await page.waitForTimeout(300);
      await noHorizontalScroll(page, name);
      await screenshot(page, `phone-${name}`);
    }
    await axeCheck(page, 'history view on a phone');
    await page.click('#key-button');
    await page.waitForSelector('#key-dialog[open]');
    await noHorizontalScroll(page, 'key dialog');
    await screenshot(page, 'phone-key-dialog');
    await axeCheck(page, 'key dialog on a phone');
    await page.keyboard.press('Escape');
    assert(w.errors.length === 0, w.errors.slice(0, 3).join(' | '));
    assert(w.foreign.length === 0, `requests to other origins: ${w.foreign.slice(0, 3)}`);
    await context.close();
  });
}

// -- the progress scenario (a fake engine on the Python side) --------------------------

async function progressScenario(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const tab = await context.newPage();
  const w = watch(page);
  const wt = watch(tab);
  let id = null;
  await check('submit a resize whose job the fake engine holds', async () => {
    await openApp(tab, '#/history');
    await tab.waitForSelector('#history-live[data-state="on"]');
    await openApp(page, '#/submit/resize');
    await page.setInputFiles('.drop-zone[data-field="file"] input[type="file"]', JPEG);
    await setField(page, 'width', '64');
    id = await submitAndOpen(page);
    await tab.waitForSelector(`#gallery .card[data-id="${id}"]`, { timeout: 30000 });
  });
  if (!id)
    return;
  console.log(`JOB ${id}`);
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const [cmd, status, percent] = line.trim().split(/\s+/);
    if (cmd === 'end')
      break;
    if (cmd !== 'expect')
      continue;
    const ok = await check(`the page shows ${status}${percent ? ` ${percent} %` : ''}, live, in both tabs`, async () => {
      await page.waitForFunction(([s, p]) => {
        const badge = document.getElementById('job-status');
        const text = document.getElementById('job-progress-text').textContent;
        return badge.dataset.status === s && (!p || text === `${p} %`);
      }, [status, percent], { timeout: 20000 });
      if (percent)
        assert(await page.$eval('progress.job-progress', (e) => e.value) === Number(percent), 'the bar disagrees');
      if (status === 'queued')
        assert(await page.$eval('progress.job-progress', (e) => e.hasAttribute('value')) === false, 'queued is not indeterminate');
      await tab.waitForFunction(([i, s, p]) => {
        const card = document.querySelector(`#gallery .card[data-id="${i}"]`);
        return card && card.dataset.status === s && (!p || card.querySelector('.detail').textContent === `${p} %`);
      }, [id, status, percent], { timeout: 20000 });
      assert(await page.getAttribute('#job-transport', 'data-transport') === 'events', 'the page is not following the events stream');
      await screenshot(page, `progress-${status}${percent ? `-${percent}` : ''}`);
    });
    console.log(`${ok ? 'seen' : 'missed'} ${status} ${percent || ''}`.trim());
  }
  await check('the failure is shown with the engine\'s message; no thumbnail asked of a failed job', async () => {
    await page.waitForSelector('#job-result .alert');
    const text = await page.textContent('#job-result .alert');
    assert(text.includes(process.env.IMG_FAIL_MESSAGE || '\u0000'), `the alert reads "${text}"`);
    await tab.waitForSelector(`#gallery .card[data-id="${id}"] .placeholder`);
    assert((await tab.textContent(`#gallery .card[data-id="${id}"] .placeholder`)) === 'Failed', 'no Failed placeholder');
    assert(!wt.requests.some((r) => r.url.includes(`/jobs/${id}/thumbnail`)), 'a thumbnail was asked of a failed job');
    await axeCheck(page, 'failed job view');
  });
  await check('no console error, no uncaught error, no other origin', () => {
    const errors = [...w.errors, ...wt.errors];
    assert(errors.length === 0, errors.slice(0, 5).join(' | '));
    assert(w.foreign.length + wt.foreign.length === 0, 'requests to other origins');
  });
  await context.close();
}

// -- the keys scenario ----------------------------------------------------------------------

async function keysScenario(browser) {
  assert(API_KEY, 'IMG_API_KEY is needed');
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const w = watch(page);
  await check('without a key the page says a key is needed', async () => {
    w.expectRefusal(/^\/jobs$/, 401);
    w.expectRefusal(/^\/jobs\/events$/, 401);
    await openApp(page, '#/history');
    await page.waitForSelector('#banner:not([hidden])');
    assert(/needs an API key/.test(await page.textContent('#banner')), 'no banner');
    await page.waitForSelector('#history-live[data-state="off"]');
    await axeCheck(page, 'the key banner');
  });
  await check('the key entered in the dialog is kept in sessionStorage only; the list loads with it', async () => {
    await page.click('#banner button');
    await page.waitForSelector('#key-dialog[open]');
    await screenshot(page, 'key-dialog');
    await page.fill('#key-input', API_KEY);
    await page.click('#key-dialog button[value="save"]');
    await page.waitForSelector('#banner', { state: 'hidden' });
    const stored = await page.evaluate(() => [sessionStorage.getItem('img-rest.api-key'), localStorage.length]);
    assert(stored[0] === API_KEY && stored[1] === 0, `storage ${JSON.stringify(stored)}`);
    assert((await page.textContent('#key-state')) === 'set', 'the header does not say the key is set');
    await page.waitForSelector('#history-live[data-state="on"]');
    const stream = w.requests.filter((r) => r.url.endsWith('/jobs/events')).pop();
    assert(stream && stream.headers.authorization === `Bearer ${API_KEY}`, 'the events stream went without the key');
  });
  await check('with the key (as X-API-Key): submit, follow live, result and thumbnail', async () => {
    await page.click('#key-button');
    await page.check('#key-dialog input[value="x-api-key"]');
    await page.click('#key-dialog button[value="save"]');
    // the scheme is kept by the dialog's close task: before leaving the page
    await page.waitForFunction(() => sessionStorage.getItem('img-rest.api-key-scheme') === 'x-api-key',
      null, { timeout: 10000 }).catch(() => {});
    await openApp(page, '#/submit/resize');
    await page.setInputFiles('.drop-zone[data-field="file"] input[type="file"]', JPEG);
    await setField(page, 'width', '80');
    const id = await submitAndOpen(page);
    assert(await waitJobEnd(page) === 'complete', 'the job did not complete');
    const job = await jobStatus(id, { 'X-API-Key': API_KEY });
    await checkResultImage(page, job);
    const mine = w.requests.filter((r) => r.url.includes(id) || r.url.endsWith('/resize'));
    assert(mine.length >= 2 && mine.every((r) => r.headers['x-api-key'] === API_KEY && !r.headers.authorization),
      `requests without the X-API-Key header: ${mine.filter((r) => r.headers['x-api-key'] !== API_KEY).map((r) => r.url)}`);
    await openApp(page, '#/history');
    await page.waitForFunction((i) => {
      const img = document.querySelector(`#gallery .card[data-id="${i}"] .thumb img`);
      return img && img.complete && img.naturalWidth > 0;
    }, id, { timeout: 30000 });
    await screenshot(page, 'keys-history');
  });
  await check('forgetting the key empties sessionStorage', async () => {
    await page.click('#key-button');
    await page.click('#key-dialog button[value="forget"]');
    // the dialog's close event, which forgets the key, is a task queued
    // after the click: wait for the header to change (or 10 s), then check
    await page.waitForFunction(() => document.getElementById('key-state').textContent === 'none',
      null, { timeout: 10000 }).catch(() => {});
    assert(await page.evaluate(() => sessionStorage.getItem('img-rest.api-key')) === null, 'the key is still kept');
    assert((await page.textContent('#key-state')) === 'none', 'the header still says set');
    w.expectRefusal(/^\/jobs$/, 401);
    w.expectRefusal(/^\/jobs\/events$/, 401);
    await page.waitForSelector('#banner:not([hidden])');
  });
  await check('no console error, no uncaught error, no other origin', () => {
    assert(w.errors.length === 0, w.errors.slice(0, 5).join(' | '));
    assert(w.foreign.length === 0, 'requests to other origins');
  });
  await context.close();
}

async function main() {
  let browser;
  const ready = await check('prerequisites: playwright-core, axe-core, Chromium, the test JPEG', async () => {
    assert(existsSync(JPEG), `no test image at ${JPEG}`);
    browser = await launch();
  });
  if (!ready)
    return;
  try {
    if (SCENARIO === 'progress')
      await progressScenario(browser);
    else if (SCENARIO === 'keys')
      await keysScenario(browser);
    else
      await mainScenario(browser);
  } finally {
    await browser.close();
  }
}

main()
  .catch((err) => {
    results.failed++;
    console.log(`FAIL unexpected error: ${err && err.stack ? err.stack : err}`);
  })
  .finally(finish);
