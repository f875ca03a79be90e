// multiheadAttentionForward: torch.nn.functional.multi_head_attention_forward
// for batch-first inputs, with packed input projection weights.
import { callWithHeap } from '../heap.js';
import { booleanOption, checkOptionKeys, numberOption } from '../options.js';
import { Tensor, checkTensor, describe, formatDims } from '../tensor.js';

const OPTIONS = ['numHeads', 'attnMask', 'keyPaddingMask', 'causal', 'scale', 'needWeights', 'averageAttnWeights'];

function requireDims(op, name, tensor, want) {
  checkTensor(op, name, tensor);
  if (tensor.dims.length !== want.length || want.some((d, i) => d !== tensor.dims[i])) {
    throw new RangeError(`${op}: ${name} dims ${formatDims(tensor.dims)} must be ${formatDims(want)}`);
  }
}

// Checks a PyTorch-style mask: Uint8Array (1 = blocked, as PyTorch's bool
// masks) or Float32Array (added to the scores) with one of `allowedDims`.
function pytorchMask(op, name, mask, allowedDims) {
  if (mask === undefined) return null;
  const data = mask?.data;
  if (!(data instanceof Uint8Array || data instanceof Float32Array)) {
    throw new TypeError(
      `${op}: ${name}.data must be a Uint8Array (1 = masked out, as in PyTorch) or a Float32Array (added), got ${describe(data ?? mask)}`,
    );
  }
  const dims = Array.from(mask.dims ?? []);
  const match = allowedDims.find((want) => want.length === dims.length && want.every((d, i) => d === dims[i]));
  if (!match) {
    throw new RangeError(`${op}: ${name} dims ${formatDims(dims)} must be ${allowedDims.map(formatDims).join(' or ')}`);
  }
  const expected = dims.reduce((a, b) => a * b, 1);
  if (data.length !== expected) {
    throw new RangeError(`${op}: ${name} has ${data.length} elements, but dims ${formatDims(dims)} need ${expected}`);
  }
  return { data, dims, isBool: data instanceof Uint8Array };
}

// Sums attnMask and keyPaddingMask into one additive float mask of dims
// [batch or 1, heads or 1, qLen or 1, kvLen]; bool entries that are set
// become −inf.
function combineMasks(attnMask, paddingMask, { batch, numHeads, qLen, kvLen }) {
  const perHead = attnMask !== null && attnMask.dims.length === 3;
  const dims = [perHead || paddingMask ? batch : 1, perHead ? numHeads : 1, attnMask ? qLen : 1, kvLen];
  const values = new Float32Array(dims.reduce((a, b) => a * b, 1));
  const valueOf = (mask, i) => {
    if (!mask.isBool) return mask.data[i];
    return mask.data[i] ? -Infinity : 0;
  };
  let at = 0;
  for (let b = 0; b < dims[0]; b += 1) {
    for (let h = 0; h < dims[1]; h += 1) {
      for (let i = 0; i < dims[2]; i += 1) {
        for (let j = 0; j < kvLen; j += 1) {
          let sum = 0;
          if (attnMask) sum += valueOf(attnMask, ((perHead ? b * numHeads + h : 0) * qLen + i) * kvLen + j);
          if (paddingMask) sum += valueOf(paddingMask, b * kvLen + j);
          values[at] = sum;
          at += 1;
        }
      }
    }
  }
  return { values, dims };
}

/** Returns multiheadAttentionForward bound to an instantiated module. */
export function multiheadForwardOp(module) {
  /**
   * Runs input projection, attention per head and output projection as
   * PyTorch's multi_head_attention_forward does; see attnkit.d.ts.
   */
  return function multiheadAttentionForward(query, key, value, weights, options) {
    const op = 'multiheadAttentionForward';
    const opts = checkOptionKeys(op, options, OPTIONS);
    if (opts.numHeads === undefined) throw new TypeError(`${op}: the numHeads option is required`);
    const numHeads = numberOption(op, opts, 'numHeads', undefined, { positive: true, integer: true });
    const scale = numberOption(op, opts, 'scale', undefined, { float32: true });
    const causal = booleanOption(op, opts, 'causal', false);
    const needWeights = booleanOption(op, opts, 'needWeights', false);
    const average = booleanOption(op, opts, 'averageAttnWeights', true);

    checkTensor(op, 'query', query);
    if (query.dims.length !== 3) {
      throw new RangeError(`${op}: query must have rank 3 [batch, qLen, E], got dims ${formatDims(query.dims)}`);
    }
    const [batch, qLen, embed] = query.dims;
    if (batch === 0 || embed === 0) {
      throw new RangeError(`${op}: query batch and E must be positive, got dims ${formatDims(query.dims)}`);
    }
    if (embed % numHeads !== 0) {
      throw new RangeError(`${op}: E (${embed}) must be divisible by numHeads (${numHeads})`);
    }
    checkTensor(op, 'key', key);
    const kvLen = key.dims.length === 3 ? key.dims[1] : -1;
    requireDims(op, 'key', key, [batch, kvLen < 0 ? 'kvLen' : kvLen, embed]);
    requireDims(op, 'value', value, [batch, kvLen, embed]);

    if (weights === null || typeof weights !== 'object') {
      throw new TypeError(`${op}: weights must be an object { inProjWeight, inProjBias?, outProjWeight, outProjBias? }, got ${describe(weights)}`);
    }
    checkOptionKeys(op, weights, ['inProjWeight', 'inProjBias', 'outProjWeight', 'outProjBias']);
    requireDims(op, 'weights.inProjWeight', weights.inProjWeight, [3 * embed, embed]);
    requireDims(op, 'weights.outProjWeight', weights.outProjWeight, [embed, embed]);
    if (weights.inProjBias !== undefined) requireDims(op, 'weights.inProjBias', weights.inProjBias, [3 * embed]);
    if (weights.outProjBias !== undefined) requireDims(op, 'weights.outProjBias', weights.outProjBias, [embed]);

    const attnMask = pytorchMask(op, 'attnMask', opts.attnMask, [
      [qLen, kvLen],
      [batch * numHeads, qLen, kvLen],
    ]);
    const paddingMask = pytorchMask(op, 'keyPaddingMask', opts.keyPaddingMask, [[batch, kvLen]]);
    const mask = attnMask || paddingMask ? combineMasks(attnMask, paddingMask, { batch, numHeads, qLen, kvLen }) : null;

    const outDims = [batch, qLen, embed];
    const perHeadDims = [batch, numHeads, qLen, kvLen];
    const lengths = [batch * qLen * embed];
    if (needWeights) lengths.push(batch * numHeads * qLen * kvLen);

    const results = callWithHeap(
      module,
      op,
      [
        query.data,
        key.data,
        value.data,
        mask ? mask.values : null,
        weights.inProjWeight.data,
        weights.inProjBias?.data ?? null,
        weights.outProjWeight.data,
        weights.outProjBias?.data ?? null,
      ],
      lengths,
      ([qp, kp, vp, mp, iw, ib, ow, ob], outPtrs) =>
        module.multiheadAttentionForward(
          {
            query: qp,
            key: kp,
            value: vp,
            mask: mp,
            inProjWeight: iw,
            inProjBias: ib,
            outProjWeight: ow,
            outProjBias: ob,
            out: outPtrs[0],
            weightsOut: needWeights ? outPtrs[1] : 0,
            batch,
            numHeads,
            qSeqLen: qLen,
            kvSeqLen: kvLen,
            embedDim: embed,
            hasScale: scale !== undefined,
            scale: scale ?? 0,
            causal: causal ? 2 : 0,
          },
          mask ? mask.dims : null,
        ),
    );

    let attentionWeights;
    if (needWeights && average) {
      const perHead = results[1];
      const averaged = new Float32Array(batch * qLen * kvLen);
      const rowBlock = qLen * kvLen;
      for (let b = 0; b < batch; b += 1) {
        for (let h = 0; h < numHeads; h += 1) {
          const src = (b * numHeads + h) * rowBlock;
          for (let i = 0; i < rowBlock; i += 1) averaged[b * rowBlock + i] += perHead[src + i];
        }
      }
      for (let i = 0; i < averaged.length; i += 1) averaged[i] /= numHeads;
      attentionWeights = new Tensor(averaged, [batch, qLen, kvLen]);
    } else if (needWeights) {
      attentionWeights = new Tensor(results[1], perHeadDims);
    }
    return { output: new Tensor(results[0], outDims), attentionWeights };
  };
}
