// attnkit's C++ API built for the host, through the native harness
// bench/native/bench_native.cpp, which run.mjs builds with CMake.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { sampleRows } from '../lib/workloads.mjs';

const root = new URL('../../', import.meta.url).pathname;
const buildDir = `${root}build/bench-native`;
const binary = `${buildDir}/attnkit_bench_native`;

// Configures on first use and rebuilds incrementally on every run, so the
// harness never measures a stale library.
export function ensureNativeHarness() {
  const run = (args) => execFileSync('cmake', args, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (!existsSync(`${buildDir}/CMakeCache.txt`)) {
    run(['-S', '.', '-B', buildDir, '-DCMAKE_BUILD_TYPE=Release', '-DATTNKIT_BUILD_BENCH=ON', '-DATTNKIT_BUILD_TESTS=OFF']);
  }
  run(['--build', buildDir, '-j2', '--target', 'attnkit_bench_native']);
  return binary;
}

// run.mjs builds the harness before it starts the runners.
export async function create({ threads }) {
  if (!existsSync(binary)) ensureNativeHarness();
  return {
    name: 'attnkit native',
    threads: 1,
    note: threads > 1 ? 'the native library has no thread pool; ran one thread' : '',
    measure(workload, { quick }) {
      const s = workload.shape;
      // Fast workloads get more runs, as in run-library.mjs.
      let runs = workload.flops < 1e8 ? 51 : 9;
      if (quick) runs = 5;
      if (workload.flops > 5e9) runs = 2;
      const reps = String(runs);
      const rows = sampleRows(workload).join(',');
      let args;
      if (workload.kind === 'attention') {
        args = ['attention', s.batch, s.heads, s.kvHeads, s.qLen, s.kvLen, s.dim, s.causal ? 1 : 0, reps, rows];
      } else if (workload.kind === 'mha') {
        args = ['mha', s.batch, s.heads, s.qLen, s.dim, reps, rows];
      } else {
        args = ['rope', s.batch, s.seqLen, s.heads, s.dim, reps, rows];
      }
      const line = execFileSync(binary, args.map(String), { encoding: 'utf8', maxBuffer: 64 << 20 }).trim().split('\n').pop();
      const result = JSON.parse(line);
      if (result.unsupported || result.error) return result;
      return {
        form: `C++ API (${result.simd})`,
        medianMs: result.medianMs,
        minMs: result.minMs,
        runs: result.runs,
        extraMemoryBytes: result.peakExtraBytes,
        rows: new Map(Object.entries(result.rows).map(([r, values]) => [Number(r), values])),
      };
    },
  };
}
