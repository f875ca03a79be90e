// RoPE options through the npm API against the float64 reference: layouts,
// partial rotation, position ids, caches, scaling, in-place use and the
// relative-position property.
import { beforeAll, describe, expect, test } from '@jest/globals';
import { loadAttnkit, Tensor } from '../../web/lib/attnkit.js';
import { ropeFrequenciesReference, ropeGeneralReference, seededFloats } from '../reference/reference.js';
import { expectClose } from './tolerance.js';

let ak;
beforeAll(async () => {
  ak = await loadAttnkit();
});

// Dims of x for a layout: 'bshd', 'bhsd' or 'rank3' (batch, seq, heads·dim).
function dimsFor(layout, { batch, seq, heads, dim }) {
  if (layout === 'bhsd') return [batch, heads, seq, dim];
  if (layout === 'rank3') return [batch, seq, heads * dim];
  return [batch, seq, heads, dim];
}

function layoutOptions(layout, heads) {
  if (layout === 'bhsd') return { layout: 'bhsd' };
  if (layout === 'rank3') return { numHeads: heads };
  return {};
}

// Runs ak.rope and the reference on the same seeded x and compares them.
function checkParity(shape, options, { positions, seed = 1, atol, rtol } = {}) {
  const { layout = 'bshd', ...ropeOptions } = options;
  const x = seededFloats(shape.batch * shape.seq * shape.heads * shape.dim, seed);
  const dims = dimsFor(layout, shape);
  const out = ak.rope(new Tensor(x, dims), { ...layoutOptions(layout, shape.heads), ...ropeOptions });
  expect(out.dims).toEqual(dims);
  const offset = ropeOptions.positionOffset ?? 0;
  const want = ropeGeneralReference(x, {
    ...shape,
    layout: layout === 'bhsd' ? 'bhsd' : 'bshd',
    interleaved: ropeOptions.interleaved ?? true,
    rotaryDim: ropeOptions.rotaryDim,
    base: ropeOptions.base,
    scaling: ropeOptions.scaling,
    positions: positions ?? ((b, s) => offset + s),
  });
  expectClose(out.data, want, atol, rtol);
  return { x, out };
}

// Position ids tensor [batch, seq] and the matching lookup for the reference.
function positionIds(rows, Type = Int32Array) {
  const flat = rows.flat();
  const data = Type === BigInt64Array ? BigInt64Array.from(flat, BigInt) : Type.from(flat);
  return { tensor: { data, dims: [rows.length, rows[0].length] }, lookup: (b, s) => rows[b][s] };
}

describe('rope layouts', () => {
  const shape = { batch: 2, seq: 5, heads: 3, dim: 10 };

  test.each(['bshd', 'bhsd', 'rank3'])('%s matches the reference in both pair layouts', (layout) => {
    checkParity(shape, { layout, positionOffset: 7 }, { seed: 11 });
    checkParity(shape, { layout, positionOffset: 7, interleaved: false }, { seed: 12 });
  });

  test.each(['bshd', 'bhsd', 'rank3'])('%s with head sizes around the vector width', (layout) => {
    for (const dim of [2, 4, 6, 8, 16, 18, 34, 128]) {
      checkParity({ batch: 1, seq: 3, heads: 2, dim }, { layout, positionOffset: 3 }, { seed: dim });
      checkParity({ batch: 1, seq: 3, heads: 2, dim }, { layout, positionOffset: 3, interleaved: false }, { seed: dim + 1 });
    }
  });

  test('bhsd differs from bshd on the same data', () => {
    const x = new Tensor(seededFloats(2 * 3 * 4, 5), [1, 2, 3, 4]);
    expect(Array.from(ak.rope(x, { layout: 'bhsd' }).data)).not.toEqual(Array.from(ak.rope(x).data));
  });

  test('rank 3 equals rank 4 bshd', () => {
    const data = seededFloats(2 * 4 * 3 * 8, 6);
    const rank3 = ak.rope(new Tensor(data, [2, 4, 24]), { numHeads: 3, interleaved: false });
    const rank4 = ak.rope(new Tensor(data, [2, 4, 3, 8]), { interleaved: false });
    expect(rank3.dims).toEqual([2, 4, 24]);
    expect(Array.from(rank3.data)).toEqual(Array.from(rank4.data));
  });

  test('empty sequence returns an empty tensor', () => {
    const out = ak.rope(new Tensor(new Float32Array(0), [2, 0, 3, 8]));
    expect(out.dims).toEqual([2, 0, 3, 8]);
  });
});

describe('rope partial rotation', () => {
  test.each([
    [8, 4],
    [10, 6],
    [64, 32],
    [66, 34],
    [128, 64],
    [80, 20],
  ])('headDim %i with rotaryDim %i matches the reference', (dim, rotaryDim) => {
    for (const layout of ['bshd', 'bhsd', 'rank3']) {
      checkParity({ batch: 2, seq: 3, heads: 2, dim }, { layout, rotaryDim, positionOffset: 40 }, { seed: dim });
      checkParity({ batch: 2, seq: 3, heads: 2, dim }, { layout, rotaryDim, positionOffset: 40, interleaved: false }, { seed: rotaryDim });
    }
  });

  test('channels past rotaryDim are copied bit for bit', () => {
    const { x, out } = checkParity({ batch: 1, seq: 4, heads: 2, dim: 12 }, { rotaryDim: 4, positionOffset: 9 });
    for (let token = 0; token < 8; token += 1) {
      for (let j = 4; j < 12; j += 1) expect(out.data[token * 12 + j]).toBe(x[token * 12 + j]);
    }
  });
});

describe('rope position ids', () => {
  test('Int32Array ids per batch row match the reference', () => {
    const ids = positionIds([[0, 5, 2, 900], [7, 7, 1, 40000]]);
    for (const layout of ['bshd', 'bhsd', 'rank3']) {
      for (const interleaved of [true, false]) {
        checkParity({ batch: 2, seq: 4, heads: 3, dim: 16 }, { layout, interleaved, positionIds: ids.tensor }, { positions: ids.lookup, seed: 21 });
      }
    }
  });

  test('BigInt64Array ids give the same result as Int32Array ids', () => {
    const x = new Tensor(seededFloats(2 * 3 * 1 * 8, 22), [2, 3, 1, 8]);
    const rows = [[3, 1, 4], [1, 5, 9]];
    const a = ak.rope(x, { positionIds: positionIds(rows).tensor });
    const b = ak.rope(x, { positionIds: positionIds(rows, BigInt64Array).tensor });
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
  });

  test('ids equal to offset plus index match positionOffset', () => {
    const x = new Tensor(seededFloats(1 * 4 * 2 * 8, 23), [1, 4, 2, 8]);
    const withIds = ak.rope(x, { positionIds: positionIds([[10, 11, 12, 13]]).tensor });
    const withOffset = ak.rope(x, { positionOffset: 10 });
    expect(Array.from(withIds.data)).toEqual(Array.from(withOffset.data));
  });

  test('ids whose bits form float NaN patterns arrive unchanged', () => {
    // The ids travel through the heap as float32 bits; 0x7fc00001, 0x7f800001
    // and 0xffc00001 are NaN patterns that a float conversion would rewrite.
    const rows = [[0x7fc00001, 0x7f800001, -4194303]];
    const x = seededFloats(3 * 8, 25);
    const out = ak.rope(new Tensor(x, [1, 3, 1, 8]), { positionIds: positionIds(rows).tensor });
    rows[0].forEach((position, s) => {
      const single = ak.rope(new Tensor(x.slice(s * 8, s * 8 + 8), [1, 1, 1, 8]), { positionOffset: position });
      expect(Array.from(out.data.slice(s * 8, s * 8 + 8))).toEqual(Array.from(single.data));
    });
  });

  test('negative positions without a cache rotate backwards', () => {
    const ids = positionIds([[-3, -1000]]);
    checkParity({ batch: 1, seq: 2, heads: 1, dim: 8 }, { positionIds: ids.tensor }, { positions: ids.lookup, seed: 24 });
  });
});

describe('rope caches', () => {
  test('ropeCache holds cos and sin of p·θᵢ', () => {
    const { cosCache, sinCache } = ak.ropeCache({ maxPositions: 50, rotaryDim: 8, base: 500 });
    expect(cosCache.dims).toEqual([50, 4]);
    expect(sinCache.dims).toEqual([50, 4]);
    const want = { cos: [], sin: [] };
    for (let p = 0; p < 50; p += 1) {
      for (let i = 0; i < 4; i += 1) {
        want.cos.push(Math.cos(p * 500 ** (-i / 4)));
        want.sin.push(Math.sin(p * 500 ** (-i / 4)));
      }
    }
    expectClose(cosCache.data, want.cos);
    expectClose(sinCache.data, want.sin);
  });

  test.each(['linear', 'yarn', 'llama3', 'ntk'])('cached %s scaling equals computed angles', (type) => {
    const scaling = {
      linear: { type, factor: 4 },
      yarn: { type, factor: 4, originalMaxPositions: 32 },
      llama3: { type, factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 64 },
      ntk: { type, factor: 2, originalMaxPositions: 32, currentLength: 100 },
    }[type];
    const cache = ak.ropeCache({ maxPositions: 200, rotaryDim: 16, scaling });
    const x = new Tensor(seededFloats(2 * 6 * 2 * 16, 31), [2, 6, 2, 16]);
    for (const interleaved of [true, false]) {
      const computed = ak.rope(x, { interleaved, positionOffset: 150, scaling });
      const cached = ak.rope(x, { interleaved, positionOffset: 150, ...cache });
      expect(Array.from(cached.data)).toEqual(Array.from(computed.data));
    }
  });

  test('position-indexed cache with ids and partial rotation', () => {
    const { cosCache, sinCache } = ak.ropeCache({ maxPositions: 30, rotaryDim: 4 });
    const ids = positionIds([[29, 0, 3], [1, 1, 17]]);
    checkParity({ batch: 2, seq: 3, heads: 2, dim: 8 }, { layout: 'bhsd', rotaryDim: 4, positionIds: ids.tensor, cosCache, sinCache, interleaved: false }, { positions: ids.lookup });
  });

  test('per-token cache (batch, seq, rotaryDim/2) supplies each token its own angles', () => {
    const angles = seededFloats(2 * 3 * 4, 41, -3, 3);
    const cosCache = new Tensor(angles.map(Math.cos), [2, 3, 4]);
    const sinCache = new Tensor(angles.map(Math.sin), [2, 3, 4]);
    const x = seededFloats(2 * 3 * 2 * 8, 42);
    for (const interleaved of [true, false]) {
      const out = ak.rope(new Tensor(x, [2, 3, 2, 8]), { cosCache, sinCache, interleaved });
      const want = ropeGeneralReference(x, {
        batch: 2,
        seq: 3,
        heads: 2,
        dim: 8,
        interleaved,
        rowFor: (b, s) => {
          const pair = (j) => (interleaved ? Math.floor(j / 2) : j % 4);
          const at = (b * 3 + s) * 4;
          return {
            cos: Array.from({ length: 8 }, (_, j) => cosCache.data[at + pair(j)]),
            sin: Array.from({ length: 8 }, (_, j) => sinCache.data[at + pair(j)]),
          };
        },
      });
      expectClose(out.data, want);
    }
  });

  test('full-width cache honours both halves of each row', () => {
    // Two-axis (vision) tables: every channel has its own angle.
    const angles = seededFloats(5 * 8, 43, -3, 3);
    const cosCache = new Tensor(angles.map(Math.cos), [5, 8]);
    const sinCache = new Tensor(angles.map(Math.sin), [5, 8]);
    const x = seededFloats(1 * 5 * 3 * 8, 44);
    for (const interleaved of [true, false]) {
      const out = ak.rope(new Tensor(x, [1, 5, 3, 8]), { cosCache, sinCache, interleaved });
      const want = ropeGeneralReference(x, {
        batch: 1,
        seq: 5,
        heads: 3,
        dim: 8,
        interleaved,
        rowFor: (b, s) => ({
          cos: Array.from(cosCache.data.subarray(s * 8, s * 8 + 8)),
          sin: Array.from(sinCache.data.subarray(s * 8, s * 8 + 8)),
        }),
      });
      expectClose(out.data, want);
    }
  });
});

describe('rope scaling beyond the trained length', () => {
  // Positions 100 and 3000 lie past originalMaxPositions = 64.
  const ids = positionIds([[100, 3000]]);
  const cases = {
    linear: { type: 'linear', factor: 4 },
    ntk: { type: 'ntk', factor: 4, originalMaxPositions: 64, currentLength: 3001 },
    yarn: { type: 'yarn', factor: 8, originalMaxPositions: 64 },
    'yarn with mscale keys': { type: 'yarn', factor: 8, originalMaxPositions: 64, mscale: 0.707, mscaleAllDim: 1, betaFast: 16, betaSlow: 2 },
    llama3: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 64 },
  };

  test.each(Object.keys(cases))('%s matches the reference', (name) => {
    for (const interleaved of [false, true]) {
      for (const rotaryDim of [64, 32]) {
        checkParity(
          { batch: 1, seq: 2, heads: 2, dim: 64 },
          { interleaved, rotaryDim, base: 10000, positionIds: ids.tensor, scaling: cases[name] },
          { positions: ids.lookup, seed: rotaryDim },
        );
      }
    }
  });

  test.each(Object.keys(cases))('%s changes the result', (name) => {
    const x = new Tensor(seededFloats(2 * 64, 51), [1, 2, 1, 64]);
    const plain = ak.rope(x, { positionIds: ids.tensor, interleaved: false });
    const scaled = ak.rope(x, { positionIds: ids.tensor, interleaved: false, scaling: cases[name] });
    expect(Array.from(scaled.data)).not.toEqual(Array.from(plain.data));
  });
});

describe('rope in place', () => {
  test('writes into x.data and returns x', () => {
    const data = seededFloats(2 * 3 * 2 * 8, 61);
    const copy = ak.rope(new Tensor(data, [2, 3, 2, 8]), { positionOffset: 4, rotaryDim: 6 });
    const x = new Tensor(Float32Array.from(data), [2, 3, 2, 8]);
    const result = ak.rope(x, { positionOffset: 4, rotaryDim: 6, inPlace: true });
    expect(result).toBe(x);
    expect(Array.from(x.data)).toEqual(Array.from(copy.data));
  });

  test('works on a subarray view without touching its neighbours', () => {
    const buffer = seededFloats(3 * 16, 62);
    const before = Float32Array.from(buffer);
    const view = buffer.subarray(16, 32);
    const copy = ak.rope(new Tensor(Float32Array.from(view), [1, 2, 1, 8]), { positionOffset: 3 });
    ak.rope({ data: view, dims: [1, 2, 1, 8] }, { positionOffset: 3, inPlace: true });
    expect(Array.from(view)).toEqual(Array.from(copy.data));
    expect(Array.from(buffer.subarray(0, 16))).toEqual(Array.from(before.subarray(0, 16)));
    expect(Array.from(buffer.subarray(32))).toEqual(Array.from(before.subarray(32)));
  });

  test('leaves x unchanged when the call fails', () => {
    const { cosCache, sinCache } = ak.ropeCache({ maxPositions: 4, rotaryDim: 8 });
    const x = new Tensor(seededFloats(1 * 3 * 1 * 8, 63), [1, 3, 1, 8]);
    const before = Array.from(x.data);
    expect(() => ak.rope(x, { cosCache, sinCache, positionOffset: 2, inPlace: true })).toThrow(RangeError);
    expect(Array.from(x.data)).toEqual(before);
  });
});

describe('rope relative-position property', () => {
  // rope(q, m)·rope(k, n) depends only on m − n, for any q and k.
  function dotsAt(pairs, options, dim = 64) {
    const q = seededFloats(dim, 71);
    const k = seededFloats(dim, 72);
    const qs = new Float32Array(pairs.length * dim);
    const ks = new Float32Array(pairs.length * dim);
    pairs.forEach((_, i) => {
      qs.set(q, i * dim);
      ks.set(k, i * dim);
    });
    const idsOf = (index) => ({ data: Int32Array.from(pairs, (p) => p[index]), dims: [1, pairs.length] });
    const rq = ak.rope(new Tensor(qs, [1, pairs.length, 1, dim]), { ...options, positionIds: idsOf(0) }).data;
    const rk = ak.rope(new Tensor(ks, [1, pairs.length, 1, dim]), { ...options, positionIds: idsOf(1) }).data;
    return pairs.map((_, i) => {
      let sum = 0;
      for (let d = 0; d < dim; d += 1) sum += rq[i * dim + d] * rk[i * dim + d];
      return sum;
    });
  }

  const shifted = [
    [5, 2],
    [103, 100],
    [4003, 4000],
    [3, 0],
  ];

  test.each([
    ['interleaved', { interleaved: true }],
    ['split halves', { interleaved: false }],
    ['partial rotation', { interleaved: false, rotaryDim: 32 }],
    ['llama3 scaling', { interleaved: false, scaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 512 } }],
    ['yarn scaling', { interleaved: false, scaling: { type: 'yarn', factor: 4, originalMaxPositions: 512 } }],
  ])('%s: equal offsets give equal dot products', (_, options) => {
    const dots = dotsAt(shifted, options);
    for (const d of dots) expect(Math.abs(d - dots[0])).toBeLessThan(1e-5 * (1 + Math.abs(dots[0])));
  });

  test('a different offset gives a different dot product', () => {
    const [a, b] = dotsAt([
      [5, 2],
      [6, 2],
    ]);
    expect(Math.abs(a - b)).toBeGreaterThan(1e-3);
  });

  test('yarn scales the dot product by the attention factor squared', () => {
    const pair = [[7, 3]];
    const { attentionFactor } = ropeFrequenciesReference(64, 10000, { type: 'yarn', factor: 4, originalMaxPositions: 512 });
    const plain = dotsAt(pair, { scaling: { type: 'yarn', factor: 4, originalMaxPositions: 512, attentionFactor: 1 } })[0];
    const scaled = dotsAt(pair, { scaling: { type: 'yarn', factor: 4, originalMaxPositions: 512 } })[0];
    expect(scaled / plain).toBeCloseTo(attentionFactor ** 2, 5);
  });
});
