// multiheadAttentionForward against the float64 reference of PyTorch's
// multi_head_attention_forward (batch-first, packed input projection).
import { beforeAll, describe, expect, test } from '@jest/globals';
import { loadAttnkit, Tensor } from '../../web/lib/attnkit.js';
import { multiheadForwardReference, seededFloats } from '../reference/reference.js';
import { expectClose } from './tolerance.js';

let ak;
beforeAll(async () => {
  ak = await loadAttnkit();
});

function setup({ batch, heads, qLen, kvLen, embed, biases = true, seed }) {
  const query = new Tensor(seededFloats(batch * qLen * embed, seed), [batch, qLen, embed]);
  const key = new Tensor(seededFloats(batch * kvLen * embed, seed + 1), [batch, kvLen, embed]);
  const value = new Tensor(seededFloats(batch * kvLen * embed, seed + 2), [batch, kvLen, embed]);
  const bound = 1 / Math.sqrt(embed);
  const weights = {
    inProjWeight: new Tensor(seededFloats(3 * embed * embed, seed + 3, -bound, bound), [3 * embed, embed]),
    outProjWeight: new Tensor(seededFloats(embed * embed, seed + 4, -bound, bound), [embed, embed]),
  };
  if (biases) {
    weights.inProjBias = new Tensor(seededFloats(3 * embed, seed + 5), [3 * embed]);
    weights.outProjBias = new Tensor(seededFloats(embed, seed + 6), [embed]);
  }
  const plain = Object.fromEntries(Object.entries(weights).map(([name, tensor]) => [name, tensor.data]));
  return { query, key, value, weights, plain, dims: { batch, heads, qLen, kvLen, embed } };
}

// Averages [batch, heads, qLen, kvLen] probabilities over heads.
function averageHeads(probs, { batch, heads, qLen, kvLen }) {
  const out = new Float64Array(batch * qLen * kvLen);
  const block = qLen * kvLen;
  for (let b = 0; b < batch; b += 1)
    for (let h = 0; h < heads; h += 1)
      for (let i = 0; i < block; i += 1) out[b * block + i] += probs[(b * heads + h) * block + i] / heads;
  return out;
}

describe('multiheadAttentionForward', () => {
  test('projections, attention and output projection', () => {
    const s = setup({ batch: 2, heads: 4, qLen: 5, kvLen: 7, embed: 16, seed: 1 });
    const { output, attentionWeights } = ak.multiheadAttentionForward(s.query, s.key, s.value, s.weights, { numHeads: 4 });
    expect(output.dims).toEqual([2, 5, 16]);
    expect(attentionWeights).toBeUndefined();
    expectClose(output.data, multiheadForwardReference(s.query.data, s.key.data, s.value.data, s.plain, s.dims).out);
  });

  test('without biases', () => {
    const s = setup({ batch: 1, heads: 2, qLen: 3, kvLen: 3, embed: 6, biases: false, seed: 2 });
    const { output } = ak.multiheadAttentionForward(s.query, s.key, s.value, s.weights, { numHeads: 2 });
    expectClose(output.data, multiheadForwardReference(s.query.data, s.key.data, s.value.data, s.plain, s.dims).out);
  });

  test('weights averaged over heads and per head', () => {
    const s = setup({ batch: 2, heads: 3, qLen: 4, kvLen: 5, embed: 12, seed: 3 });
    const want = multiheadForwardReference(s.query.data, s.key.data, s.value.data, s.plain, s.dims);
    const averaged = ak.multiheadAttentionForward(s.query, s.key, s.value, s.weights, { numHeads: 3, needWeights: true });
    expect(averaged.attentionWeights.dims).toEqual([2, 4, 5]);
    expectClose(averaged.attentionWeights.data, averageHeads(want.probs, s.dims));
    const perHead = ak.multiheadAttentionForward(s.query, s.key, s.value, s.weights, { numHeads: 3, needWeights: true, averageAttnWeights: false });
    expect(perHead.attentionWeights.dims).toEqual([2, 3, 4, 5]);
    expectClose(perHead.attentionWeights.data, want.probs);
    expectClose(perHead.output.data, want.out);
  });

  test('key padding mask and bool attention mask use PyTorch polarity', () => {
    const s = setup({ batch: 2, heads: 2, qLen: 3, kvLen: 4, embed: 8, seed: 4 });
    const padding = Uint8Array.from([0, 0, 0, 1, 0, 0, 1, 1]); // 1 = padding
    const attn = Uint8Array.from([0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0]); // 1 = masked out
    const { output, attentionWeights } = ak.multiheadAttentionForward(s.query, s.key, s.value, s.weights, {
      numHeads: 2,
      keyPaddingMask: { data: padding, dims: [2, 4] },
      attnMask: { data: attn, dims: [3, 4] },
      needWeights: true,
      averageAttnWeights: false,
    });
    const want = multiheadForwardReference(s.query.data, s.key.data, s.value.data, s.plain, {
      ...s.dims,
      blocked: (b, h, i, j) => padding[b * 4 + j] === 1 || attn[i * 4 + j] === 1,
    });
    expectClose(output.data, want.out);
    expectClose(attentionWeights.data, want.probs);
  });

  test('per-head float attention mask and causal', () => {
    const s = setup({ batch: 2, heads: 2, qLen: 4, kvLen: 4, embed: 8, seed: 5 });
    const bias = seededFloats(2 * 2 * 4 * 4, 6);
    const { output } = ak.multiheadAttentionForward(s.query, s.key, s.value, s.weights, {
      numHeads: 2,
      attnMask: new Tensor(bias, [4, 4, 4]),
      causal: true,
    });
    const want = multiheadForwardReference(s.query.data, s.key.data, s.value.data, s.plain, {
      ...s.dims,
      blocked: (b, h, i, j) => j > i,
      added: (b, h, i, j) => bias[((b * 2 + h) * 4 + i) * 4 + j],
    });
    expectClose(output.data, want.out);
  });

  test('fully padded batch gives the output bias', () => {
    const s = setup({ batch: 1, heads: 2, qLen: 2, kvLen: 3, embed: 4, seed: 7 });
    const { output } = ak.multiheadAttentionForward(s.query, s.key, s.value, s.weights, {
      numHeads: 2,
      keyPaddingMask: { data: Uint8Array.from([1, 1, 1]), dims: [1, 3] },
    });
    const bias = Array.from(s.weights.outProjBias.data);
    expectClose(output.data, [...bias, ...bias]);
  });
});
