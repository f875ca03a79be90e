// Public entry point of the attnkit package.
import { callWithHeap } from './heap.js';
import { instantiateModule } from './load-module.js';
import { booleanOption, checkOptionKeys, numberOption } from './options.js';
import { Tensor, checkTensor, formatDims } from './tensor.js';

export { Tensor };

const LAYOUT_BHSD = 0;

function requirePositive(op, name, dims, axis, axisName) {
  if (dims[axis] === 0) {
    throw new RangeError(`${op}: ${name} ${axisName} (dims[${axis}]) must be positive, got 0 in dims ${formatDims(dims)}`);
  }
}

function requireRank(op, name, tensor, ranks) {
  if (!ranks.includes(tensor.dims.length)) {
    throw new RangeError(
      `${op}: ${name} must have rank ${ranks.join(' or ')}, got rank ${tensor.dims.length} (dims ${formatDims(tensor.dims)})`,
    );
  }
}

function requireEqual(op, what, a, aName, b, bName) {
  if (a !== b) {
    throw new RangeError(`${op}: ${what} of ${aName} (${a}) and ${bName} (${b}) must be equal`);
  }
}

// Reads q, k, v of rank 3 (batch, seq, dim) or rank 4 (batch, heads, seq,
// dim) into one shape object, checking that they agree.
function attentionShape(op, q, k, v) {
  checkTensor(op, 'q', q);
  checkTensor(op, 'k', k);
  checkTensor(op, 'v', v);
  requireRank(op, 'q', q, [3, 4]);
  requireRank(op, 'k', k, [q.dims.length]);
  requireRank(op, 'v', v, [q.dims.length]);

  // Rank 3 is one head: insert a heads axis of 1.
  const [qd, kd, vd] = [q.dims, k.dims, v.dims].map((d) => (d.length === 3 ? [d[0], 1, d[1], d[2]] : Array.from(d)));
  const headsAxisName = q.dims.length === 4 ? 'heads' : null;
  for (const [name, dims] of [['q', q.dims], ['k', k.dims], ['v', v.dims]]) {
    requirePositive(op, name, dims, 0, 'batch');
    if (headsAxisName) requirePositive(op, name, dims, 1, 'heads');
    requirePositive(op, name, dims, dims.length - 1, 'head size');
  }
  requireEqual(op, 'batch sizes', qd[0], 'q', kd[0], 'k');
  requireEqual(op, 'batch sizes', qd[0], 'q', vd[0], 'v');
  requireEqual(op, 'head counts', kd[1], 'k', vd[1], 'v');
  requireEqual(op, 'sequence lengths', kd[2], 'k', vd[2], 'v');
  requireEqual(op, 'head sizes', qd[3], 'q', kd[3], 'k');
  if (qd[1] % kd[1] !== 0) {
    throw new RangeError(`${op}: q heads (${qd[1]}) must be a multiple of k heads (${kd[1]})`);
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

function createApi(module) {
  const version = module.version();
  const simd = module.simd();

  /**
   * softmax(q·kᵀ·scale)·v. Rank 3: (batch, seq, dim) as one head; rank 4:
   * (batch, heads, seq, headDim), with k/v heads dividing q heads.
   */
  function attention(q, k, v, options) {
    const op = 'attention';
    const opts = checkOptionKeys(op, options, ['scale']);
    const scale = numberOption(op, opts, 'scale', undefined);
    const shape = attentionShape(op, q, k, v);
    const outDims =
      q.dims.length === 3
        ? [shape.batch, shape.qSeqLen, shape.vHeadDim]
        : [shape.batch, shape.numHeads, shape.qSeqLen, shape.vHeadDim];
    const outLength = outDims.reduce((a, b) => a * b, 1);

    const [out] = callWithHeap(module, op, [q.data, k.data, v.data], [outLength], ([qp, kp, vp], [op0]) =>
      module.attention(qp, kp, vp, op0, {
        ...shape,
        layout: LAYOUT_BHSD,
        outLayout: LAYOUT_BHSD,
        hasScale: scale !== undefined,
        scale: scale ?? 0,
      }),
    );
    return new Tensor(out, outDims);
  }

  /**
   * Attention per head on projected q, k, v (batch, heads, seq, headDim),
   * heads concatenated to (batch, seq, E), then out = concat · oᵀ (+ outBias).
   */
  function multiheadAttention(q, k, v, o, options) {
    const op = 'multiheadAttention';
    const opts = checkOptionKeys(op, options, ['scale', 'outBias']);
    const scale = numberOption(op, opts, 'scale', undefined);
    checkTensor(op, 'q', q);
    requireRank(op, 'q', q, [4]);
    const shape = attentionShape(op, q, k, v);
    requireEqual(op, 'head counts', shape.numHeads, 'q', shape.numKvHeads, 'k');
    requireEqual(op, 'head sizes', shape.headDim, 'q', shape.vHeadDim, 'v');
    const embed = shape.numHeads * shape.headDim;
    checkTensor(op, 'o', o);
    if (o.dims.length !== 2 || o.dims[0] !== embed || o.dims[1] !== embed) {
      throw new RangeError(`${op}: o must have dims [${embed}, ${embed}] (E = heads·headDim), got ${formatDims(o.dims)}`);
    }
    let bias = null;
    if (opts.outBias !== undefined) {
      checkTensor(op, 'outBias', opts.outBias);
      if (opts.outBias.dims.length !== 1 || opts.outBias.dims[0] !== embed) {
        throw new RangeError(`${op}: outBias must have dims [${embed}], got ${formatDims(opts.outBias.dims)}`);
      }
      bias = opts.outBias.data;
    }
    const outDims = [shape.batch, shape.qSeqLen, embed];
    const outLength = shape.batch * shape.qSeqLen * embed;

    const [out] = callWithHeap(
      module,
      op,
      [q.data, k.data, v.data, o.data, bias],
      [outLength],
      ([qp, kp, vp, wp, bp], [outPtr]) =>
        module.multiheadAttention(qp, kp, vp, wp, bp, outPtr, {
          batch: shape.batch,
          numHeads: shape.numHeads,
          qSeqLen: shape.qSeqLen,
          kvSeqLen: shape.kvSeqLen,
          headDim: shape.headDim,
          hasScale: scale !== undefined,
          scale: scale ?? 0,
        }),
    );
    return new Tensor(out, outDims);
  }

  /**
   * Rotary position embedding of x (batch, seq, heads, headDim): pair i of
   * the token at position m turns by m·base^(−2i/headDim).
   */
  function rope(x, options) {
    const op = 'rope';
    const opts = checkOptionKeys(op, options, ['base', 'interleaved', 'positionOffset']);
    const base = numberOption(op, opts, 'base', 10000, { positive: true });
    const interleaved = booleanOption(op, opts, 'interleaved', true);
    const positionOffset = numberOption(op, opts, 'positionOffset', 0, { integer: true });
    checkTensor(op, 'x', x);
    requireRank(op, 'x', x, [4]);
    const [batch, seqLen, numHeads, headDim] = x.dims;
    requirePositive(op, 'x', x.dims, 0, 'batch');
    requirePositive(op, 'x', x.dims, 2, 'heads');
    if (headDim === 0 || headDim % 2 !== 0) {
      throw new RangeError(`${op}: headDim must be even and positive, got ${headDim} in dims ${formatDims(x.dims)}`);
    }
    if (Math.abs(positionOffset) > 2 ** 53 - 1 - seqLen) {
      throw new RangeError(`${op}: positionOffset must be a safe integer, got ${positionOffset}`);
    }

    const [out] = callWithHeap(module, op, [x.data], [x.data.length], ([xp], [outPtr]) =>
      module.rope(xp, outPtr, { batch, seqLen, numHeads, headDim, base, interleaved, positionOffset }),
    );
    return new Tensor(out, [...x.dims]);
  }

  return Object.freeze({ version, simd, attention, multiheadAttention, rope });
}

const loaded = new Map();

/**
 * Loads the WebAssembly module and returns the attnkit API. Calls with no
 * options share one instance; options.wasmBinary or options.locateFile
 * create a new one.
 */
export function loadAttnkit(options = {}) {
  const custom = options.wasmBinary !== undefined || options.locateFile !== undefined;
  const key = 'default';
  if (!custom && loaded.has(key)) return loaded.get(key);
  const promise = instantiateModule(options).then(createApi);
  if (!custom) {
    loaded.set(key, promise);
    promise.catch(() => loaded.delete(key));
  }
  return promise;
}
