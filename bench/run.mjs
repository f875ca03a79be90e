// Runs the benchmark: every library in its own Node process on the same
// seeded inputs, after measuring this machine's peaks, then writes
// results/results.md, results/chart.svg and results/results.json.
//
//   node bench/run.mjs [--quick] [--only a,b,...] [--libs attnkit-wasm,...]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { measureWasmPeaks } from './lib/peak.mjs';
import { renderChart, renderMarkdown } from './lib/report.mjs';
import { allWorkloads } from './lib/workloads.mjs';
import { ensureNativeHarness } from './runners/attnkit-native.mjs';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    libs: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(`Usage: node bench/run.mjs [--quick] [--only IDS] [--libs NAMES]
  --quick   fewer runs and only the smaller workloads (a few minutes)
  --only    comma-separated workload ids: ${allWorkloads().map((w) => w.id).join(', ')}
  --libs    comma-separated runners: attnkit-wasm, attnkit-native, ort-web, ort-node, tfjs-wasm, plain-js`);
  process.exit(0);
}

const CONFIGS = [
  { lib: 'attnkit-wasm', threads: 1 },
  { lib: 'attnkit-wasm', threads: 2 },
  { lib: 'attnkit-native', threads: 1 },
  { lib: 'ort-web', threads: 1 },
  { lib: 'ort-web', threads: 2 },
  { lib: 'ort-node', threads: 1 },
  { lib: 'ort-node', threads: 2 },
  { lib: 'tfjs-wasm', threads: 1 },
  { lib: 'plain-js', threads: 1 },
];

const benchDir = new URL('./', import.meta.url);
const only = args.only ? args.only.split(',') : null;
const libs = args.libs ? new Set(args.libs.split(',')) : null;
const configs = CONFIGS.filter((c) => !libs || libs.has(c.lib));
const workloads = allWorkloads().filter((w) => (only ? only.includes(w.id) : !args.quick || w.inQuick));

// Progress bar on stderr: redrawn in place on a terminal, one line per
// step otherwise (for logs).
const totalSteps = configs.length * workloads.length;
let doneSteps = 0;
function progress(label) {
  const width = 30;
  const filled = Math.round((doneSteps / totalSteps) * width);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${doneSteps}/${totalSteps} ${label}`;
  if (process.stderr.isTTY) process.stderr.write(`\r${bar.padEnd(100).slice(0, process.stderr.columns - 1 || 99)}`);
  else process.stderr.write(`${bar}\n`);
}

function runConfig({ lib, threads }) {
  return new Promise((resolve) => {
    const childArgs = [new URL('runners/run-library.mjs', benchDir).pathname, '--lib', lib, '--threads', String(threads)];
    if (args.quick) childArgs.push('--quick');
    childArgs.push('--only', workloads.map((w) => w.id).join(','));
    const child = spawn(process.execPath, childArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
    const records = [];
    let buffered = '';
    let stderr = '';
    const seen = new Set();
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      let newline;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (!line.startsWith('{')) continue;
        const record = JSON.parse(line);
        record.requestedThreads = threads;
        records.push(record);
        if (record.type === 'result' && !seen.has(record.workload)) {
          seen.add(record.workload);
          doneSteps += 1;
          progress(`${lib} ×${threads} ${record.workload}`);
        }
      }
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('close', (code) => {
      // Workloads the process never reached count as done for the bar.
      doneSteps += workloads.length - seen.size;
      if (code !== 0) {
        records.push({ type: 'fatal', lib, requestedThreads: threads, note: `exit code ${code}: ${stderr.trim().split('\n').slice(-3).join(' ')}` });
      }
      resolve(records);
    });
  });
}

function machineInfo() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    date: new Date().toISOString(),
  };
}

// Time to import the package and instantiate the single-thread module, in
// a fresh Node process.
function startupMs() {
  const script = `const t0 = performance.now();
const { loadAttnkit } = await import(${JSON.stringify(new URL('../web/lib/attnkit.js', benchDir).href)});
await loadAttnkit();
console.log(performance.now() - t0);`;
  const times = [];
  for (let i = 0; i < 5; i += 1) {
    times.push(Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).trim()));
  }
  return Math.min(...times);
}

// Installs the benchmark's own dependencies on first use and checks that
// the WebAssembly module has been built.
function checkSetup() {
  if (!existsSync(new URL('../dist/attnkit.wasm', benchDir))) {
    throw new Error('dist/attnkit.wasm is missing: run `npm run build` first');
  }
  if (!existsSync(new URL('node_modules/onnxruntime-web', benchDir))) {
    console.error('bench: installing the benchmark dependencies into bench/node_modules');
    execFileSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: benchDir, stdio: 'inherit' });
  }
}

async function main() {
  checkSetup();
  progress('measuring peaks');
  const wasmPeaks = await measureWasmPeaks();
  const native = JSON.parse(execFileSync(ensureNativeHarness(), ['fma-peak'], { encoding: 'utf8' }).trim());
  const peaks = { ...wasmPeaks, nativeFmaGflops: native.fmaGflops, nativeArch: native.arch };
  const wasmBytes = readFileSync(new URL('../dist/attnkit.wasm', benchDir));
  const size = { wasmBytes: wasmBytes.length, wasmGzipBytes: gzipSync(wasmBytes, { level: 9 }).length, startupMs: startupMs() };

  const records = [];
  for (const config of configs) records.push(...(await runConfig(config)));
  if (process.stderr.isTTY) process.stderr.write('\n');

  const report = { machine: machineInfo(), quick: args.quick, peaks, size, configs, workloads, records };
  const resultsDir = new URL('results/', benchDir);
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(new URL('results.json', resultsDir), `${JSON.stringify(report, null, 2)}\n`);
  const markdown = renderMarkdown(report);
  writeFileSync(new URL('results.md', resultsDir), markdown);
  writeFileSync(new URL('chart.svg', resultsDir), renderChart(report));
  console.log(markdown);
  console.log('bench: wrote bench/results/results.md, results/chart.svg and results/results.json');
}

main().catch((error) => {
  console.error(`bench: failed: ${error.stack ?? error}`);
  process.exit(1);
});
