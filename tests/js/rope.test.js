// RoPE through the npm API against the float64 JavaScript reference.
import { beforeAll, describe, expect, test } from '@jest/globals';
import { loadAttnkit, Tensor } from '../../web/lib/attnkit.js';
import { ropeReference, seededFloats } from '../reference/reference.js';
import { expectClose } from './tolerance.js';

let ak;
beforeAll(async () => {
  ak = await loadAttnkit();
});

function runRope({ batch, seq, heads, dim, interleaved, positionOffset, seed }) {
  const x = seededFloats(batch * seq * heads * dim, seed);
  const options = {};
  if (interleaved !== undefined) options.interleaved = interleaved;
  if (positionOffset !== undefined) options.positionOffset = positionOffset;
  const out = ak.rope(new Tensor(x, [batch, seq, heads, dim]), options);
  expect(out.dims).toEqual([batch, seq, heads, dim]);
  expectClose(out.data, ropeReference(x, { batch, seq, heads, dim, interleaved, positionOffset }));
}

describe('rope', () => {
  test('reference shape (32, 128, 3, 64)', () => {
    runRope({ batch: 32, seq: 128, heads: 3, dim: 64, seed: 31 });
  });

  test.each([2, 4, 6, 8, 10, 66])('head size %i, both pair layouts', (dim) => {
    runRope({ batch: 2, seq: 5, heads: 3, dim, seed: 32 });
    runRope({ batch: 2, seq: 5, heads: 3, dim, interleaved: false, seed: 33 });
  });

  test('sequence length one and one head', () => {
    runRope({ batch: 2, seq: 1, heads: 1, dim: 64, seed: 34 });
  });

  test('position offset', () => {
    runRope({ batch: 1, seq: 4, heads: 2, dim: 64, positionOffset: 5000, seed: 35 });
  });

  test('pair layouts differ at position one', () => {
    // x = [1, 2, 3, 4] at position 1 with θ = [1, 0.01].
    const x = new Tensor(new Float32Array([1, 2, 3, 4]), [1, 1, 1, 4]);
    expectClose(ak.rope(x, { positionOffset: 1 }).data, [-1.14264, 1.922076, 2.959851, 4.0298], 1e-5, 0);
    expectClose(ak.rope(x, { positionOffset: 1, interleaved: false }).data, [-1.984111, 1.959901, 2.462378, 4.0198], 1e-5, 0);
  });

  test('matches torchtune at position 0 and 1 for a single pair', () => {
    // One pair at θ₀ = 1: position 1 turns (1, 0) into (cos 1, sin 1).
    const x = new Tensor(new Float32Array([1, 0, 1, 0]), [1, 2, 1, 2]);
    expectClose(ak.rope(x).data, [1, 0, Math.cos(1), Math.sin(1)], 1e-7, 0);
  });
});
