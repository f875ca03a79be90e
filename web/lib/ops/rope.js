// The RoPE operations of the public API: ak.rope and ak.ropeCache.
import { callWithHeap, claimOutput, isHeapResident, pendingOutput, streamWithHeap } from '../heap.js';
import { booleanOption, checkOptionKeys, numberOption } from '../options.js';
import { HeapTensor } from '../heap.js';
import { Tensor, checkTensor, describe, formatDims } from '../tensor.js';
import { cacheLayout, positionIdsArray, scalingArgs } from './rope-options.js';
import { requireRank } from './shape-checks.js';

const ROPE_OPTIONS = [
  'base',
  'interleaved',
  'positionOffset',
  'positionIds',
  'layout',
  'numHeads',
  'rotaryDim',
  'cosCache',
  'sinCache',
  'scaling',
  'inPlace',
];

// Values of attnkit::RopeLayout.
const LAYOUTS = { bshd: 0, bhsd: 1 };

// Returns { batch, seqLen, numHeads, headDim, layout } of x from its rank and
// the layout and numHeads options.
function ropeShape(op, x, opts) {
  requireRank(op, 'x', x, [3, 4]);
  const layout = opts.layout ?? 'bshd';
  if (typeof layout !== 'string') {
    throw new TypeError(`${op}: layout must be 'bshd' or 'bhsd', got ${describe(layout)}`);
  }
  if (!Object.hasOwn(LAYOUTS, layout)) {
    throw new RangeError(`${op}: layout must be 'bshd' or 'bhsd', got '${layout}'`);
  }
  const numHeads = numberOption(op, opts, 'numHeads', undefined, { positive: true, integer: true });

  if (x.dims.length === 3) {
    if (layout !== 'bshd') {
      throw new RangeError(`${op}: layout '${layout}' needs a rank-4 x; a rank-3 x is (batch, seq, heads·headDim)`);
    }
    if (numHeads === undefined) {
      throw new TypeError(`${op}: numHeads is required for a rank-3 x (batch, seq, heads·headDim), dims ${formatDims(x.dims)}`);
    }
    const [batch, seqLen, hidden] = x.dims;
    if (hidden % numHeads !== 0) {
      throw new RangeError(`${op}: x's last dim ${hidden} is not divisible by numHeads ${numHeads} (dims ${formatDims(x.dims)})`);
    }
    return { batch, seqLen, numHeads, headDim: hidden / numHeads, layout: LAYOUTS.bshd };
  }

  const [batch, second, third, headDim] = x.dims;
  const [seqLen, heads] = layout === 'bshd' ? [second, third] : [third, second];
  if (numHeads !== undefined && numHeads !== heads) {
    throw new RangeError(`${op}: numHeads is ${numHeads}, but x dims ${formatDims(x.dims)} in layout '${layout}' have ${heads} heads`);
  }
  return { batch, seqLen, numHeads: heads, headDim, layout: LAYOUTS[layout] };
}

// Returns the rotated width: rotaryDim, or headDim when it is not given.
function rotaryWidth(op, opts, headDim, dims) {
  if (headDim === 0 || headDim % 2 !== 0) {
    throw new RangeError(`${op}: headDim must be even and positive, got ${headDim} in dims ${formatDims(dims)}`);
  }
  const rotaryDim = numberOption(op, opts, 'rotaryDim', headDim, { positive: true, integer: true });
  if (rotaryDim % 2 !== 0) {
    throw new RangeError(`${op}: rotaryDim must be even, got ${rotaryDim}`);
  }
  if (rotaryDim > headDim) {
    throw new RangeError(`${op}: rotaryDim (${rotaryDim}) must not exceed headDim (${headDim})`);
  }
  return rotaryDim;
}

// Returns the Float32Array view of an Int32Array's bytes, so the ids travel
// through the float heap copy unchanged: TypedArray.prototype.set copies the
// bytes verbatim when source and target have the same element type.
function int32AsFloat32(ids) {
  return new Float32Array(ids.buffer, ids.byteOffset, ids.length);
}

// Bytes of x rotated per piece when x is copied through WebAssembly memory
// (streamWithHeap). NOTE: chosen on one machine (AMD EPYC, 1 MiB L2 per
// core), rotating x of 1×2048×32×128 into a reused result array. Pieces of
// 64 KiB took 8.6 ms, 512 KiB 7.3 ms, 1 MiB 5.4 to 6.0 ms, 2 MiB 5.3 ms and
// 8 MiB 6.5 ms. One copy of the whole tensor in and out took 9.2 ms.
const PIECE_BYTES = 1024 * 1024;

// Returns the pieces of a bshd x for streamWithHeap. Each piece is one rope
// call on `batches` batch entries of `tokens` tokens from sequence index `s`.
// Pieces are runs of whole batch entries when one batch entry fits a piece,
// else runs of tokens within one batch entry. `first` is the token index
// b·seqLen + s of the piece's first token. Whole batch entries per piece
// keep the number of calls low when seqLen is short (batched decoding).
function tokenPieces(batch, seqLen, tokenFloats) {
  const tokensPerPiece = Math.max(1, Math.floor(PIECE_BYTES / 4 / tokenFloats));
  const pieces = [];
  if (seqLen <= tokensPerPiece) {
    const batchesPerPiece = Math.floor(tokensPerPiece / seqLen);
    for (let b = 0; b < batch; b += batchesPerPiece) {
      const batches = Math.min(batchesPerPiece, batch - b);
      const first = b * seqLen;
      pieces.push({ start: first * tokenFloats, length: batches * seqLen * tokenFloats, first, s: 0, tokens: seqLen, batches });
    }
    return pieces;
  }
  for (let b = 0; b < batch; b++) {
    for (let s = 0; s < seqLen; s += tokensPerPiece) {
      const tokens = Math.min(tokensPerPiece, seqLen - s);
      const first = b * seqLen + s;
      pieces.push({ start: first * tokenFloats, length: tokens * tokenFloats, first, s, tokens, batches: 1 });
    }
  }
  return pieces;
}

// The tag test also works for a buffer from another realm (an iframe or
// a Node vm context, as Jest uses), where instanceof is false.
function isShared(buffer) {
  return Object.prototype.toString.call(buffer) === '[object SharedArrayBuffer]';
}

// True when `dest` may contain elements of x after x's first element. Two
// SharedArrayBuffer objects may share memory (structuredClone of one, or one
// received from a Worker), which JavaScript cannot detect, so they count.
function mayOverlapAfter(dest, x) {
  if (dest.buffer === x.buffer) return dest.byteOffset > x.byteOffset;
  return isShared(dest.buffer) && isShared(x.buffer);
}

/** Returns the RoPE operations bound to an instantiated module. */
export function ropeOps(module) {
  /**
   * Rotary position embedding of x. See RopeOptions in attnkit.d.ts for the
   * layouts, positions, caches and scaling types.
   */
  function rope(x, options) {
    const op = 'rope';
    const opts = checkOptionKeys(op, options, ROPE_OPTIONS);
    const interleaved = booleanOption(op, opts, 'interleaved', true);
    const inPlace = booleanOption(op, opts, 'inPlace', false);
    checkTensor(op, 'x', x);
    const { batch, seqLen, numHeads, headDim, layout } = ropeShape(op, x, opts);
    if (batch === 0 || numHeads === 0) {
      throw new RangeError(`${op}: batch and heads of x must be positive, got dims ${formatDims(x.dims)}`);
    }
    const rotaryDim = rotaryWidth(op, opts, headDim, x.dims);

    const positionOffset = numberOption(op, opts, 'positionOffset', 0, { integer: true });
    if (Math.abs(positionOffset) > 2 ** 53 - 1 - seqLen) {
      throw new RangeError(`${op}: positionOffset must be a safe integer, got ${positionOffset}`);
    }
    let ids = null;
    if (opts.positionIds !== undefined) {
      if (opts.positionOffset !== undefined) {
        throw new TypeError(`${op}: positionIds and positionOffset cannot be combined; positionIds gives every position`);
      }
      ids = positionIdsArray(op, opts.positionIds, batch, seqLen);
    }

    let cache = { rows: 0, width: 0, perToken: false };
    const hasCache = opts.cosCache !== undefined || opts.sinCache !== undefined;
    if (hasCache) {
      if (opts.base !== undefined || opts.scaling !== undefined) {
        throw new TypeError(
          `${op}: base and scaling cannot be combined with cosCache/sinCache, which already contain the angles; pass them to ropeCache instead`,
        );
      }
      cache = cacheLayout(op, opts.cosCache, opts.sinCache, { batch, seqLen, rotaryDim });
    }
    const base = numberOption(op, opts, 'base', 10000, { positive: true });
    const scaling = scalingArgs(op, opts.scaling);

    const aux = [hasCache ? opts.cosCache.data : null, hasCache ? opts.sinCache.data : null, ids ? int32AsFloat32(ids) : null];
    const size = x.data.length;
    const callArgs = ([cosp, sinp, idsp]) => ({
      batch,
      seqLen,
      numHeads,
      headDim,
      layout,
      rotaryDim,
      base,
      interleaved,
      positionOffset,
      positionIds: idsp,
      cosCache: cosp,
      sinCache: sinp,
      cacheRows: cache.rows,
      cacheWidth: cache.width,
      cachePerToken: cache.perToken,
      scaling,
    });

    // A bshd x outside WebAssembly memory, larger than one piece, streams
    // through a small buffer, unless the result goes to an ak.alloc()
    // tensor or may overlap x after x's start. Pieces run from the start, so
    // an out that starts at or before x in its buffer (x itself, for
    // example) only overwrites elements of x that earlier pieces have read.
    const pending = pendingOutput(module);
    if (inPlace && pending) {
      throw new TypeError(`${op}: inPlace and out cannot be combined; inPlace writes the result into x`);
    }
    let dest = null;
    if (inPlace) dest = x.data;
    else if (pending) dest = pending.data;
    const streams =
      layout === LAYOUTS.bshd &&
      size * 4 > PIECE_BYTES &&
      !isHeapResident(module, x.data) &&
      !(pending instanceof HeapTensor) &&
      !(dest && mayOverlapAfter(dest, x.data));
    if (streams) {
      if (!inPlace) claimOutput(module, op, size);
      const tokenFloats = numHeads * headDim;
      const result = streamWithHeap(module, op, {
        source: x.data,
        dest: dest ?? new Float32Array(size),
        auxInputs: aux,
        pieces: tokenPieces(batch, seqLen, tokenFloats),
        check: (auxPtrs) => module.ropeCheck(callArgs(auxPtrs)),
        invoke: ([cosp, sinp, idsp], buffer, piece) => {
          // Tokens s … s + tokens − 1 of each of the piece's batch entries:
          // positions, ids and per-token cache rows start at its first token.
          const args = callArgs([cosp, sinp, idsp]);
          args.batch = piece.batches;
          args.seqLen = piece.tokens;
          if (ids) args.positionIds = idsp + 4 * piece.first;
          else if (!cache.perToken) args.positionOffset = positionOffset + piece.s;
          if (cache.perToken) {
            args.cosCache = cosp + 4 * piece.first * cache.width;
            args.sinCache = sinp + 4 * piece.first * cache.width;
            args.cacheRows = piece.batches * piece.tokens;
          }
          return module.rope(buffer, buffer, args);
        },
      });
      return inPlace ? x : new Tensor(result, [...x.dims]);
    }

    const inputs = [x.data, ...aux];
    const outputs = callWithHeap(module, op, inputs, inPlace ? [] : [size], ([xp, cosp, sinp, idsp], outPtrs) => {
      const status = module.rope(xp, inPlace ? xp : outPtrs[0], callArgs([cosp, sinp, idsp]));
      // In place: copy the result back before callWithHeap frees the buffer,
      // unless x.data already is that WebAssembly memory and was not copied.
      if (!status && inPlace) {
        const data = x.data;
        const resident = data.buffer === module.HEAPF32.buffer && data.byteOffset === xp;
        if (!resident) data.set(module.HEAPF32.subarray(xp >>> 2, (xp >>> 2) + size));
      }
      return status;
    });
    return inPlace ? x : new Tensor(outputs[0], [...x.dims]);
  }

  /**
   * Builds cos and sin tables [maxPositions, rotaryDim/2] once, for reuse
   * as rope's cosCache and sinCache.
   */
  function ropeCache(options) {
    const op = 'ropeCache';
    if (options === undefined) {
      throw new TypeError(`${op}: options { maxPositions, rotaryDim } are required`);
    }
    const opts = checkOptionKeys(op, options, ['maxPositions', 'rotaryDim', 'base', 'scaling']);
    for (const key of ['maxPositions', 'rotaryDim']) {
      if (opts[key] === undefined) throw new TypeError(`${op}: ${key} is required`);
    }
    const maxPositions = numberOption(op, opts, 'maxPositions', 0, { positive: true, integer: true });
    const rotaryDim = numberOption(op, opts, 'rotaryDim', 0, { positive: true, integer: true });
    if (rotaryDim % 2 !== 0) {
      throw new RangeError(`${op}: rotaryDim must be even, got ${rotaryDim}`);
    }
    const base = numberOption(op, opts, 'base', 10000, { positive: true });
    const scaling = scalingArgs(op, opts.scaling);

    const size = maxPositions * (rotaryDim / 2);
    const [cos, sin] = callWithHeap(module, op, [], [size, size], (_, [cosp, sinp]) => {
      const status = module.ropeCache(cosp, sinp, { maxPositions, rotaryDim, base, scaling });
      // The C++ messages start with "rope:"; report them under this function's name.
      return status && { ...status, message: status.message.replace(/^rope: /, '') };
    });
    const dims = [maxPositions, rotaryDim / 2];
    return { cosCache: new Tensor(cos, dims), sinCache: new Tensor(sin, dims) };
  }

  return { rope, ropeCache };
}
