// Random calls of the public API for tests/js/fuzz.test.js. Each entry of
// `operations` builds a valid call from a seeded generator: its tensors, its
// options and a function that returns the expected result from the float64
// reference. `mutate` then may turn the call into an invalid one in a way
// that every operation must reject with a TypeError or RangeError.
//
// A new operation or option gets a row in `operations`: the tensors, the
// axes that must be positive, the axes whose change breaks agreement between
// the tensors, option values that must be rejected, and the reference.
import { Tensor } from '../../web/lib/attnkit.js';
import { float16BitsToNumber, float32ToFloat16Bits } from '../conformance/cases.mjs';
import {
  biasedAttentionReference,
  multiheadForwardReference,
  multiheadReference,
  ropeFrequenciesReference,
  ropeGeneralReference,
} from '../reference/reference.js';

/** A seeded xorshift32 generator with the helpers the cases need. */
export function makeRandom(seed) {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    chance: (p) => next() < p,
    pick: (items) => items[Math.floor(next() * items.length)],
    floats(n, lo = -1, hi = 1) {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i += 1) out[i] = lo + (hi - lo) * next();
      return out;
    },
  };
}

const product = (dims) => dims.reduce((a, b) => a * b, 1);

function randomTensor(random, dims) {
  return new Tensor(random.floats(product(dims)), dims);
}

// Puts NaN, +Infinity or -Infinity at a few places of a tensor's data.
// Infinity goes only where the operation computes it like the reference
// (see `specialValues` of each operation).
function injectSpecialValues(random, tensor, values) {
  const count = random.int(1, 3);
  for (let i = 0; i < count && tensor.data.length > 0; i += 1) {
    tensor.data[random.int(0, tensor.data.length - 1)] = random.pick(values);
  }
}

// Moves [batch, heads, seq, dim] data to [batch, seq, heads·dim].
function toPacked(x, batch, heads, seq, dim) {
  const y = new Float32Array(x.length);
  for (let b = 0; b < batch; b += 1) {
    for (let h = 0; h < heads; h += 1) {
      for (let s = 0; s < seq; s += 1) {
        for (let d = 0; d < dim; d += 1) y[((b * seq + s) * heads + h) * dim + d] = x[((b * heads + h) * seq + s) * dim + d];
      }
    }
  }
  return y;
}

// Takes keys [from, to) of every (batch, head) of [batch, heads, total, dim].
function keyRange(x, batchHeads, total, dim, from, to) {
  const out = new Float32Array(batchHeads * (to - from) * dim);
  for (let bh = 0; bh < batchHeads; bh += 1) out.set(x.subarray((bh * total + from) * dim, (bh * total + to) * dim), bh * (to - from) * dim);
  return out;
}

// A random mask of rank 2 to 4 that broadcasts against [batch, heads, qLen,
// total]: each leading axis is full or 1, and the last is total. Returns the
// tensor and the `blocked`/`added` functions of biasedAttentionReference.
function randomMask(random, batch, heads, qLen, total) {
  const full = [batch, heads, qLen, total];
  const rank = random.int(2, 4);
  const dims = full.slice(4 - rank).map((d, i) => (i < rank - 1 && random.chance(0.5) ? 1 : d));
  const padded = [...new Array(4 - rank).fill(1), ...dims];
  const index = (b, h, i, j) => {
    const at = [b, h, i, j].map((x, axis) => (padded[axis] === 1 ? 0 : x));
    return ((at[0] * padded[1] + at[1]) * padded[2] + at[2]) * padded[3] + at[3];
  };
  const size = product(dims);
  if (random.chance(0.5)) {
    const bits = Uint8Array.from({ length: size }, () => (random.chance(0.7) ? 1 : 0));
    return { tensor: { data: bits, dims }, blocked: (b, h, i, j) => bits[index(b, h, i, j)] === 0, added: () => 0 };
  }
  const values = random.floats(size, -2, 2);
  for (let n = 0; n < size; n += 1) if (random.chance(0.1)) values[n] = -Infinity;
  // −∞ blocks the key outright, so NaN in its score cannot reach the row.
  return {
    tensor: new Tensor(values, dims),
    blocked: (b, h, i, j) => values[index(b, h, i, j)] === -Infinity,
    added: (b, h, i, j) => values[index(b, h, i, j)],
  };
}

// Builds attention and attentionWithCache calls with every ONNX option: rank
// 3 with head counts, GQA, past keys and values, valid key counts, causal
// alignments, bool and float masks, softcap and scale.
function buildAttention(random, withCache) {
  const rank = random.pick([3, 4]);
  const batch = random.int(1, 2);
  const kvHeads = random.int(1, 2);
  const heads = kvHeads * random.int(1, 3);
  const qLen = random.int(0, 6);
  const newLen = random.int(0, 9);
  const pastLen = random.chance(0.3) ? random.int(1, 5) : 0;
  const total = pastLen + newLen;
  const dim = random.int(1, 12);
  const vDim = random.int(1, 12);

  const q = random.floats(batch * heads * qLen * dim);
  const kAll = random.floats(batch * kvHeads * total * dim);
  const vAll = random.floats(batch * kvHeads * total * vDim);
  const kNew = keyRange(kAll, batch * kvHeads, total, dim, pastLen, total);
  const vNew = keyRange(vAll, batch * kvHeads, total, vDim, pastLen, total);
  const tensors =
    rank === 4
      ? {
          q: new Tensor(q, [batch, heads, qLen, dim]),
          k: new Tensor(kNew, [batch, kvHeads, newLen, dim]),
          v: new Tensor(vNew, [batch, kvHeads, newLen, vDim]),
        }
      : {
          q: new Tensor(toPacked(q, batch, heads, qLen, dim), [batch, qLen, heads * dim]),
          k: new Tensor(toPacked(kNew, batch, kvHeads, newLen, dim), [batch, newLen, kvHeads * dim]),
          v: new Tensor(toPacked(vNew, batch, kvHeads, newLen, vDim), [batch, newLen, kvHeads * vDim]),
        };

  // Some inputs travel as float16 bits; the reference reads their decoded values.
  const half = {};
  for (const name of ['q', 'k', 'v']) {
    if (random.chance(0.15)) {
      half[name] = true;
      const t = tensors[name];
      tensors[name] = new Tensor(Uint16Array.from(t.data, float32ToFloat16Bits), t.dims);
    }
  }

  const options = {};
  if (rank === 3 && (heads > 1 || random.chance(0.3))) options.qNumHeads = heads;
  if (rank === 3 && (kvHeads !== heads || random.chance(0.3))) options.kvNumHeads = kvHeads;
  if (random.chance(0.3)) options.scale = random.next() * 4 - 2;
  if (random.chance(0.3)) options.softcap = 0.5 + random.next() * 3;
  const causal = random.pick([undefined, false, true, 'top-left', 'bottom-right']);
  if (causal !== undefined) options.causal = causal;
  if (pastLen > 0) {
    options.pastKey = new Tensor(keyRange(kAll, batch * kvHeads, total, dim, 0, pastLen), [batch, kvHeads, pastLen, dim]);
    options.pastValue = new Tensor(keyRange(vAll, batch * kvHeads, total, vDim, 0, pastLen), [batch, kvHeads, pastLen, vDim]);
  }
  let nonpad = null;
  if (pastLen === 0 && random.chance(0.25)) {
    nonpad = Array.from({ length: batch }, () => random.int(0, total));
    options.nonpadKvSeqlen = random.chance(0.5)
      ? { data: Int32Array.from(nonpad), dims: [batch] }
      : { data: BigInt64Array.from(nonpad, BigInt), dims: [batch] };
  }
  let mask = null;
  if (total > 0 && random.chance(0.4)) {
    mask = randomMask(random, batch, heads, qLen, total);
    options.mask = mask.tensor;
  }
  const wantProbs = withCache && random.chance(0.5);
  if (wantProbs) options.qkMatmulOutputMode = 3;

  // The causal offset of each batch entry, as AttentionOptions.causal describes it.
  const offsetFor = (b) => {
    const valid = nonpad ? nonpad[b] : total;
    if (causal === 'top-left') return 0;
    if (causal === 'bottom-right') return valid - qLen;
    if (pastLen > 0) return pastLen;
    return nonpad ? valid - qLen : 0;
  };
  const blocked = (b, h, i, j) => {
    if (nonpad && j >= nonpad[b]) return true;
    if (causal !== undefined && causal !== false && j > i + offsetFor(b)) return true;
    return mask ? mask.blocked(b, h, i, j) : false;
  };
  const outDims = rank === 4 ? [batch, heads, qLen, vDim] : [batch, qLen, heads * vDim];
  const last = rank - 1;
  const badMaskDims = [batch + 1, heads, qLen, Math.max(total, 1)];

  return {
    tensors,
    options,
    // A −∞ score on every key of a row is defined only through masks, so
    // ±∞ goes into v only.
    specialValues: { q: [NaN], k: [NaN], v: [NaN, Infinity, -Infinity] },
    positiveAxes: rank === 4 ? { q: [0, 1, 3], k: [0, 1, 3], v: [0, 1, 3] } : { q: [0, 2], k: [0, 2], v: [0, 2] },
    // Changing one of these axes alone breaks the agreement of the shapes.
    conflictingAxes: rank === 4 ? [['k', 0], ['v', 0], ['k', 3], ['v', 2], ['v', 1]] : [['k', 0], ['v', 0], ['k', 2], ['v', 1]],
    badOptions: [
      { scale: NaN },
      { scale: 1e39 },
      { scale: '0.5' },
      { softcap: -1 },
      { softcap: NaN },
      { causal: 'diagonal' },
      { causal: 1 },
      { qkMatmulOutputMode: 4 },
      { softmaxPrecision: 11 },
      { mask: { data: new Uint8Array(3), dims: [3] } },
      { mask: new Tensor(new Float32Array(product(badMaskDims)), badMaskDims) },
      { pastKey: new Tensor(new Float32Array(batch * kvHeads * dim), [batch, kvHeads, 1, dim]), pastValue: undefined },
      { nonpadKvSeqlen: { data: new Int32Array(batch + 1), dims: [batch + 1] } },
      { nonpadKvSeqlen: { data: new Float32Array(batch), dims: [batch] } },
      { qNumHeads: 0 },
      { kvNumHeads: 1.5 },
      ...(rank === 4 ? [{ qNumHeads: heads + 1 }] : []),
      { scael: 1 },
    ],
    invoke: (ak, t, o) => (withCache ? ak.attentionWithCache(t.q, t.k, t.v, o) : ak.attention(t.q, t.k, t.v, o)),
    expected(t, o) {
      // Reads the data actually passed, after any NaN or ±∞ was put in.
      const decode = (x) => (x instanceof Uint16Array ? Float32Array.from(x, float16BitsToNumber) : x);
      const unpack = (x, seq, h, d) => (rank === 4 ? decode(x) : fromPacked(decode(x), batch, h, seq, d));
      const qData = unpack(t.q.data, qLen, heads, dim);
      const kData = mergeKeys(o.pastKey?.data, unpack(t.k.data, newLen, kvHeads, dim), batch * kvHeads, pastLen, newLen, dim);
      const vData = mergeKeys(o.pastValue?.data, unpack(t.v.data, newLen, kvHeads, vDim), batch * kvHeads, pastLen, newLen, vDim);
      const want = biasedAttentionReference(qData, kData, vData, {
        batch, heads, kvHeads, qLen, kvLen: total, dim, vDim, scale: o.scale, softcap: o.softcap ?? 0,
        blocked, added: mask ? mask.added : () => 0,
      });
      // Each output has the type of its input: float16 bits for a float16 q
      // (output and qkOutput), k (presentKey) or v (presentValue).
      const outData = rank === 4 ? want.out : toPacked(Float32Array.from(want.out), batch, heads, qLen, vDim);
      const output = { dims: outDims, data: outData, float16: half.q === true };
      if (!withCache) return output;
      return {
        fields: {
          output,
          presentKey: { dims: [batch, kvHeads, total, dim], data: kData, float16: half.k === true },
          presentValue: { dims: [batch, kvHeads, total, vDim], data: vData, float16: half.v === true },
          qkOutput: wantProbs ? { dims: [batch, heads, qLen, total], data: want.probs, float16: half.q === true } : undefined,
        },
      };
    },
  };
}

// Moves [batch, seq, heads·dim] data to [batch, heads, seq, dim].
function fromPacked(x, batch, heads, seq, dim) {
  const y = new Float32Array(x.length);
  for (let b = 0; b < batch; b += 1) {
    for (let h = 0; h < heads; h += 1) {
      for (let s = 0; s < seq; s += 1) {
        for (let d = 0; d < dim; d += 1) y[((b * heads + h) * seq + s) * dim + d] = x[((b * seq + s) * heads + h) * dim + d];
      }
    }
  }
  return y;
}

// Concatenates past [batchHeads, pastLen, dim] and new [batchHeads, newLen,
// dim] keys per (batch, head).
function mergeKeys(past, fresh, batchHeads, pastLen, newLen, dim) {
  const total = pastLen + newLen;
  const out = new Float32Array(batchHeads * total * dim);
  for (let bh = 0; bh < batchHeads; bh += 1) {
    if (pastLen > 0) out.set(past.subarray(bh * pastLen * dim, (bh + 1) * pastLen * dim), bh * total * dim);
    out.set(fresh.subarray(bh * newLen * dim, (bh + 1) * newLen * dim), (bh * total + pastLen) * dim);
  }
  return out;
}

const attention = { name: 'attention', build: (random) => buildAttention(random, false) };
const attentionWithCache = { name: 'attentionWithCache', build: (random) => buildAttention(random, true) };

const multiheadAttentionForward = {
  name: 'multiheadAttentionForward',
  build(random) {
    const batch = random.int(1, 2);
    const heads = random.int(1, 3);
    const embed = heads * random.int(1, 4);
    const qLen = random.int(1, 5);
    const kvLen = random.int(1, 6);
    const bound = 1 / Math.sqrt(embed);
    const tensors = {
      query: randomTensor(random, [batch, qLen, embed]),
      key: randomTensor(random, [batch, kvLen, embed]),
      value: randomTensor(random, [batch, kvLen, embed]),
    };
    const weights = {
      inProjWeight: new Tensor(random.floats(3 * embed * embed, -bound, bound), [3 * embed, embed]),
      outProjWeight: new Tensor(random.floats(embed * embed, -bound, bound), [embed, embed]),
    };
    if (random.chance(0.5)) weights.inProjBias = randomTensor(random, [3 * embed]);
    if (random.chance(0.5)) weights.outProjBias = randomTensor(random, [embed]);

    // Key 0 is never masked, so no row is left without keys.
    const options = { numHeads: heads };
    let padding = null;
    let attnMask = null;
    if (random.chance(0.4)) {
      padding = Uint8Array.from({ length: batch * kvLen }, (_, n) => (n % kvLen !== 0 && random.chance(0.3) ? 1 : 0));
      options.keyPaddingMask = { data: padding, dims: [batch, kvLen] };
    }
    if (random.chance(0.4)) {
      attnMask = Uint8Array.from({ length: qLen * kvLen }, (_, n) => (n % kvLen !== 0 && random.chance(0.3) ? 1 : 0));
      options.attnMask = { data: attnMask, dims: [qLen, kvLen] };
    }
    if (random.chance(0.3)) options.causal = true;
    if (random.chance(0.3)) options.scale = random.next() * 2;
    const needWeights = random.chance(0.4);
    if (needWeights) {
      options.needWeights = true;
      options.averageAttnWeights = false;
    }
    const blocked = (b, h, i, j) =>
      (padding !== null && padding[b * kvLen + j] === 1) || (attnMask !== null && attnMask[i * kvLen + j] === 1) || (options.causal === true && j > i);

    return {
      tensors,
      options,
      specialValues: { query: [NaN], key: [NaN], value: [NaN] },
      positiveAxes: { query: [0, 2] },
      conflictingAxes: [['key', 0], ['value', 1], ['query', 2]],
      badOptions: [
        { numHeads: undefined },
        { numHeads: embed + 1 },
        { needWeights: 1 },
        { causal: 'yes' },
        { attnMask: { data: new Uint8Array(1), dims: [1] } },
        { keyPaddingMask: { data: new Uint8Array((batch + 1) * kvLen), dims: [batch + 1, kvLen] } },
        { scale: NaN },
        { bogus: 1 },
      ],
      invoke: (ak, t, o) => ak.multiheadAttentionForward(t.query, t.key, t.value, weights, o),
      expected(t, o) {
        const plain = Object.fromEntries(Object.entries(weights).map(([name, w]) => [name, w.data]));
        const want = multiheadForwardReference(t.query.data, t.key.data, t.value.data, plain, {
          batch, heads, qLen, kvLen, embed, scale: o.scale, blocked, added: () => 0,
        });
        return {
          fields: {
            output: { dims: [batch, qLen, embed], data: want.out },
            attentionWeights: needWeights ? { dims: [batch, heads, qLen, kvLen], data: want.probs } : undefined,
          },
        };
      },
    };
  },
};

const multiheadAttention = {
  name: 'multiheadAttention',
  build(random) {
    const batch = random.int(1, 3);
    const heads = random.int(1, 4);
    const qLen = random.int(0, 6);
    const kvLen = random.int(0, 20);
    const dim = random.int(1, 8);
    const embed = heads * dim;

    const tensors = {
      q: randomTensor(random, [batch, heads, qLen, dim]),
      k: randomTensor(random, [batch, heads, kvLen, dim]),
      v: randomTensor(random, [batch, heads, kvLen, dim]),
      o: randomTensor(random, [embed, embed]),
    };
    const options = {};
    if (random.chance(0.5)) options.scale = random.next() * 4 - 2;
    if (random.chance(0.5)) options.outBias = randomTensor(random, [embed]);

    return {
      tensors,
      options,
      specialValues: { q: [NaN], k: [NaN], v: [NaN], o: [NaN] },
      positiveAxes: { q: [0, 1, 3], k: [0, 1, 3], v: [0, 1, 3] },
      conflictingAxes: [['k', 0], ['k', 1], ['k', 3], ['v', 2], ['v', 3], ['o', 0], ['o', 1]],
      badOptions: [
        { scale: NaN },
        { outBias: new Tensor(new Float32Array(embed + 1), [embed + 1]) },
        { outBias: { data: [1], dims: [1] } },
        { outBias: 3 },
        { bias: true },
      ],
      invoke: (ak, t, o) => ak.multiheadAttention(t.q, t.k, t.v, t.o, o),
      expected(t, o) {
        return {
          dims: [batch, qLen, embed],
          data: multiheadReference(t.q.data, t.k.data, t.v.data, t.o.data, {
            batch, heads, qLen, kvLen, dim, scale: o.scale, bias: o.outBias ? o.outBias.data : null,
          }),
        };
      },
    };
  },
};

// Random scaling configs of each type, with the keys the type requires.
// 'ntk' raises the base to rotaryDim/(rotaryDim − 2), so it needs rotaryDim ≥ 4.
function randomScaling(random, rotaryDim) {
  const factor = 1 + random.next() * 7;
  const originalMaxPositions = random.int(16, 4096);
  const types = rotaryDim >= 4 ? ['linear', 'ntk', 'yarn', 'llama3'] : ['linear', 'yarn', 'llama3'];
  switch (random.pick(types)) {
    case 'linear':
      return { type: 'linear', factor };
    case 'ntk':
      return { type: 'ntk', factor, originalMaxPositions, currentLength: random.int(1, 8192) };
    case 'yarn':
      return { type: 'yarn', factor, originalMaxPositions, ...(random.chance(0.5) ? { betaFast: 16, betaSlow: 2 } : {}) };
    default:
      return { type: 'llama3', factor, originalMaxPositions, lowFreqFactor: 1, highFreqFactor: 4 };
  }
}

// Expands a cache row to the full-width { cos, sin } rows of
// ropeGeneralReference. A half-width row has one entry per pair.
function cacheRow(cos, sin, start, width, rotaryDim, interleaved) {
  const half = rotaryDim / 2;
  const entry = (j) => {
    if (width === rotaryDim) return j;
    return interleaved ? Math.floor(j / 2) : j % half;
  };
  const row = { cos: [], sin: [] };
  for (let j = 0; j < rotaryDim; j += 1) {
    row.cos.push(cos[start + entry(j)]);
    row.sin.push(sin[start + entry(j)]);
  }
  return row;
}

const rope = {
  name: 'rope',
  build(random) {
    const layout = random.pick(['bshd', 'bhsd', 'rank3']);
    const batch = random.int(1, 3);
    const seq = random.int(0, 9);
    const heads = random.int(1, 3);
    const dim = 2 * random.int(1, 10);
    const rotaryDim = random.chance(0.3) ? 2 * random.int(1, dim / 2) : dim;
    const interleaved = random.chance(0.5);
    let dims = [batch, seq, heads, dim];
    if (layout === 'bhsd') dims = [batch, heads, seq, dim];
    if (layout === 'rank3') dims = [batch, seq, heads * dim];
    const x = randomTensor(random, dims);

    const options = {};
    if (layout === 'bhsd') options.layout = 'bhsd';
    if (layout === 'rank3') options.numHeads = heads;
    if (!interleaved || random.chance(0.5)) options.interleaved = interleaved;
    if (rotaryDim !== dim || random.chance(0.2)) options.rotaryDim = rotaryDim;

    // Positions: an offset, or ids in a [batch, seq] tensor.
    let positionOf = (b, s) => s;
    if (random.chance(0.3)) {
      const ids = Array.from({ length: batch * seq }, () => random.int(0, 60));
      const data = random.chance(0.5) ? Int32Array.from(ids) : BigInt64Array.from(ids, BigInt);
      options.positionIds = { data, dims: [batch, seq] };
      positionOf = (b, s) => ids[b * seq + s];
    } else if (random.chance(0.5)) {
      const offset = random.int(-100, 100000);
      options.positionOffset = offset;
      positionOf = (b, s) => offset + s;
    }

    // Angles: computed from base and scaling, or read from a cache.
    let rowFor;
    const cacheKind = random.pick(['none', 'none', 'positions', 'tokens']);
    const canIndex = !(options.positionOffset > 60 || options.positionOffset < 0);
    if (cacheKind !== 'none' && (cacheKind === 'tokens' || canIndex)) {
      if (cacheKind === 'tokens') {
        // A per-token cache already fixes every token's angles.
        delete options.positionIds;
        delete options.positionOffset;
      }
      const width = random.pick([rotaryDim / 2, rotaryDim]);
      const rows = cacheKind === 'tokens' ? batch * seq : 61 + 9 + random.int(0, 5);
      const cacheDims = cacheKind === 'tokens' ? [batch, seq, width] : [rows, width];
      const cos = random.floats(rows * width);
      const sin = random.floats(rows * width);
      options.cosCache = new Tensor(cos, cacheDims);
      options.sinCache = new Tensor(sin, cacheDims);
      rowFor = (b, s) => {
        const row = cacheKind === 'tokens' ? b * seq + s : positionOf(b, s);
        return cacheRow(cos, sin, row * width, width, rotaryDim, interleaved);
      };
    } else {
      if (random.chance(0.5)) options.base = random.pick([10000, 500000, 1 + random.next() * 1e5]);
      if (random.chance(0.3)) options.scaling = randomScaling(random, rotaryDim);
    }
    const inPlace = random.chance(0.2);
    if (inPlace) options.inPlace = true;

    // An in-place call overwrites x, so the reference reads a copy taken
    // just before the call (after any NaN or ±∞ was put in).
    let original = null;
    return {
      tensors: { x },
      options,
      inPlace,
      specialValues: { x: [NaN, Infinity, -Infinity] },
      // Batch, heads and head size; a rank-3 x has its heads in numHeads.
      positiveAxes: { x: layout === 'rank3' ? [0, 2] : [0, layout === 'bhsd' ? 1 : 2, 3] },
      // An odd head size is invalid on its own.
      conflictingAxes: [['x', dims.length - 1]],
      badOptions: [
        { base: 0 },
        { base: -10000 },
        { base: NaN },
        { base: '10000' },
        { interleaved: 'yes' },
        { positionOffset: 1.5 },
        { positionOffset: 2 ** 53 },
        { layout: 'sbhd' },
        { layout: 1 },
        { numHeads: 0 },
        { numHeads: 1.5 },
        ...(layout === 'rank3' ? [] : [{ numHeads: heads + 1 }]),
        { rotaryDim: dim + 2 },
        { rotaryDim: 3 },
        { positionIds: { data: new Int32Array(batch * seq + 1), dims: [batch, seq + 1] } },
        { positionIds: { data: new Float32Array(batch * seq), dims: [batch, seq] } },
        { positionIds: { data: new Int32Array(batch * seq), dims: [batch, seq] }, positionOffset: 1 },
        { cosCache: new Tensor(new Float32Array(8 * rotaryDim), [8, rotaryDim]), sinCache: undefined },
        { cosCache: new Tensor(new Float32Array(8 * (rotaryDim + 2)), [8, rotaryDim + 2]), sinCache: new Tensor(new Float32Array(8 * (rotaryDim + 2)), [8, rotaryDim + 2]) },
        { scaling: { type: 'bogus', factor: 2 } },
        { scaling: { type: 'linear' } },
        { scaling: { type: 'linear', factor: -1 } },
        { scaling: { type: 'yarn', factor: 2, originalMaxPositions: 64, unknown: 1 } },
        { inPlace: 1 },
        { offset: 3 },
      ],
      beforeCall() {
        original = Float32Array.from(x.data);
      },
      invoke: (ak, t, o) => ak.rope(t.x, o),
      expected(t, o) {
        const reference = ropeGeneralReference(original, {
          batch,
          seq,
          heads,
          dim,
          layout: layout === 'bhsd' ? 'bhsd' : 'bshd',
          interleaved,
          rotaryDim,
          base: o.base,
          scaling: o.scaling,
          positions: positionOf,
          ...(rowFor ? { rowFor } : {}),
        });
        return { dims, data: reference };
      },
    };
  },
};

const ropeCache = {
  name: 'ropeCache',
  build(random) {
    const maxPositions = random.int(1, 40);
    const rotaryDim = 2 * random.int(1, 10);
    const options = { maxPositions, rotaryDim };
    if (random.chance(0.5)) options.base = random.pick([10000, 500000, 1 + random.next() * 1e5]);
    if (random.chance(0.5)) options.scaling = randomScaling(random, rotaryDim);
    return {
      tensors: {},
      options,
      specialValues: {},
      positiveAxes: {},
      conflictingAxes: [],
      badOptions: [
        { maxPositions: 0 },
        { maxPositions: 1.5 },
        { maxPositions: undefined },
        { rotaryDim: 3 },
        { rotaryDim: -2 },
        { base: 0 },
        { scaling: 'linear' },
        { scaling: { type: 'llama3', factor: 8, originalMaxPositions: 64, lowFreqFactor: 4, highFreqFactor: 1 } },
        { positionOffset: 0 },
      ],
      invoke: (ak, t, o) => ak.ropeCache(o),
      expected(t, o) {
        const { invFreq, attentionFactor } = ropeFrequenciesReference(rotaryDim, o.base ?? 10000, o.scaling ?? null);
        const half = rotaryDim / 2;
        const cos = new Float64Array(maxPositions * half);
        const sin = new Float64Array(maxPositions * half);
        for (let p = 0; p < maxPositions; p += 1) {
          for (let i = 0; i < half; i += 1) {
            cos[p * half + i] = attentionFactor * Math.cos(p * invFreq[i]);
            sin[p * half + i] = attentionFactor * Math.sin(p * invFreq[i]);
          }
        }
        const dims = [maxPositions, half];
        return { fields: { cosCache: { dims, data: cos }, sinCache: { dims, data: sin } } };
      },
    };
  },
};

export const operations = [attention, attentionWithCache, multiheadAttention, multiheadAttentionForward, rope, ropeCache];

function withDims(tensor, dims, fill = 0.25) {
  return { data: new Float32Array(product(dims)).fill(fill), dims };
}

function detached(tensor) {
  const data = Float32Array.from(tensor.data);
  structuredClone(data.buffer, { transfer: [data.buffer] });
  return { data, dims: [...tensor.dims] };
}

// Ways to make a call invalid. Each takes the built case and the generator
// and returns a description, after replacing a tensor or the options.
const mutations = [
  function wrongDataType(c, random) {
    const name = random.pick(Object.keys(c.tensors));
    const t = c.tensors[name];
    const data = random.pick([
      Array.from(t.data),
      Float64Array.from(t.data),
      new Int32Array(t.data.length),
      null,
      'data',
    ]);
    c.tensors[name] = { data, dims: [...t.dims] };
    return `${name}.data replaced by ${data === null ? 'null' : data.constructor.name}`;
  },
  function notATensor(c, random) {
    const name = random.pick(Object.keys(c.tensors));
    const value = random.pick([null, undefined, 3, 'q', [1, 2]]);
    c.tensors[name] = value;
    return `${name} replaced by ${String(value)}`;
  },
  function detachedBuffer(c, random) {
    const name = random.pick(Object.keys(c.tensors));
    c.tensors[name] = detached(c.tensors[name]);
    return `${name}.data detached`;
  },
  function lengthMismatch(c, random) {
    const name = random.pick(Object.keys(c.tensors));
    const t = c.tensors[name];
    const length = t.data.length + random.pick([-1, 1, 7]);
    c.tensors[name] = { data: new Float32Array(Math.max(length, t.data.length === 0 ? 1 : 0)), dims: [...t.dims] };
    return `${name} with ${c.tensors[name].data.length} elements for dims [${t.dims}]`;
  },
  function badDim(c, random) {
    const name = random.pick(Object.keys(c.tensors));
    const t = c.tensors[name];
    const dims = [...t.dims];
    const axis = random.int(0, dims.length - 1);
    dims[axis] = random.pick([-1, 1.5, NaN, Infinity, '2', 2 ** 32, 2 ** 53]);
    c.tensors[name] = { data: t.data, dims };
    return `${name}.dims[${axis}] = ${String(dims[axis])}`;
  },
  function wrongRank(c, random) {
    const name = random.pick(Object.keys(c.tensors));
    const t = c.tensors[name];
    const dims = random.chance(0.5) ? [...t.dims, 1] : [product(t.dims)];
    c.tensors[name] = { data: t.data, dims };
    return `${name} reshaped to rank ${dims.length}`;
  },
  function zeroDim(c, random) {
    const name = random.pick(Object.keys(c.positiveAxes));
    const axis = random.pick(c.positiveAxes[name]);
    const dims = [...c.tensors[name].dims];
    dims[axis] = 0;
    c.tensors[name] = withDims(c.tensors[name], dims);
    return `${name}.dims[${axis}] = 0`;
  },
  function conflictingDim(c, random) {
    const [name, axis] = random.pick(c.conflictingAxes);
    const dims = [...c.tensors[name].dims];
    dims[axis] += 1;
    c.tensors[name] = withDims(c.tensors[name], dims);
    return `${name}.dims[${axis}] changed to ${dims[axis]}`;
  },
  function badOption(c, random) {
    const bad = random.pick(c.badOptions);
    c.options = { ...c.options, ...bad };
    return `options ${Object.keys(bad).join(', ')} = ${Object.values(bad).map(String).join(', ')}`;
  },
  function optionsNotAnObject(c, random) {
    c.options = random.pick([null, 1, 'scale', [1], true]);
    return `options = ${String(c.options)}`;
  },
];

// Returns an object whose data and dims getters give the tensor's values on
// the first read and an unrelated short tensor on later reads. A function
// that reads each argument once never reads the short one.
function unstableTensor(tensor) {
  let dataReads = 0;
  let dimsReads = 0;
  return {
    get data() {
      dataReads += 1;
      return dataReads === 1 ? tensor.data : new Float32Array(1);
    },
    get dims() {
      dimsReads += 1;
      return dimsReads === 1 ? tensor.dims : [1];
    },
  };
}

// Mutations that replace or reshape a tensor need the call to have one.
function applies(mutation, c) {
  if (mutation.name === 'badOption' || mutation.name === 'optionsNotAnObject') return true;
  if (mutation.name === 'zeroDim') return Object.keys(c.positiveAxes).length > 0;
  if (mutation.name === 'conflictingDim') return c.conflictingAxes.length > 0;
  return Object.keys(c.tensors).length > 0;
}

/**
 * Builds call number `index` of a run: an operation, its tensors and options
 * and, for a valid call, the expected result. About half the calls are
 * mutated into invalid ones. A quarter of the valid ones carry NaN or ±∞,
 * and a tenth pass one tensor through getters that change after one read.
 */
export function buildCall(seed, index) {
  const random = makeRandom(seed * 7919 + index * 104729 + 1);
  const operation = random.pick(operations);
  const c = operation.build(random);
  let mutation = null;
  if (random.chance(0.5)) {
    mutation = random.pick(mutations.filter((m) => applies(m, c)))(c, random);
  } else if (Object.keys(c.specialValues).length > 0 && random.chance(0.25)) {
    const name = random.pick(Object.keys(c.specialValues));
    injectSpecialValues(random, c.tensors[name], c.specialValues[name]);
  }

  const passed = { ...c.tensors };
  const names = Object.keys(passed);
  // An in-place call returns the tensor it was given, so that one stays plain.
  if (!mutation && !c.inPlace && names.length > 0 && random.chance(0.1)) {
    const name = random.pick(names);
    passed[name] = unstableTensor(passed[name]);
  }
  return {
    operation: operation.name,
    mutation,
    invoke(ak) {
      c.beforeCall?.();
      return c.invoke(ak, passed, c.options);
    },
    inPlaceTarget: c.inPlace ? passed.x : null,
    expected: mutation ? null : () => c.expected(c.tensors, c.options),
  };
}
