// Measures this machine's peaks in the same run as the libraries: the
// WebAssembly SIMD128 multiply+add throughput and memory bandwidth (from
// bench/peak/peak.c, built with emcc on first use) and, through the native
// harness, the host's FMA throughput.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const benchDir = new URL('../', import.meta.url);
const wasmPath = new URL('build/peak.wasm', benchDir);
const BUFFER_BYTES = 64 << 20; // well beyond the last-level cache

function buildPeakWasm() {
  mkdirSync(new URL('build/', benchDir), { recursive: true });
  execFileSync(
    'emcc',
    ['-O3', '-msimd128', '--no-entry', '-sSTANDALONE_WASM', '-sINITIAL_MEMORY=160MB',
      '-sEXPORTED_FUNCTIONS=_multiply_add_loop,_copy_bytes,_read_bytes',
      new URL('peak/peak.c', benchDir).pathname, '-o', wasmPath.pathname],
    { stdio: 'inherit', env: { ...process.env, NODE_PATH: '/usr/share/nodejs' } },
  );
}

function best(times, run) {
  let min = Infinity;
  for (let i = 0; i < times; i += 1) {
    const t0 = performance.now();
    run();
    min = Math.min(min, performance.now() - t0);
  }
  return min;
}

/** Returns { simdGflops, copyGBps, readGBps } of one WebAssembly thread. */
export async function measureWasmPeaks() {
  if (!existsSync(wasmPath)) buildPeakWasm();
  const { instance } = await WebAssembly.instantiate(readFileSync(wasmPath), {});
  const { multiply_add_loop: multiplyAdd, copy_bytes: copy, read_bytes: read, memory } = instance.exports;

  const iterations = 20_000_000;
  multiplyAdd(1000, 1);
  const fmaMs = best(5, () => multiplyAdd(iterations, 1));
  const simdGflops = (iterations * 96) / fmaMs / 1e6;

  // Two 64 MiB buffers at 16 MiB and 80 MiB, inside the 160 MiB memory.
  const src = 16 << 20;
  const dst = src + BUFFER_BYTES;
  if (memory.buffer.byteLength < dst + BUFFER_BYTES) throw new Error('peak.wasm memory is too small');
  new Float32Array(memory.buffer, src, BUFFER_BYTES / 4).fill(1);
  copy(dst, src, BUFFER_BYTES);
  const copyMs = best(7, () => copy(dst, src, BUFFER_BYTES));
  const readMs = best(7, () => read(src, BUFFER_BYTES));
  // Copy bandwidth counts the bytes read plus the bytes written.
  return {
    simdGflops,
    copyGBps: (2 * BUFFER_BYTES) / copyMs / 1e6,
    readGBps: BUFFER_BYTES / readMs / 1e6,
  };
}
