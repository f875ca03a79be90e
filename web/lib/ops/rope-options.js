// Checks of the RoPE options that are objects: frequency scaling, position
// ids and precomputed cos/sin caches. Each function throws a TypeError (wrong
// type, missing or conflicting option) or a RangeError (wrong value or size)
// whose message names the option.
import { booleanOption, numberOption } from '../options.js';
import { checkTensor, describe, formatDims } from '../tensor.js';

// Values of attnkit::RopeScalingType.
const SCALING_TYPES = { linear: 1, ntk: 2, yarn: 3, llama3: 4 };

// Keys each scaling type reads, as in the Hugging Face transformers rope
// configs (factor, original_max_position_embeddings, beta_fast, ...).
const SCALING_KEYS = {
  linear: { required: ['factor'], optional: [] },
  ntk: { required: ['factor', 'originalMaxPositions', 'currentLength'], optional: [] },
  yarn: {
    required: ['factor', 'originalMaxPositions'],
    optional: ['betaFast', 'betaSlow', 'attentionFactor', 'mscale', 'mscaleAllDim', 'truncate'],
  },
  llama3: { required: ['factor', 'originalMaxPositions', 'lowFreqFactor', 'highFreqFactor'], optional: [] },
};

// Defaults of the binding's RopeScalingArgs; `type: 0` is no scaling.
const NO_SCALING = {
  type: 0,
  factor: 1,
  originalMaxPositions: 0,
  currentLength: 0,
  betaFast: 32,
  betaSlow: 1,
  truncate: true,
  attentionFactor: 1,
  hasAttentionFactor: false,
  mscale: 0,
  mscaleAllDim: 0,
  lowFreqFactor: 1,
  highFreqFactor: 4,
};

/** Checks the `scaling` option and returns the binding's scaling fields. */
export function scalingArgs(op, scaling) {
  if (scaling === undefined) return { ...NO_SCALING };
  if (scaling === null || typeof scaling !== 'object' || Array.isArray(scaling)) {
    throw new TypeError(`${op}: scaling must be an object such as { type: 'linear', factor: 2 }, got ${describe(scaling)}`);
  }
  const names = Object.keys(SCALING_TYPES).map((name) => `'${name}'`).join(', ');
  const { type } = scaling;
  if (type === undefined) {
    throw new TypeError(`${op}: scaling.type is missing; expected one of ${names}`);
  }
  if (typeof type !== 'string') {
    throw new TypeError(`${op}: scaling.type must be a string, one of ${names}, got ${describe(type)}`);
  }
  if (!Object.hasOwn(SCALING_TYPES, type)) {
    throw new RangeError(`${op}: unknown scaling.type '${type}'; expected one of ${names}`);
  }

  const { required, optional } = SCALING_KEYS[type];
  const allowed = ['type', ...required, ...optional];
  for (const key of Object.keys(scaling)) {
    if (!allowed.includes(key)) {
      throw new TypeError(`${op}: unknown option 'scaling.${key}' for scaling type '${type}'; expected ${allowed.join(', ')}`);
    }
  }
  for (const key of required) {
    if (scaling[key] === undefined) {
      throw new TypeError(`${op}: scaling.${key} is required for scaling type '${type}'`);
    }
  }

  // numberOption names the option by its key, so the keys carry the prefix.
  const prefixed = Object.fromEntries(Object.entries(scaling).map(([key, value]) => [`scaling.${key}`, value]));
  const positive = (key, fallback) => numberOption(op, prefixed, `scaling.${key}`, fallback, { positive: true });
  const args = { ...NO_SCALING, type: SCALING_TYPES[type], factor: positive('factor', 1) };
  if (type === 'ntk' || type === 'yarn' || type === 'llama3') {
    args.originalMaxPositions = positive('originalMaxPositions', 0);
  }
  if (type === 'ntk') args.currentLength = positive('currentLength', 0);
  if (type === 'yarn') {
    args.betaFast = positive('betaFast', 32);
    args.betaSlow = positive('betaSlow', 1);
    args.truncate = booleanOption(op, prefixed, 'scaling.truncate', true);
    args.mscale = numberOption(op, prefixed, 'scaling.mscale', 0);
    args.mscaleAllDim = numberOption(op, prefixed, 'scaling.mscaleAllDim', 0);
    if (scaling.attentionFactor !== undefined) {
      args.attentionFactor = positive('attentionFactor', 1);
      args.hasAttentionFactor = true;
    }
  }
  if (type === 'llama3') {
    args.lowFreqFactor = positive('lowFreqFactor', 1);
    args.highFreqFactor = positive('highFreqFactor', 4);
    if (!(args.highFreqFactor > args.lowFreqFactor)) {
      throw new RangeError(
        `${op}: scaling.highFreqFactor (${args.highFreqFactor}) must be greater than scaling.lowFreqFactor (${args.lowFreqFactor})`,
      );
    }
  }
  return args;
}

/**
 * Checks `positionIds` ({ data: Int32Array | BigInt64Array, dims: [batch, seq] })
 * and returns its values as an Int32Array, the type the kernel reads.
 */
export function positionIdsArray(op, positionIds, batch, seqLen) {
  if (positionIds === null || typeof positionIds !== 'object') {
    throw new TypeError(`${op}: positionIds must be { data: Int32Array | BigInt64Array, dims: [batch, seq] }, got ${describe(positionIds)}`);
  }
  const { data, dims } = positionIds;
  if (!(data instanceof Int32Array) && !(data instanceof BigInt64Array)) {
    throw new TypeError(`${op}: positionIds.data must be an Int32Array or a BigInt64Array, got ${describe(data)}`);
  }
  if (!Array.isArray(dims) && !ArrayBuffer.isView(dims)) {
    throw new TypeError(`${op}: positionIds.dims must be an array of integers, got ${describe(dims)}`);
  }
  if (dims.length !== 2 || dims[0] !== batch || dims[1] !== seqLen) {
    throw new RangeError(`${op}: positionIds dims ${formatDims(dims)} must be [batch, seq] = [${batch}, ${seqLen}]`);
  }
  if (data.length !== batch * seqLen) {
    throw new RangeError(`${op}: positionIds has ${data.length} elements, but dims ${formatDims(dims)} need ${batch * seqLen}`);
  }
  if (data instanceof Int32Array) return data;

  const ids = new Int32Array(data.length);
  for (let i = 0; i < data.length; i += 1) {
    const value = data[i];
    if (value < -(2n ** 31n) || value >= 2n ** 31n) {
      const at = `[${Math.floor(i / seqLen)}, ${i % seqLen}]`;
      throw new RangeError(`${op}: positionIds${at} is ${value}, outside the 32-bit integer range the kernel accepts`);
    }
    ids[i] = Number(value);
  }
  return ids;
}

/**
 * Checks cosCache and sinCache and returns { rows, width, perToken }:
 * rank 2 (maxPositions, width) is indexed by position, rank 3
 * (batch, seq, width) has one row per token. width is rotaryDim/2 or
 * rotaryDim (full width).
 */
export function cacheLayout(op, cosCache, sinCache, { batch, seqLen, rotaryDim }) {
  if ((cosCache === undefined) !== (sinCache === undefined)) {
    const missing = cosCache === undefined ? 'cosCache' : 'sinCache';
    throw new TypeError(`${op}: ${missing} is missing; cosCache and sinCache must be given together`);
  }
  checkTensor(op, 'cosCache', cosCache);
  checkTensor(op, 'sinCache', sinCache);
  const { dims } = cosCache;
  if (dims.length !== 2 && dims.length !== 3) {
    throw new RangeError(
      `${op}: cosCache must have rank 2 (maxPositions, width) or 3 (batch, seq, width), got dims ${formatDims(dims)}`,
    );
  }
  if (sinCache.dims.length !== dims.length || sinCache.dims.some((d, i) => d !== dims[i])) {
    throw new RangeError(`${op}: sinCache dims ${formatDims(sinCache.dims)} must equal cosCache dims ${formatDims(dims)}`);
  }
  const width = dims[dims.length - 1];
  if (width !== rotaryDim / 2 && width !== rotaryDim) {
    throw new RangeError(
      `${op}: cosCache rows have ${width} values, expected rotaryDim/2 = ${rotaryDim / 2} or rotaryDim = ${rotaryDim}` +
        ' (set rotaryDim for partial rotation)',
    );
  }
  if (dims.length === 3) {
    if (dims[0] !== batch || dims[1] !== seqLen) {
      throw new RangeError(`${op}: a rank-3 cosCache must have dims [batch, seq, width] = [${batch}, ${seqLen}, ${width}], got ${formatDims(dims)}`);
    }
    return { rows: batch * seqLen, width, perToken: true };
  }
  if (dims[0] === 0) {
    throw new RangeError(`${op}: cosCache has no rows (dims ${formatDims(dims)})`);
  }
  return { rows: dims[0], width, perToken: false };
}
