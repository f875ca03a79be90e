// Attention operations of the public API: attention, attentionWithCache,
// multiheadAttention and multiheadAttentionForward.
import { float32ToFloat16 } from '../float16.js';
import { callWithHeap, isHeapResident, pendingOutput, streamUnits } from '../heap.js';
import { checkOptionKeys, numberOption } from '../options.js';
import { Tensor, checkTensor, formatDims } from '../tensor.js';
import { parseAttention } from './attention-args.js';
import { multiheadForwardOp } from './multihead-forward.js';
import { requireEqual, requireRank } from './shape-checks.js';

const product = (dims) => dims.reduce((a, b) => a * b, 1);

// Bytes of q, k, v and the result per piece when attention streams its
// inputs (streamPlan). NOTE: chosen on one machine (AMD EPYC, 1 MiB L2
// cache per core), where streaming took (a) from 13.3 to 13.0 ms, causal
// (c1024) from 125.7 to 121.7 ms and decode from 3.48 to 3.03 ms.
const STREAM_PIECE_BYTES = 1024 * 1024;

// Returns { units, unitsPerPiece, unitFloats, outputUnitFloats } when an
// attention call can run in pieces through small buffers, else null. A unit
// is one key/value head of one batch entry with its group of query heads.
// In the bhsd layout (rank 4) each unit's rows of q, k, v and the result
// are contiguous. Units are independent when there is no mask, cache or
// per-batch length.
// Calls whose tensors fit a few pieces, or that read any tensor from
// WebAssembly memory or write into `out`, keep the single copy. So does the
// threads build, because each piece woke the workers again: causal (c1024)
// with 2 threads took 74 ms in pieces against 66 ms in one call.
function streamPlan(module, p, threads, extraOutputs) {
  const { shape, inputs } = p;
  if (threads > 1 || extraOutputs || p.rank3 || inputs.mask || inputs.pastKey || p.nonpad) return null;
  if (pendingOutput(module)) return null;
  // An empty query has nothing to compute. The single copy keeps the
  // kernel's check of batch × heads, which a piece of fewer heads would pass.
  if (shape.qSeqLen === 0) return null;
  if ([inputs.q, inputs.k, inputs.v].some((array) => isHeapResident(module, array))) return null;
  const group = shape.numHeads / shape.numKvHeads;
  const unitFloats = [
    group * shape.qSeqLen * shape.headDim,
    shape.kvSeqLen * shape.headDim,
    shape.kvSeqLen * shape.vHeadDim,
  ];
  const outputUnitFloats = group * shape.qSeqLen * shape.vHeadDim;
  const unitBytes = 4 * (unitFloats[0] + unitFloats[1] + unitFloats[2] + outputUnitFloats);
  const units = shape.batch * shape.numKvHeads;
  const unitsPerPiece = Math.max(1, Math.floor(STREAM_PIECE_BYTES / unitBytes));
  if (units < 2 * unitsPerPiece) return null;
  return { units, unitsPerPiece, unitFloats, outputUnitFloats };
}

// Returns a Tensor of float32 values, narrowed to float16 bits when asked.
function outputTensor(values, dims, asFloat16) {
  return new Tensor(asFloat16 ? float32ToFloat16(values) : values, dims);
}

/**
 * Returns the attention operations bound to an instantiated module that runs
 * `threads` threads.
 */
export function attentionOps(module, threads) {
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

    const { inputs } = p;
    const plan = streamPlan(module, p, threads, wantPresent || scores);
    if (plan) {
      // A piece of `count` units runs as a call with batch `count`, one
      // key/value head and its `group` query heads.
      const group = shape.numHeads / shape.numKvHeads;
      const output = streamUnits(module, op, {
        ...plan,
        sources: [inputs.q, inputs.k, inputs.v],
        invoke: ([qp, kp, vp], outPtr, count) =>
          module.attentionWithCache(
            { q: qp, k: kp, v: vp, out: outPtr, mask: 0, pastKey: 0, pastValue: 0, presentKey: 0, presentValue: 0, scores: 0 },
            { ...p.args, batch: count, numHeads: group, numKvHeads: 1 },
            p.maskDims,
            p.nonpad,
          ),
      });
      return { output: outputTensor(output, outDims, p.float16.q) };
    }

    const lengths = [product(outDims)];
    if (wantPresent) lengths.push(product(presentKeyDims), product(presentValueDims));
    if (scores) lengths.push(product(scoresDims));

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
