// Public entry point of the attnkit package.
import { HeapTensor, allocHeapTensor, heapStats, withOutput } from './heap.js';
import { instantiateModule, threadSupportProblem, unrefWorkers } from './load-module.js';
import { attentionOps } from './ops/attention.js';
import { ropeOps } from './ops/rope.js';
import { checkOptionKeys } from './options.js';
import { pinArguments, pinData, pinDims, unpinResult } from './pin-arguments.js';
import { Tensor, checkTensor, describe } from './tensor.js';

export { HeapTensor, Tensor };

const LOAD_OPTIONS = ['newInstance', 'wasmBinary', 'locateFile', 'threads'];

// Wraps an operation so that it receives pinned tensor arguments, each read
// once (see pin-arguments.js), and returns the caller's own objects.
function withPinnedArguments(operation) {
  return function pinned(...args) {
    const originals = new Map();
    return unpinResult(operation(...pinArguments(args, originals)), originals, Tensor);
  };
}

// Returns what withOutput() takes for the `out` option: the HeapTensor
// itself, or { data, dims } read once from a tensor whose data is a
// Float32Array outside WebAssembly memory.
function outputTarget(module, name, out) {
  if (out instanceof HeapTensor) {
    if (HeapTensor.location(out)[0] !== module) {
      throw new TypeError(`${name}: out is an alloc() tensor of another module instance`);
    }
    if (out.disposed) throw new TypeError(`${name}: out was disposed`);
    return out;
  }
  if (out === null || typeof out !== 'object') {
    throw new TypeError(`${name}: out must be a tensor from alloc() or a Tensor with Float32Array data, got ${describe(out)}`);
  }
  // Pinned like the inputs, so that a typed array subclass or own property
  // that overrides length, buffer or set cannot change the checked size, hide
  // an overlap with x, or run user code while WebAssembly buffers are live.
  const data = pinData(out.data);
  const dims = pinDims(out.dims);
  if (!(data instanceof Float32Array)) {
    throw new TypeError(`${name}: out.data must be a Float32Array, got ${describe(data)}`);
  }
  checkTensor(name, 'out', { data, dims });
  if (data.buffer === module.HEAPF32.buffer) {
    throw new TypeError(`${name}: out.data is a view of WebAssembly memory; pass the alloc() tensor itself as out`);
  }
  return { data, dims };
}

// Operations with one result tensor, which the `out` option can receive.
// The others return several tensors and reject `out` before they run.
const OUT_OPERATIONS = new Set(['attention', 'multiheadAttention', 'rope']);

// Adds the `out` option to an operation whose last parameter is its
// options object: `out` receives the result and is returned. An
// ak.alloc() tensor receives it in WebAssembly memory without a copy. A
// Tensor with Float32Array data receives a copy, so a loop that reuses it
// allocates nothing per call. optionsIndex is the position of that options
// object.
function withOutOption(module, name, fn, optionsIndex) {
  return (...args) => {
    const options = args[optionsIndex];
    let out;
    let callArgs = args;
    if (options !== null && typeof options === 'object' && Object.hasOwn(options, 'out')) {
      const { out: given, ...rest } = options;
      out = given;
      callArgs = [...args];
      callArgs[optionsIndex] = rest;
    }
    // An undefined out is absent, as every other undefined option is.
    if (out === undefined) return withOutput(module, name, null, () => fn(...callArgs));
    if (!OUT_OPERATIONS.has(name)) {
      throw new TypeError(`${name}: the out option is not supported by this operation`);
    }
    const target = outputTarget(module, name, out);
    const result = withOutput(module, name, target, () => fn(...callArgs));
    if (result.dims.length !== target.dims.length || result.dims.some((d, i) => d !== target.dims[i])) {
      throw new RangeError(`${name}: out has dims [${target.dims.join(', ')}], but the result has dims [${result.dims.join(', ')}]; out was overwritten, so pass one with the result's dims`);
    }
    return out;
  };
}

// Thread counts above this are rejected: each thread is a Web Worker with
// its own copy of the module's code.
const MAX_THREADS = 64;

function createApi(module, threads, threadsFallback) {
  const operations = { ...attentionOps(module, threads), ...ropeOps(module) };
  for (const name of Object.keys(operations)) {
    // The out wrapper runs first, because pinning would replace the out
    // tensor with a plain { data, dims } copy.
    const operation = operations[name];
    operations[name] = withOutOption(module, name, withPinnedArguments(operation), operation.length - 1);
  }
  return Object.freeze({
    version: module.version(),
    simd: module.simd(),
    threads,
    threadsFallback,
    heapStats: () => heapStats(module),
    ...operations,
    /** Allocates a zero-filled tensor in WebAssembly memory (see HeapTensor). */
    alloc: (dims) => allocHeapTensor(module, dims),
    /** Current size of the WebAssembly memory in bytes. */
    memoryBytes: () => module.HEAPU8.buffer.byteLength,
  });
}

// One shared instance per thread count.
const shared = new Map();

function threadCount(options) {
  const threads = options.threads ?? 1;
  if (typeof threads !== 'number') {
    throw new TypeError(`loadAttnkit: threads must be a number, got ${typeof threads}`);
  }
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    throw new RangeError(`loadAttnkit: threads must be an integer from 1 to ${MAX_THREADS}, got ${threads}`);
  }
  return threads;
}

async function instantiate(options, threads) {
  const { threads: _threads, ...moduleOptions } = options;
  if (threads === 1) return createApi(await instantiateModule(moduleOptions), 1, null);

  const problem = threadSupportProblem();
  if (problem) return createApi(await instantiateModule(moduleOptions), 1, problem);

  const module = await instantiateModule(moduleOptions, threads - 1);
  const status = module.setNumThreads(threads);
  if (status) throw new RangeError(`loadAttnkit: ${status.message}`);
  unrefWorkers(module);
  return createApi(module, module.numThreads(), null);
}


/**
 * Loads the WebAssembly module and returns the attnkit API. Calls with the
 * same threads and no other options share one instance. options.newInstance,
 * options.wasmBinary or options.locateFile create a new instance with its own
 * memory, so two callers (for example two libraries in one Worker) never
 * share state.
 *
 * options.threads (default 1) above 1 loads the pthread build with that
 * many threads when SharedArrayBuffer is allowed (always in Node, only on
 * cross-origin isolated pages in browsers). Otherwise it loads the
 * single-thread build and sets ak.threads to 1 and ak.threadsFallback to
 * the reason.
 */
export function loadAttnkit(options = {}) {
  const op = 'loadAttnkit';
  let opts;
  let threads;
  try {
    opts = checkOptionKeys(op, options, LOAD_OPTIONS);
    if (opts.newInstance !== undefined && typeof opts.newInstance !== 'boolean') {
      throw new TypeError(`${op}: newInstance must be a boolean, got ${describe(opts.newInstance)}`);
    }
    threads = threadCount(opts);
  } catch (error) {
    return Promise.reject(error);
  }

  const fresh = opts.newInstance === true || opts.wasmBinary !== undefined || opts.locateFile !== undefined;
  const moduleOptions = { ...opts };
  delete moduleOptions.newInstance;
  if (fresh) return instantiate(moduleOptions, threads);

  if (!shared.has(threads)) {
    const promise = instantiate(moduleOptions, threads);
    shared.set(threads, promise);
    promise.catch(() => shared.delete(threads));
  }
  return shared.get(threads);
}
