// RoPE angles at large positions and across calls, through the npm API:
// results against the float64 reference near position 10⁶ for every scaling
// type, and a prefill that matches token-by-token decoding bit for bit.
import { beforeAll, describe, expect, test } from '@jest/globals';
import { loadAttnkit, Tensor } from '../../web/lib/attnkit.js';
import { ropeFrequenciesReference, ropeGeneralReference, seededFloats } from '../reference/reference.js';
import { expectClose } from './tolerance.js';

let ak;
beforeAll(async () => {
  ak = await loadAttnkit();
});

const SCALINGS = [
  ['no scaling', undefined],
  ['linear', { type: 'linear', factor: 4 }],
  ['ntk', { type: 'ntk', factor: 2, originalMaxPositions: 2048, currentLength: 1e6 }],
  ['yarn', { type: 'yarn', factor: 16, originalMaxPositions: 4096 }],
  ['llama3', { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 }],
];

describe('rope near position 10⁶', () => {
  test.each(SCALINGS)('%s matches the float64 reference', (_, scaling) => {
    const [batch, seq, heads, dim] = [1, 70, 2, 32];
    const offset = 999_950;
    const x = seededFloats(batch * seq * heads * dim, 90);
    for (const interleaved of [true, false]) {
      const options = { interleaved, positionOffset: offset };
      if (scaling) options.scaling = scaling;
      const out = ak.rope(new Tensor(x, [batch, seq, heads, dim]), options);
      const want = ropeGeneralReference(x, {
        batch, seq, heads, dim, interleaved, scaling, positions: (b, s) => offset + s,
      });
      expectClose(out.data, want);
    }
  });

  test('ropeCache rows match cos and sin up to 10⁵ positions', () => {
    const maxPositions = 100_000;
    const rotaryDim = 8;
    const scaling = { type: 'yarn', factor: 8, originalMaxPositions: 4096 };
    const { cosCache, sinCache } = ak.ropeCache({ maxPositions, rotaryDim, scaling });
    const { invFreq, attentionFactor } = ropeFrequenciesReference(rotaryDim, 10000, scaling);
    let maxError = 0;
    for (let p = 0; p < maxPositions; p += 1) {
      for (let i = 0; i < rotaryDim / 2; i += 1) {
        const at = p * (rotaryDim / 2) + i;
        maxError = Math.max(
          maxError,
          Math.abs(cosCache.data[at] - attentionFactor * Math.cos(p * invFreq[i])),
          Math.abs(sinCache.data[at] - attentionFactor * Math.sin(p * invFreq[i])),
        );
      }
    }
    // Float rounding of values up to 1.21, the yarn attention factor 0.1·ln 8 + 1.
    expect(maxError).toBeLessThan(1.2e-7);
  });
});

describe('rope across calls', () => {
  test('prefill equals token-by-token decoding bit for bit', () => {
    const [seq, heads, dim] = [70, 4, 64];
    const offset = 123_456;
    const x = seededFloats(seq * heads * dim, 91);
    const prefill = ak.rope(new Tensor(x, [1, seq, heads, dim]), { positionOffset: offset }).data;
    for (let s = 0; s < seq; s += 1) {
      const token = x.slice(s * heads * dim, (s + 1) * heads * dim);
      const out = ak.rope(new Tensor(token, [1, 1, heads, dim]), { positionOffset: offset + s }).data;
      expect(Array.from(out)).toEqual(Array.from(prefill.subarray(s * heads * dim, (s + 1) * heads * dim)));
    }
  });

  test('alternating bases give each its own angles', () => {
    const [seq, heads, dim] = [40, 2, 16];
    const x = seededFloats(seq * heads * dim, 92);
    for (const base of [10000, 500000, 10000, 10]) {
      const out = ak.rope(new Tensor(x, [1, seq, heads, dim]), { base, positionOffset: 33 });
      const want = ropeGeneralReference(x, { batch: 1, seq, heads, dim, base, positions: (b, s) => 33 + s });
      expectClose(out.data, want);
    }
  });
});
