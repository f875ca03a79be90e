// Module instances share no state: each has its own WebAssembly memory, an
// error or a heap growth in one leaves the other unchanged, and Workers run
// their own instances side by side.
import { describe, expect, test } from '@jest/globals';
import { Worker } from 'node:worker_threads';
import { loadAttnkit, Tensor } from '../../web/lib/attnkit.js';
import { attentionReference, ropeReference, seededFloats } from '../reference/reference.js';
import { expectClose } from './tolerance.js';

const shape = { batch: 2, heads: 1, qLen: 5, kvLen: 5, dim: 8 };
const dims = [2, 5, 8];

function inputs(seed) {
  return [0, 1, 2].map((i) => seededFloats(2 * 5 * 8, seed + i));
}

describe('loadAttnkit instances', () => {
  test('calls without options share one instance', async () => {
    const a = await loadAttnkit();
    const b = await loadAttnkit();
    expect(a).toBe(b);
  });

  test('newInstance creates an independent instance', async () => {
    const shared = await loadAttnkit();
    const a = await loadAttnkit({ newInstance: true });
    const b = await loadAttnkit({ newInstance: true });
    expect(a).not.toBe(b);
    expect(a).not.toBe(shared);

    // Growing a's memory leaves b's size as it was.
    const sizeB = b.heapStats().heapBytes;
    const n = a.heapStats().heapBytes / 4;
    a.rope(new Tensor(new Float32Array(n), [1, 1, n / 4, 4]), { layout: 'bhsd' });
    expect(a.heapStats().heapBytes).toBeGreaterThan(sizeB);
    expect(b.heapStats().heapBytes).toBe(sizeB);

    // An error in a, then interleaved calls on both give the reference.
    expect(() => a.rope({ data: new Float32Array(3), dims: [1, 1, 1, 3] })).toThrow(RangeError);
    const [q, k, v] = inputs(40);
    const x = seededFloats(1 * 3 * 2 * 6, 43);
    const outA = a.attention(new Tensor(q, dims), new Tensor(k, dims), new Tensor(v, dims));
    const ropeB = b.rope(new Tensor(x, [1, 3, 2, 6]), { positionOffset: 4 });
    const outB = b.attention(new Tensor(q, dims), new Tensor(k, dims), new Tensor(v, dims));
    const want = attentionReference(q, k, v, shape);
    expectClose(outA.data, want);
    expectClose(outB.data, want);
    expectClose(ropeB.data, ropeReference(x, { batch: 1, seq: 3, heads: 2, dim: 6, positionOffset: 4 }));
    expect(a.heapStats().liveAllocations).toBe(0);
    expect(b.heapStats().liveAllocations).toBe(0);
  });

  test('rejects unknown and mistyped load options', async () => {
    await expect(loadAttnkit({ newInstanse: true })).rejects.toThrow(
      new TypeError("loadAttnkit: unknown option 'newInstanse'; expected one of newInstance, wasmBinary, locateFile, threads"),
    );
    await expect(loadAttnkit({ newInstance: 'yes' })).rejects.toThrow(
      new TypeError('loadAttnkit: newInstance must be a boolean, got string yes'),
    );
    await expect(loadAttnkit(null)).rejects.toThrow(TypeError);
  });
});

describe('Workers', () => {
  function runWorker(seed, repeat) {
    const [q, k, v] = inputs(seed);
    const worker = new Worker(new URL('./workers/attention-worker.mjs', import.meta.url), {
      workerData: { q, k, v, dims, repeat },
    });
    return new Promise((resolve, reject) => {
      worker.once('message', (message) => resolve({ ...message, q, k, v }));
      worker.once('error', reject);
      worker.once('exit', (code) => {
        if (code !== 0) reject(new Error(`worker exited with code ${code}`));
      });
    });
  }

  test('two Workers compute side by side', async () => {
    const results = await Promise.all([runWorker(50, 200), runWorker(60, 200)]);
    for (const { out, stats, q, k, v } of results) {
      expectClose(out, attentionReference(q, k, v, shape));
      expect(stats.liveAllocations).toBe(0);
    }
    // Different inputs, so equal outputs would mean shared state.
    expect(Array.from(results[0].out)).not.toEqual(Array.from(results[1].out));
  });
});
