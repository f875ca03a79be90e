// Attention operations of the public API: attention, attentionWithCache,
// multiheadAttention and multiheadAttentionForward.
import { float32ToFloat16 } from '../float16.js';
import { callWithHeap } from '../heap.js';
import { checkOptionKeys, numberOption } from '../options.js';
import { Tensor, checkTensor, formatDims } from '../tensor.js';
import { parseAttention } from './attention-args.js';
import { multiheadForwardOp } from './multihead-forward.js';
import { requireEqual, requireRank } from './shape-checks.js';

const product = (dims) => dims.reduce((a, b) => a * b, 1);

// Returns a Tensor of float32 values, narrowed to float16 bits when asked.
function outputTensor(values, dims, asFloat16) {
  return new Tensor(asFloat16 ? float32ToFloat16(values) : values, dims);
}

/** Returns the attention operations bound to an instantiated module. */
export function attentionOps(module) {
  // Runs one attention call; `wantScores` and `wantPresent` select the
  // optional outputs. Returns { output, presentKey, presentValue, qkOutput }.
  function run(op, q, k, v, options, { wantPresent, wantScores }) {
    const p = parseAttention(op, q, k, v, options);
    const { shape } = p;
    const T = p.totalKvLen;
    const outDims = p.rank3
      ? [shape.batch, shape.qSeqLen, shape.numHeads * shape.vHeadDim]
      : [shape.batch, shape.numHeads, shape.qSeqLen, shape.vHeadDim];
    const presentKeyDims = [shape.batch, shape.numKvHeads, T, shape.headDim];
    const presentValueDims = [shape.batch, shape.numKvHeads, T, shape.vHeadDim];
    const scoresDims = [shape.batch, shape.numHeads, shape.qSeqLen, T];
    const scores = wantScores && p.scoresMode !== undefined;

    const lengths = [product(outDims)];
    if (wantPresent) lengths.push(product(presentKeyDims), product(presentValueDims));
    if (scores) lengths.push(product(scoresDims));
    const { inputs } = p;

    const results = callWithHeap(
      module,
      op,
      [inputs.q, inputs.k, inputs.v, inputs.mask, inputs.pastKey, inputs.pastValue],
      lengths,
      ([qp, kp, vp, maskp, pkp, pvp], outPtrs) => {
        const buffers = {
          q: qp,
          k: kp,
          v: vp,
          out: outPtrs[0],
          mask: maskp,
          pastKey: pkp,
          pastValue: pvp,
          presentKey: wantPresent ? outPtrs[1] : 0,
          presentValue: wantPresent ? outPtrs[2] : 0,
          scores: scores ? outPtrs[outPtrs.length - 1] : 0,
        };
        return module.attentionWithCache(buffers, p.args, p.maskDims, p.nonpad);
      },
    );

    return {
      output: outputTensor(results[0], outDims, p.float16.q),
      presentKey: wantPresent ? outputTensor(results[1], presentKeyDims, p.float16.k) : undefined,
      presentValue: wantPresent ? outputTensor(results[2], presentValueDims, p.float16.v) : undefined,
      qkOutput: scores ? outputTensor(results[results.length - 1], scoresDims, p.float16.q) : undefined,
    };
  }

  /**
   * softmax(q·kᵀ·scale + bias)·v with the options of ONNX Attention; see
   * attnkit.d.ts. Returns only the output tensor.
   */
  function attention(q, k, v, options) {
    return run('attention', q, k, v, options, { wantPresent: false, wantScores: false }).output;
  }

  /**
   * attention() that also returns the KV cache (presentKey, presentValue)
   * and, when qkMatmulOutputMode is given, the scores (qkOutput).
   */
  function attentionWithCache(q, k, v, options) {
    return run('attentionWithCache', q, k, v, options, { wantPresent: true, wantScores: true });
  }

  /**
   * Attention per head on projected q, k, v (batch, heads, seq, headDim),
   * heads concatenated to (batch, seq, E), then out = concat · oᵀ (+ outBias).
   */
  function multiheadAttention(q, k, v, o, options) {
    const op = 'multiheadAttention';
    const opts = checkOptionKeys(op, options, ['scale', 'outBias']);
    const scale = numberOption(op, opts, 'scale', undefined, { float32: true });
    for (const [name, t] of [['q', q], ['k', k], ['v', v]]) {
      checkTensor(op, name, t);
      requireRank(op, name, t, [4]);
    }
    const shape = parseAttention(op, q, k, v, {}).shape;
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

    const [out] = callWithHeap(module, op, [q.data, k.data, v.data, o.data, bias], [product(outDims)], ([qp, kp, vp, wp, bp], [outPtr]) =>
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

  return {
    attention,
    attentionWithCache,
    multiheadAttention,
    multiheadAttentionForward: multiheadForwardOp(module),
  };
}
