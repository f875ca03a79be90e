// The RoPE operation of the public API.
import { callWithHeap } from '../heap.js';
import { booleanOption, checkOptionKeys, numberOption } from '../options.js';
import { Tensor, checkTensor, formatDims } from '../tensor.js';
import { requirePositive, requireRank } from './shape-checks.js';

/** Returns the RoPE operations bound to an instantiated module. */
export function ropeOps(module) {
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

  return { rope };
}
