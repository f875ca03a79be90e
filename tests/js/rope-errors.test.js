// Bad RoPE options: each gets a TypeError or RangeError that names the
// option, and the module keeps working afterwards.
import { beforeAll, describe, expect, test } from '@jest/globals';
import { loadAttnkit, Tensor } from '../../web/lib/attnkit.js';
import { ropeGeneralReference, seededFloats } from '../reference/reference.js';
import { expectErrorThenWorks } from './expect-error.js';
import { expectClose } from './tolerance.js';

let ak;
beforeAll(async () => {
  ak = await loadAttnkit();
});

const t = (dims, fill = 0.5) => new Tensor(new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(fill), dims);
const ids = (rows, Type = Int32Array) => ({ data: Type.from(rows.flat()), dims: [rows.length, rows[0].length] });

// A valid call whose result is checked, run after every error.
function expectStillWorks() {
  const x = seededFloats(2 * 3 * 2 * 8, 91);
  const out = ak.rope(new Tensor(x, [2, 3, 2, 8]), { positionOffset: 5, interleaved: false });
  expectClose(out.data, ropeGeneralReference(x, { batch: 2, seq: 3, heads: 2, dim: 8, interleaved: false, positions: (b, s) => 5 + s }));
}

function expectError(fn, type, pattern) {
  expectErrorThenWorks(fn, type, pattern, expectStillWorks);
}

describe('rope shape errors', () => {
  test('odd rotaryDim', () => {
    expectError(() => ak.rope(t([1, 2, 1, 8]), { rotaryDim: 5 }), RangeError, /^rope: rotaryDim must be even, got 5$/);
  });

  test('rotaryDim larger than headDim', () => {
    expectError(() => ak.rope(t([1, 2, 1, 8]), { rotaryDim: 10 }), RangeError, /^rope: rotaryDim \(10\) must not exceed headDim \(8\)$/);
  });

  test('rotaryDim zero or fractional', () => {
    expectError(() => ak.rope(t([1, 2, 1, 8]), { rotaryDim: 0 }), RangeError, /rope: rotaryDim must be a positive finite integer, got 0/);
    expectError(() => ak.rope(t([1, 2, 1, 8]), { rotaryDim: 2.5 }), RangeError, /rope: rotaryDim must be a positive finite integer, got 2\.5/);
  });

  test('odd head size from numHeads', () => {
    expectError(() => ak.rope(t([1, 2, 12]), { numHeads: 4 }), RangeError, /rope: headDim must be even and positive, got 3 in dims \[1, 2, 12\]/);
  });

  test('rank 3 without numHeads', () => {
    expectError(() => ak.rope(t([1, 2, 8])), TypeError, /rope: numHeads is required for a rank-3 x/);
  });

  test('hidden size not divisible by numHeads', () => {
    expectError(() => ak.rope(t([1, 2, 10]), { numHeads: 3 }), RangeError, /rope: x's last dim 10 is not divisible by numHeads 3/);
  });

  test('numHeads that contradicts a rank-4 x', () => {
    expectError(() => ak.rope(t([1, 2, 3, 8]), { numHeads: 2 }), RangeError, /rope: numHeads is 2, but x dims \[1, 2, 3, 8\] in layout 'bshd' have 3 heads/);
  });

  test('unknown or misplaced layout', () => {
    expectError(() => ak.rope(t([1, 2, 3, 8]), { layout: 'bsd' }), RangeError, /rope: layout must be 'bshd' or 'bhsd', got 'bsd'/);
    expectError(() => ak.rope(t([1, 2, 3, 8]), { layout: 1 }), TypeError, /rope: layout must be 'bshd' or 'bhsd', got number 1/);
    expectError(() => ak.rope(t([1, 2, 8]), { layout: 'bhsd', numHeads: 1 }), RangeError, /rope: layout 'bhsd' needs a rank-4 x/);
  });

  test('unknown option', () => {
    expectError(() => ak.rope(t([1, 2, 1, 8]), { rotary_dim: 4 }), TypeError, /rope: unknown option 'rotary_dim'/);
  });
});

describe('rope position errors', () => {
  test('positionIds with the wrong dims', () => {
    expectError(() => ak.rope(t([2, 3, 1, 8]), { positionIds: ids([[0, 1, 2]]) }), RangeError, /rope: positionIds dims \[1, 3\] must be \[batch, seq\] = \[2, 3\]/);
    expectError(() => ak.rope(t([1, 3, 1, 8]), { positionIds: { data: new Int32Array(3), dims: [3] } }), RangeError, /rope: positionIds dims \[3\] must be \[batch, seq\] = \[1, 3\]/);
  });

  test('positionIds with the wrong length', () => {
    expectError(() => ak.rope(t([1, 3, 1, 8]), { positionIds: { data: new Int32Array(2), dims: [1, 3] } }), RangeError, /rope: positionIds has 2 elements, but dims \[1, 3\] need 3/);
  });

  test('positionIds of the wrong type', () => {
    expectError(() => ak.rope(t([1, 3, 1, 8]), { positionIds: { data: new Float32Array(3), dims: [1, 3] } }), TypeError, /rope: positionIds\.data must be an Int32Array or a BigInt64Array, got Float32Array\(3\)/);
    expectError(() => ak.rope(t([1, 3, 1, 8]), { positionIds: [0, 1, 2] }), TypeError, /rope: positionIds\.data must be/);
  });

  test('BigInt positionIds beyond 32 bits', () => {
    const data = BigInt64Array.from([0n, 2n ** 40n]);
    expectError(() => ak.rope(t([1, 2, 1, 8]), { positionIds: { data, dims: [1, 2] } }), RangeError, /rope: positionIds\[0, 1\] is 1099511627776, outside the 32-bit integer range/);
  });

  test('positionIds combined with positionOffset', () => {
    expectError(() => ak.rope(t([1, 2, 1, 8]), { positionIds: ids([[0, 1]]), positionOffset: 3 }), TypeError, /rope: positionIds and positionOffset cannot be combined/);
  });

  test('positionIds beyond the cache', () => {
    const cache = ak.ropeCache({ maxPositions: 50, rotaryDim: 8 });
    expectError(() => ak.rope(t([1, 2, 1, 8]), { ...cache, positionIds: ids([[3, 50]]) }), RangeError, /rope: positionIds\[0, 1\] is 50, outside the cache rows 0 to 49/);
    expectError(() => ak.rope(t([1, 2, 1, 8]), { ...cache, positionIds: ids([[-1, 0]]) }), RangeError, /rope: positionIds\[0, 0\] is -1, outside the cache rows 0 to 49/);
  });

  test('positionOffset beyond the cache', () => {
    const cache = ak.ropeCache({ maxPositions: 50, rotaryDim: 8 });
    expectError(() => ak.rope(t([1, 4, 1, 8]), { ...cache, positionOffset: 47 }), RangeError, /rope: positions 47 to 50 \(positionOffset 47, seq 4\) are outside the cache rows 0 to 49/);
    expectError(() => ak.rope(t([1, 4, 1, 8]), { ...cache, positionOffset: -1 }), RangeError, /rope: positions -1 to 2/);
  });
});

describe('rope cache errors', () => {
  const { cosCache, sinCache } = { cosCache: t([10, 4], 1), sinCache: t([10, 4], 0) };

  test('one cache without the other', () => {
    expectError(() => ak.rope(t([1, 2, 1, 8]), { cosCache }), TypeError, /rope: sinCache is missing; cosCache and sinCache must be given together/);
  });

  test('cache rows of the wrong width', () => {
    expectError(() => ak.rope(t([1, 2, 1, 8]), { cosCache: t([10, 3]), sinCache: t([10, 3]) }), RangeError, /rope: cosCache rows have 3 values, expected rotaryDim\/2 = 4 or rotaryDim = 8/);
  });

  test('sinCache dims differ from cosCache dims', () => {
    expectError(() => ak.rope(t([1, 2, 1, 8]), { cosCache, sinCache: t([9, 4]) }), RangeError, /rope: sinCache dims \[9, 4\] must equal cosCache dims \[10, 4\]/);
  });

  test('per-token cache for another batch or sequence', () => {
    expectError(() => ak.rope(t([2, 3, 1, 8]), { cosCache: t([2, 2, 4]), sinCache: t([2, 2, 4]) }), RangeError, /rope: a rank-3 cosCache must have dims \[batch, seq, width\] = \[2, 3, 4\], got \[2, 2, 4\]/);
  });

  test('per-token cache with positions', () => {
    expectError(() => ak.rope(t([1, 2, 1, 8]), { cosCache: t([1, 2, 4]), sinCache: t([1, 2, 4]), positionOffset: 1 }), RangeError, /rope: a per-token cache .* positionIds and positionOffset must not be given with it/);
  });

  test('cache of rank 1 or with Float64Array data', () => {
    expectError(() => ak.rope(t([1, 2, 1, 8]), { cosCache: t([4]), sinCache: t([4]) }), RangeError, /rope: cosCache must have rank 2 \(maxPositions, width\) or 3/);
    expectError(() => ak.rope(t([1, 2, 1, 8]), { cosCache: { data: new Float64Array(40), dims: [10, 4] }, sinCache }), TypeError, /rope: cosCache\.data must be a Float32Array, got Float64Array\(40\)/);
  });

  test('base or scaling together with a cache', () => {
    expectError(() => ak.rope(t([1, 2, 1, 8]), { cosCache, sinCache, base: 500 }), TypeError, /rope: base and scaling cannot be combined with cosCache\/sinCache/);
    expectError(() => ak.rope(t([1, 2, 1, 8]), { cosCache, sinCache, scaling: { type: 'linear', factor: 2 } }), TypeError, /rope: base and scaling cannot be combined/);
  });
});

describe('rope scaling errors', () => {
  const x = () => t([1, 2, 1, 8]);

  test('unknown scaling type', () => {
    expectError(() => ak.rope(x(), { scaling: { type: 'dynamic', factor: 2 } }), RangeError, /rope: unknown scaling\.type 'dynamic'; expected one of 'linear', 'ntk', 'yarn', 'llama3'/);
    expectError(() => ak.rope(x(), { scaling: { factor: 2 } }), TypeError, /rope: scaling\.type is missing/);
    expectError(() => ak.rope(x(), { scaling: { type: 3 } }), TypeError, /rope: scaling\.type must be a string/);
    expectError(() => ak.rope(x(), { scaling: 'linear' }), TypeError, /rope: scaling must be an object/);
  });

  test('missing required keys', () => {
    expectError(() => ak.rope(x(), { scaling: { type: 'linear' } }), TypeError, /rope: scaling\.factor is required for scaling type 'linear'/);
    expectError(() => ak.rope(x(), { scaling: { type: 'yarn', factor: 4 } }), TypeError, /rope: scaling\.originalMaxPositions is required for scaling type 'yarn'/);
    expectError(() => ak.rope(x(), { scaling: { type: 'llama3', factor: 8, originalMaxPositions: 64, lowFreqFactor: 1 } }), TypeError, /rope: scaling\.highFreqFactor is required for scaling type 'llama3'/);
  });

  test('keys of another scaling type', () => {
    expectError(() => ak.rope(x(), { scaling: { type: 'linear', factor: 2, betaFast: 32 } }), TypeError, /rope: unknown option 'scaling\.betaFast' for scaling type 'linear'/);
  });

  test('bad values', () => {
    expectError(() => ak.rope(x(), { scaling: { type: 'linear', factor: 0 } }), RangeError, /rope: scaling\.factor must be a positive finite number, got 0/);
    expectError(() => ak.rope(x(), { scaling: { type: 'linear', factor: '2' } }), TypeError, /rope: scaling\.factor must be a number, got string 2/);
    expectError(() => ak.rope(x(), { scaling: { type: 'yarn', factor: 4, originalMaxPositions: 64, attentionFactor: -1 } }), RangeError, /rope: scaling\.attentionFactor must be a positive finite number, got -1/);
    expectError(() => ak.rope(x(), { scaling: { type: 'yarn', factor: 4, originalMaxPositions: 64, truncate: 0 } }), TypeError, /rope: scaling\.truncate must be a boolean/);
    expectError(() => ak.rope(x(), { scaling: { type: 'llama3', factor: 8, originalMaxPositions: 64, lowFreqFactor: 4, highFreqFactor: 4 } }), RangeError, /rope: scaling\.highFreqFactor \(4\) must be greater than scaling\.lowFreqFactor \(4\)/);
  });

  test('dynamic NTK with rotaryDim 2', () => {
    expectError(() => ak.rope(x(), { rotaryDim: 2, scaling: { type: 'ntk', factor: 2, originalMaxPositions: 8, currentLength: 16 } }), RangeError, /rope: scaling type 'ntk' needs rotaryDim >= 4, got 2/);
  });
});

describe('rope inPlace and ropeCache errors', () => {
  test('inPlace must be a boolean', () => {
    expectError(() => ak.rope(t([1, 2, 1, 8]), { inPlace: 'yes' }), TypeError, /rope: inPlace must be a boolean, got string yes/);
  });

  test('ropeCache without its required options', () => {
    expectError(() => ak.ropeCache(), TypeError, /ropeCache: options \{ maxPositions, rotaryDim \} are required/);
    expectError(() => ak.ropeCache({ rotaryDim: 8 }), TypeError, /ropeCache: maxPositions is required/);
  });

  test('ropeCache with bad values', () => {
    expectError(() => ak.ropeCache({ maxPositions: 10, rotaryDim: 7 }), RangeError, /ropeCache: rotaryDim must be even, got 7/);
    expectError(() => ak.ropeCache({ maxPositions: 0, rotaryDim: 8 }), RangeError, /ropeCache: maxPositions must be a positive finite integer, got 0/);
    expectError(() => ak.ropeCache({ maxPositions: 10, rotaryDim: 2, scaling: { type: 'ntk', factor: 2, originalMaxPositions: 8, currentLength: 9 } }), RangeError, /^ropeCache: scaling type 'ntk' needs rotaryDim >= 4, got 2$/);
    expectError(() => ak.ropeCache({ maxPositions: 10, rotaryDim: 8, scaling: { type: 'yarnn' } }), RangeError, /ropeCache: unknown scaling\.type 'yarnn'/);
  });
});
