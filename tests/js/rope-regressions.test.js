// RoPE faults that other implementations shipped, reduced to small inputs
// with float64 expected values (six decimals). Each block also checks the
// general property behind the fault.
import { beforeAll, describe, expect, test } from '@jest/globals';
import { loadAttnkit, Tensor } from '../../web/lib/attnkit.js';
import { ropeGeneralReference, seededFloats } from '../reference/reference.js';
import { expectClose } from './tolerance.js';

let ak;
beforeAll(async () => {
  ak = await loadAttnkit();
});

const TOL = 1e-5;

// Rotates one head vector at one position; returns its values.
function rotate(values, position, options = {}) {
  const x = new Tensor(Float32Array.from(values), [1, 1, 1, values.length]);
  return Array.from(ak.rope(x, { positionOffset: position, ...options }).data);
}

// Inverse frequencies as seen by rope: the angle of channel pair i at
// position 1, read back from a ropeCache row.
function measuredFrequencies(options) {
  const { cosCache, sinCache } = ak.ropeCache({ maxPositions: 2, ...options });
  const half = options.rotaryDim / 2;
  return Array.from({ length: half }, (_, i) => Math.atan2(sinCache.data[half + i], cosCache.data[half + i]));
}

function attentionFactorOf(scaling) {
  const { cosCache } = ak.ropeCache({ maxPositions: 1, rotaryDim: 8, scaling });
  return cosCache.data[0];
}

describe('interleaved and split-half pair layouts', () => {
  test('differ at position one', () => {
    expectClose(rotate([1, 2, 3, 4], 1, { interleaved: true }), [-1.14264, 1.922076, 2.959851, 4.0298], TOL, 0);
    expectClose(rotate([1, 2, 3, 4], 1, { interleaved: false }), [-1.984111, 1.959901, 2.462378, 4.0198], TOL, 0);
  });

  test('both leave x unchanged at position zero', () => {
    expect(rotate([1, 2, 3, 4], 0, { interleaved: true })).toEqual([1, 2, 3, 4]);
    expect(rotate([1, 2, 3, 4], 0, { interleaved: false })).toEqual([1, 2, 3, 4]);
  });

  test('interleaved equals the permuted split-half form', () => {
    // interleaved(x) = P⁻¹(splitHalf(P·x)), P = evens then odds: the weight
    // permutation between Meta's LLaMA checkpoints and Hugging Face's.
    for (const dim of [4, 8, 64]) {
      const x = Array.from(seededFloats(dim, dim));
      const permutation = [...Array.from({ length: dim / 2 }, (_, i) => 2 * i), ...Array.from({ length: dim / 2 }, (_, i) => 2 * i + 1)];
      const split = rotate(permutation.map((j) => x[j]), 37, { interleaved: false });
      const unpermuted = new Array(dim);
      permutation.forEach((j, i) => {
        unpermuted[j] = split[i];
      });
      expectClose(rotate(x, 37, { interleaved: true }), unpermuted, 1e-6, 1e-5);
    }
  });
});

describe('partial rotation uses the rotary width', () => {
  const x = [1, 2, 3, 4, 5, 6, 7, 8];

  test('frequencies and partners come from rotaryDim, not headDim', () => {
    // θ = [1, 0.01] from base^(−2i/4); partner of channel i is i + 2.
    expectClose(rotate(x, 2, { rotaryDim: 4, interleaved: false }), [-3.144039, 1.919605, -0.339143, 4.039197, 5, 6, 7, 8], TOL, 0);
    expectClose(rotate(x, 2, { rotaryDim: 4, interleaved: true }), [-2.234742, 0.077004, 2.919405, 4.059196, 5, 6, 7, 8], TOL, 0);
  });

  test('channels past rotaryDim are bit-identical to the input', () => {
    const input = Array.from(seededFloats(24, 81));
    for (const interleaved of [true, false]) {
      const out = rotate(input, 12345, { rotaryDim: 8, interleaved });
      expect(out.slice(8)).toEqual(input.slice(8));
    }
  });

  test('odd rotaryDim is rejected', () => {
    expect(() => rotate(x, 2, { rotaryDim: 3 })).toThrow(new RangeError('rope: rotaryDim must be even, got 3'));
  });
});

describe('full-width cos/sin tables', () => {
  test('the second half of a row uses its own entries', () => {
    // Angles a = [0.5, 0.25, 1, 2]: the halves differ, as in 2-D vision RoPE.
    const angles = [0.5, 0.25, 1.0, 2.0];
    const cosCache = new Tensor(Float32Array.from(angles, Math.cos), [1, 4]);
    const sinCache = new Tensor(Float32Array.from(angles, Math.sin), [1, 4]);
    const out = rotate([1, 2, 3, 4], 0, { interleaved: false, cosCache, sinCache });
    expectClose(out, [-0.560694, 0.948209, 2.462378, 0.154008], TOL, 0);
  });

  test('random full-width rows match x·cos + rotate(x)·sin in both layouts', () => {
    const angles = seededFloats(3 * 16, 82, -4, 4);
    const cosCache = new Tensor(angles.map(Math.cos), [3, 16]);
    const sinCache = new Tensor(angles.map(Math.sin), [3, 16]);
    const x = seededFloats(3 * 2 * 16, 83);
    for (const interleaved of [true, false]) {
      const out = ak.rope(new Tensor(x, [1, 3, 2, 16]), { cosCache, sinCache, interleaved });
      const want = ropeGeneralReference(x, {
        batch: 1,
        seq: 3,
        heads: 2,
        dim: 16,
        interleaved,
        rowFor: (b, s) => ({ cos: cosCache.data.subarray(s * 16, s * 16 + 16), sin: sinCache.data.subarray(s * 16, s * 16 + 16) }),
      });
      expectClose(out.data, want);
    }
  });
});

describe('llama3 frequency scaling', () => {
  const scaling = { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 1024 };

  test('rescales the three wavelength bands', () => {
    // Wavelengths [6.28, 62.8, 628, 6283] against the band limits 256 and 1024.
    expectClose(measuredFrequencies({ rotaryDim: 8, scaling }), [1, 0.1, 0.003086761, 0.000125], 1e-9, 1e-5);
  });

  test('is applied to the rotation', () => {
    const x = [1, 2, 3, 4, 5, 6, 7, 8];
    const want = [-3.572019, 4.762832, -3.379121, 2.971393, 3.638775, 4.161182, -6.825067, 8.43628];
    expectClose(rotate(x, 1000, { interleaved: false, scaling }), want, 1e-4, 0);
    const unscaled = [-3.572019, 4.762832, 1.290933, -4.570559, 3.638775, 4.161182, -7.505564, 7.688302];
    expectClose(rotate(x, 1000, { interleaved: false }), unscaled, 1e-4, 0);
  });
});

describe('yarn frequency ramp and attention factor', () => {
  const yarn = { type: 'yarn', factor: 4, originalMaxPositions: 64, betaFast: 32, betaSlow: 1 };

  test('ramps between the truncated correction channels', () => {
    // low = floor(−0.497) → 0, high = ceil(1.008) = 2, ramp [0, 0.5, 1, 1].
    expectClose(measuredFrequencies({ rotaryDim: 8, scaling: yarn }), [1, 0.0625, 0.0025, 0.00025], 1e-9, 1e-5);
  });

  test('keeps the fractional correction range when truncate is false', () => {
    expectClose(measuredFrequencies({ rotaryDim: 8, scaling: { ...yarn, truncate: false } }), [1, 0.025595, 0.0025, 0.00025], 1e-6, 0);
  });

  test('derives the attention factor as Hugging Face transformers does', () => {
    expect(attentionFactorOf(yarn)).toBeCloseTo(1.138629, 6);
    expect(attentionFactorOf({ ...yarn, mscale: 1, mscaleAllDim: 1 })).toBeCloseTo(1, 6);
    expect(attentionFactorOf({ ...yarn, mscale: 0.707, mscaleAllDim: 0.707 })).toBeCloseTo(1, 6);
    expect(attentionFactorOf({ ...yarn, mscale: 1, mscaleAllDim: 0 })).toBeCloseTo(1.138629, 6);
    expect(attentionFactorOf({ ...yarn, factor: 16 })).toBeCloseTo(1.277259, 6);
  });

  test('an explicit attention factor wins', () => {
    expect(attentionFactorOf({ ...yarn, mscale: 1, mscaleAllDim: 1, attentionFactor: 1.5 })).toBeCloseTo(1.5, 6);
  });

  test('scales the rotated vector by the attention factor', () => {
    const x = [1, 2, 3, 4, 5, 6, 7, 8];
    const plain = [1.881034, -1.888657, 2.824081, 3.979988, -4.739379, 6.035973, 7.072805, 8.009975];
    expectClose(rotate(x, 10, { interleaved: false, scaling: { ...yarn, attentionFactor: 1 } }), plain, TOL, 0);
    const scaled = [2.141801, -2.150481, 3.215582, 4.531731, -5.396396, 6.872737, 8.053304, 9.120393];
    expectClose(rotate(x, 10, { interleaved: false, scaling: yarn }), scaled, TOL, 0);
  });
});

describe('dynamic NTK and linear scaling', () => {
  const ntk = (currentLength) => ({ type: 'ntk', factor: 2, originalMaxPositions: 8, currentLength });

  test('dynamic NTK stretches the base by the current length', () => {
    // base' = 10000 · (2·L/8 − 1)^(4/2): L ≤ 8 → 10000, 12 → 40000, 16 → 90000.
    expectClose(measuredFrequencies({ rotaryDim: 4, scaling: ntk(4) }), [1, 0.01], 1e-9, 1e-5);
    expectClose(measuredFrequencies({ rotaryDim: 4, scaling: ntk(8) }), [1, 0.01], 1e-9, 1e-5);
    expectClose(measuredFrequencies({ rotaryDim: 4, scaling: ntk(12) }), [1, 0.005], 1e-9, 1e-5);
    expectClose(measuredFrequencies({ rotaryDim: 4, scaling: ntk(16) }), [1, 1 / 300], 1e-9, 1e-5);
  });

  test('dynamic NTK rotation at length 12', () => {
    expectClose(rotate([1, 2, 3, 4], 10, { interleaved: false, scaling: ntk(12) }), [0.792992, 1.797584, -3.061236, 4.094959], TOL, 0);
  });

  test('dynamic NTK needs the current length', () => {
    expect(() => rotate([1, 2, 3, 4], 10, { scaling: { type: 'ntk', factor: 2, originalMaxPositions: 8 } })).toThrow(
      new TypeError("rope: scaling.currentLength is required for scaling type 'ntk'"),
    );
  });

  test('linear scaling divides positions by the factor', () => {
    const want = [-3.144039, 1.919605, -0.339143, 4.039197];
    expectClose(rotate([1, 2, 3, 4], 4, { interleaved: false, scaling: { type: 'linear', factor: 2 } }), want, TOL, 0);
    expectClose(rotate([1, 2, 3, 4], 2, { interleaved: false }), want, TOL, 0);
    expectClose(measuredFrequencies({ rotaryDim: 4, scaling: { type: 'linear', factor: 2 } }), [0.5, 0.005], 1e-9, 1e-5);
  });
});
