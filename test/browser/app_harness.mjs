// app_harness — what the web app's browser tests share: the browser,
// checks counted and printed one per line, the console watched (an error
// fails the run unless it is a refusal the test provoked on purpose),
// axe-core injected from docs/node_modules, screenshots into IMG_OUT_DIR.

import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const docsDir = join(here, '..', '..', 'docs');
const require = createRequire(join(docsDir, 'package.json'));

export const BASE_URL = (process.env.IMG_BASE_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
export const CHROMIUM = process.env.IMG_CHROMIUM || '/usr/bin/chromium';
export const OUT_DIR = process.env.IMG_OUT_DIR || '';

export const results = { passed: 0, failed: 0 };

export function assert(cond, message) {
  if (!cond)
    throw new Error(message);
}

export async function check(name, fn) {
  const started = Date.now();
  try {
    await fn();
    results.passed++;
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
    return true;
  } catch (err) {
    results.failed++;
    console.log(`FAIL ${name}: ${err && err.message ? err.message.split('\n').slice(0, 3).join(' | ') : err}`);
    return false;
  }
}

export function finish() {
  console.log(`${results.passed} passed, ${results.failed} failed`);
  process.exit(results.failed === 0 && results.passed > 0 ? 0 : 1);
}

export function loadPlaywright() {
  return require('playwright-core');
}

export const AXE_PATH = join(docsDir, 'node_modules', 'axe-core', 'axe.min.js');

export async function launch() {
  const { chromium } = loadPlaywright();
  assert(existsSync(CHROMIUM), `no browser at ${CHROMIUM} (apt-get install chromium)`);
  assert(existsSync(AXE_PATH), `no axe-core at ${AXE_PATH} (scripts/docs-deps.sh)`);
  if (OUT_DIR)
    mkdirSync(OUT_DIR, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Watches a page: console errors, page errors, requests to other origins.
 * expectRefusal(method, path, status) allows the one console line Chromium
 * writes for an answer >= 400 that the test provokes on purpose. */
export function watch(page) {
  const origin = new URL(BASE_URL).origin;
  const w = { errors: [], foreign: [], expected: [], requests: [] };
  page.on('request', (req) => {
    const url = req.url();
    if (!url.startsWith('data:') && !url.startsWith('blob:') && new URL(url).origin !== origin)
      w.foreign.push(url);
    w.requests.push({ method: req.method(), url, headers: req.headers() });
  });
  page.on('response', (res) => {
    const req = res.request();
    if (res.status() >= 400)
      w.refusals = (w.refusals || []).concat(`${req.method()} ${new URL(res.url()).pathname} ${res.status()}`);
  });
  page.on('pageerror', (err) => w.errors.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error' && msg.type() !== 'warning')
      return;
    const text = msg.text();
    const m = /^Failed to load resource: the server responded with a status of (\d+)/.exec(text);
    if (m) {
      const path = new URL(msg.location().url).pathname;
      const i = w.expected.findIndex((e) => e.status === Number(m[1]) && e.path.test(path));
      if (i >= 0) {
        w.expected[i].seen = (w.expected[i].seen || 0) + 1;
        return;
      }
    }
    if (msg.type() === 'error')
      w.errors.push(`console error: ${text} (${msg.location().url})`);
  });
  w.expectRefusal = (path, status) => {
    w.expected.push({ path, status });
  };
  return w;
}

export async function screenshot(page, name) {
  if (!OUT_DIR)
    return;
  const path = join(OUT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  console.log(`     screenshot ${path}`);
}

/** axe-core in the page; throws on any serious or critical violation. */
export async function axeCheck(page, what) {
  /* evaluated through the browser's debugging protocol: the app's
   * Content-Security-Policy (rightly) refuses an inline <script> */
  if (!(await page.evaluate(() => typeof window.axe === 'object')))
    await page.evaluate(readFileSync(AXE_PATH, 'utf8') + '\n;undefined');
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  const bad = found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  for (const v of found.filter((x) => !bad.includes(x)))
    console.log(`     axe (${what}) ${v.impact}: ${v.id}: ${v.help} at ${v.nodes.join(', ')}`);
  assert(bad.length === 0, `${what}: ${bad.map((v) => `${v.impact} ${v.id} (${v.help}) at ${v.nodes.join(', ')}`).join('; ')}`);
}

/** No horizontal scrolling: the page is no wider than the viewport. */
export async function noHorizontalScroll(page, what) {
  const [scroll, client] = await page.evaluate(() => [document.documentElement.scrollWidth,
    document.documentElement.clientWidth]);
  assert(scroll <= client, `${what}: the page is ${scroll} px wide in a ${client} px viewport`);
}

/** The API seen from outside the browser (Node's fetch). */
export async function api(method, path, { body, headers } = {}) {
  const res = await fetch(`${BASE_URL}${path}`, { method, body, headers });
  const type = res.headers.get('content-type') || '';
  const data = type.includes('json') ? await res.json() : await res.arrayBuffer();
  return { status: res.status, headers: res.headers, body: data };
}

export function installGuard(ms) {
  const guard = setTimeout(() => {
    results.failed++;
    console.log(`FAIL the whole test took more than ${ms / 1000} s`);
    finish();
  }, ms);
  guard.unref();
}
