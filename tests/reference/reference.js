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
 * [batch, qLen, E], then out = concat · oᵀ (+ bias). scale defaults to
 * 1/√dim as in attentionReference. Returns Float64Array.
 */
export function multiheadReference(q, k, v, o, { batch, heads, qLen, kvLen, dim, bias = null, scale }) {
  const embed = heads * dim;
  const perHead = attentionReference(q, k, v, { batch, heads, qLen, kvLen, dim, scale });
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
