// Random combinations of layout, GQA, KV cache, nonpad lengths, causal
// alignment, masks and softcap, each compared with the float64 reference.
import { beforeAll, describe, expect, test } from '@jest/globals';
import { loadAttnkit, Tensor } from '../../web/lib/attnkit.js';
import { biasedAttentionReference, seededFloats } from '../reference/reference.js';
import { expectClose } from './tolerance.js';

let ak;
beforeAll(async () => {
  ak = await loadAttnkit();
});

// Deterministic choice from a list, driven by a seeded stream. The seed is
// spread over 32 bits and the first values are skipped, because xorshift
// started from a small seed returns small numbers at first.
function chooser(seed) {
  const stream = seededFloats(96, Math.imul(seed, 2654435761) >>> 0, 0, 1);
  let next = 16;
  return (list) => {
    const value = list[Math.floor(stream[next] * list.length)];
    next += 1;
    return value;
  };
}

// Moves [batch, heads, seq, dim] data to [batch, seq, heads·dim].
function toPacked(x, batch, heads, seq, dim) {
  const y = new Float32Array(x.length);
  for (let b = 0; b < batch; b += 1)
    for (let h = 0; h < heads; h += 1)
      for (let s = 0; s < seq; s += 1)
        for (let d = 0; d < dim; d += 1) y[((b * seq + s) * heads + h) * dim + d] = x[((b * heads + h) * seq + s) * dim + d];
  return y;
}

// Builds one random configuration, runs it, and returns what to compare.
function runCombination(seed) {
  const pick = chooser(seed);
  const rank = pick([3, 4]);
  const batch = pick([1, 2]);
  const kvHeads = pick([1, 2]);
  const heads = kvHeads * pick([1, 3]);
  const qLen = pick([1, 3, 5]);
  const newLen = pick([1, 4, 7]);
  const useNonpad = pick([false, true]);
  const pastLen = useNonpad ? 0 : pick([0, 2, 66]);
  const dim = pick([3, 8]);
  const vDim = pick([2, 8]);
  const causal = pick([false, true, 'top-left', 'bottom-right']);
  const maskKind = pick(['none', 'bool', 'float']);
  const softcap = pick([0, 1.3]);
  const total = pastLen + newLen;
  const nonpad = useNonpad ? Array.from({ length: batch }, (_, b) => Math.floor(seededFloats(1, seed * 7 + b, 0, total + 1)[0])) : null;

  // Mask dims: every leading axis is either full or broadcast.
  const full = [batch, heads, qLen, total];
  const maskRank = pick([2, 3, 4]);
  const maskDims = full.slice(4 - maskRank).map((d, i) => (i < maskRank - 1 && pick([true, false]) ? 1 : d));
  const maskSize = maskDims.reduce((a, b) => a * b, 1);
  const maskNoise = seededFloats(maskSize, seed + 100, -2, 2);
  const maskBits = Uint8Array.from(maskNoise, (x) => (x > -1.2 ? 1 : 0));
  const paddedDims = [...new Array(4 - maskRank).fill(1), ...maskDims];
  const maskIndex = (b, h, i, j) => {
    const at = [b, h, i, j].map((x, a) => (paddedDims[a] === 1 ? 0 : x));
    return ((at[0] * paddedDims[1] + at[1]) * paddedDims[2] + at[2]) * paddedDims[3] + at[3];
  };

  const q = seededFloats(batch * heads * qLen * dim, seed + 1, -2, 2);
  const kAll = seededFloats(batch * kvHeads * total * dim, seed + 2, -2, 2);
  const vAll = seededFloats(batch * kvHeads * total * vDim, seed + 3);
  // Split the keys into past [.., 0, pastLen) and new [.., pastLen, total).
  const slice = (x, d, from, to) => {
    const out = [];
    for (let bh = 0; bh < batch * kvHeads; bh += 1) out.push(...x.slice((bh * total + from) * d, (bh * total + to) * d));
    return Float32Array.from(out);
  };
  const kNew = slice(kAll, dim, pastLen, total);
  const vNew = slice(vAll, vDim, pastLen, total);

  const options = { softcap, causal, qkMatmulOutputMode: 3 };
  if (pastLen > 0) {
    options.pastKey = new Tensor(slice(kAll, dim, 0, pastLen), [batch, kvHeads, pastLen, dim]);
    options.pastValue = new Tensor(slice(vAll, vDim, 0, pastLen), [batch, kvHeads, pastLen, vDim]);
  }
  if (nonpad) options.nonpadKvSeqlen = { data: Int32Array.from(nonpad), dims: [batch] };
  if (maskKind === 'bool') options.mask = { data: maskBits, dims: maskDims };
  if (maskKind === 'float') options.mask = new Tensor(maskNoise, maskDims);

  let result;
  if (rank === 4) {
    result = ak.attentionWithCache(
      new Tensor(q, [batch, heads, qLen, dim]),
      new Tensor(kNew, [batch, kvHeads, newLen, dim]),
      new Tensor(vNew, [batch, kvHeads, newLen, vDim]),
      options,
    );
  } else {
    result = ak.attentionWithCache(
      new Tensor(toPacked(q, batch, heads, qLen, dim), [batch, qLen, heads * dim]),
      new Tensor(toPacked(kNew, batch, kvHeads, newLen, dim), [batch, newLen, kvHeads * dim]),
      new Tensor(toPacked(vNew, batch, kvHeads, newLen, vDim), [batch, newLen, kvHeads * vDim]),
      { ...options, qNumHeads: heads, kvNumHeads: kvHeads },
    );
  }

  const offsetFor = (b) => {
    const valid = nonpad ? nonpad[b] : total;
    if (causal === 'top-left') return 0;
    if (causal === 'bottom-right') return valid - qLen;
    if (pastLen > 0) return pastLen;
    return nonpad ? valid - qLen : 0;
  };
  const want = biasedAttentionReference(q, kAll, vAll, {
    batch,
    heads,
    kvHeads,
    qLen,
    kvLen: total,
    dim,
    vDim,
    softcap,
    blocked: (b, h, i, j) => {
      if (nonpad && j >= nonpad[b]) return true;
      if (causal !== false && j > i + offsetFor(b)) return true;
      return maskKind === 'bool' && maskBits[maskIndex(b, h, i, j)] === 0;
    },
    added: (b, h, i, j) => (maskKind === 'float' ? maskNoise[maskIndex(b, h, i, j)] : 0),
  });
  const wantOut = rank === 4 ? want.out : toPacked(Float32Array.from(want.out), batch, heads, qLen, vDim);
  return { result, wantOut, wantProbs: want.probs, kAll, vAll, description: JSON.stringify({ rank, batch, heads, kvHeads, qLen, newLen, pastLen, nonpad, dim, vDim, causal, maskKind, maskDims, softcap }) };
}

describe('attention option combinations', () => {
  test.each(Array.from({ length: 40 }, (_, i) => i + 1))('combination %i', (seed) => {
    const { result, wantOut, wantProbs, kAll, vAll, description } = runCombination(seed);
    try {
      expectClose(result.output.data, wantOut);
      expectClose(result.qkOutput.data, wantProbs);
    } catch (error) {
      throw new Error(`${description}: ${error.message}`);
    }
    expect(Array.from(result.presentKey.data)).toEqual(Array.from(kAll));
    expect(Array.from(result.presentValue.data)).toEqual(Array.from(vAll));
  });
});
