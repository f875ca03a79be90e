// Masks, causal alignment, GQA, KV cache, softcap, score outputs, float16
// and empty sequences through the npm API. Small cases carry hand-derived
// expected values; random cases compare with the float64 reference.
import { beforeAll, describe, expect, test } from '@jest/globals';
import { loadAttnkit, Tensor } from '../../web/lib/attnkit.js';
import { float16BitsToNumber, float32ToFloat16Bits } from '../conformance/cases.mjs';
import { biasedAttentionReference, seededFloats } from '../reference/reference.js';
import { expectClose } from './tolerance.js';

let ak;
beforeAll(async () => {
  ak = await loadAttnkit();
});

const f32 = (values, dims) => new Tensor(Float32Array.from(values.flat(Infinity)), dims);
const bool = (values, dims) => ({ data: Uint8Array.from(values.flat(Infinity)), dims });
const LN3 = Math.log(3);

describe('fully masked rows', () => {
  // Two queries and three keys; query 1 may attend no key.
  const q = f32([[1, 0], [0, 1]], [1, 1, 2, 2]);
  const k = f32([[1, 0], [0, 1], [1, 1]], [1, 1, 3, 2]);
  const v = f32([[1, 2], [3, 4], [5, 6]], [1, 1, 3, 2]);
  const row0 = [1.660477, 2.660477];

  test('bool mask row of all false gives zeros', () => {
    const out = ak.attention(q, k, v, { mask: bool([[1, 1, 0], [0, 0, 0]], [2, 3]) });
    expectClose(out.data, [...row0, 0, 0], 1e-5, 0);
    expect(out.data.some(Number.isNaN)).toBe(false);
  });

  test('additive -inf row gives zeros', () => {
    const ninf = -Infinity;
    const out = ak.attention(q, k, v, { mask: f32([[0, 0, ninf], [ninf, ninf, ninf]], [2, 3]) });
    expectClose(out.data, [...row0, 0, 0], 1e-5, 0);
  });

  test.each([-1e9, -3.4028235e38])('finite sentinel %p attends uniformly', (sentinel) => {
    const out = ak.attention(q, k, v, { mask: f32([[0, 0, sentinel], [sentinel, sentinel, sentinel]], [2, 3]) });
    expectClose(out.data, [...row0, 3, 4], 1e-5, 0);
  });

  test('fully masked row gives zero probabilities in mode 3', () => {
    const { qkOutput } = ak.attentionWithCache(q, k, v, { mask: bool([[1, 1, 0], [0, 0, 0]], [2, 3]), qkMatmulOutputMode: 3 });
    expectClose(qkOutput.data, [0.669762, 0.330238, 0, 0, 0, 0], 1e-5, 0);
  });
});

describe('causal alignment', () => {
  const q2 = f32([[1, 0], [0, 1]], [1, 1, 2, 2]);
  const k3 = f32([[1, 0], [0, 1], [1, 1]], [1, 1, 3, 2]);
  const v3 = f32([[1, 2], [3, 4], [5, 6]], [1, 1, 3, 2]);
  const q3 = f32([[1, 0], [0, 1], [1, 1]], [1, 1, 3, 2]);
  const k2 = f32([[1, 0], [0, 1]], [1, 1, 2, 2]);
  const v2 = f32([[1, 2], [3, 4]], [1, 1, 2, 2]);

  test('true means top-left without a cache', () => {
    expectClose(ak.attention(q2, k3, v3, { causal: true }).data, [1, 2, 2.339523, 3.339523], 1e-5, 0);
    expectClose(ak.attention(q3, k2, v2, { causal: true }).data, [1, 2, 2.339523, 3.339523, 2, 3], 1e-5, 0);
  });

  test('top-left with fewer queries than keys', () => {
    expectClose(ak.attention(q2, k3, v3, { causal: 'top-left' }).data, [1, 2, 2.339523, 3.339523], 1e-5, 0);
  });

  test('bottom-right with fewer queries than keys', () => {
    expectClose(ak.attention(q2, k3, v3, { causal: 'bottom-right' }).data, [1.660477, 2.660477, 3.406673, 4.406673], 1e-5, 0);
  });

  test('bottom-right with more queries than keys gives a zero row', () => {
    const out = ak.attention(q3, k2, v2, { causal: 'bottom-right' });
    expectClose(out.data, [0, 0, 1, 2, 2, 3], 1e-5, 0);
    expect(out.data.some(Number.isNaN)).toBe(false);
  });

  test('false turns causal masking off', () => {
    const plain = ak.attention(q2, k3, v3);
    expect(Array.from(ak.attention(q2, k3, v3, { causal: false }).data)).toEqual(Array.from(plain.data));
  });
});

describe('KV cache', () => {
  const pastK = f32([[1, 0], [0, 1]], [1, 1, 2, 2]);
  const pastV = f32([[1, 2], [3, 4]], [1, 1, 2, 2]);
  const q = f32([[1, 1], [2, 0]], [1, 1, 2, 2]);
  const k = f32([[1, 1], [0, 2]], [1, 1, 2, 2]);
  const v = f32([[5, 6], [7, 8]], [1, 1, 2, 2]);

  test('causal offset is the past length', () => {
    const result = ak.attentionWithCache(q, k, v, { causal: true, pastKey: pastK, pastValue: pastV });
    expectClose(result.output.data, [3.51047, 4.51047, 3.391141, 4.391141], 1e-5, 0);
    expect(result.presentKey.dims).toEqual([1, 1, 4, 2]);
    expect(Array.from(result.presentKey.data)).toEqual([1, 0, 0, 1, 1, 1, 0, 2]);
    expect(Array.from(result.presentValue.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  test('cached rows equal the tail of full causal attention', () => {
    const fullQ = f32([[9, 9], [9, 9], [1, 1], [2, 0]], [1, 1, 4, 2]);
    const fullK = f32([[1, 0], [0, 1], [1, 1], [0, 2]], [1, 1, 4, 2]);
    const fullV = f32([[1, 2], [3, 4], [5, 6], [7, 8]], [1, 1, 4, 2]);
    const full = ak.attention(fullQ, fullK, fullV, { causal: true });
    const cached = ak.attentionWithCache(q, k, v, { causal: true, pastKey: pastK, pastValue: pastV });
    expectClose(cached.output.data, Array.from(full.data.slice(4)), 1e-6, 1e-6);
  });

  test('single decode step sees every key', () => {
    const result = ak.attentionWithCache(f32([[1, 1]], [1, 1, 1, 2]), f32([[0, 2]], [1, 1, 1, 2]), f32([[7, 8]], [1, 1, 1, 2]), {
      causal: true,
      pastKey: f32([[1, 0], [0, 1], [1, 1]], [1, 1, 3, 2]),
      pastValue: f32([[1, 2], [3, 4], [5, 6]], [1, 1, 3, 2]),
    });
    expectClose(result.output.data, [4.679046, 5.679046], 1e-5, 0);
  });

  test('present without a past is k and v in 4-D layout', () => {
    const q3d = f32([[1, 2, 3, 4]], [1, 1, 4]);
    const k3d = f32([[1, 2, 3, 4], [5, 6, 7, 8]], [1, 2, 4]);
    const result = ak.attentionWithCache(q3d, k3d, k3d, { qNumHeads: 2, kvNumHeads: 2 });
    expect(result.presentKey.dims).toEqual([1, 2, 2, 2]);
    expect(Array.from(result.presentKey.data)).toEqual([1, 2, 5, 6, 3, 4, 7, 8]);
    expect(result.qkOutput).toBeUndefined();
  });
});

describe('grouped-query attention', () => {
  test('query heads use consecutive key/value heads', () => {
    const q = new Tensor(seededFloats(8, 3), [1, 4, 1, 2]);
    const k = new Tensor(seededFloats(4, 4), [1, 2, 1, 2]);
    const v = f32([[10, 11], [20, 21]], [1, 2, 1, 2]);
    expect(Array.from(ak.attention(q, k, v).data)).toEqual([10, 11, 10, 11, 20, 21, 20, 21]);
  });

  test('two keys per group', () => {
    const q = f32([[1, 0], [0, 1], [1, 0], [0, 1]], [1, 4, 1, 2]);
    const k = f32([[1, 0], [0, 1], [0, 1], [1, 0]], [1, 2, 2, 2]);
    const v = f32([[1, 0], [0, 1], [2, 0], [0, 2]], [1, 2, 2, 2]);
    expectClose(ak.attention(q, k, v).data, [0.669762, 0.330238, 0.330238, 0.669762, 0.660477, 1.339523, 1.339523, 0.660477], 1e-5, 0);
  });

  test('one key/value head serves every query head', () => {
    const q = new Tensor(seededFloats(4 * 3 * 2, 5), [1, 4, 3, 2]);
    const k = new Tensor(seededFloats(5 * 2, 6), [1, 1, 5, 2]);
    const v = new Tensor(seededFloats(5 * 2, 7), [1, 1, 5, 2]);
    const want = biasedAttentionReference(q.data, k.data, v.data, { batch: 1, heads: 4, kvHeads: 1, qLen: 3, kvLen: 5, dim: 2 }).out;
    expectClose(ak.attention(q, k, v).data, want);
  });
});

describe('softcap', () => {
  test('softcap is applied before the mask', () => {
    const q = f32([[1, 0]], [1, 1, 1, 2]);
    const k = f32([[2, 0], [0, 0], [5, 0]], [1, 1, 3, 2]);
    const v = f32([[1, 0], [0, 1], [100, 100]], [1, 1, 3, 2]);
    const out = ak.attention(q, k, v, { scale: 1, softcap: 1, mask: bool([[1, 1, 0]], [1, 3]) });
    expectClose(out.data, [0.723927, 0.276073], 1e-5, 0);
  });

  test('softcap 0 turns it off', () => {
    const q = f32([[3, 0]], [1, 1, 1, 2]);
    const k = f32([[2, 0], [0, 0]], [1, 1, 2, 2]);
    const v = f32([[1, 0], [0, 1]], [1, 1, 2, 2]);
    expect(Array.from(ak.attention(q, k, v, { softcap: 0 }).data)).toEqual(Array.from(ak.attention(q, k, v).data));
  });
});

describe('mask broadcasting', () => {
  const q = f32([[0], [0], [0], [0]], [2, 2, 1, 1]);
  const k = f32([[0], [0], [0], [0], [0], [0], [0], [0]], [2, 2, 2, 1]);
  const v = f32([1, 0, 1, 0, 1, 0, 1, 0], [2, 2, 2, 1]);

  test('per-batch bias broadcast over heads', () => {
    const out = ak.attention(q, k, v, { mask: f32([[LN3, 0], [0, LN3]], [2, 1, 1, 2]) });
    expectClose(out.data, [0.75, 0.75, 0.25, 0.25], 1e-6, 0);
  });

  test('expanded bias gives the same result', () => {
    const out = ak.attention(q, k, v, { mask: f32([[LN3, 0], [LN3, 0], [0, LN3], [0, LN3]], [2, 2, 1, 2]) });
    expectClose(out.data, [0.75, 0.75, 0.25, 0.25], 1e-6, 0);
  });

  test('bias broadcast over batch and heads', () => {
    const out = ak.attention(q, k, v, { mask: f32([LN3, 0], [1, 1, 1, 2]) });
    expectClose(out.data, [0.75, 0.75, 0.75, 0.75], 1e-6, 0);
  });

  test.each([
    ['rank 2 (qLen, kvLen)', [3, 5]],
    ['rank 3 (heads, qLen, kvLen)', [4, 3, 5]],
    ['rank 3 broadcast over heads', [1, 3, 5]],
    ['rank 4 (batch, 1, qLen, kvLen)', [2, 1, 3, 5]],
    ['rank 4 full', [2, 4, 3, 5]],
    ['rank 4 single key column', [2, 4, 3, 1]],
  ])('bool and float masks of %s match the reference', (_name, maskDims) => {
    const shape = { batch: 2, heads: 4, kvHeads: 2, qLen: 3, kvLen: 5, dim: 4 };
    const q4 = new Tensor(seededFloats(2 * 4 * 3 * 4, 11), [2, 4, 3, 4]);
    const k4 = new Tensor(seededFloats(2 * 2 * 5 * 4, 12), [2, 2, 5, 4]);
    const v4 = new Tensor(seededFloats(2 * 2 * 5 * 4, 13), [2, 2, 5, 4]);
    const n = maskDims.reduce((a, b) => a * b, 1);
    const bits = Uint8Array.from(seededFloats(n, 14), (x) => (x > -0.4 ? 1 : 0));
    const floats = seededFloats(n, 15, -2, 2);
    const full = [1, 1, 1, 1].map((fallback, i) => maskDims[i - (4 - maskDims.length)] ?? fallback);
    const index = (b, h, i, j) => {
      const at = [b, h, i, j].map((x, a) => (full[a] === 1 ? 0 : x));
      return ((at[0] * full[1] + at[1]) * full[2] + at[2]) * full[3] + at[3];
    };

    const boolOut = ak.attention(q4, k4, v4, { mask: { data: bits, dims: maskDims } });
    const boolWant = biasedAttentionReference(q4.data, k4.data, v4.data, { ...shape, blocked: (...a) => bits[index(...a)] === 0 });
    expectClose(boolOut.data, boolWant.out);

    const floatOut = ak.attention(q4, k4, v4, { mask: new Tensor(floats, maskDims) });
    const floatWant = biasedAttentionReference(q4.data, k4.data, v4.data, { ...shape, added: (...a) => floats[index(...a)] });
    expectClose(floatOut.data, floatWant.out);
  });

  test('a short last mask axis blocks the keys past its end', () => {
    const q1 = new Tensor(seededFloats(1 * 2 * 3 * 4, 16), [1, 2, 3, 4]);
    const k1 = new Tensor(seededFloats(1 * 2 * 6 * 4, 17), [1, 2, 6, 4]);
    const v1 = new Tensor(seededFloats(1 * 2 * 6 * 4, 18), [1, 2, 6, 4]);
    const out = ak.attention(q1, k1, v1, { mask: new Tensor(new Float32Array(3 * 4), [3, 4]) });
    const want = biasedAttentionReference(q1.data, k1.data, v1.data, { batch: 1, heads: 2, qLen: 3, kvLen: 6, dim: 4, blocked: (b, h, i, j) => j >= 4 });
    expectClose(out.data, want.out);
  });
});

describe('masked keys never leak', () => {
  const poison = (values, at) => {
    const copy = Float32Array.from(values);
    for (const i of at) copy[i] = NaN;
    return copy;
  };

  test('NaN in keys and values blocked by mask, causal or nonpad stays out', () => {
    const q = new Tensor(seededFloats(1 * 1 * 3 * 2, 21), [1, 1, 3, 2]);
    const kData = seededFloats(4 * 2, 22);
    const vData = seededFloats(4 * 2, 23);
    // Key 3 is blocked for every row by each of the three mechanisms.
    const k = new Tensor(poison(kData, [6, 7]), [1, 1, 4, 2]);
    const v = new Tensor(poison(vData, [6, 7]), [1, 1, 4, 2]);
    const want = biasedAttentionReference(q.data, kData, vData, { batch: 1, heads: 1, qLen: 3, kvLen: 4, dim: 2, blocked: (b, h, i, j) => j === 3 });
    const viaMask = ak.attention(q, k, v, { mask: bool([1, 1, 1, 0], [1, 4]) });
    const viaNonpad = ak.attention(q, k, v, { nonpadKvSeqlen: { data: new BigInt64Array([3n]), dims: [1] } });
    const viaInf = ak.attention(q, k, v, { mask: f32([0, 0, 0, -Infinity], [1, 4]) });
    for (const out of [viaMask, viaNonpad, viaInf]) expectClose(out.data, want.out);
    const causal = ak.attention(q, k, v, { causal: 'top-left' });
    expect(causal.data.some(Number.isNaN)).toBe(false);
  });

  test('NaN in an attended value propagates', () => {
    const q = f32([[1, 0]], [1, 1, 1, 2]);
    const k = f32([[1, 0], [-50, 0]], [1, 1, 2, 2]);
    const v = f32([[1, 2], [NaN, 4]], [1, 1, 2, 2]);
    const out = ak.attention(q, k, v, { scale: 10 });
    expect(Number.isNaN(out.data[0])).toBe(true);
    expect(Number.isNaN(out.data[1])).toBe(false);
  });

  test('NaN in an attended key propagates', () => {
    const q = f32([[1, 0]], [1, 1, 1, 2]);
    const k = f32([[1, 0], [NaN, 0]], [1, 1, 2, 2]);
    const v = f32([[1, 2], [3, 4]], [1, 1, 2, 2]);
    expect(Array.from(ak.attention(q, k, v).data).every(Number.isNaN)).toBe(true);
  });
});

describe('large logits', () => {
  test('scores in the thousands stay finite', () => {
    const q = f32([10, 10, 10, 10], [1, 1, 1, 4]);
    const k = f32([[100, 100, 100, 100], [99.9375, 99.9375, 99.9375, 99.9375]], [1, 1, 2, 4]);
    const v = f32([[1, 0, 0, 0], [0, 1, 0, 0]], [1, 1, 2, 4]);
    expectClose(ak.attention(q, k, v).data, [0.7773, 0.2227, 0, 0], 1e-4, 0);
  });

  test('score 1.4e11 returns the value', () => {
    const t = new Tensor(new Float32Array(64).fill(133120), [1, 1, 1, 64]);
    expect(Array.from(ak.attention(t, t, t).data).every((x) => x === 133120)).toBe(true);
  });
});

describe('float16', () => {
  const half = (values, dims) => new Tensor(Uint16Array.from(values, float32ToFloat16Bits), dims);

  test('products above the float16 range are computed in float32', () => {
    const k1 = new Array(16).fill(64);
    k1[15] = 63.9375;
    const out = ak.attention(half(new Array(16).fill(64), [1, 1, 1, 16]), half([...new Array(16).fill(64), ...k1], [1, 1, 2, 16]), half([1, 0, 0, 1], [1, 1, 2, 2]));
    expect(out.data).toBeInstanceOf(Uint16Array);
    expectClose(Array.from(out.data, float16BitsToNumber), [0.731059, 0.268941], 1e-3, 0);
  });

  test('float16 additive mask equals the float32 mask', () => {
    const q = new Tensor(seededFloats(2 * 3 * 4, 35), [1, 2, 3, 4]);
    const k = new Tensor(seededFloats(2 * 5 * 4, 36), [1, 2, 5, 4]);
    const values = [0, -1.5, -Infinity, 0.25, 2, -0.5, 0, 0, -Infinity, 1, -2, 0.75, 0, 0, 0];
    const asFloat32 = ak.attention(q, k, k, { mask: f32(values, [3, 5]) });
    const asFloat16 = ak.attention(q, k, k, { mask: half(values, [3, 5]) });
    expect(Array.from(asFloat16.data)).toEqual(Array.from(asFloat32.data));
  });

  test('outputs follow the type of their input', () => {
    const q = half([1, 0], [1, 1, 1, 2]);
    const k = half([1, 0, 0, 1], [1, 1, 2, 2]);
    const v = f32([1, 2, 3, 4], [1, 1, 2, 2]);
    const result = ak.attentionWithCache(q, k, v, { qkMatmulOutputMode: 3 });
    expect(result.output.data).toBeInstanceOf(Uint16Array);
    expect(result.presentKey.data).toBeInstanceOf(Uint16Array);
    expect(result.presentValue.data).toBeInstanceOf(Float32Array);
    expect(result.qkOutput.data).toBeInstanceOf(Uint16Array);
  });
});

describe('empty sequences', () => {
  test('no queries gives an empty output', () => {
    const out = ak.attention(new Tensor(new Float32Array(0), [1, 1, 0, 4]), new Tensor(new Float32Array(12), [1, 1, 3, 4]), new Tensor(new Float32Array(12), [1, 1, 3, 4]));
    expect(out.dims).toEqual([1, 1, 0, 4]);
    expect(out.data.length).toBe(0);
  });

  test('no keys gives zero rows', () => {
    const out = ak.attention(new Tensor(seededFloats(8, 31), [1, 1, 2, 4]), new Tensor(new Float32Array(0), [1, 1, 0, 4]), new Tensor(new Float32Array(0), [1, 1, 0, 4]));
    expect(Array.from(out.data)).toEqual(new Array(8).fill(0));
  });

  test('key and value lengths must match', () => {
    expect(() =>
      ak.attention(new Tensor(new Float32Array(24), [1, 1, 3, 8]), new Tensor(new Float32Array(40), [1, 1, 5, 8]), new Tensor(new Float32Array(48), [1, 1, 6, 8])),
    ).toThrow(/sequence lengths of k \(5\) and v \(6\) must be equal/);
  });
});

describe('packed 3-D layout', () => {
  test('heads split along the last axis', () => {
    const q = f32([[1, 0], [0, 1]], [1, 2, 2]);
    const k = f32([[2, 0], [0, 2]], [1, 2, 2]);
    const v = f32([[1, 3], [2, 4]], [1, 2, 2]);
    const out = ak.attention(q, k, v, { scale: 1, qNumHeads: 2, kvNumHeads: 2 });
    expect(out.dims).toEqual([1, 2, 2]);
    expectClose(out.data, [1.119203, 3.5, 1.5, 3.880797], 1e-5, 0);
  });

  test('grouped heads in 3-D match the 4-D result', () => {
    const [batch, qLen, kvLen, dim] = [2, 3, 4, 2];
    const q4 = seededFloats(batch * 4 * qLen * dim, 41);
    const k4 = seededFloats(batch * 2 * kvLen * dim, 42);
    const v4 = seededFloats(batch * 2 * kvLen * dim, 43);
    // [batch, heads, seq, dim] → [batch, seq, heads·dim]
    const to3d = (x, heads, len) => {
      const y = new Float32Array(x.length);
      for (let b = 0; b < batch; b += 1)
        for (let h = 0; h < heads; h += 1)
          for (let s = 0; s < len; s += 1)
            for (let d = 0; d < dim; d += 1) y[((b * len + s) * heads + h) * dim + d] = x[((b * heads + h) * len + s) * dim + d];
      return y;
    };
    const out4 = ak.attention(new Tensor(q4, [batch, 4, qLen, dim]), new Tensor(k4, [batch, 2, kvLen, dim]), new Tensor(v4, [batch, 2, kvLen, dim]), { causal: true });
    const out3 = ak.attention(
      new Tensor(to3d(q4, 4, qLen), [batch, qLen, 4 * dim]),
      new Tensor(to3d(k4, 2, kvLen), [batch, kvLen, 2 * dim]),
      new Tensor(to3d(v4, 2, kvLen), [batch, kvLen, 2 * dim]),
      { causal: true, qNumHeads: 4, kvNumHeads: 2 },
    );
    expect(Array.from(out3.data)).toEqual(Array.from(to3d(out4.data, 4, qLen)));
  });
});

describe('score outputs', () => {
  const shape = { batch: 1, heads: 2, qLen: 3, kvLen: 70, dim: 4 };
  const q = new Tensor(seededFloats(2 * 3 * 4, 51, -3, 3), [1, 2, 3, 4]);
  const k = new Tensor(seededFloats(2 * 70 * 4, 52, -3, 3), [1, 2, 70, 4]);
  const v = new Tensor(seededFloats(2 * 70 * 4, 53), [1, 2, 70, 4]);
  const options = { softcap: 1.5, causal: 'bottom-right', mask: new Tensor(seededFloats(3 * 70, 54), [3, 70]) };

  // Scores at each stage, in float64, for query row (h, i) and key j.
  const scaled = (h, i, j) => {
    let dot = 0;
    for (let d = 0; d < 4; d += 1) dot += q.data[(h * 3 + i) * 4 + d] * k.data[(h * 70 + j) * 4 + d];
    return dot / 2;
  };
  const capped = (h, i, j) => 1.5 * Math.tanh(scaled(h, i, j) / 1.5);
  const biased = (h, i, j) => (j > i + 67 ? -Infinity : capped(h, i, j) + options.mask.data[i * 70 + j]);
  const expected = (fn) => {
    const out = [];
    for (let h = 0; h < 2; h += 1) for (let i = 0; i < 3; i += 1) for (let j = 0; j < 70; j += 1) out.push(fn(h, i, j));
    return out;
  };

  test.each([
    [0, scaled],
    [1, capped],
    [2, biased],
  ])('mode %i', (mode, fn) => {
    const { qkOutput } = ak.attentionWithCache(q, k, v, { ...options, qkMatmulOutputMode: mode });
    expect(qkOutput.dims).toEqual([1, 2, 3, 70]);
    expectClose(qkOutput.data, expected(fn));
  });

  test('mode 3 and the output match the reference', () => {
    const result = ak.attentionWithCache(q, k, v, { ...options, qkMatmulOutputMode: 3 });
    const want = biasedAttentionReference(q.data, k.data, v.data, {
      ...shape,
      softcap: 1.5,
      blocked: (b, h, i, j) => j > i + 67,
      added: (b, h, i, j) => options.mask.data[i * 70 + j],
    });
    expectClose(result.qkOutput.data, want.probs);
    expectClose(result.output.data, want.out);
  });
});

describe('nonpad key lengths', () => {
  test('per-batch lengths with causal use nonpad − qLen as offset', () => {
    const q = new Tensor(seededFloats(2 * 2 * 3 * 4, 61), [2, 2, 3, 4]);
    const k = new Tensor(seededFloats(2 * 2 * 8 * 4, 62), [2, 2, 8, 4]);
    const v = new Tensor(seededFloats(2 * 2 * 8 * 4, 63), [2, 2, 8, 4]);
    const nonpad = [5, 2];
    const out = ak.attention(q, k, v, { causal: true, nonpadKvSeqlen: { data: Int32Array.from(nonpad), dims: [2] } });
    const want = biasedAttentionReference(q.data, k.data, v.data, {
      batch: 2,
      heads: 2,
      qLen: 3,
      kvLen: 8,
      dim: 4,
      blocked: (b, h, i, j) => j >= nonpad[b] || j > i + nonpad[b] - 3,
    });
    expectClose(out.data, want.out);
    // Batch 1 has offset −1, so its first query row attends to no key.
    expect(Array.from(out.data.slice(2 * 3 * 4, 2 * 3 * 4 + 4))).toEqual([0, 0, 0, 0]);
  });
});
