// The attention weights that the demo page draws, computed in Node through
// the page's own module, against a float64 softmax written here.
import { beforeAll, describe, expect, test } from '@jest/globals';
import { loadAttnkit } from '../../web/lib/attnkit.js';
import { attentionWeights, embedWord, tokenize } from '../../web/demo/explorer.js';
import { seededFloats } from '../reference/reference.js';
import { expectClose } from './tolerance.js';

const HEADS = 4;
const HEAD_DIM = 16;

let ak;
beforeAll(async () => {
  ak = await loadAttnkit();
});

// softmax(q·kᵀ/√headDim) per head in float64; with `causal`, query i
// attends to keys 0..i only. q and k are [HEADS, n, HEAD_DIM]; returns [HEADS, n, n].
function referenceWeights(q, k, n, causal) {
  const out = new Float64Array(HEADS * n * n);
  for (let h = 0; h < HEADS; h += 1) {
    for (let i = 0; i < n; i += 1) {
      const last = causal ? i : n - 1;
      const scores = [];
      for (let j = 0; j <= last; j += 1) {
        let dot = 0;
        for (let d = 0; d < HEAD_DIM; d += 1) dot += q[(h * n + i) * HEAD_DIM + d] * k[(h * n + j) * HEAD_DIM + d];
        scores.push(dot / Math.sqrt(HEAD_DIM));
      }
      const max = Math.max(...scores);
      const exps = scores.map((s) => Math.exp(s - max));
      const total = exps.reduce((a, b) => a + b, 0);
      exps.forEach((e, j) => {
        out[(h * n + i) * n + j] = e / total;
      });
    }
  }
  return out;
}

describe('demo explorer', () => {
  test.each([
    ['all keys', false],
    ['causal', true],
  ])('weights with %s match float64 softmax', (_, causal) => {
    for (const n of [1, 2, 7]) {
      const q = seededFloats(HEADS * n * HEAD_DIM, 100 + n, -2, 2);
      const k = seededFloats(HEADS * n * HEAD_DIM, 200 + n, -2, 2);
      const want = referenceWeights(q, k, n, causal);
      expectClose(attentionWeights(ak, q, k, n, causal), want);
    }
  });

  test('tokenize keeps words only', () => {
    expect(tokenize('The cat, the MAT! don’t 42 x-ray')).toEqual(['the', 'cat', 'the', 'mat', 'don’t', '42', 'x', 'ray']);
    expect(tokenize(' ,.;')).toEqual([]);
  });

  test('embedding is fixed per word', () => {
    expect(embedWord('cat')).toEqual(embedWord('cat'));
    expect(embedWord('cat')).not.toEqual(embedWord('cap'));
    expect(embedWord('cat')).toHaveLength(HEADS * HEAD_DIM);
  });
});
