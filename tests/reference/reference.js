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

/**
 * Inverse frequencies θᵢ, i < rotaryDim/2, and the cos/sin multiplier of a
 * RoPE scaling config, in float64. Written from the definitions of the
 * Hugging Face transformers rope types (linear, dynamic, yarn, llama3).
 */
export function ropeFrequenciesReference(rotaryDim, base = 10000, scaling = null) {
  const half = rotaryDim / 2;
  const type = scaling ? scaling.type : 'none';
  let b = base;
  if (type === 'ntk') {
    const length = Math.max(scaling.currentLength, scaling.originalMaxPositions);
    const grow = (scaling.factor * length) / scaling.originalMaxPositions - (scaling.factor - 1);
    b = base * grow ** (rotaryDim / (rotaryDim - 2));
  }
  const plain = Array.from({ length: half }, (_, i) => 1 / b ** ((2 * i) / rotaryDim));
  let invFreq = plain;
  let attentionFactor = 1;

  if (type === 'linear') invFreq = plain.map((f) => f / scaling.factor);

  if (type === 'yarn') {
    const { factor, originalMaxPositions: maxPos, betaFast = 32, betaSlow = 1, truncate = true } = scaling;
    // Channel where the frequency makes `turns` full turns over maxPos positions.
    const channel = (turns) => (rotaryDim * Math.log(maxPos / (turns * 2 * Math.PI))) / (2 * Math.log(base));
    let lo = channel(betaFast);
    let hi = channel(betaSlow);
    if (truncate) {
      lo = Math.floor(lo);
      hi = Math.ceil(hi);
    }
    lo = Math.max(lo, 0);
    hi = Math.min(hi, rotaryDim - 1);
    if (lo === hi) hi += 0.001;
    invFreq = plain.map((f, i) => {
      const w = Math.min(1, Math.max(0, (i - lo) / (hi - lo)));
      return (f / factor) * w + f * (1 - w);
    });
    const m = (s, k) => (s <= 1 ? 1 : 0.1 * k * Math.log(s) + 1);
    if (scaling.attentionFactor !== undefined) attentionFactor = scaling.attentionFactor;
    else if (scaling.mscale && scaling.mscaleAllDim) attentionFactor = m(factor, scaling.mscale) / m(factor, scaling.mscaleAllDim);
    else attentionFactor = m(factor, 1);
  }

  if (type === 'llama3') {
    const { factor, lowFreqFactor, highFreqFactor, originalMaxPositions: old } = scaling;
    invFreq = plain.map((f) => {
      const wavelength = (2 * Math.PI) / f;
      if (wavelength < old / highFreqFactor) return f;
      if (wavelength > old / lowFreqFactor) return f / factor;
      const t = (old / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
      return (1 - t) * (f / factor) + t * f;
    });
  }
  return { invFreq, attentionFactor };
}

/**
 * General RoPE in float64, written as Hugging Face's
 * out = x·cos + rotate(x)·sin over full-width rows, with
 * rotate_half(x)[j] = −x[j + r/2] (j < r/2), x[j − r/2] (j ≥ r/2) and the
 * interleaved rotate(x)[2i] = −x[2i+1], rotate(x)[2i+1] = x[2i].
 *
 * x is (batch, seq, heads, dim) for layout 'bshd' or (batch, heads, seq, dim)
 * for 'bhsd'. rowFor(b, s) returns { cos, sin } of length rotaryDim, the
 * multiplier of channel j in entry j; by default it is built from
 * positions (a function (b, s) → position), invFreq and attentionFactor.
 */
export function ropeGeneralReference(x, options) {
  const { batch, seq, heads, dim, layout = 'bshd', interleaved = true } = options;
  const rotaryDim = options.rotaryDim ?? dim;
  const half = rotaryDim / 2;
  const { invFreq, attentionFactor } = options.invFreq
    ? { invFreq: options.invFreq, attentionFactor: options.attentionFactor ?? 1 }
    : ropeFrequenciesReference(rotaryDim, options.base ?? 10000, options.scaling ?? null);
  const positionOf = options.positions ?? ((b, s) => s);
  const pairOf = (j) => (interleaved ? Math.floor(j / 2) : j % half);
  const defaultRow = (b, s) => {
    const p = positionOf(b, s);
    const cos = [];
    const sin = [];
    for (let j = 0; j < rotaryDim; j += 1) {
      cos.push(attentionFactor * Math.cos(p * invFreq[pairOf(j)]));
      sin.push(attentionFactor * Math.sin(p * invFreq[pairOf(j)]));
    }
    return { cos, sin };
  };
  const rowFor = options.rowFor ?? defaultRow;

  const out = Float64Array.from(x);
  for (let b = 0; b < batch; b += 1) {
    for (let s = 0; s < seq; s += 1) {
      const { cos, sin } = rowFor(b, s);
      for (let h = 0; h < heads; h += 1) {
        const at = layout === 'bshd' ? ((b * seq + s) * heads + h) * dim : ((b * heads + h) * seq + s) * dim;
        for (let j = 0; j < rotaryDim; j += 1) {
          let rotated;
          if (interleaved) rotated = j % 2 === 0 ? -x[at + j + 1] : x[at + j - 1];
          else rotated = j < half ? -x[at + j + half] : x[at + j - half];
          out[at + j] = x[at + j] * cos[j] + rotated * sin[j];
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
