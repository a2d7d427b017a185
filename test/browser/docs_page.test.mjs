// Browser test of the docs page served by img-rest at /.
//
// Drives Debian's Chromium with playwright-core (from docs/node_modules) the
// way a person would: opens the page, checks Swagger UI rendered every
// operation from /openapi.json using local files only, submits a real JPEG
// with "Try it out" on POST /resize (width 64), sees the 202, and waits for
// the job tracker panel to reach "complete" and show the 64-pixel-wide image;
// then does the same for thumbnail, dither, diff (the JPEG twice) and info.
//
//   IMG_BASE_URL=http://127.0.0.1:8080 node test/browser/docs_page.test.mjs
//
// Environment:
//   IMG_BASE_URL    the img-rest to test (default http://127.0.0.1:8080)
//   IMG_TEST_JPEG   the JPEG to upload (default a mate-backgrounds picture)
//   IMG_SCREENSHOT  where to save a PNG of the page at the end (optional)
//   IMG_API_KEY     entered with Authorize when the server needs a key (optional)
//   IMG_CHROMIUM    the browser (default /usr/bin/chromium)
// Prints one line per check and a last line "N passed, N failed"; exits 1 if
// any check failed.

import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const docsDir = join(here, '..', '..', 'docs');
const require = createRequire(join(docsDir, 'package.json'));

const BASE_URL = (process.env.IMG_BASE_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
const JPEG = process.env.IMG_TEST_JPEG || '/usr/share/backgrounds/mate/nature/Dune.jpg';
const SCREENSHOT = process.env.IMG_SCREENSHOT || '';
const API_KEY = process.env.IMG_API_KEY || '';
const CHROMIUM = process.env.IMG_CHROMIUM || '/usr/bin/chromium';
const OPERATIONS = ['resize', 'thumbnail', 'diff', 'dither', 'info'];
const WIDTH = 64;
const TOTAL_TIMEOUT_MS = 180000;

const results = { passed: 0, failed: 0 };

async function check(name, fn) {
  const started = Date.now();
  try {
    await fn();
    results.passed++;
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
    return true;
  } catch (err) {
    results.failed++;
    console.log(`FAIL ${name}: ${err && err.message ? err.message.split('\n')[0] : err}`);
    return false;
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

function finish() {
  console.log(`${results.passed} passed, ${results.failed} failed`);
  process.exit(results.failed === 0 && results.passed > 0 ? 0 : 1);
}

async function main() {
  let chromium;
  try {
    ({ chromium } = require('playwright-core'));
  } catch (err) {
    await check('playwright-core is installed (npm ci --prefix docs)', () => { throw err; });
    return;
  }
  const ready = await check('prerequisites: Chromium and the test JPEG exist', () => {
    assert(existsSync(CHROMIUM), `no browser at ${CHROMIUM} (apt-get install chromium)`);
    assert(existsSync(JPEG), `no test image at ${JPEG}`);
  });
  if (!ready)
    return;

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    await runChecks(browser);
  } finally {
    await browser.close();
  }
}

/* The block of selector id, drawn and in view. With 150 tags and
 * operations or more, Swagger UI draws only those near the viewport (a
 * virtualised list): the page is scrolled down from the top, most of a
 * screen at a time, until the block is drawn, then to the block itself
 * (which moves while the list measures what it drew). */
async function reveal(page, id) {
  const block = page.locator(id);
  const height = page.viewportSize().height;
  await page.evaluate(() => window.scrollTo(0, 0));
  for (let step = 0; step < 400; step++) {
    const box = (await block.count()) > 0 ? await block.first().boundingBox().catch(() => null) : null;
    if (box && box.y >= 0 && box.y + 40 <= height)
      return block;
    const moved = box
      ? await block.first().evaluate((e) => e.scrollIntoView({ block: 'center' })).then(() => true, () => false)
      : await page.evaluate(() => {
        const before = window.scrollY;
        window.scrollBy(0, window.innerHeight * 0.8);
        return window.scrollY > before;
      });
    await page.waitForTimeout(100);
    if (!moved && !box && (await block.count()) === 0)
      break;
  }
  return block;
}

async function runChecks(browser) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);

  const origin = new URL(BASE_URL).origin;
  const foreign = [];
  const pageErrors = [];
  page.on('request', (req) => {
    const url = req.url();
    if (!url.startsWith('data:') && !url.startsWith('blob:') && new URL(url).origin !== origin)
      foreign.push(url);
  });
  page.on('pageerror', (err) => pageErrors.push(err.message));

  const loaded = await check('GET / renders Swagger UI with every operation', async () => {
    const res = await page.goto(`${BASE_URL}/`);
    assert(res && res.status() === 200, `GET / answered ${res && res.status()}`);
    await page.waitForSelector('#swagger-ui .opblock');
    for (const op of OPERATIONS) {
      const id = `#operations-${op}-submit${op[0].toUpperCase()}${op.slice(1)}`;
      await reveal(page, id);
      const found = await page.locator(id).count();
      assert(found === 1, `POST /${op} (${id}) is rendered ${found} times, not once`);
      const statusId = `#operations-${op}-get${op[0].toUpperCase()}${op.slice(1)}Status`;
      await reveal(page, statusId);
      assert(await page.locator(statusId).count() === 1, `GET /${op}/status/{id} is not rendered`);
    }
    await reveal(page, '#operations-jobs-listJobs');
    assert(await page.locator('#operations-jobs-listJobs').count() === 1, 'GET /jobs is not rendered');
    await page.evaluate(() => window.scrollTo(0, 0));
    const title = await page.locator('#swagger-ui .info .title').innerText();
    assert(/img-rest/.test(title), `unexpected API title "${title}"`);
  });
  if (!loaded)
    return finishPage(page);

  await check('Authorize offers both API key schemes', async () => {
    await page.click('button.authorize');
    const dialog = page.locator('.dialog-ux .modal-ux');
    await dialog.waitFor();
    const text = await dialog.innerText();
    assert(/bearerAuth/.test(text), 'no bearerAuth scheme in the Authorize dialog');
    assert(/apiKeyHeader/.test(text) && /X-API-Key/.test(text), 'no X-API-Key scheme in the Authorize dialog');
    if (API_KEY) {
      const keyInput = dialog.locator('.auth-container', { hasText: 'apiKeyHeader' }).locator('input');
      await keyInput.fill(API_KEY);
      await dialog.locator('.auth-container', { hasText: 'apiKeyHeader' })
        .locator('button.authorize').click();
    }
    await dialog.locator('button.btn-done').first().click();
    await dialog.waitFor({ state: 'detached' });
  });

  const op = await reveal(page, '#operations-resize-submitResize');
  const submitted = await check('Try it out: POST /resize with a JPEG and width 64 answers 202', async () => {
    await op.locator('.opblock-summary-control').click();
    await op.locator('button.try-out__btn').click();
    await op.locator('tr[data-property-name="file"] input[type="file"]').setInputFiles(JPEG);
    const width = op.locator('tr[data-property-name="width"] input[type="text"]');
    await width.fill(String(WIDTH));
    await op.locator('button.execute').click();
    const status = op.locator('.live-responses-table .response .response-col_status').first();
    await status.waitFor({ timeout: 30000 });
    const code = (await status.innerText()).trim();
    assert(code === '202', `POST /resize answered ${code}: ${await responseBody(op)}`);
    const body = JSON.parse(await responseBody(op));
    assert(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(body.id),
           `no job id in ${JSON.stringify(body)}`);
    assert(body.status === 'queued' && body.operation === 'resize', `unexpected body ${JSON.stringify(body)}`);
  });
  if (!submitted)
    return finishPage(page);

  await check('the job tracker follows the job to "complete" and shows the image', async () => {
    await page.waitForFunction(
      () => document.getElementById('job-status').textContent === 'complete' ||
            document.getElementById('job-status').textContent === 'failed' ||
            document.getElementById('job-message').classList.contains('is-error'),
      null, { timeout: 90000 });
    const status = await page.locator('#job-status').innerText();
    const message = await page.locator('#job-message').innerText();
    assert(status === 'complete', `the job ended "${status}": ${message}`);
    const img = page.locator('#job-result img.job-image');
    await img.waitFor({ timeout: 15000 });
    await page.waitForFunction(() => {
      const el = document.querySelector('#job-result img.job-image');
      return el && el.complete && el.naturalWidth > 0;
    }, null, { timeout: 15000 });
    const size = await img.evaluate((el) => [el.naturalWidth, el.naturalHeight]);
    assert(size[0] === WIDTH, `the result image is ${size[0]}x${size[1]}, expected width ${WIDTH}`);
    await img.scrollIntoViewIfNeeded();
  });

  // The other operations, each with its own file field(s) and defaults.
  const others = [
    { op: 'thumbnail', files: { file: JPEG }, shows: 'image' },
    { op: 'dither', files: { file: JPEG }, shows: 'image' },
    { op: 'diff', files: { image1: JPEG, image2: JPEG }, shows: 'image' },
    { op: 'info', files: { file: JPEG }, shows: 'json' },
  ];
  for (const { op: name, files, shows } of others) {
    await check(`Try it out: POST /${name} reaches "complete" and shows the ${shows}`, async () => {
      const id = `#operations-${name}-submit${name[0].toUpperCase()}${name.slice(1)}`;
      const block = await reveal(page, id);
      await block.locator('.opblock-summary-control').click();
      await block.locator('button.try-out__btn').click();
      for (const [field, path] of Object.entries(files))
        await block.locator(`tr[data-property-name="${field}"] input[type="file"]`).setInputFiles(path);
      const before = await page.locator('#job-id-input').inputValue();
      await block.locator('button.execute').click();
      const status = block.locator('.live-responses-table .response .response-col_status').first();
      await status.waitFor({ timeout: 30000 });
      const code = (await status.innerText()).trim();
      assert(code === '202', `POST /${name} answered ${code}: ${await responseBody(block)}`);
      await page.waitForFunction((old) => {
        const st = document.getElementById('job-status').textContent;
        return document.getElementById('job-id-input').value !== old &&
               (st === 'complete' || st === 'failed' ||
                document.getElementById('job-message').classList.contains('is-error'));
      }, before, { timeout: 90000 });
      const st = await page.locator('#job-status').innerText();
      assert(st === 'complete', `the job ended "${st}": ${await page.locator('#job-message').innerText()}`);
      assert((await page.locator('#job-operation').innerText()) === name, 'the tracker follows another job');
      if (shows === 'image') {
        await page.waitForFunction(() => {
          const el = document.querySelector('#job-result img.job-image');
          return el && el.complete && el.naturalWidth > 0;
        }, null, { timeout: 15000 });
      } else {
        const info = JSON.parse(await page.locator('#job-result pre.job-json').innerText());
        assert(info.width > 0 && info.height > 0 && Array.isArray(info.mean),
               `unexpected info result ${JSON.stringify(info)}`);
      }
      await block.locator('.opblock-summary-control').click(); // fold it again
    });
  }

  await check('the page asked nothing of any other origin', () => {
    assert(foreign.length === 0, `requests to other origins: ${foreign.slice(0, 3).join(', ')}`);
  });

  await check('no uncaught script error on the page', () => {
    assert(pageErrors.length === 0, pageErrors.slice(0, 3).join(' | '));
  });

  return finishPage(page);
}

async function responseBody(op) {
  const body = op.locator('.live-responses-table .response .response-col_description pre').first();
  return (await body.count()) ? (await body.innerText()).trim() : '(no body)';
}

async function finishPage(page) {
  if (!SCREENSHOT)
    return;
  try {
    await page.screenshot({ path: SCREENSHOT });
    console.log(`screenshot: ${SCREENSHOT}`);
  } catch (err) {
    console.log(`screenshot failed: ${err.message}`);
  }
}

const guard = setTimeout(() => {
  results.failed++;
  console.log(`FAIL the whole test took more than ${TOTAL_TIMEOUT_MS / 1000} s`);
  finish();
}, TOTAL_TIMEOUT_MS);
guard.unref();

main()
  .catch((err) => {
    results.failed++;
    console.log(`FAIL unexpected error: ${err && err.stack ? err.stack : err}`);
  })
  .finally(finish);
