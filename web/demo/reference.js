// Float64 reference implementations for the demo page, written with plain
// loops from the formulas. They call no attnkit kernel, so the page can
// compare the library against them, and the benchmark uses them as the
// plain JavaScript implementation. The test suites keep their own copy in
// tests/reference/reference.js.

/**
 * Computes softmax(q·kᵀ·scale)·v over row-major [batch, heads, seq, dim]
 * arrays. Returns a Float64Array [batch, heads, qLen, vDim].
 */
export function attentionReference(q, k, v, { batch, heads, qLen, kvLen, dim, vDim = dim, scale }) {
  const s = scale ?? 1 / Math.sqrt(dim);
  const out = new Float64Array(batch * heads * qLen * vDim);
  const scores = new Float64Array(kvLen);
  for (let bh = 0; bh < batch * heads; bh += 1) {
    const qBase = bh * qLen * dim;
    const kBase = bh * kvLen * dim;
    const vBase = bh * kvLen * vDim;
    const oBase = bh * qLen * vDim;
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
  return out;
}

/**
 * Computes multi-head attention on projected q, k, v [batch, heads, seq,
 * dim]: attention per head, heads concatenated to [batch, qLen, E] with
 * E = heads·dim, then out = concat · oᵀ. Returns a Float64Array.
 */
export function multiheadReference(q, k, v, o, { batch, heads, qLen, kvLen, dim }) {
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
        let sum = 0;
        for (let j = 0; j < embed; j += 1) sum += concat[j] * o[e * embed + j];
        out[(b * qLen + i) * embed + e] = sum;
      }
    }
  }
  return out;
}

/**
 * Applies RoPE to x [batch, seq, heads, dim]: the pair (x[2i], x[2i+1]) of
 * the token at position m turns by the angle m·base^(−2i/dim).
 */
export function ropeReference(x, { batch, seq, heads, dim, base = 10000 }) {
  const out = Float64Array.from(x);
  for (let b = 0; b < batch; b += 1) {
    for (let s = 0; s < seq; s += 1) {
      for (let h = 0; h < heads; h += 1) {
        const at = ((b * seq + s) * heads + h) * dim;
        for (let i = 0; i < dim / 2; i += 1) {
          const angle = s * base ** ((-2 * i) / dim);
          const a = x[at + 2 * i];
          const c = x[at + 2 * i + 1];
          out[at + 2 * i] = a * Math.cos(angle) - c * Math.sin(angle);
          out[at + 2 * i + 1] = a * Math.sin(angle) + c * Math.cos(angle);
        }
      }
    }
  }
  return out;
}

/** Returns n seeded uniform floats in [lo, hi) from a 32-bit xorshift generator. */
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
 * Compares got with want element by element. Returns the largest
 * |got − want| and the number of elements outside atol + rtol·|want|
 * (a NaN on either side counts as outside).
 */
export function compareArrays(got, want, atol, rtol) {
  let maxError = 0;
  let outside = 0;
  for (let i = 0; i < want.length; i += 1) {
    const error = Math.abs(got[i] - want[i]);
    if (!(error <= atol + rtol * Math.abs(want[i]))) outside += 1;
    if (error > maxError || Number.isNaN(error)) maxError = error;
  }
  return { maxError, outside };
}
