// Float64 reference implementations for the JavaScript tests, written with
// plain loops from the formulas; they share no code with the kernels.

/**
 * softmax(q·kᵀ·scale)·v over [batch, heads, seq, dim] arrays. kvHeads may
 * divide heads (query head h reads key/value head floor(h / (heads / kvHeads))).
 * Returns a Float64Array [batch, heads, qLen, vDim].
 */
export function attentionReference(q, k, v, { batch, heads, kvHeads = heads, qLen, kvLen, dim, vDim = dim, scale }) {
  const s = scale ?? 1 / Math.sqrt(dim);
  const out = new Float64Array(batch * heads * qLen * vDim);
  const scores = new Float64Array(kvLen);
  for (let b = 0; b < batch; b += 1) {
    for (let h = 0; h < heads; h += 1) {
      const kvh = Math.floor(h / (heads / kvHeads));
      const qBase = (b * heads + h) * qLen * dim;
      const kBase = (b * kvHeads + kvh) * kvLen * dim;
      const vBase = (b * kvHeads + kvh) * kvLen * vDim;
      const oBase = (b * heads + h) * qLen * vDim;
      for (let i = 0; i < qLen; i += 1) {
        let max = -Infinity;
        for (let j = 0; j < kvLen; j += 1) {
          let dot = 0;
          for (let d = 0; d < dim; d += 1) dot += q[qBase + i * dim + d] * k[kBase + j * dim + d];
          scores[j] = dot * s;
          if (scores[j] > max) max = scores[j];
        }
        let total = 0;
        for (let j = 0; j < kvLen; j += 1) {
          scores[j] = Math.exp(scores[j] - max);
          total += scores[j];
        }
        for (let j = 0; j < kvLen; j += 1) {
          const w = scores[j] / total;
          for (let d = 0; d < vDim; d += 1) out[oBase + i * vDim + d] += w * v[vBase + j * vDim + d];
        }
      }
    }
  }
  return out;
}

/**
 * Multi-head attention: per-head attention, heads concatenated to
 * [batch, qLen, E], then out = concat · oᵀ (+ bias). Returns Float64Array.
 */
export function multiheadReference(q, k, v, o, { batch, heads, qLen, kvLen, dim, bias = null }) {
  const embed = heads * dim;
  const perHead = attentionReference(q, k, v, { batch, heads, qLen, kvLen, dim });
  const out = new Float64Array(batch * qLen * embed);
  const concat = new Float64Array(embed);
  for (let b = 0; b < batch; b += 1) {
    for (let i = 0; i < qLen; i += 1) {
      for (let h = 0; h < heads; h += 1) {
        for (let d = 0; d < dim; d += 1) concat[h * dim + d] = perHead[((b * heads + h) * qLen + i) * dim + d];
      }
      for (let e = 0; e < embed; e += 1) {
        let sum = bias ? bias[e] : 0;
        for (let j = 0; j < embed; j += 1) sum += concat[j] * o[e * embed + j];
        out[(b * qLen + i) * embed + e] = sum;
      }
    }
  }
  return out;
}

/**
 * RoPE on x [batch, seq, heads, dim]: pair i at position m turns by
 * m·base^(−2i/dim); pairs are (2i, 2i+1) when interleaved, else (i, i+dim/2).
 */
export function ropeReference(x, { batch, seq, heads, dim, base = 10000, interleaved = true, positionOffset = 0 }) {
  const out = Float64Array.from(x);
  const half = dim / 2;
  for (let b = 0; b < batch; b += 1) {
    for (let s = 0; s < seq; s += 1) {
      for (let h = 0; h < heads; h += 1) {
        const at = ((b * seq + s) * heads + h) * dim;
        for (let i = 0; i < half; i += 1) {
          const angle = (positionOffset + s) * base ** ((-2 * i) / dim);
          const ia = interleaved ? 2 * i : i;
          const ib = interleaved ? 2 * i + 1 : i + half;
          const a = x[at + ia];
          const c = x[at + ib];
          out[at + ia] = a * Math.cos(angle) - c * Math.sin(angle);
          out[at + ib] = a * Math.sin(angle) + c * Math.cos(angle);
        }
      }
    }
  }
  return out;
}

/** Seeded uniform floats in [lo, hi) from a 32-bit xorshift generator. */
export function seededFloats(n, seed, lo = -1, hi = 1) {
  let state = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 1) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    out[i] = lo + ((hi - lo) * state) / 2 ** 32;
  }
  return out;
}

/**
 * Largest |got − want| and the first index outside atol + rtol·|want|
 * (−1 when all are inside). NaN matches NaN; infinities must be equal.
 */
export function compare(got, want, atol, rtol) {
  let maxError = 0;
  let firstBad = -1;
  for (let i = 0; i < want.length; i += 1) {
    const g = got[i];
    const w = want[i];
    if (Number.isNaN(w) || !Number.isFinite(w)) {
      if (!Object.is(g, w) && !(Number.isNaN(w) && Number.isNaN(g))) {
        if (firstBad < 0) firstBad = i;
      }
      continue;
    }
    const err = Math.abs(g - w);
    if (!(err <= maxError)) maxError = err;
    if (!(err <= atol + rtol * Math.abs(w)) && firstBad < 0) firstBad = i;
  }
  return { maxError, firstBad };
}

/**
 * Attention with a bias over [batch, heads, seq, dim] arrays, in float64.
 * k and v hold all kvLen keys. For each (b, h, i, j), `blocked(b, h, i, j)`
 * returns true when the key is masked out and `added(b, h, i, j)` returns the
 * number added to the score (after the softcap). A row whose keys are all
 * blocked gets zero probabilities and a zero output. Returns { out
 * [batch, heads, qLen, vDim], probs [batch, heads, qLen, kvLen] }.
 */
export function biasedAttentionReference(
  q,
  k,
  v,
  { batch, heads, kvHeads = heads, qLen, kvLen, dim, vDim = dim, scale, softcap = 0, blocked = () => false, added = () => 0 },
) {
  const s = scale ?? 1 / Math.sqrt(dim);
  const out = new Float64Array(batch * heads * qLen * vDim);
  const probs = new Float64Array(batch * heads * qLen * kvLen);
  const scores = new Float64Array(kvLen);
  const open = new Array(kvLen);
  for (let b = 0; b < batch; b += 1) {
    for (let h = 0; h < heads; h += 1) {
      const kvh = Math.floor(h / (heads / kvHeads));
      const qBase = (b * heads + h) * qLen * dim;
      const kBase = (b * kvHeads + kvh) * kvLen * dim;
      const vBase = (b * kvHeads + kvh) * kvLen * vDim;
      for (let i = 0; i < qLen; i += 1) {
        let max = -Infinity;
        for (let j = 0; j < kvLen; j += 1) {
          open[j] = !blocked(b, h, i, j);
          if (!open[j]) continue;
          let dot = 0;
          for (let d = 0; d < dim; d += 1) dot += q[qBase + i * dim + d] * k[kBase + j * dim + d];
          let score = dot * s;
          if (softcap > 0) score = softcap * Math.tanh(score / softcap);
          score += added(b, h, i, j);
          if (score === -Infinity) open[j] = false;
          scores[j] = score;
          if (open[j] && score > max) max = score;
        }
        let total = 0;
        for (let j = 0; j < kvLen; j += 1) {
          scores[j] = open[j] ? Math.exp(scores[j] - max) : 0;
          total += scores[j];
        }
        const rowBase = ((b * heads + h) * qLen + i) * kvLen;
        const outBase = ((b * heads + h) * qLen + i) * vDim;
        for (let j = 0; j < kvLen; j += 1) {
          if (!open[j]) continue;
          const w = scores[j] / total;
          probs[rowBase + j] = w;
          for (let d = 0; d < vDim; d += 1) out[outBase + d] += w * v[vBase + j * vDim + d];
        }
      }
    }
  }
  return { out, probs };
}

/**
 * torch.nn.functional.multi_head_attention_forward for batch-first inputs
 * in float64: query [batch, qLen, E], key/value [batch, kvLen, E], packed
 * inProjWeight [3E, E] (rows q, k, v), optional biases, outProjWeight [E, E].
 * `blocked` and `added` take (b, h, i, j) as in biasedAttentionReference.
 * Returns { out [batch, qLen, E], probs [batch, heads, qLen, kvLen] }.
 */
export function multiheadForwardReference(query, key, value, weights, { batch, heads, qLen, kvLen, embed, scale, blocked, added }) {
  const dim = embed / heads;
  // Projects rows of x [rows, E] with weight rows [offset·E, (offset+1)·E) into
  // [batch, heads, rows/batch, dim].
  const project = (x, len, offset) => {
    const y = new Float64Array(batch * heads * len * dim);
    for (let b = 0; b < batch; b += 1) {
      for (let t = 0; t < len; t += 1) {
        for (let e = 0; e < embed; e += 1) {
          const row = offset * embed + e;
          let sum = weights.inProjBias ? weights.inProjBias[row] : 0;
          for (let c = 0; c < embed; c += 1) sum += x[(b * len + t) * embed + c] * weights.inProjWeight[row * embed + c];
          const h = Math.floor(e / dim);
          y[((b * heads + h) * len + t) * dim + (e % dim)] = sum;
        }
      }
    }
    return y;
  };
  const q = project(query, qLen, 0);
  const k = project(key, kvLen, 1);
  const v = project(value, kvLen, 2);
  const { out: perHead, probs } = biasedAttentionReference(q, k, v, { batch, heads, qLen, kvLen, dim, scale, blocked, added });
  const out = new Float64Array(batch * qLen * embed);
  for (let b = 0; b < batch; b += 1) {
    for (let i = 0; i < qLen; i += 1) {
      for (let e = 0; e < embed; e += 1) {
        let sum = weights.outProjBias ? weights.outProjBias[e] : 0;
        for (let c = 0; c < embed; c += 1) {
          const h = Math.floor(c / dim);
          sum += perHead[((b * heads + h) * qLen + i) * dim + (c % dim)] * weights.outProjWeight[e * embed + c];
        }
        out[(b * qLen + i) * embed + e] = sum;
      }
    }
  }
  return { out, probs };
}
