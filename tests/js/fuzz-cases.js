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
import {
  attentionReference,
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

const attention = {
  name: 'attention',
  build(random) {
    const rank = random.pick([3, 4]);
    const batch = random.int(1, 3);
    const kvHeads = rank === 3 ? 1 : random.int(1, 3);
    const heads = kvHeads * (rank === 3 ? 1 : random.int(1, 3));
    const qLen = random.int(0, 9);
    const kvLen = random.int(0, 70);
    const dim = random.int(1, 20);
    const vDim = random.int(1, 20);
    const dims = (h, len, d) => (rank === 3 ? [batch, len, d] : [batch, h, len, d]);

    const tensors = {
      q: randomTensor(random, dims(heads, qLen, dim)),
      k: randomTensor(random, dims(kvHeads, kvLen, dim)),
      v: randomTensor(random, dims(kvHeads, kvLen, vDim)),
    };
    const options = {};
    if (random.chance(0.5)) options.scale = random.next() * 4 - 2;

    const last = rank - 1;
    return {
      tensors,
      options,
      // A −∞ score on every key of a row gives zeros here but NaN in the
      // reference, so ±∞ goes into v only.
      specialValues: { q: [NaN], k: [NaN], v: [NaN, Infinity, -Infinity] },
      positiveAxes: {
        q: rank === 4 ? [0, 1, last] : [0, last],
        k: rank === 4 ? [0, 1, last] : [0, last],
        v: rank === 4 ? [0, 1, last] : [0, last],
      },
      // Changing one of these axes alone breaks the agreement of the shapes.
      conflictingAxes: [['k', 0], ['v', 0], ['k', last], ['v', last - 1], ...(rank === 4 ? [['v', 1]] : [])],
      badOptions: [{ scale: NaN }, { scale: Infinity }, { scale: 1e39 }, { scale: '0.5' }, { scale: null }, { scael: 1 }],
      invoke: (ak, t, o) => ak.attention(t.q, t.k, t.v, o),
      expected(t, o) {
        return {
          dims: dims(heads, qLen, vDim),
          data: attentionReference(t.q.data, t.k.data, t.v.data, { batch, heads, kvHeads, qLen, kvLen, dim, vDim, scale: o.scale }),
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
        return { pair: { cosCache: cos, sinCache: sin }, dims: [maxPositions, half] };
      },
    };
  },
};

export const operations = [attention, multiheadAttention, rope, ropeCache];

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
