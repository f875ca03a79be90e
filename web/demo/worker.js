// Module worker that runs the heavy work of the demo page off the main
// thread: the checks at the reference shapes and the benchmark. It loads
// the package itself and replies to each request with progress messages
// and one final message. Requests are handled one at a time.
// Chromium applies the page's import map only to the page, not to module
// workers, so the worker imports the package's entry module by its path.
import { loadAttnkit, Tensor } from '../lib/attnkit.js';
import {
  attentionReference,
  compareArrays,
  multiheadReference,
  ropeReference,
  seededFloats,
} from './reference.js';

// Per-element tolerance against the float64 reference, as in the Jest suites.
const ATOL = 1e-6;
const RTOL = 1e-5;

let api = null;

// Loads the package once, asking for `threads` threads. A package without
// a threaded build ignores the option; if the threaded load fails, the
// worker falls back to the single-thread build and reports why.
async function loadApi(threads) {
  if (threads > 1) {
    try {
      return { ak: await loadAttnkit({ threads }), loadError: null };
    } catch (error) {
      return { ak: await loadAttnkit(), loadError: error instanceof Error ? error.message : String(error) };
    }
  }
  return { ak: await loadAttnkit(), loadError: null };
}

// The build facts the page shows for this worker's instance.
function describeBuild({ ak, loadError }) {
  return {
    type: 'info',
    version: ak.version,
    simd: ak.simd,
    hasThreads: 'threads' in ak,
    threads: ak.threads,
    threadsFallback: loadError ?? ak.threadsFallback ?? null,
  };
}

function timed(run) {
  const start = performance.now();
  const result = run();
  return { result, ms: performance.now() - start };
}

// Inputs of the three operations for one shape; the seeds make every run
// of the page use the same numbers.
function makeInputs({ batch, seq, heads, headDim }, seed) {
  const embed = heads * headDim;
  const n = batch * heads * seq * headDim;
  return {
    q: seededFloats(n, seed),
    k: seededFloats(n, seed + 1),
    v: seededFloats(n, seed + 2),
    o: seededFloats(embed * embed, seed + 3, -1 / Math.sqrt(embed), 1 / Math.sqrt(embed)),
    x: seededFloats(n, seed + 4),
  };
}

// The three operations at the reference shapes, each compared with the
// float64 reference. Attention runs as one head of size 192 (rank 3).
function checkCases() {
  const batch = 32;
  const seq = 128;
  return [
    {
      op: 'attention',
      shape: 'q, k, v [32, 128, 192]',
      run(ak) {
        const dim = 192;
        const { q, k, v } = makeInputs({ batch, seq, heads: 1, headDim: dim }, 11);
        const dims = [batch, seq, dim];
        const lib = timed(() => ak.attention(new Tensor(q, dims), new Tensor(k, dims), new Tensor(v, dims)));
        const ref = timed(() => attentionReference(q, k, v, { batch, heads: 1, qLen: seq, kvLen: seq, dim }));
        return { lib, ref };
      },
    },
    {
      op: 'multiheadAttention',
      shape: 'q, k, v [32, 3, 128, 64], o [192, 192]',
      run(ak) {
        const heads = 3;
        const dim = 64;
        const { q, k, v, o } = makeInputs({ batch, seq, heads, headDim: dim }, 21);
        const dims = [batch, heads, seq, dim];
        const embed = heads * dim;
        const lib = timed(() =>
          ak.multiheadAttention(
            new Tensor(q, dims),
            new Tensor(k, dims),
            new Tensor(v, dims),
            new Tensor(o, [embed, embed]),
          ),
        );
        const ref = timed(() => multiheadReference(q, k, v, o, { batch, heads, qLen: seq, kvLen: seq, dim }));
        return { lib, ref };
      },
    },
    {
      op: 'rope',
      shape: 'x [32, 128, 3, 64]',
      run(ak) {
        const heads = 3;
        const dim = 64;
        const { x } = makeInputs({ batch, seq, heads, headDim: dim }, 31);
        const lib = timed(() => ak.rope(new Tensor(x, [batch, seq, heads, dim])));
        const ref = timed(() => ropeReference(x, { batch, seq, heads, dim }));
        return { lib, ref };
      },
    },
  ];
}

function runChecks(ak, post) {
  const cases = checkCases();
  cases.forEach((c, index) => {
    post({ type: 'progress', done: index, total: cases.length, label: c.op });
    const { lib, ref } = c.run(ak);
    const { maxError, outside } = compareArrays(lib.result.data, ref.result, ATOL, RTOL);
    post({
      type: 'check',
      op: c.op,
      shape: c.shape,
      maxError,
      outside,
      elements: ref.result.length,
      atol: ATOL,
      rtol: RTOL,
      libMs: lib.ms,
      refMs: ref.ms,
    });
  });
  post({ type: 'progress', done: cases.length, total: cases.length, label: '' });
}

// Benchmark: for each shape and operation, the median time of `repeats`
// runs in attnkit and in the plain JavaScript implementation (reference.js).
function benchmarkCases(shape) {
  const { batch, seq, heads, headDim } = shape;
  const embed = heads * headDim;
  const { q, k, v, o, x } = makeInputs(shape, 41);
  const dims = [batch, heads, seq, headDim];
  const sizes = { batch, heads, qLen: seq, kvLen: seq, dim: headDim };
  return [
    {
      op: 'attention',
      lib: (ak) => ak.attention(new Tensor(q, dims), new Tensor(k, dims), new Tensor(v, dims)),
      js: () => attentionReference(q, k, v, sizes),
    },
    {
      op: 'multiheadAttention',
      lib: (ak) =>
        ak.multiheadAttention(new Tensor(q, dims), new Tensor(k, dims), new Tensor(v, dims), new Tensor(o, [embed, embed])),
      js: () => multiheadReference(q, k, v, o, sizes),
    },
    {
      op: 'rope',
      lib: (ak) => ak.rope(new Tensor(x, [batch, seq, heads, headDim])),
      js: () => ropeReference(x, { batch, seq, heads, dim: headDim }),
    },
  ];
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function runBenchmark(ak, { shapes, repeats }, post) {
  const total = shapes.length * 3 * 2 * repeats;
  let done = 0;
  for (const shape of shapes) {
    for (const c of benchmarkCases(shape)) {
      const times = { lib: [], js: [] };
      for (const impl of ['lib', 'js']) {
        post({ type: 'progress', done, total, label: `${c.op} ${shape.label} (${impl === 'lib' ? 'attnkit' : 'JavaScript'})` });
        // One untimed run first, so compilation and first allocations do not count.
        c[impl](ak);
        for (let r = 0; r < repeats; r += 1) {
          times[impl].push(timed(() => c[impl](ak)).ms);
          done += 1;
          post({ type: 'progress', done, total, label: `${c.op} ${shape.label}` });
        }
      }
      post({ type: 'bench', op: c.op, shape: shape.label, libMs: median(times.lib), jsMs: median(times.js), repeats });
    }
  }
}

self.onmessage = async ({ data: request }) => {
  const post = (message) => self.postMessage({ id: request.id, ...message });
  try {
    api ??= loadApi(request.type === 'info' ? request.threads : 1);
    const loaded = await api;
    const { ak } = loaded;
    if (request.type === 'info') post(describeBuild(loaded));
    else if (request.type === 'checks') runChecks(ak, post);
    else if (request.type === 'bench') runBenchmark(ak, request, post);
    else throw new TypeError(`worker: unknown request type '${request.type}'`);
    post({ type: 'done' });
  } catch (error) {
    post({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  }
};
