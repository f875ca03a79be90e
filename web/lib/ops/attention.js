// Attention operations of the public API: attention and multiheadAttention.
import { callWithHeap } from '../heap.js';
import { checkOptionKeys, numberOption } from '../options.js';
import { Tensor, checkTensor, formatDims } from '../tensor.js';
import { requireEqual, requirePositive, requireRank } from './shape-checks.js';

const LAYOUT_BHSD = 0;

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


/** Returns the attention operations bound to an instantiated module. */
export function attentionOps(module) {
  /**
   * softmax(q·kᵀ·scale)·v. Rank 3: (batch, seq, dim) as one head; rank 4:
   * (batch, heads, seq, headDim), with k/v heads dividing q heads.
   */
  function attention(q, k, v, options) {
    const op = 'attention';
    const opts = checkOptionKeys(op, options, ['scale']);
    const scale = numberOption(op, opts, 'scale', undefined, { float32: true });
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
    const scale = numberOption(op, opts, 'scale', undefined, { float32: true });
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

  return { attention, multiheadAttention };
}
