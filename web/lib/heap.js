// The only code that touches WebAssembly memory. Each call allocates its
// buffers, copies inputs in, runs the kernel, copies outputs out and frees
// every buffer in `finally`, so no public value is a view into the heap.

const BYTES_PER_FLOAT = 4;

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
  const ptr = module._malloc(Math.max(bytes, BYTES_PER_FLOAT));
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
    checkSizes(op, inputs, outputLengths);
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
    for (const ptr of inputPtrs) if (ptr) release(module, ptr);
    for (const ptr of outputPtrs) if (ptr) release(module, ptr);
  }
}
