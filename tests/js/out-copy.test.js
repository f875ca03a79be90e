// The `out` option with a Float32Array tensor (the result is copied into
// it), and RoPE of large tensors outside WebAssembly memory, which streams
// through a small buffer in pieces.
import { beforeAll, describe, expect, test } from '@jest/globals';
import { loadAttnkit, Tensor } from '../../web/lib/attnkit.js';
import {
  attentionReference,
  multiheadReference,
  ropeFrequenciesReference,
  ropeGeneralReference,
  seededFloats,
} from '../reference/reference.js';
import { expectClose } from './tolerance.js';

let ak;
beforeAll(async () => {
  ak = await loadAttnkit();
});

describe('out as a Float32Array tensor', () => {
  test('attention copies its result into out and returns out', () => {
    const dims = [1, 2, 6, 8];
    const q = new Tensor(seededFloats(96, 1), dims);
    const k = new Tensor(seededFloats(96, 2), dims);
    const v = new Tensor(seededFloats(96, 3), dims);
    const out = new Tensor(new Float32Array(96).fill(7), dims);
    const data = out.data;
    expect(ak.attention(q, k, v, { out })).toBe(out);
    expect(out.data).toBe(data);
    expectClose(data, attentionReference(q.data, k.data, v.data, { batch: 1, heads: 2, qLen: 6, kvLen: 6, dim: 8 }));
  });

  test('multiheadAttention and rope write into a reused out', () => {
    const dims = [1, 2, 5, 4];
    const [q, k, v] = [1, 2, 3].map((seed) => new Tensor(seededFloats(40, seed), dims));
    const o = new Tensor(seededFloats(64, 4), [8, 8]);
    const out = new Tensor(new Float32Array(40), [1, 5, 8]);
    for (let i = 0; i < 2; i++) ak.multiheadAttention(q, k, v, o, { out });
    expectClose(out.data, multiheadReference(q.data, k.data, v.data, o.data, { batch: 1, heads: 2, qLen: 5, kvLen: 5, dim: 4 }));

    const x = new Tensor(seededFloats(80, 5), [1, 5, 2, 8]);
    const rotated = new Tensor(new Float32Array(80), x.dims);
    expect(ak.rope(x, { out: rotated, positionOffset: 4 })).toBe(rotated);
    expectClose(rotated.data, ropeGeneralReference(x.data, { batch: 1, seq: 5, heads: 2, dim: 8, positions: (b, s) => s + 4 }));
  });

  test('out may be the input tensor itself', () => {
    const x = new Tensor(seededFloats(80, 6), [1, 5, 2, 8]);
    const want = ropeGeneralReference(x.data, { batch: 1, seq: 5, heads: 2, dim: 8 });
    ak.rope(x, { out: x });
    expectClose(x.data, want);
  });

  test('rejects a bad out and stays usable', () => {
    const dims = [1, 1, 3, 4];
    const q = new Tensor(seededFloats(12, 1), dims);
    expect(() => ak.attention(q, q, q, { out: new Tensor(new Float32Array(11), [11]) })).toThrow(
      /attention: out has 11 elements, but the result has 12/,
    );
    expect(() => ak.attention(q, q, q, { out: { data: new Float32Array(12), dims: [5] } })).toThrow(
      /attention: out has 12 elements, but dims \[5\] need 5/,
    );
    expect(() => ak.attention(q, q, q, { out: 'result' })).toThrow(
      /attention: out must be a tensor from alloc\(\) or a Tensor with Float32Array data, got string/,
    );
    const heap = ak.alloc(dims);
    expect(() => ak.attention(q, q, q, { out: new Tensor(heap.data, dims) })).toThrow(
      /attention: out.data is a view of WebAssembly memory; pass the alloc\(\) tensor itself as out/,
    );
    heap.dispose();
    expect(() => ak.attentionWithCache(q, q, q, { out: new Tensor(new Float32Array(12), dims) })).toThrow(
      /attentionWithCache: the out option is not supported by this operation/,
    );
    expect(() => ak.rope(q, { out: new Tensor(new Float32Array(12), dims), inPlace: true })).toThrow(
      /rope: inPlace and out cannot be combined/,
    );
    const out = new Tensor(new Float32Array(12), dims);
    ak.attention(q, q, q, { out });
    expectClose(out.data, attentionReference(q.data, q.data, q.data, { batch: 1, heads: 1, qLen: 3, kvLen: 3, dim: 4 }));
  });
});

// 2 × 300 tokens of 8 heads × 128 floats is 2.4 MiB: more than one piece,
// with a last piece shorter than the others in each batch entry.
const big = { batch: 2, seq: 300, heads: 8, dim: 128 };
const bigDims = [big.batch, big.seq, big.heads, big.dim];
const bigSize = big.batch * big.seq * big.heads * big.dim;

describe('rope streaming a large tensor', () => {
  test('positionOffset into new array, out and inPlace', () => {
    const x = new Tensor(seededFloats(bigSize, 11), bigDims);
    const want = ropeGeneralReference(x.data, { ...big, positions: (b, s) => s + 1000 });
    expectClose(ak.rope(x, { positionOffset: 1000 }).data, want);

    const out = new Tensor(new Float32Array(bigSize), bigDims);
    ak.rope(x, { positionOffset: 1000, out });
    expectClose(out.data, want);

    const copy = new Tensor(x.data.slice(), bigDims);
    expect(ak.rope(copy, { positionOffset: 1000, inPlace: true })).toBe(copy);
    expectClose(copy.data, want);
  });

  test('positionIds per batch entry', () => {
    const x = new Tensor(seededFloats(bigSize, 12), bigDims);
    const ids = new Int32Array(big.batch * big.seq).map((_, i) => (i * 7919) % 5000);
    const got = ak.rope(x, { positionIds: { data: ids, dims: [big.batch, big.seq] } });
    expectClose(got.data, ropeGeneralReference(x.data, { ...big, positions: (b, s) => ids[b * big.seq + s] }));
  });

  test('per-token and position caches', () => {
    const x = new Tensor(seededFloats(bigSize, 13), bigDims);
    const rotaryDim = 64;
    const half = rotaryDim / 2;
    const { invFreq } = ropeFrequenciesReference(rotaryDim);
    const tokens = big.batch * big.seq;
    const cos = new Float32Array(tokens * half);
    const sin = new Float32Array(tokens * half);
    const positionOf = (b, s) => 3 * s + b;
    for (let b = 0; b < big.batch; b++) {
      for (let s = 0; s < big.seq; s++) {
        for (let i = 0; i < half; i++) {
          cos[(b * big.seq + s) * half + i] = Math.cos(positionOf(b, s) * invFreq[i]);
          sin[(b * big.seq + s) * half + i] = Math.sin(positionOf(b, s) * invFreq[i]);
        }
      }
    }
    const cacheDims = [big.batch, big.seq, half];
    const got = ak.rope(x, {
      rotaryDim,
      interleaved: false,
      cosCache: new Tensor(cos, cacheDims),
      sinCache: new Tensor(sin, cacheDims),
    });
    const rowFor = (b, s) => {
      const at = (b * big.seq + s) * half;
      const pick = (table) => Array.from({ length: rotaryDim }, (_, j) => table[at + (j % half)]);
      return { cos: pick(cos), sin: pick(sin) };
    };
    expectClose(got.data, ropeGeneralReference(x.data, { ...big, rotaryDim, interleaved: false, rowFor }));

    const table = ak.ropeCache({ maxPositions: 400, rotaryDim });
    const cached = ak.rope(x, { rotaryDim, positionOffset: 100, ...table });
    expectClose(cached.data, ropeGeneralReference(x.data, { ...big, rotaryDim, positions: (b, s) => s + 100 }));
  });

  test('late bad position writes nothing', () => {
    const x = new Tensor(seededFloats(bigSize, 14), bigDims);
    const before = x.data.slice();
    const ids = new Int32Array(big.batch * big.seq).fill(5);
    ids[ids.length - 1] = 400;
    const table = ak.ropeCache({ maxPositions: 400, rotaryDim: 128 });
    const options = { positionIds: { data: ids, dims: [big.batch, big.seq] }, ...table };
    expect(() => ak.rope(x, { ...options, inPlace: true })).toThrow(
      /rope: positionIds\[1, 299\] is 400, outside the cache rows 0 to 399/,
    );
    expect(x.data).toEqual(before);
    const out = new Tensor(new Float32Array(bigSize).fill(3), bigDims);
    expect(() => ak.rope(x, { ...options, out })).toThrow(RangeError);
    expect(out.data.every((value) => value === 3)).toBe(true);

    ids[ids.length - 1] = 399;
    const got = ak.rope(x, options);
    expectClose(got.data, ropeGeneralReference(x.data, { ...big, positions: (b, s) => ids[b * big.seq + s] }));
  });

  test('rank 3 with numHeads streams like rank 4', () => {
    const x3 = new Tensor(seededFloats(bigSize, 15), [big.batch, big.seq, big.heads * big.dim]);
    const got = ak.rope(x3, { numHeads: big.heads });
    expect(got.dims).toEqual(x3.dims);
    expectClose(got.data, ropeGeneralReference(x3.data, big));
  });
});
