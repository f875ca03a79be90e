// Times RoPE on one shape through the public API (wasm), through the raw
// module on data already in WebAssembly memory, in plain JavaScript and
// natively, and prints a Markdown table. Not part of `npm test`, and nothing
// here asserts on time.
//
//   node scripts/bench-rope.mjs [--shape B,S,H,D] [--offset P] [--step] [--repeats N] [--no-native]
//
// --offset sets the position of the first token (positionOffset). With
// --step, each timed call of the attnkit cases moves the position one
// further (offset + call index mod 1024), as a decoding loop does: for
// example --shape 1,1,32,128 --offset 2048 --step. Shapes
// under 2M elements run several calls per timed sample, and the table shows
// the time of one call.
//
// The native case compiles scripts/bench-rope-native.cpp against
// build/native/libattnkit.a, so run `node scripts/build.mjs` first.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAttnkit, Tensor } from '../web/lib/attnkit.js';
import { instantiateModule } from '../web/lib/load-module.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function parseArgs(argv) {
  const args = { shape: [1, 2048, 32, 128], offset: 0, step: false, repeats: 15, native: true };
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === '--shape') args.shape = argv[++i].split(',').map(Number);
    else if (argv[i] === '--offset') args.offset = Number(argv[++i]);
    else if (argv[i] === '--step') args.step = true;
    else if (argv[i] === '--repeats') args.repeats = Number(argv[++i]);
    else if (argv[i] === '--no-native') args.native = false;
    else throw new Error(`bench-rope: unknown argument ${argv[i]}; expected --shape B,S,H,D, --offset P, --step, --repeats N or --no-native`);
  }
  return args;
}

// Calls per timed sample, so that a sample of a small shape lasts long
// enough for the timer.
let callsPerSample = 1;
// Number of positions the attnkit cases cycle through (1: always offset).
let positionCycle = 1;
let callIndex = 0;

// Returns the position offset of the next timed call.
function nextOffset(offset) {
  callIndex += 1;
  return offset + (callIndex % positionCycle);
}

// Runs `body` three times to warm up, then `repeats` samples of
// callsPerSample calls; returns the median and minimum of one call in
// milliseconds.
function time(repeats, body) {
  for (let i = 0; i < 3; i += 1) body();
  const ms = [];
  for (let i = 0; i < repeats; i += 1) {
    const start = performance.now();
    for (let j = 0; j < callsPerSample; j += 1) body();
    ms.push((performance.now() - start) / callsPerSample);
  }
  ms.sort((a, b) => a - b);
  return { median: ms[Math.floor(ms.length / 2)], min: ms[0] };
}

// RoPE in plain JavaScript with float64 angles, written into `out`.
function plainRope(x, out, [batch, seq, heads, dim], offset, interleaved) {
  const half = dim / 2;
  const cos = new Float32Array(half);
  const sin = new Float32Array(half);
  const invFreq = new Float64Array(half);
  for (let i = 0; i < half; i += 1) invFreq[i] = 10000 ** ((-2 * i) / dim);
  for (let b = 0; b < batch; b += 1) {
    for (let s = 0; s < seq; s += 1) {
      for (let i = 0; i < half; i += 1) {
        cos[i] = Math.cos((offset + s) * invFreq[i]);
        sin[i] = Math.sin((offset + s) * invFreq[i]);
      }
      for (let h = 0; h < heads; h += 1) {
        const at = ((b * seq + s) * heads + h) * dim;
        for (let i = 0; i < half; i += 1) {
          const ia = at + (interleaved ? 2 * i : i);
          const ib = at + (interleaved ? 2 * i + 1 : i + half);
          const a = x[ia];
          const c = x[ib];
          out[ia] = a * cos[i] - c * sin[i];
          out[ib] = a * sin[i] + c * cos[i];
        }
      }
    }
  }
}

// Three significant digits, at least two decimals.
function formatMs(ms) {
  return ms >= 1 ? ms.toFixed(2) : ms.toPrecision(3);
}

function maxAbsDiff(a, b) {
  let max = 0;
  for (let i = 0; i < a.length; i += 1) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

function seeded(n) {
  const out = new Float32Array(n);
  let state = 12345;
  for (let i = 0; i < n; i += 1) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}

// Times the kernel on data already in WebAssembly memory by calling the
// module's binding directly, because the public API has no heap-resident
// tensors on this branch.
function rawModuleCases(module, x, shape, offset, repeats, expected) {
  const [batch, seqLen, numHeads, headDim] = shape;
  const bytes = x.length * 4;
  const xp = module._malloc(bytes);
  const outp = module._malloc(bytes);
  const rows = [];
  const args = (interleaved, positionOffset = offset) => ({
    batch, seqLen, numHeads, headDim, layout: 0, rotaryDim: headDim, base: 10000, interleaved,
    positionOffset, positionIds: 0, cosCache: 0, sinCache: 0, cacheRows: 0, cacheWidth: 0,
    cachePerToken: false, scaling: { type: 0, factor: 1, originalMaxPositions: 0, currentLength: 0,
      betaFast: 32, betaSlow: 1, truncate: true, attentionFactor: 1, hasAttentionFactor: false,
      mscale: 0, mscaleAllDim: 0, lowFreqFactor: 1, highFreqFactor: 4 },
  });
  try {
    for (const interleaved of [true, false]) {
      const label = interleaved ? 'interleaved' : 'split-half';
      module.HEAPF32.set(x, xp >>> 2);
      const status = module.rope(xp, outp, args(interleaved));
      if (status) throw new Error(`bench-rope: raw rope failed: ${status.message}`);
      const error = maxAbsDiff(module.HEAPF32.subarray(outp >>> 2, (outp >>> 2) + x.length), expected[label]);
      rows.push({ name: `wasm, in wasm memory, to a second buffer (${label})`, ...time(repeats, () => module.rope(xp, outp, args(interleaved, nextOffset(offset)))), error });
      rows.push({ name: `wasm, in wasm memory, in place (${label})`, ...time(repeats, () => module.rope(xp, xp, args(interleaved, nextOffset(offset)))), error: null });
    }
    const heap = module.HEAPF32;
    rows.push({ name: 'wasm memory copy (HEAPF32.copyWithin, same size)', ...time(repeats, () => heap.copyWithin(outp >>> 2, xp >>> 2, (xp >>> 2) + x.length)), error: null });
  } finally {
    module._free(xp);
    module._free(outp);
  }
  return rows;
}

function nativeCases(shape, offset, repeats) {
  const library = join(root, 'build/native/libattnkit.a');
  if (!existsSync(library)) return [{ name: 'native: build/native/libattnkit.a not found; run node scripts/build.mjs', skipped: true }];
  const binary = join(root, 'build/native/bench-rope-native');
  execFileSync('c++', ['-std=c++17', '-O2', '-march=native', `-I${join(root, 'src')}`,
    join(root, 'scripts/bench-rope-native.cpp'), library, '-o', binary]);
  const output = execFileSync(binary, [...shape.map(String), String(offset), String(positionCycle), String(repeats), String(callsPerSample)], { encoding: 'utf8' });
  return output.trim().split('\n').map((line) => {
    const [name, median, min] = line.split(' ');
    return { name: `native ${name}`, median: Number(median), min: Number(min), error: null };
  });
}

async function main() {
  const { shape, offset, step, repeats, native } = parseArgs(process.argv.slice(2));
  positionCycle = step ? 1024 : 1;
  const size = shape.reduce((a, b) => a * b, 1);
  callsPerSample = Math.max(1, Math.round(2 ** 21 / size));
  const x = seeded(size);
  const bytes = size * 4;

  const expected = {};
  const rows = [];
  for (const interleaved of [true, false]) {
    const label = interleaved ? 'interleaved' : 'split-half';
    const out = new Float32Array(size);
    plainRope(x, out, shape, offset, interleaved);
    expected[label] = out;
    rows.push({ name: `plain JavaScript into a reused buffer (${label})`, ...time(repeats, () => plainRope(x, out, shape, offset, interleaved)), error: 0 });
  }
  // Any API that returns a new array pays for fresh memory; this is that
  // cost alone.
  rows.push({ name: 'new Float32Array of the same size, filled (no RoPE)', ...time(repeats, () => new Float32Array(size).fill(1)), error: null });

  const ak = await loadAttnkit();
  const tensor = new Tensor(x, shape);
  for (const interleaved of [true, false]) {
    const label = interleaved ? 'interleaved' : 'split-half';
    const error = maxAbsDiff(ak.rope(tensor, { interleaved, positionOffset: offset }).data, expected[label]);
    rows.push({ name: `wasm, ak.rope(x) copying in and out (${label})`, ...time(repeats, () => ak.rope(tensor, { interleaved, positionOffset: nextOffset(offset) })), error });
    const copy = new Tensor(Float32Array.from(x), shape);
    rows.push({ name: `wasm, ak.rope(x, { inPlace: true }) on a JS array (${label})`, ...time(repeats, () => ak.rope(copy, { interleaved, positionOffset: nextOffset(offset), inPlace: true })), error: null });
  }

  rows.push(...rawModuleCases(await instantiateModule(), x, shape, offset, repeats, expected));
  if (native) rows.push(...nativeCases(shape, offset, repeats));

  console.log(`RoPE on x ${JSON.stringify(shape)} (${(bytes / 2 ** 20).toFixed(2)} MiB), positionOffset ${offset}${step ? ' + call index mod 1024' : ''}, ${repeats} samples of ${callsPerSample} call(s) after 3 warm-up calls, Node ${process.version}`);
  console.log('');
  console.log('| case | median ms | min ms | GB/s (read + write, median) | max abs diff vs plain JS |');
  console.log('|---|---:|---:|---:|---:|');
  for (const row of rows) {
    if (row.skipped) {
      console.log(`| ${row.name} | – | – | – | – |`);
      continue;
    }
    const gbps = (2 * bytes) / (row.median * 1e6);
    const error = row.error === null ? '–' : row.error.toExponential(1);
    console.log(`| ${row.name} | ${formatMs(row.median)} | ${formatMs(row.min)} | ${gbps.toFixed(1)} | ${error} |`);
  }
}

await main();
