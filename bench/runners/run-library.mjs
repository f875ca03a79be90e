// Runs every workload for one library in this process and prints one JSON
// line per result on stdout:
//   node runners/run-library.mjs --lib NAME [--threads N] [--quick] [--only a,b]
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { checkRows } from '../lib/reference.mjs';
import { allWorkloads, outputRows, sampleRows, workloadInputs } from '../lib/workloads.mjs';

const { values: args } = parseArgs({
  options: {
    lib: { type: 'string' },
    threads: { type: 'string', default: '1' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
const threads = Number(args.threads);

function emit(record) {
  process.stdout.write(`${JSON.stringify(record)}\n`);
}

// Times `run` after warm-up calls. Runs repeat until there are `minReps`
// of them and `budgetMs` has passed, or `maxReps` runs, so fast workloads
// get more samples and a steadier median on a shared machine. Runs stop
// after `capMs`, with at least two. Returns times in milliseconds.
async function timeRuns(run, { warmup, minReps, maxReps, budgetMs, capMs }) {
  for (let i = 0; i < warmup; i += 1) await run();
  const times = [];
  const start = performance.now();
  while (times.length < maxReps) {
    const elapsed = performance.now() - start;
    if (times.length >= 2 && elapsed >= capMs) break;
    if (times.length >= minReps && elapsed >= budgetMs) break;
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  return times;
}

function median(values) {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function main() {
  const adapterModule = await import(`./${args.lib}.mjs`);
  const adapter = await adapterModule.create({ threads, quick: args.quick });
  emit({ type: 'library', lib: args.lib, name: adapter.name, threads: adapter.threads, note: adapter.note ?? '' });

  const only = args.only ? new Set(args.only.split(',')) : null;
  const workloads = allWorkloads().filter((w) => (only ? only.has(w.id) : !args.quick || w.inQuick));
  for (const workload of workloads) {
    const base = { type: 'result', lib: args.lib, threads: adapter.threads, workload: workload.id };
    const inputs = workloadInputs(workload);
    if (adapter.measure) {
      // The adapter times the workload itself (the native harness) and
      // returns the sampled rows, which are checked here.
      const measured = await adapter.measure(workload, { quick: args.quick });
      if (measured.unsupported || measured.error) {
        emit({ ...base, status: measured.error ? 'failed' : 'skipped', note: measured.unsupported ?? measured.error });
        continue;
      }
      const check = checkRows(workload, inputs, measured.rows);
      const { rows, ...timing } = measured;
      emit(check.ok
        ? { ...base, ...timing, status: 'ok', maxError: check.maxError }
        : { ...base, status: 'failed', note: `check against the reference failed: ${check.message}` });
      continue;
    }
    let prepared;
    try {
      prepared = await adapter.prepare(workload, inputs);
    } catch (error) {
      emit({ ...base, status: 'failed', note: `setup failed: ${error.message}` });
      continue;
    }
    for (const variant of Array.isArray(prepared) ? prepared : [prepared]) {
      const record = { ...base, variant: variant.variant ?? '', form: variant.form ?? '' };
      if (variant.unsupported) {
        emit({ ...record, status: 'skipped', note: variant.unsupported });
        continue;
      }
      try {
        const checkStart = performance.now();
        await variant.run();
        const checkMs = performance.now() - checkStart;
        const [, rowLength] = outputRows(workload);
        const output = variant.output();
        const rows = new Map(sampleRows(workload).map((r) => [r, output.subarray(r * rowLength, (r + 1) * rowLength)]));
        const check = checkRows(workload, inputs, rows);
        if (!check.ok) {
          emit({ ...record, status: 'failed', note: `check against the reference failed: ${check.message}` });
          continue;
        }
        // The checked run counts as a warm-up. Runs of over two seconds get
        // no further warm-up and the minimum of two timed runs.
        const slow = checkMs > 2000;
        let reps = { minReps: 9, maxReps: 101 };
        if (args.quick) reps = { minReps: 5, maxReps: 21 };
        if (slow) reps = { minReps: 2, maxReps: 2 };
        const times = await timeRuns(variant.run, {
          ...reps,
          warmup: slow ? 0 : 2,
          budgetMs: args.quick ? 500 : 2000,
          capMs: args.quick ? 2000 : 6000,
        });
        emit({
          ...record,
          status: 'ok',
          medianMs: median(times),
          minMs: Math.min(...times),
          runs: times.length,
          maxError: check.maxError,
          extraMemoryBytes: variant.extraMemoryBytes ? variant.extraMemoryBytes() : undefined,
          note: variant.note ?? '',
        });
      } catch (error) {
        emit({ ...record, status: 'failed', note: error.message });
      } finally {
        if (variant.dispose) await variant.dispose();
      }
    }
  }
  emit({ type: 'done', lib: args.lib, maxRssBytes: process.resourceUsage().maxRSS * 1024 });
  if (adapter.close) await adapter.close();
}

main().then(
  () => process.exit(0),
  (error) => {
    emit({ type: 'fatal', lib: args.lib, threads, note: error.stack ?? String(error) });
    process.exit(1);
  },
);
