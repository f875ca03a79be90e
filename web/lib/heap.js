// The only code that touches WebAssembly memory. Each call allocates its
// buffers, copies inputs in, runs the kernel, copies outputs out and frees
// every buffer in `finally`, so no public value is a view into the heap.

const BYTES_PER_FLOAT = 4;

// The module's memory can grow to 4 GiB; one buffer is limited to 2^31 − 4
// bytes because the C++ side uses signed 32-bit byte offsets.
const MAX_BUFFER_BYTES = 2 ** 31 - 4;

function allocate(module, op, floats) {
  const bytes = floats * BYTES_PER_FLOAT;
  if (bytes > MAX_BUFFER_BYTES) {
    throw new RangeError(`${op}: a buffer of ${bytes} bytes exceeds the limit of ${MAX_BUFFER_BYTES} bytes`);
  }
  const ptr = module._malloc(Math.max(bytes, BYTES_PER_FLOAT));
  if (!ptr) {
    throw new RangeError(`${op}: could not allocate ${bytes} bytes of WebAssembly memory`);
  }
  return ptr;
}

/** Converts a { code, message } returned by the bindings into a RangeError. */
export function statusError(op, status) {
  const message = status.message.startsWith(`${op}:`) ? status.message : `${op}: ${status.message}`;
  return new RangeError(message);
}

/**
 * Runs `invoke(inputPtrs, outputPtrs)` with each Float32Array of `inputs`
 * copied into the heap (null entries become pointer 0) and a buffer of
 * each length in `outputLengths`, then returns the outputs as new
 * Float32Arrays. `invoke` returns null or a { code, message } status.
 */
export function callWithHeap(module, op, inputs, outputLengths, invoke) {
  const inputPtrs = [];
  const outputPtrs = [];
  try {
    const totalFloats =
      inputs.reduce((n, a) => n + (a ? a.length : 0), 0) + outputLengths.reduce((n, m) => n + m, 0);
    if (totalFloats * BYTES_PER_FLOAT > 2 ** 32) {
      throw new RangeError(
        `${op}: inputs and outputs need ${totalFloats * BYTES_PER_FLOAT} bytes, more than the 4 GiB WebAssembly memory`,
      );
    }
    for (const array of inputs) inputPtrs.push(array ? allocate(module, op, array.length) : 0);
    for (const length of outputLengths) outputPtrs.push(allocate(module, op, length));

    // Read HEAPF32 only after the last allocation: growing memory replaces it.
    const heap = module.HEAPF32;
    inputs.forEach((array, i) => {
      if (array) heap.set(array, inputPtrs[i] >>> 2);
    });

    const status = invoke(inputPtrs, outputPtrs);
    if (status) throw statusError(op, status);

    return outputPtrs.map((ptr, i) => module.HEAPF32.slice(ptr >>> 2, (ptr >>> 2) + outputLengths[i]));
  } finally {
    for (const ptr of inputPtrs) if (ptr) module._free(ptr);
    for (const ptr of outputPtrs) if (ptr) module._free(ptr);
  }
}
