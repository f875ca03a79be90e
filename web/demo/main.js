// Entry point of the demo page: loads the package, shows which build runs,
// starts the worker for the checks and the benchmark, and sets up the
// explorer and the RoPE view.
import { loadAttnkit } from 'attnkit';
import { createBenchmark } from './bench.js';
import { createExplorer } from './explorer.js';
import { createRopeView } from './rope-view.js';
import { formatMs } from './svg.js';

function setText(id, text) {
  document.getElementById(id).textContent = text;
}

// Shows an error that stops the page and logs it, so that automated
// browser tests see it as a console error.
function showFatal(message) {
  const box = document.getElementById('fatal');
  box.hidden = false;
  box.textContent = message;
  setText('build-status', 'failed');
  console.error(`attnkit demo: ${message}`);
}

// Number of threads the worker requests: the CPU count that the browser reports, at
// most 4, and 1 when the page is not cross-origin isolated.
const WORKER_THREADS = window.crossOriginIsolated ? Math.min(navigator.hardwareConcurrency || 1, 4) : 1;

// Formats the worker's thread count. info.threads is the number of threads
// of the loaded build, or a string with the reason why threads are
// unavailable; info.threadsFallback, when set, gives the reason why fewer threads run
// than requested. Builds without threads have no info.threads.
function describeThreads(info) {
  if (!info.hasThreads) return '1 (threaded build not available)';
  if (typeof info.threads !== 'number') return `1 (${info.threads})`;
  if (info.threadsFallback) return `${info.threads} (${info.threadsFallback})`;
  if (!window.crossOriginIsolated) return `${info.threads} (the page is not cross-origin isolated)`;
  return String(info.threads);
}

function startWorker() {
  const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  const pending = new Map();
  let nextId = 1;
  worker.addEventListener('message', ({ data }) => {
    const job = pending.get(data.id);
    if (!job) return;
    if (data.type === 'done') {
      pending.delete(data.id);
      job.resolve();
    } else if (data.type === 'error') {
      pending.delete(data.id);
      job.reject(new Error(data.message));
    } else {
      job.onMessage(data);
    }
  });
  worker.addEventListener('error', (event) => {
    event.preventDefault();
    const error = new Error(`the worker failed: ${event.message || 'it could not load its modules'}`);
    for (const job of pending.values()) job.reject(error);
    pending.clear();
    showFatal(error.message);
  });
  return (request, onMessage) =>
    new Promise((resolve, reject) => {
      const id = nextId;
      nextId += 1;
      pending.set(id, { resolve, reject, onMessage });
      worker.postMessage({ id, ...request });
    });
}

async function runChecks(runInWorker) {
  const body = document.getElementById('checks-body');
  const section = document.getElementById('checks');
  section.dataset.state = 'running';
  body.replaceChildren();
  await runInWorker({ type: 'checks' }, (message) => {
    if (message.type !== 'check') return;
    const pass = message.outside === 0;
    const row = document.createElement('tr');
    row.dataset.op = message.op;
    row.dataset.maxError = String(message.maxError);
    row.dataset.outside = String(message.outside);
    row.dataset.pass = String(pass);
    const cells = [
      message.op,
      message.shape,
      message.maxError.toExponential(2),
      pass ? 'pass' : `${message.outside} of ${message.elements} elements outside`,
      formatMs(message.libMs),
      formatMs(message.refMs),
    ];
    // Each cell carries its column name, which narrow screens show in
    // place of the table header.
    const headers = [...document.querySelectorAll('#checks thead th')].map((th) => th.textContent);
    cells.forEach((text, i) => {
      const cell = document.createElement('td');
      cell.textContent = text;
      cell.dataset.label = headers[i];
      row.append(cell);
    });
    row.cells[3].className = pass ? 'pass' : 'fail';
    body.append(row);
  });
  section.dataset.state = 'done';
}

async function main() {
  let ak;
  try {
    ak = await loadAttnkit();
  } catch (error) {
    showFatal(`loading the WebAssembly module failed: ${error.message}`);
    return;
  }
  setText('build-status', 'module loaded');
  setText('build-version', ak.version);
  setText('build-simd', ak.simd);
  setText('build-isolated', window.crossOriginIsolated ? 'yes' : 'no (SharedArrayBuffer is unavailable)');
  document.body.dataset.module = 'loaded';

  createExplorer(ak);
  createRopeView(ak);

  const runInWorker = startWorker();
  const benchmark = createBenchmark(runInWorker);
  try {
    await runInWorker({ type: 'info', threads: WORKER_THREADS }, (info) => {
      if (info.type === 'info') setText('build-threads', describeThreads(info));
    });
  } catch (error) {
    showFatal(`loading the module in the worker failed: ${error.message}`);
    return;
  }
  try {
    await runChecks(runInWorker);
  } catch (error) {
    document.getElementById('checks').dataset.state = 'failed';
    showFatal(`the checks failed: ${error.message}`);
    return;
  }
  benchmark.enable();
}

main();
