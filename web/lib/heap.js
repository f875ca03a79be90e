// The only code that touches WebAssembly memory. By default each call
// allocates its buffers, copies inputs in, runs the kernel, copies outputs
// out and frees every buffer in `finally`. Tensors from ak.alloc() live in
// WebAssembly memory: as inputs their pointers go straight to the kernels,
// and as the `out` option they receive the result without a copy. A
// Float32Array tensor as `out` receives a copy of the result, so a caller
// that reuses it allocates no new array per call.

const BYTES_PER_FLOAT = 4;
const CACHE_LINE_BYTES = 64;

// The module's memory can grow to 4 GiB; one buffer is limited to 2^31 − 4
// bytes because the C++ side uses signed 32-bit byte offsets.
const MAX_BUFFER_BYTES = 2 ** 31 - 4;

// -sMAXIMUM_MEMORY=4GB in CMakeLists.txt.
const MAX_MEMORY_BYTES = 2 ** 32;

// Number of buffers each module instance has allocated through this file and
// not yet freed; heapStats() reports it so tests can check nothing leaks.
const liveAllocations = new WeakMap();

function countAllocation(module, delta) {
  liveAllocations.set(module, (liveAllocations.get(module) ?? 0) + delta);
}

/**
 * Returns { heapBytes, allocatedBytes, liveAllocations }: the size of the
 * WebAssembly memory, the bytes malloc has handed out and not freed, and the
 * number of buffers this wrapper has allocated and not yet freed (0
 * between calls).
 */
export function heapStats(module) {
  const { heapBytes, allocatedBytes } = module.heapStats();
  return { heapBytes, allocatedBytes, liveAllocations: liveAllocations.get(module) ?? 0 };
}

function release(module, ptr) {
  module._free(ptr);
  countAllocation(module, -1);
}

// Checks every buffer size and their sum before the first allocation, so an
// oversized request is a RangeError and never a failed or partial malloc.
function checkSizes(op, inputs, outputLengths) {
  const buffers = [
    ...inputs.map((array, i) => ({ label: `input ${i + 1}`, floats: array ? array.length : 0 })),
    ...outputLengths.map((floats, i) => ({ label: outputLengths.length === 1 ? 'the output' : `output ${i + 1}`, floats })),
  ];
  let totalBytes = 0;
  for (const { label, floats } of buffers) {
    const bytes = floats * BYTES_PER_FLOAT;
    if (bytes > MAX_BUFFER_BYTES) {
      throw new RangeError(
        `${op}: ${label} needs ${floats} floats (${bytes} bytes), more than the ${MAX_BUFFER_BYTES}-byte limit of one buffer`,
      );
    }
    totalBytes += bytes;
  }
  if (totalBytes > MAX_MEMORY_BYTES) {
    throw new RangeError(
      `${op}: inputs and outputs need ${totalBytes} bytes, more than the ${MAX_MEMORY_BYTES} bytes (4 GiB) WebAssembly memory can hold`,
    );
  }
}

function allocate(module, op, floats) {
  const bytes = floats * BYTES_PER_FLOAT;
  // Tensors start on a 64-byte cache line: malloc aligns to 8 bytes, and
  // kernels ran about 2 % slower on such inputs.
  const ptr = module._memalign(CACHE_LINE_BYTES, Math.max(bytes, BYTES_PER_FLOAT));
  if (!ptr) {
    throw new RangeError(`${op}: could not allocate ${bytes} bytes of WebAssembly memory`);
  }
  countAllocation(module, 1);
  return ptr;
}

/** Converts a { code, message } returned by the bindings into a RangeError. */
export function statusError(op, status) {
  const message = status.message.startsWith(`${op}:`) ? status.message : `${op}: ${status.message}`;
  return new RangeError(message);
}

// Per-module state of heap tensors: the live allocations (pointer → byte
// length) and the `out` tensor of the call in progress.
const heapStates = new WeakMap();

function heapState(module) {
  let state = heapStates.get(module);
  if (!state) {
    state = { live: new Map(), pendingOut: null, outUsed: false };
    heapStates.set(module, state);
  }
  return state;
}

/**
 * Returns the byte offset of `array` when it is a view that lies inside one
 * live ak.alloc() tensor of `module`, otherwise -1 (the array is copied).
 */
function heapOffset(module, array) {
  if (array.buffer !== module.HEAPF32.buffer) return -1;
  const start = array.byteOffset;
  const end = start + array.byteLength;
  for (const [ptr, bytes] of heapState(module).live) {
    if (start >= ptr && end <= ptr + bytes) return start;
  }
  return -1;
}

/**
 * A float32 tensor stored in WebAssembly memory, returned by ak.alloc().
 * `data` is a new Float32Array view on each access, because growing the
 * memory detaches every earlier view (their length becomes 0).
 */
export class HeapTensor {
  #module;
  #ptr;
  #size;

  constructor(module, ptr, dims, size) {
    this.#module = module;
    this.#ptr = ptr;
    this.#size = size;
    this.dims = Object.freeze([...dims]);
  }

  /** A view of the elements; throws after dispose(). */
  get data() {
    if (this.#ptr === 0) throw new TypeError('HeapTensor: data was read after dispose()');
    return new Float32Array(this.#module.HEAPF32.buffer, this.#ptr, this.#size);
  }

  /** Number of elements, the product of dims. */
  get size() {
    return this.#size;
  }

  /** True once dispose() has run. */
  get disposed() {
    return this.#ptr === 0;
  }

  /** Frees the memory. Later calls do nothing. */
  dispose() {
    if (this.#ptr === 0) return;
    heapState(this.#module).live.delete(this.#ptr);
    release(this.#module, this.#ptr);
    this.#ptr = 0;
  }

  /** @internal Returns [module, pointer] for the wrapper in attnkit.js. */
  static location(tensor) {
    return [tensor.#module, tensor.#ptr];
  }
}

/** Allocates a zero-filled HeapTensor of `dims` in `module`'s memory. */
export function allocHeapTensor(module, dims) {
  const op = 'alloc';
  if (!Array.isArray(dims)) {
    throw new TypeError(`${op}: dims must be an array of integers, got ${dims === null ? 'null' : typeof dims}`);
  }
  let size = 1;
  dims.forEach((d, i) => {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      throw new RangeError(`${op}: dims[${i}] must be a non-negative integer, got ${String(d)}`);
    }
    size *= d;
  });
  if (size * BYTES_PER_FLOAT > MAX_BUFFER_BYTES) {
    throw new RangeError(`${op}: a buffer of ${size * BYTES_PER_FLOAT} bytes exceeds the limit of ${MAX_BUFFER_BYTES} bytes`);
  }
  const ptr = allocate(module, op, size);
  const bytes = Math.max(size, 1) * BYTES_PER_FLOAT;
  module.HEAPU8.fill(0, ptr, ptr + bytes);
  heapState(module).live.set(ptr, bytes);
  return new HeapTensor(module, ptr, dims, size);
}

/**
 * Runs `call()` with `out` as the destination of the next callWithHeap()
 * output: a HeapTensor of `module`, { data } with a Float32Array outside
 * WebAssembly memory, or null for none. Throws when the operation did not
 * use a given out. The out of an enclosing call is restored afterwards,
 * because a getter in the options can start another call while one runs.
 */
export function withOutput(module, op, out, call) {
  const state = heapState(module);
  const { pendingOut, outUsed } = state;
  state.pendingOut = out;
  state.outUsed = false;
  try {
    const result = call();
    if (out && !state.outUsed) throw new TypeError(`${op}: the out option is not supported by this operation`);
    return result;
  } finally {
    state.pendingOut = pendingOut;
    state.outUsed = outUsed;
  }
}

/**
 * Returns the `out` of withOutput() in progress, or null, and marks it used
 * after checking that it has `length` elements. For operations that write
 * their result without callWithHeap().
 */
export function claimOutput(module, op, length) {
  const state = heapState(module);
  const out = state.pendingOut;
  if (!out) return null;
  const size = out instanceof HeapTensor ? out.size : out.data.length;
  if (size !== length) throw new RangeError(`${op}: out has ${size} elements, but the result has ${length}`);
  state.outUsed = true;
  return out;
}

/** Returns the `out` of withOutput() in progress, or null, without using it. */
export function pendingOutput(module) {
  return heapState(module).pendingOut;
}

/** True when `array` is a view inside a live ak.alloc() tensor of `module`. */
export function isHeapResident(module, array) {
  return heapOffset(module, array) >= 0;
}

function overlaps(a, aBytes, b, bBytes) {
  return a < b + bBytes && b < a + aBytes;
}

// Returns the heap pointer of each input: 0 for null, the offset of a view
// of an ak.alloc() tensor (offsets[i] >= 0), or a new buffer, whose pointer
// is pushed to `owned` as well. copyInputs() fills the new buffers.
function allocateInputs(module, op, inputs, offsets, owned) {
  return inputs.map((array, i) => {
    if (!array) return 0;
    if (offsets[i] >= 0) return offsets[i];
    const ptr = allocate(module, op, array.length);
    owned.push(ptr);
    return ptr;
  });
}

// Copies the inputs that allocateInputs() gave new buffers into them. Call it
// after the last allocation, because growing the memory replaces HEAPF32.
function copyInputs(module, inputs, offsets, ptrs) {
  const heap = module.HEAPF32;
  inputs.forEach((array, i) => {
    if (array && offsets[i] < 0) heap.set(array, ptrs[i] >>> 2);
  });
}

/**
 * Runs `invoke(inputPtrs, outputPtrs)` with each Float32Array of `inputs`
 * in the heap (null entries become pointer 0) and a buffer of each length
 * in `outputLengths`, then returns the outputs as Float32Arrays.
 * `invoke` returns null or a { code, message } status.
 *
 * Inputs that are views of ak.alloc() tensors are passed by pointer, and
 * other inputs are copied in. With an `out` tensor pending (withOutput), the
 * only output is written there and returned as a view of it. Otherwise the
 * outputs are copied out into new arrays.
 */
export function callWithHeap(module, op, inputs, outputLengths, invoke) {
  const pending = pendingOutput(module);
  if (pending && outputLengths.length !== 1) throw new TypeError(`${op}: the out option is not supported by this operation`);
  claimOutput(module, op, outputLengths[0]);
  const out = pending instanceof HeapTensor ? pending : null;
  const copyOut = pending && !out ? pending : null;
  // Offsets are read before any allocation, which may grow the memory and
  // detach the views; growth never moves the data.
  const inputOffsets = inputs.map((array) => (array ? heapOffset(module, array) : -1));
  const owned = [];
  try {
    const outPtr = out ? HeapTensor.location(out)[1] : 0;
    if (out) {
      inputs.forEach((array, i) => {
        if (array && inputOffsets[i] >= 0 && overlaps(inputOffsets[i], array.byteLength, outPtr, out.size * BYTES_PER_FLOAT)) {
          throw new RangeError(`${op}: out overlaps input ${i}; pass a separate ak.alloc() tensor`);
        }
      });
    }

    // Heap-resident inputs and an out tensor need no new buffer.
    checkSizes(op, inputs.map((array, i) => (inputOffsets[i] >= 0 ? null : array)), out ? [] : outputLengths);
    const inputPtrs = allocateInputs(module, op, inputs, inputOffsets, owned);
    const outputPtrs = out
      ? [outPtr]
      : outputLengths.map((length) => {
          const ptr = allocate(module, op, length);
          owned.push(ptr);
          return ptr;
        });
    copyInputs(module, inputs, inputOffsets, inputPtrs);

    const status = invoke(inputPtrs, outputPtrs);
    if (status) throw statusError(op, status);

    if (out) return [out.data];
    if (copyOut) {
      const ptr = outputPtrs[0] >>> 2;
      copyOut.data.set(module.HEAPF32.subarray(ptr, ptr + outputLengths[0]));
      return [copyOut.data];
    }
    // A new array filled by set(), not HEAPF32.slice(): on the shared memory
    // of the threads build, Node 20 sliced 8 MiB in 3.8 ms and copied it with
    // set() in 0.9 ms.
    return outputPtrs.map((ptr, i) => {
      const result = new Float32Array(outputLengths[i]);
      result.set(module.HEAPF32.subarray(ptr >>> 2, (ptr >>> 2) + outputLengths[i]));
      return result;
    });
  } finally {
    for (const ptr of owned) release(module, ptr);
  }
}

/**
 * Streams `source` (a Float32Array outside WebAssembly memory) through one
 * reused buffer in pieces: each piece is copied in, `invoke(auxPtrs,
 * bufferPtr, piece)` transforms it in place, and the result is copied to the
 * same offset of `dest`. A piece is { start, length } in floats, and
 * `pieces` lists them. The buffer has room for the longest piece. `auxInputs` are copied in once, or passed by pointer
 * when they live in ak.alloc() tensors. `check(auxPtrs)` runs before the
 * first piece, so that a bad call writes nothing.
 *
 * A piece small enough to stay in the CPU cache is read from and written to
 * main memory once, where copying the whole tensor in and out would move it
 * three times.
 */
export function streamWithHeap(module, op, { source, dest, auxInputs, pieces, check, invoke }) {
  const pieceFloats = pieces.reduce((floats, piece) => Math.max(floats, piece.length), 0);
  const auxOffsets = auxInputs.map((array) => (array ? heapOffset(module, array) : -1));
  const owned = [];
  try {
    checkSizes(op, [...auxInputs.map((array, i) => (auxOffsets[i] >= 0 ? null : array)), source.subarray(0, pieceFloats)], []);
    const auxPtrs = allocateInputs(module, op, auxInputs, auxOffsets, owned);
    const buffer = allocate(module, op, pieceFloats);
    owned.push(buffer);
    copyInputs(module, auxInputs, auxOffsets, auxPtrs);

    let status = check(auxPtrs);
    if (status) throw statusError(op, status);
    const at = buffer >>> 2;
    for (const piece of pieces) {
      // A kernel may grow the memory, which replaces HEAPF32.
      module.HEAPF32.set(source.subarray(piece.start, piece.start + piece.length), at);
      status = invoke(auxPtrs, buffer, piece);
      if (status) throw statusError(op, status);
      dest.set(module.HEAPF32.subarray(at, at + piece.length), piece.start);
    }
    return dest;
  } finally {
    for (const ptr of owned) release(module, ptr);
  }
}

/**
 * Runs an operation on `units` independent units in pieces of at most
 * `unitsPerPiece` units, for inputs outside WebAssembly memory. Unit u of
 * input i is sources[i].subarray(u·unitFloats[i], (u + 1)·unitFloats[i]), and
 * of the result the same with outputUnitFloats. Each piece is copied into
 * one set of reused buffers, `invoke(inputPtrs, outputPtr, count)` runs it,
 * and its result is copied into a new Float32Array, which is returned.
 * A bad call that fails in a later piece has written only to that array.
 *
 * As in streamWithHeap, a piece that fits the CPU cache moves through main
 * memory once, and the WebAssembly memory does not grow to the whole tensor.
 */
export function streamUnits(module, op, { sources, unitFloats, outputUnitFloats, units, unitsPerPiece, invoke }) {
  const lengths = [...unitFloats, outputUnitFloats].map((floats) => floats * unitsPerPiece);
  const owned = [];
  try {
    // The same limits as the single copy of callWithHeap, so an oversized
    // call gets the same RangeError whichever path it takes.
    checkSizes(op, sources, [units * outputUnitFloats]);
    const ptrs = lengths.map((length) => {
      const ptr = allocate(module, op, length);
      owned.push(ptr);
      return ptr;
    });
    const outAt = ptrs[ptrs.length - 1] >>> 2;
    const result = new Float32Array(units * outputUnitFloats);
    for (let first = 0; first < units; first += unitsPerPiece) {
      const count = Math.min(unitsPerPiece, units - first);
      // A kernel may grow the memory, which replaces HEAPF32.
      const heap = module.HEAPF32;
      sources.forEach((source, i) => {
        heap.set(source.subarray(first * unitFloats[i], (first + count) * unitFloats[i]), ptrs[i] >>> 2);
      });
      const status = invoke(ptrs.slice(0, -1), ptrs[ptrs.length - 1], count);
      if (status) throw statusError(op, status);
      result.set(module.HEAPF32.subarray(outAt, outAt + count * outputUnitFloats), first * outputUnitFloats);
    }
    return result;
  } finally {
    for (const ptr of owned) release(module, ptr);
  }
}
