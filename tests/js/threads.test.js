// The pthread build through loadAttnkit({ threads }): identical results for
// every thread count, the fallback without SharedArrayBuffer, bad options
// and heap tensors on shared memory.
import { beforeAll, describe, expect, test } from '@jest/globals';
import { loadAttnkit, Tensor } from '../../web/lib/attnkit.js';
import { attentionReference, seededFloats } from '../reference/reference.js';
import { expectClose } from './tolerance.js';

let single;
let dual;
beforeAll(async () => {
  single = await loadAttnkit();
  dual = await loadAttnkit({ threads: 2 });
});

function expectSameBits(a, b) {
  expect(a.length).toBe(b.length);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  const firstDiff = ua.findIndex((x, i) => x !== ub[i]);
  expect(firstDiff).toBe(-1);
}

describe('loadAttnkit threads', () => {
  test('loads the pthread build in Node', () => {
    expect(single.threads).toBe(1);
    expect(dual.threads).toBe(2);
    expect(dual.threadsFallback).toBeNull();
  });

  test('attention is bit-identical with 1, 2 and 3 threads', async () => {
    const triple = await loadAttnkit({ threads: 3 });
    expect(triple.threads).toBe(3);
    // 150 query rows: two full blocks of 64 rows and a partial one.
    const dims = { batch: 2, heads: 6, kvHeads: 3, qLen: 150, kvLen: 90, dim: 20 };
    const q = new Tensor(seededFloats(2 * 6 * 150 * 20, 1), [2, 6, 150, 20]);
    const k = new Tensor(seededFloats(2 * 3 * 90 * 20, 2), [2, 3, 90, 20]);
    const v = new Tensor(seededFloats(2 * 3 * 90 * 20, 3), [2, 3, 90, 20]);
    const one = single.attention(q, k, v);
    expectClose(one.data, attentionReference(q.data, k.data, v.data, dims));
    expectSameBits(dual.attention(q, k, v).data, one.data);
    expectSameBits(triple.attention(q, k, v).data, one.data);
  });

  test('multiheadAttention and rope are bit-identical with 2 threads', () => {
    const dims = [1, 4, 70, 16];
    const [q, k, v] = [1, 2, 3].map((seed) => new Tensor(seededFloats(4 * 70 * 16, seed), dims));
    const o = new Tensor(seededFloats(64 * 64, 4), [64, 64]);
    expectSameBits(dual.multiheadAttention(q, k, v, o).data, single.multiheadAttention(q, k, v, o).data);
    const x = new Tensor(seededFloats(2 * 9 * 3 * 8, 5), [2, 9, 3, 8]);
    expectSameBits(dual.rope(x).data, single.rope(x).data);
  });

  test('rejects bad thread counts', async () => {
    await expect(loadAttnkit({ threads: 0 })).rejects.toThrow(/loadAttnkit: threads must be an integer from 1 to 64, got 0/);
    await expect(loadAttnkit({ threads: 1.5 })).rejects.toThrow(RangeError);
    await expect(loadAttnkit({ threads: 65 })).rejects.toThrow(RangeError);
    await expect(loadAttnkit({ threads: '2' })).rejects.toThrow(/loadAttnkit: threads must be a number, got string/);
    await expect(loadAttnkit(null)).rejects.toThrow(TypeError);
  });

  test('falls back to one thread without SharedArrayBuffer', async () => {
    const saved = globalThis.SharedArrayBuffer;
    let ak;
    try {
      delete globalThis.SharedArrayBuffer;
      ak = await loadAttnkit({ threads: 4 });
    } finally {
      globalThis.SharedArrayBuffer = saved;
    }
    expect(ak.threads).toBe(1);
    expect(ak.threadsFallback).toMatch(/SharedArrayBuffer is not available/);
    const q = new Tensor(seededFloats(2 * 3 * 4, 7), [2, 3, 4]);
    expectSameBits(ak.attention(q, q, q).data, single.attention(q, q, q).data);
  });
});

describe('heap tensors in the pthread build', () => {
  test('out and heap inputs work and survive memory growth', () => {
    const dims = [1, 2, 33, 8];
    const [q, k, v] = [1, 2, 3].map((seed) => {
      const t = dual.alloc(dims);
      t.data.set(seededFloats(2 * 33 * 8, seed));
      return t;
    });
    const out = dual.alloc(dims);
    dual.attention(q, k, v, { out });
    const want = attentionReference(q.data.slice(), k.data.slice(), v.data.slice(), { batch: 1, heads: 2, qLen: 33, kvLen: 33, dim: 8 });
    expectClose(out.data, want);

    // Shared memory is not detached by growth: an old view keeps its old
    // length and still reads the data, and `data` returns a view of the new size.
    const oldView = out.data;
    const before = dual.memoryBytes();
    const big = dual.alloc([before / 4 + 1024]);
    expect(dual.memoryBytes()).toBeGreaterThan(before);
    expect(oldView.length).toBe(out.size);
    expectClose(out.data, want);
    dual.attention(q, k, v, { out });
    expectClose(out.data, want);
    [q, k, v, out, big].forEach((t) => t.dispose());
  });
});
