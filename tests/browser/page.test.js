// The demo page in headless Chromium (Debian's chromium package), driven by
// playwright-core: it starts scripts/serve.mjs on a free port, loads the
// page as a user would and checks what the page shows. Screenshots go to
// test-results/. Any console error, page error, failed request or request
// to another host fails the last test. CHROMIUM_PATH overrides the browser
// executable (default /usr/bin/chromium).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import playwright from 'playwright-core';
import { loadAttnkit } from '../../web/lib/attnkit.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const resultsDir = join(root, 'test-results');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];
const TIMEOUT_MS = 60_000;

let server;
let baseUrl;
let browser;
let page;
const problems = [];

// Starts scripts/serve.mjs with port 0 and resolves to the address it prints.
function startServer() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'scripts/serve.mjs'), '--port', '0'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const timer = setTimeout(() => reject(new Error(`serve.mjs printed no address within 10 s: ${output}`)), 10_000);
    const onData = (chunk) => {
      output += chunk;
      const match = output.match(/http:\/\/127\.0\.0\.1:(\d+)\//);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[0] });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve.mjs exited with code ${code}: ${output}`));
    });
  });
}

// Records every console error, page error, failed request, HTTP error
// status and request to a host other than the server.
function watch(target, label) {
  const origin = new URL(baseUrl).origin;
  target.on('console', (message) => {
    if (message.type() === 'error') problems.push(`${label}: console error: ${message.text()}`);
  });
  target.on('pageerror', (error) => problems.push(`${label}: page error: ${error.message}`));
  target.on('requestfailed', (request) =>
    problems.push(`${label}: request failed: ${request.url()} (${request.failure()?.errorText})`),
  );
  target.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(`${origin}/`) && !url.startsWith('data:')) problems.push(`${label}: request to another host: ${url}`);
  });
  target.on('response', (response) => {
    if (response.status() >= 400) problems.push(`${label}: HTTP ${response.status()} for ${response.url()}`);
  });
}

async function openPage(viewport, label) {
  const newPage = await browser.newPage({ viewport });
  watch(newPage, label);
  await newPage.goto(baseUrl);
  await newPage.waitForSelector('body[data-module="loaded"], #fatal:not([hidden])', { timeout: TIMEOUT_MS });
  return newPage;
}

// Weights of the heatmap as a square array, read from the cells' data-value.
async function heatmapWeights(target) {
  const cells = await target.$$eval('#heatmap rect.cell', (rects) =>
    rects.map((r) => [Number(r.dataset.row), Number(r.dataset.col), Number(r.dataset.value)]),
  );
  const n = Math.round(Math.sqrt(cells.length));
  const weights = Array.from({ length: n }, () => new Array(n).fill(NaN));
  for (const [i, j, w] of cells) weights[i][j] = w;
  return weights;
}

async function setSentence(target, text) {
  await target.fill('#sentence', text);
  await target.waitForFunction((t) => document.getElementById('heatmap').dataset.tokens === t, text.toLowerCase());
}

beforeAll(async () => {
  mkdirSync(resultsDir, { recursive: true });
  const started = await startServer();
  server = started.child;
  baseUrl = started.url;
  browser = await playwright.chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  page = await openPage({ width: 1200, height: 900 }, 'desktop');
}, TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
});

describe('demo page in Chromium', () => {
  test('shows the build that runs', async () => {
    const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
    expect(await page.isHidden('#fatal')).toBe(true);
    expect(await page.textContent('#build-status')).toBe('module loaded');
    expect(await page.textContent('#build-version')).toBe(version);
    expect(await page.textContent('#build-simd')).toBe('wasm-simd128');
    await page.waitForFunction(() => document.getElementById('build-threads').textContent !== '–');
    const threads = await page.textContent('#build-threads');
    const ak = await loadAttnkit();
    if ('threads' in ak) expect(threads).toMatch(/^\d+( \(.+\))?$/);
    else expect(threads).toBe('1 (threaded build not available)');
    expect(await page.textContent('#build-isolated')).toBe('yes');
    expect(await page.evaluate(() => window.crossOriginIsolated)).toBe(true);
  }, TIMEOUT_MS);

  test('three operations match the float64 reference', async () => {
    await page.waitForSelector('#checks[data-state="done"], #checks[data-state="failed"]', { timeout: TIMEOUT_MS });
    expect(await page.getAttribute('#checks', 'data-state')).toBe('done');
    const rows = await page.$$eval('#checks-body tr', (trs) => trs.map((tr) => ({ ...tr.dataset })));
    expect(rows.map((r) => r.op)).toEqual(['attention', 'multiheadAttention', 'rope']);
    for (const row of rows) {
      expect(`${row.op}: ${row.outside} elements outside the tolerance`).toBe(`${row.op}: 0 elements outside the tolerance`);
      expect(row.pass).toBe('true');
      // |error| ≤ 1e-6 + 1e-5·|reference| per element, and the seeded
      // outputs stay below 1 in magnitude.
      expect(Number(row.maxError)).toBeLessThan(1.1e-5);
      expect(Number(row.maxError)).toBeGreaterThanOrEqual(0);
    }
  }, TIMEOUT_MS);

  test('heatmap rows are probability distributions', async () => {
    await setSentence(page, 'a b c d e');
    const weights = await heatmapWeights(page);
    expect(weights.length).toBe(5);
    for (const row of weights) {
      for (const w of row) expect(w).toBeGreaterThan(0);
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    }
  }, TIMEOUT_MS);

  test('heatmap follows the sentence', async () => {
    await setSentence(page, 'the cat sat on the mat');
    const six = await heatmapWeights(page);
    expect(six.length).toBe(6);
    const labels = await page.$$eval('#heatmap > text', (texts) => texts.map((t) => t.textContent));
    expect(labels).toContain('cat');
    // Without RoPE the weights carry no word order, so both "the" rows are equal
    // up to float32 rounding.
    six[4].forEach((w, j) => expect(w).toBeCloseTo(six[0][j], 6));

    await setSentence(page, 'the cat sat on the mat today');
    expect((await heatmapWeights(page)).length).toBe(7);
  }, TIMEOUT_MS);

  test('causal mask zeroes the upper triangle', async () => {
    await setSentence(page, 'the cat sat on the mat');
    const full = await heatmapWeights(page);
    await page.check('#causal');
    await page.waitForSelector('#heatmap[data-causal="true"]');
    const causal = await heatmapWeights(page);
    const n = causal.length;
    expect(n).toBe(6);
    let upperNonZero = 0;
    for (let i = 0; i < n; i += 1) {
      for (let j = i + 1; j < n; j += 1) if (causal[i][j] !== 0) upperNonZero += 1;
    }
    expect(upperNonZero).toBe(0);
    expect(causal[0][0]).toBeCloseTo(1, 6);
    // Masking renormalises the visible part of each row of the full weights.
    for (let i = 0; i < n; i += 1) {
      const visible = full[i].slice(0, i + 1).reduce((a, b) => a + b, 0);
      for (let j = 0; j <= i; j += 1) expect(causal[i][j]).toBeCloseTo(full[i][j] / visible, 5);
    }
    await page.uncheck('#causal');
    await page.waitForSelector('#heatmap[data-causal="false"]');
    const again = await heatmapWeights(page);
    expect(again[0][n - 1]).toBeGreaterThan(0);
  }, TIMEOUT_MS);

  test('RoPE toggle makes weights depend on position', async () => {
    await setSentence(page, 'the cat sat on the mat');
    await page.check('#rope-toggle');
    await page.waitForSelector('#heatmap[data-rope="true"]');
    const rotated = await heatmapWeights(page);
    const largestGap = Math.max(...rotated[4].map((w, j) => Math.abs(w - rotated[0][j])));
    expect(largestGap).toBeGreaterThan(1e-3);
    await page.uncheck('#rope-toggle');
    await page.waitForSelector('#heatmap[data-rope="false"]');
  }, TIMEOUT_MS);

  test('head choice changes the weights', async () => {
    const first = await heatmapWeights(page);
    await page.selectOption('#head', '2');
    await page.waitForSelector('#heatmap[data-head="2"]');
    expect(await heatmapWeights(page)).not.toEqual(first);
    await page.selectOption('#head', '0');
  }, TIMEOUT_MS);

  test('hover and arrow keys show a weight', async () => {
    await page.hover('#heatmap rect.cell[data-row="2"][data-col="1"]');
    const value = Number(await page.getAttribute('#heatmap rect.cell[data-row="2"][data-col="1"]', 'data-value'));
    expect(await page.textContent('#heatmap-readout')).toBe(`query “sat” (3) → key “cat” (2): ${value.toFixed(4)}`);

    await page.focus('#heatmap');
    await page.keyboard.press('ArrowRight');
    expect(await page.textContent('#heatmap-readout')).toMatch(/^query “sat” \(3\) → key “sat” \(3\): 0\.\d{4}$/);
  }, TIMEOUT_MS);

  test('empty sentence leaves an empty map', async () => {
    await page.fill('#sentence', ' ,. ');
    await page.waitForFunction(() => document.getElementById('heatmap').dataset.tokens === '');
    expect(await page.$$('#heatmap rect.cell')).toHaveLength(0);
    expect(await page.textContent('#explorer-note')).toBe('Type at least one word.');
    await setSentence(page, 'the cat sat on the mat');
  }, TIMEOUT_MS);

  test('RoPE curve depends on distance only', async () => {
    const difference = Number(await page.getAttribute('#rope-plot', 'data-max-difference'));
    expect(difference).toBeLessThan(1e-3);
    const before = await page.getAttribute('#rope-plot polyline[data-series="rope-0"]', 'points');
    await page.fill('#rope-base', '100');
    await page.waitForFunction(
      (old) => document.querySelector('#rope-plot polyline[data-series="rope-0"]').getAttribute('points') !== old,
      before,
    );
    expect(Number(await page.getAttribute('#rope-plot', 'data-max-difference'))).toBeLessThan(1e-3);
    const plain = await page.getAttribute('#rope-plot polyline[data-series="plain"]', 'points');
    expect(new Set(plain.split(' ').map((p) => p.split(',')[1])).size).toBe(1);

    await page.fill('#rope-base', '-5');
    expect(await page.textContent('#rope-note')).toMatch(/must be a positive number/);
    await page.fill('#rope-base', '10000');
  }, TIMEOUT_MS);

  test('benchmark runs in a worker and draws bars', async () => {
    await page.waitForSelector('#bench-run:not([disabled])', { timeout: TIMEOUT_MS });
    for (const shape of ['1x64', '4x128', '1x512', '32x128']) {
      await page.setChecked(`input[name="shape"][value="${shape}"]`, shape === '1x64');
    }
    await page.selectOption('#bench-repeats', '1');
    await page.click('#bench-run');
    await page.waitForSelector('#bench[data-state="done"], #bench[data-state="failed"]', { timeout: TIMEOUT_MS });
    expect(await page.getAttribute('#bench', 'data-state')).toBe('done');
    const rows = await page.$$eval('#bench-chart g.bench-row', (gs) =>
      gs.map((g) => ({
        op: g.dataset.op,
        shape: g.dataset.shape,
        speedup: Number(g.dataset.speedup),
        times: [...g.querySelectorAll('rect')].map((r) => Number(r.dataset.ms)),
        label: g.querySelector('text.speedup').textContent,
      })),
    );
    expect(rows.map((r) => r.op)).toEqual(['attention', 'multiheadAttention', 'rope']);
    for (const row of rows) {
      expect(row.shape).toBe('1 × 64');
      expect(row.times).toHaveLength(2);
      for (const ms of row.times) expect(ms).toBeGreaterThan(0);
      expect(row.speedup).toBeCloseTo(row.times[1] / row.times[0], 6);
      expect(row.label).toMatch(/, \d+\.\d× (faster|slower)$/);
    }
    const progress = await page.$eval('#bench-progress', (p) => [p.value, p.max]);
    expect(progress[0]).toBe(progress[1]);
    await page.screenshot({ path: join(resultsDir, 'demo-desktop.png'), fullPage: true });
  }, TIMEOUT_MS);

  test('narrow screen has no horizontal scroll', async () => {
    const narrow = await openPage({ width: 360, height: 800 }, 'narrow');
    await narrow.waitForSelector('#checks[data-state="done"]', { timeout: TIMEOUT_MS });
    const [scrollWidth, innerWidth] = await narrow.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
    await narrow.screenshot({ path: join(resultsDir, 'demo-narrow.png'), fullPage: true });
    await narrow.close();
  }, TIMEOUT_MS);

  test('controls have labels', async () => {
    const unlabeled = await page.$$eval('input, select, button', (controls) =>
      controls.filter((c) => !(c.labels?.length || c.getAttribute('aria-label') || c.textContent.trim())).map((c) => c.outerHTML),
    );
    expect(unlabeled).toEqual([]);
  }, TIMEOUT_MS);

  test('no console errors or failed requests', () => {
    expect(problems).toEqual([]);
  });
});
