// Attention and multi-head attention through the npm API against the
// float64 JavaScript reference.
import { beforeAll, describe, expect, test } from '@jest/globals';
import { loadAttnkit, Tensor } from '../../web/lib/attnkit.js';
import { attentionReference, multiheadReference, seededFloats } from '../reference/reference.js';
import { expectClose } from './tolerance.js';

let ak;
beforeAll(async () => {
  ak = await loadAttnkit();
});

function runAttention({ batch, heads, kvHeads = heads, qLen, kvLen, dim, vDim = dim, rank = 4, seed }) {
  const q = seededFloats(batch * heads * qLen * dim, seed);
  const k = seededFloats(batch * kvHeads * kvLen * dim, seed + 1);
  const v = seededFloats(batch * kvHeads * kvLen * vDim, seed + 2);
  const dims = (h, len, d) => (rank === 3 ? [batch, len, d] : [batch, h, len, d]);
  const out = ak.attention(
    new Tensor(q, dims(heads, qLen, dim)),
    new Tensor(k, dims(kvHeads, kvLen, dim)),
    new Tensor(v, dims(kvHeads, kvLen, vDim)),
  );
  expect(out.dims).toEqual(dims(heads, qLen, vDim));
  expectClose(out.data, attentionReference(q, k, v, { batch, heads, kvHeads, qLen, kvLen, dim, vDim }));
}

describe('attention', () => {
  test('single head reference shape (32, 128, 192)', () => {
    runAttention({ batch: 32, heads: 1, qLen: 128, kvLen: 128, dim: 192, rank: 3, seed: 1 });
  });

  test('multi-head reference shape (32, 3, 128, 64)', () => {
    runAttention({ batch: 32, heads: 3, qLen: 128, kvLen: 128, dim: 64, seed: 2 });
  });

  test('sequence length one', () => {
    runAttention({ batch: 2, heads: 3, qLen: 1, kvLen: 1, dim: 64, seed: 3 });
  });

  test('query and key lengths differ', () => {
    runAttention({ batch: 2, heads: 3, qLen: 5, kvLen: 70, dim: 64, seed: 4 });
    runAttention({ batch: 2, heads: 3, qLen: 70, kvLen: 5, dim: 64, seed: 5 });
  });

  test.each([1, 3, 5, 67])('head size %i', (dim) => {
    runAttention({ batch: 2, heads: 2, qLen: 6, kvLen: 9, dim, seed: 6 });
    runAttention({ batch: 2, heads: 1, qLen: 6, kvLen: 9, dim, rank: 3, seed: 7 });
  });

  test('one head in rank 4', () => {
    runAttention({ batch: 3, heads: 1, qLen: 13, kvLen: 13, dim: 64, seed: 8 });
  });

  test('key/value heads shared by query heads', () => {
    runAttention({ batch: 2, heads: 4, kvHeads: 2, qLen: 5, kvLen: 7, dim: 8, seed: 9 });
  });

  test('value head size differs', () => {
    runAttention({ batch: 2, heads: 2, qLen: 5, kvLen: 7, dim: 8, vDim: 10, seed: 10 });
  });

  test('explicit scale replaces the default', () => {
    const q = new Tensor(new Float32Array([1, 0, 0, 1]), [1, 2, 2]);
    const k = new Tensor(new Float32Array([2, 0, 0, 2]), [1, 2, 2]);
    const v = new Tensor(new Float32Array([1, 3, 2, 4]), [1, 2, 2]);
    const out = ak.attention(q, k, v, { scale: 1 });
    expectClose(out.data, attentionReference(q.data, k.data, v.data, { batch: 1, heads: 1, qLen: 2, kvLen: 2, dim: 2, scale: 1 }));
  });

  // In the WebAssembly build, blocks of 3 or 4 query rows take their scores
  // as dot products along the head size, and so does decoding with groups
  // of 3 or 4 query heads per key/value head. Head sizes that are not a
  // multiple of 4 end in a scalar tail, and odd key counts in a single key.
  test.each([1, 3, 4, 6, 13, 64])('three and four query rows, head size %i', (dim) => {
    for (const qLen of [3, 4]) {
      for (const kvLen of [1, 2, 5, 65]) {
        runAttention({ batch: 1, heads: 2, qLen, kvLen, dim, seed: 40 + qLen + kvLen + dim });
      }
    }
  });

  test.each([[6, 2], [8, 2]])('decode with %i query heads on %i key/value heads', (heads, kvHeads) => {
    for (const dim of [5, 64]) {
      for (const kvLen of [1, 3, 130]) {
        runAttention({ batch: 2, heads, kvHeads, qLen: 1, kvLen, dim, seed: 90 + kvLen + dim });
      }
    }
  });

  test('accepts plain { data, dims } objects', () => {
    const t = { data: new Float32Array([1, 2, 3, 4]), dims: [1, 1, 1, 4] };
    const out = ak.attention(t, t, t);
    expect(Array.from(out.data)).toEqual([1, 2, 3, 4]);
  });
});

describe('multiheadAttention', () => {
  function runMha({ batch, heads, qLen, kvLen, dim, withBias = false, seed }) {
    const embed = heads * dim;
    const q = seededFloats(batch * heads * qLen * dim, seed);
    const k = seededFloats(batch * heads * kvLen * dim, seed + 1);
    const v = seededFloats(batch * heads * kvLen * dim, seed + 2);
    const o = seededFloats(embed * embed, seed + 3, -0.1, 0.1);
    const bias = seededFloats(embed, seed + 4);
    const out = ak.multiheadAttention(
      new Tensor(q, [batch, heads, qLen, dim]),
      new Tensor(k, [batch, heads, kvLen, dim]),
      new Tensor(v, [batch, heads, kvLen, dim]),
      new Tensor(o, [embed, embed]),
      withBias ? { outBias: new Tensor(bias, [embed]) } : undefined,
    );
    expect(out.dims).toEqual([batch, qLen, embed]);
    expectClose(out.data, multiheadReference(q, k, v, o, { batch, heads, qLen, kvLen, dim, bias: withBias ? bias : null }));
  }

  test('reference shape (32, 3, 128, 64)', () => {
    runMha({ batch: 32, heads: 3, qLen: 128, kvLen: 128, dim: 64, seed: 21 });
  });

  test('output bias', () => {
    runMha({ batch: 2, heads: 3, qLen: 7, kvLen: 7, dim: 16, withBias: true, seed: 22 });
  });

  test('sequence length one and differing lengths', () => {
    runMha({ batch: 2, heads: 3, qLen: 1, kvLen: 1, dim: 64, seed: 23 });
    runMha({ batch: 2, heads: 3, qLen: 4, kvLen: 9, dim: 8, seed: 24 });
  });

  test.each([1, 3, 5, 67])('head size %i', (dim) => {
    runMha({ batch: 2, heads: 3, qLen: 5, kvLen: 6, dim, withBias: true, seed: 25 });
  });

  test('one head', () => {
    runMha({ batch: 2, heads: 1, qLen: 5, kvLen: 5, dim: 64, seed: 26 });
  });
});
