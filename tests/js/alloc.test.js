// Tensors in WebAssembly memory (ak.alloc): inputs passed without copies,
// the out option, memory growth, dispose() and bad input.
import { beforeAll, describe, expect, test } from '@jest/globals';
import { loadAttnkit, HeapTensor, Tensor } from '../../web/lib/attnkit.js';
import { attentionReference, multiheadReference, ropeReference, seededFloats } from '../reference/reference.js';
import { expectClose } from './tolerance.js';

let ak;
beforeAll(async () => {
  ak = await loadAttnkit();
});

const shape = { batch: 1, heads: 4, kvHeads: 2, qLen: 3, kvLen: 37, dim: 16 };
const qDims = [1, 4, 3, 16];
const kvDims = [1, 2, 37, 16];

// Allocates a heap tensor filled with seeded values.
function heapFilled(dims, seed) {
  const t = ak.alloc(dims);
  t.data.set(seededFloats(t.size, seed));
  return t;
}

describe('alloc', () => {
  test('returns a zero-filled tensor of the dims', () => {
    const t = ak.alloc([2, 3, 4]);
    expect(t).toBeInstanceOf(HeapTensor);
    expect(t.dims).toEqual([2, 3, 4]);
    expect(t.size).toBe(24);
    expect(t.data).toBeInstanceOf(Float32Array);
    expect(t.data.length).toBe(24);
    expect(t.data.every((x) => x === 0)).toBe(true);
    t.dispose();
  });

  test('rejects bad dims', () => {
    expect(() => ak.alloc(5)).toThrow(TypeError);
    expect(() => ak.alloc([2, -1])).toThrow(/alloc: dims\[1\] must be a non-negative integer, got -1/);
    expect(() => ak.alloc([1.5])).toThrow(RangeError);
    expect(() => ak.alloc([2 ** 20, 2 ** 20])).toThrow(/alloc: a buffer of \d+ bytes exceeds the limit/);
  });
});

describe('heap tensors as inputs', () => {
  test('attention matches the reference', () => {
    const [q, k, v] = [heapFilled(qDims, 1), heapFilled(kvDims, 2), heapFilled(kvDims, 3)];
    const out = ak.attention(q, k, v);
    expect(out).toBeInstanceOf(Tensor);
    expectClose(out.data, attentionReference(q.data.slice(), k.data.slice(), v.data.slice(), shape));
    [q, k, v].forEach((t) => t.dispose());
  });

  test('mixed heap and copied inputs match the reference', () => {
    const q = new Tensor(seededFloats(4 * 3 * 16, 1), qDims);
    const k = heapFilled(kvDims, 2);
    const v = new Tensor(seededFloats(2 * 37 * 16, 3), kvDims);
    const out = ak.attention(q, k, v);
    expectClose(out.data, attentionReference(q.data, k.data.slice(), v.data, shape));
    k.dispose();
  });
});

describe('out option', () => {
  test('attention writes into out and returns it', () => {
    const [q, k, v] = [heapFilled(qDims, 1), heapFilled(kvDims, 2), heapFilled(kvDims, 3)];
    const out = ak.alloc(qDims);
    const result = ak.attention(q, k, v, { out });
    expect(result).toBe(out);
    expectClose(out.data, attentionReference(q.data.slice(), k.data.slice(), v.data.slice(), shape));
    [q, k, v, out].forEach((t) => t.dispose());
  });

  test('rope writes into out with other options', () => {
    const dims = [1, 5, 2, 8];
    const x = heapFilled(dims, 7);
    const out = ak.alloc(dims);
    ak.rope(x, { out, positionOffset: 3 });
    const want = ropeReference(x.data.slice(), { batch: 1, seq: 5, heads: 2, dim: 8, positionOffset: 3 });
    expectClose(out.data, want);
    x.dispose();
    out.dispose();
  });

  test('multiheadAttention writes into out', () => {
    const dims = [1, 2, 5, 4];
    const [q, k, v] = [heapFilled(dims, 1), heapFilled(dims, 2), heapFilled(dims, 3)];
    const o = new Tensor(seededFloats(64, 4), [8, 8]);
    const out = ak.alloc([1, 5, 8]);
    ak.multiheadAttention(q, k, v, o, { out });
    const want = multiheadReference(q.data.slice(), k.data.slice(), v.data.slice(), o.data, { batch: 1, heads: 2, qLen: 5, kvLen: 5, dim: 4 });
    expectClose(out.data, want);
    [q, k, v, out].forEach((t) => t.dispose());
  });

  test('rejects a wrong size, non-float32 data, a disposed tensor and overlap', () => {
    const q = heapFilled(qDims, 1);
    const k = heapFilled(kvDims, 2);
    const v = heapFilled(kvDims, 3);
    const small = ak.alloc([5]);
    expect(() => ak.attention(q, k, v, { out: small })).toThrow(/attention: out has 5 elements, but the result has 192/);
    expect(() => ak.attention(q, k, v, { out: { data: new Float64Array(192), dims: qDims } })).toThrow(
      /attention: out.data must be a Float32Array, got Float64Array/,
    );
    const reshaped = ak.alloc([192]);
    expect(() => ak.attention(q, k, v, { out: reshaped })).toThrow(/attention: out has dims \[192\], but the result has dims \[1, 4, 3, 16\]/);
    reshaped.dispose();
    expect(() => ak.attention(q, k, v, { out: reshaped })).toThrow(/attention: out was disposed/);
    expect(() => ak.attention(q, k, v, { out: q })).toThrow(/attention: out overlaps input 0/);
    small.dispose();

    // The module still computes correct results.
    const out = ak.attention(q, k, v);
    expectClose(out.data, attentionReference(q.data.slice(), k.data.slice(), v.data.slice(), shape));
    [q, k, v].forEach((t) => t.dispose());
  });
});

describe('memory growth', () => {
  test('detaches old views and keeps the data', () => {
    const x = heapFilled([1, 4, 2, 8], 9);
    const before = x.data.slice();
    const oldView = x.data;
    const bytesBefore = ak.memoryBytes();
    // Larger than the current memory, so the allocation must grow it.
    const big = ak.alloc([bytesBefore / 4 + 1024]);
    expect(ak.memoryBytes()).toBeGreaterThan(bytesBefore);
    expect(oldView.length).toBe(0);
    expect(x.data).toEqual(before);
    const out = ak.rope(x);
    expectClose(out.data, ropeReference(before, { batch: 1, seq: 4, heads: 2, dim: 8 }));
    big.dispose();
    x.dispose();
  });

  test('repeated calls on heap tensors do not grow memory', () => {
    const [q, k, v] = [heapFilled(qDims, 1), heapFilled(kvDims, 2), heapFilled(kvDims, 3)];
    const out = ak.alloc(qDims);
    ak.attention(q, k, v, { out });
    const bytes = ak.memoryBytes();
    for (let i = 0; i < 200; i += 1) ak.attention(q, k, v, { out });
    expect(ak.memoryBytes()).toBe(bytes);
    [q, k, v, out].forEach((t) => t.dispose());
  });
});

describe('dispose', () => {
  test('is idempotent and data throws afterwards', () => {
    const t = ak.alloc([4]);
    expect(t.disposed).toBe(false);
    t.dispose();
    t.dispose();
    expect(t.disposed).toBe(true);
    expect(() => t.data).toThrow(/HeapTensor: data was read after dispose\(\)/);
  });

  test('a disposed input is rejected', () => {
    const q = heapFilled(qDims, 1);
    const k = heapFilled(kvDims, 2);
    const v = heapFilled(kvDims, 3);
    k.dispose();
    expect(() => ak.attention(q, k, v)).toThrow(TypeError);
    q.dispose();
    v.dispose();
  });

  test('a view kept after dispose is copied, not read in place', () => {
    const x = heapFilled([1, 2, 1, 4], 5);
    const values = x.data.slice();
    const staleView = x.data;
    x.dispose();
    // The freed block is reused, so the stale view now shows other data.
    const other = ak.alloc([8]);
    other.data.fill(3);
    const out = ak.rope(new Tensor(staleView, [1, 2, 1, 4]));
    expectClose(out.data, ropeReference(staleView.slice(), { batch: 1, seq: 2, heads: 1, dim: 4 }));
    expect(values.length).toBe(8);
    other.dispose();
  });
});
