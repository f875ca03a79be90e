// Option and shape parsing of the attention operations: turns the public
// options (ONNX Attention's attributes and optional inputs under camelCase
// names) into the shape, the flags and the float32 buffers the binding takes.
import { float16ToFloat32 } from '../float16.js';
import { checkOptionKeys, numberOption } from '../options.js';
import { checkTensor, describe, formatDims } from '../tensor.js';
import { requireEqual, requirePositive, requireRank } from './shape-checks.js';

export const ATTENTION_OPTIONS = [
  'scale',
  'softcap',
  'causal',
  'qNumHeads',
  'kvNumHeads',
  'mask',
  'pastKey',
  'pastValue',
  'nonpadKvSeqlen',
  'qkMatmulOutputMode',
  'softmaxPrecision',
];

// Codes of attnkit::CausalAlignment.
const CAUSAL_CODES = { false: 0, true: 1, 'top-left': 2, 'bottom-right': 3 };
// Code of attnkit::MaskType::kFloat. Bool masks are sent as 0 / −inf floats
// because the heap helpers copy float32 data only.
const MASK_FLOAT = 2;

// Checks dims of a tensor whose data is not float: non-negative integers
// whose product is `length`.
function checkDims(op, name, dims, length) {
  if (!Array.isArray(dims) && !ArrayBuffer.isView(dims)) {
    throw new TypeError(`${op}: ${name}.dims must be an array of integers, got ${describe(dims)}`);
  }
  let size = 1;
  Array.from(dims).forEach((d, i) => {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      throw new RangeError(`${op}: ${name}.dims[${i}] must be a non-negative integer, got ${String(d)} in dims ${formatDims(dims)}`);
    }
    size *= d;
  });
  if (size !== length) {
    throw new RangeError(`${op}: ${name} has ${length} elements, but dims ${formatDims(dims)} need ${size}`);
  }
}

// ONNX TensorProto codes accepted by softmaxPrecision. The softmax always
// runs in float32, which is at least as precise as each of these.
const SOFTMAX_PRECISIONS = { 1: 'float32', 10: 'float16', 16: 'bfloat16' };

/** Returns the values of a float32 or float16 tensor as a Float32Array. */
export function floatData(tensor) {
  return tensor.data instanceof Uint16Array ? float16ToFloat32(tensor.data) : tensor.data;
}

function causalOption(op, options) {
  const value = options.causal;
  if (value === undefined) return 0;
  if (Object.prototype.hasOwnProperty.call(CAUSAL_CODES, String(value)) && (typeof value === 'boolean' || typeof value === 'string')) {
    return CAUSAL_CODES[String(value)];
  }
  throw new TypeError(`${op}: causal must be true, false, 'top-left' or 'bottom-right', got ${describe(value)}`);
}

function headCountOption(op, options, name) {
  return numberOption(op, options, name, undefined, { positive: true, integer: true });
}

function softmaxPrecisionOption(op, options) {
  const value = options.softmaxPrecision;
  if (value === undefined) return;
  const known = Object.entries(SOFTMAX_PRECISIONS).map(([code, name]) => `${code} (${name})`).join(', ');
  if (typeof value === 'number' && SOFTMAX_PRECISIONS[value]) return;
  if (typeof value === 'string' && Object.values(SOFTMAX_PRECISIONS).includes(value)) return;
  if (value === 11 || value === 'float64') {
    throw new RangeError(`${op}: softmaxPrecision ${value} (float64) is not supported; the softmax runs in float32. Expected one of ${known}`);
  }
  throw new RangeError(`${op}: softmaxPrecision must be one of ${known}, got ${describe(value)}`);
}

// Splits q, k, v into [batch, heads, seq, dim] sizes. Rank 4 reads the heads
// from the dims; rank 3 is [batch, seq, heads·dim] with qNumHeads (default 1)
// and kvNumHeads (default qNumHeads) heads.
function qkvShape(op, q, k, v, options) {
  for (const [name, t] of [['q', q], ['k', k], ['v', v]]) checkTensor(op, name, t, { allowFloat16: true });
  requireRank(op, 'q', q, [3, 4]);
  requireRank(op, 'k', k, [q.dims.length]);
  requireRank(op, 'v', v, [q.dims.length]);
  const qHeadsOption = headCountOption(op, options, 'qNumHeads');
  const kvHeadsOption = headCountOption(op, options, 'kvNumHeads');
  for (const [name, t] of [['q', q], ['k', k], ['v', v]]) {
    requirePositive(op, name, t.dims, 0, 'batch');
    if (t.dims.length === 4) requirePositive(op, name, t.dims, 1, 'heads');
    requirePositive(op, name, t.dims, t.dims.length - 1, t.dims.length === 4 ? 'head size' : 'hidden size (heads·headDim)');
  }

  let qd;
  let kd;
  let vd;
  if (q.dims.length === 4) {
    [qd, kd, vd] = [q.dims, k.dims, v.dims].map((d) => Array.from(d));
    if (qHeadsOption !== undefined && qHeadsOption !== qd[1]) {
      throw new RangeError(`${op}: qNumHeads (${qHeadsOption}) does not match q heads in dims ${formatDims(q.dims)}`);
    }
    if (kvHeadsOption !== undefined && kvHeadsOption !== kd[1]) {
      throw new RangeError(`${op}: kvNumHeads (${kvHeadsOption}) does not match k heads in dims ${formatDims(k.dims)}`);
    }
  } else {
    const qHeads = qHeadsOption ?? 1;
    const kvHeads = kvHeadsOption ?? qHeads;
    const split = (name, dims, heads, option) => {
      if (dims[2] % heads !== 0) {
        throw new RangeError(
          `${op}: ${name} hidden size ${dims[2]} (dims ${formatDims(dims)}) is not divisible by ${option} (${heads})`,
        );
      }
      return [dims[0], heads, dims[1], dims[2] / heads];
    };
    qd = split('q', q.dims, qHeads, 'qNumHeads');
    kd = split('k', k.dims, kvHeads, 'kvNumHeads');
    vd = split('v', v.dims, kvHeads, 'kvNumHeads');
  }
  requireEqual(op, 'batch sizes', qd[0], 'q', kd[0], 'k');
  requireEqual(op, 'batch sizes', qd[0], 'q', vd[0], 'v');
  requireEqual(op, 'head counts', kd[1], 'k', vd[1], 'v');
  requireEqual(op, 'sequence lengths', kd[2], 'k', vd[2], 'v');
  requireEqual(op, 'head sizes', qd[3], 'q', kd[3], 'k');
  if (qd[1] % kd[1] !== 0) {
    throw new RangeError(
      `${op}: kvNumHeads (${kd[1]}) must divide qNumHeads (${qd[1]}); q dims ${formatDims(q.dims)}, k dims ${formatDims(k.dims)}`,
    );
  }
  return {
    batch: qd[0],
    numHeads: qd[1],
    numKvHeads: kd[1],
    qSeqLen: qd[2],
    kvSeqLen: kd[2],
    headDim: qd[3],
    vHeadDim: vd[3],
  };
}

function pastTensors(op, options, shape) {
  const { pastKey, pastValue } = options;
  if (pastKey === undefined && pastValue === undefined) return { pastSeqLen: 0, pastKey: null, pastValue: null };
  if (pastKey === undefined || pastValue === undefined) {
    throw new TypeError(`${op}: pastKey and pastValue must be given together, got only ${pastKey === undefined ? 'pastValue' : 'pastKey'}`);
  }
  checkTensor(op, 'pastKey', pastKey, { allowFloat16: true });
  checkTensor(op, 'pastValue', pastValue, { allowFloat16: true });
  const pastLen = pastKey.dims[2];
  const wantKey = [shape.batch, shape.numKvHeads, pastLen, shape.headDim];
  const wantValue = [shape.batch, shape.numKvHeads, pastLen, shape.vHeadDim];
  const same = (dims, want) => dims.length === 4 && want.every((d, i) => d === dims[i]);
  if (!same(pastKey.dims, wantKey)) {
    throw new RangeError(
      `${op}: pastKey dims ${formatDims(pastKey.dims)} must be [batch, kvHeads, pastLen, headDim] = ${formatDims(wantKey.map((d, i) => (i === 2 ? 'pastLen' : d)))}`,
    );
  }
  if (!same(pastValue.dims, wantValue)) {
    throw new RangeError(
      `${op}: pastValue dims ${formatDims(pastValue.dims)} must be [batch, kvHeads, pastLen, vHeadDim] = ${formatDims(wantValue)}`,
    );
  }
  return { pastSeqLen: pastLen, pastKey: floatData(pastKey), pastValue: floatData(pastValue) };
}

// Returns the mask as float32 values (a bool mask becomes 0 / −inf) with its
// type code and dims. The C++ entry point checks the broadcasting.
function maskTensor(op, options) {
  const mask = options.mask;
  if (mask === undefined) return { maskType: 0, mask: null, maskDims: null };
  if (mask === null || typeof mask !== 'object' || !(mask.data instanceof Uint8Array || mask.data instanceof Float32Array || mask.data instanceof Uint16Array)) {
    throw new TypeError(
      `${op}: mask.data must be a Uint8Array (bool, 1 = attend), a Float32Array or a Uint16Array of float16 bits (added to the scores), got ${describe(mask?.data ?? mask)}`,
    );
  }
  const isBool = mask.data instanceof Uint8Array;
  if (isBool) checkDims(op, 'mask', mask.dims, mask.data.length);
  else checkTensor(op, 'mask', mask, { allowFloat16: true });
  if (mask.dims.length < 2 || mask.dims.length > 4) {
    throw new RangeError(`${op}: mask must have rank 2, 3 or 4, got rank ${mask.dims.length} (dims ${formatDims(mask.dims)})`);
  }
  if (isBool) {
    const values = new Float32Array(mask.data.length);
    for (let i = 0; i < values.length; i += 1) values[i] = mask.data[i] ? 0 : -Infinity;
    return { maskType: MASK_FLOAT, mask: values, maskDims: Array.from(mask.dims) };
  }
  return { maskType: MASK_FLOAT, mask: floatData(mask), maskDims: Array.from(mask.dims) };
}

function nonpadOption(op, options, shape, totalKvLen) {
  const value = options.nonpadKvSeqlen;
  if (value === undefined) return null;
  const data = value?.data ?? value;
  if (!(data instanceof BigInt64Array || data instanceof Int32Array || Array.isArray(data))) {
    throw new TypeError(`${op}: nonpadKvSeqlen must be a tensor with BigInt64Array or Int32Array data, got ${describe(data)}`);
  }
  if (value?.dims !== undefined && (value.dims.length !== 1 || value.dims[0] !== shape.batch)) {
    throw new RangeError(`${op}: nonpadKvSeqlen dims ${formatDims(value.dims)} must be [batch] = [${shape.batch}]`);
  }
  if (data.length !== shape.batch) {
    throw new RangeError(`${op}: nonpadKvSeqlen has ${data.length} values, expected batch = ${shape.batch}`);
  }
  const lengths = Array.from(data, (x) => Number(x));
  lengths.forEach((n, b) => {
    if (!Number.isInteger(n) || n < 0 || n > totalKvLen) {
      throw new RangeError(`${op}: nonpadKvSeqlen[${b}] is ${String(data[b])}, expected an integer in [0, ${totalKvLen}]`);
    }
  });
  return lengths;
}

/**
 * Checks the inputs and options of an attention call and returns what the
 * binding needs: { shape, args, inputs, maskDims, nonpad, scoresMode,
 * float16: { q, k, v } }.
 */
export function parseAttention(op, q, k, v, options) {
  const opts = checkOptionKeys(op, options, ATTENTION_OPTIONS);
  const scale = numberOption(op, opts, 'scale', undefined, { float32: true });
  const softcap = numberOption(op, opts, 'softcap', 0, { float32: true });
  if (softcap < 0) {
    throw new RangeError(`${op}: softcap must be >= 0 (0 turns it off), got ${softcap}`);
  }
  const causal = causalOption(op, opts);
  softmaxPrecisionOption(op, opts);
  const scoresMode = numberOption(op, opts, 'qkMatmulOutputMode', undefined, { integer: true });
  if (scoresMode !== undefined && (scoresMode < 0 || scoresMode > 3)) {
    throw new RangeError(`${op}: qkMatmulOutputMode must be 0, 1, 2 or 3, got ${scoresMode}`);
  }

  const shape = qkvShape(op, q, k, v, opts);
  const past = pastTensors(op, opts, shape);
  if (opts.nonpadKvSeqlen !== undefined && past.pastKey) {
    throw new RangeError(`${op}: nonpadKvSeqlen cannot be combined with pastKey/pastValue`);
  }
  const totalKvLen = past.pastSeqLen + shape.kvSeqLen;
  const mask = maskTensor(op, opts);
  const nonpad = nonpadOption(op, opts, shape, totalKvLen);
  const rank3 = q.dims.length === 3;

  return {
    shape,
    rank3,
    totalKvLen,
    scoresMode,
    maskDims: mask.maskDims,
    nonpad,
    inputs: {
      q: floatData(q),
      k: floatData(k),
      v: floatData(v),
      mask: mask.mask,
      pastKey: past.pastKey,
      pastValue: past.pastValue,
    },
    // The shape fields are copied one by one. In Node 20, an object literal
    // that spread `shape` and then added the nine new keys below took about
    // 7 µs per call, a third of the time of a small attention call.
    args: {
      batch: shape.batch,
      numHeads: shape.numHeads,
      numKvHeads: shape.numKvHeads,
      qSeqLen: shape.qSeqLen,
      kvSeqLen: shape.kvSeqLen,
      headDim: shape.headDim,
      vHeadDim: shape.vHeadDim,
      layout: rank3 ? 1 : 0,
      outLayout: rank3 ? 1 : 0,
      hasScale: scale !== undefined,
      scale: scale ?? 0,
      softcap,
      causal,
      maskType: mask.maskType,
      pastSeqLen: past.pastSeqLen,
      scoresMode: scoresMode ?? 0,
    },
    float16: {
      q: q.data instanceof Uint16Array,
      k: k.data instanceof Uint16Array,
      v: v.data instanceof Uint16Array,
    },
  };
}
