// Public entry point of the attnkit package.
import { HeapTensor, allocHeapTensor, withOutput } from './heap.js';
import { instantiateModule, threadSupportProblem, unrefWorkers } from './load-module.js';
import { attentionOps } from './ops/attention.js';
import { ropeOps } from './ops/rope.js';
import { Tensor } from './tensor.js';

export { HeapTensor, Tensor };

// Adds the `out` option to an operation whose last parameter is its
// options object: `out` (an ak.alloc() tensor with the result's dims)
// receives the result in WebAssembly memory and is returned.
function withOutOption(module, name, fn) {
  const optionsIndex = fn.length - 1;
  return (...args) => {
    const options = args[optionsIndex];
    if (options === null || typeof options !== 'object' || !Object.hasOwn(options, 'out')) return fn(...args);
    const { out, ...rest } = options;
    if (!(out instanceof HeapTensor) || HeapTensor.location(out)[0] !== module) {
      throw new TypeError(`${name}: out must be a tensor from this module's alloc(), got ${out === null ? 'null' : typeof out === 'object' ? out.constructor.name : typeof out}`);
    }
    if (out.disposed) throw new TypeError(`${name}: out was disposed`);
    const callArgs = [...args];
    callArgs[optionsIndex] = rest;
    const result = withOutput(module, name, out, () => fn(...callArgs));
    if (result.dims.length !== out.dims.length || result.dims.some((d, i) => d !== out.dims[i])) {
      throw new RangeError(`${name}: out has dims [${out.dims.join(', ')}], but the result has dims [${result.dims.join(', ')}]; out was overwritten, so pass one with the result's dims`);
    }
    return out;
  };
}

// Thread counts above this are rejected: each thread is a Web Worker with
// its own copy of the module's code.
const MAX_THREADS = 64;

function createApi(module, threads, threadsFallback) {
  const ops = { ...attentionOps(module), ...ropeOps(module) };
  for (const [name, fn] of Object.entries(ops)) ops[name] = withOutOption(module, name, fn);
  return Object.freeze({
    version: module.version(),
    simd: module.simd(),
    threads,
    threadsFallback,
    ...ops,
    /** Allocates a zero-filled tensor in WebAssembly memory (see HeapTensor). */
    alloc: (dims) => allocHeapTensor(module, dims),
    /** Current size of the WebAssembly memory in bytes. */
    memoryBytes: () => module.HEAPU8.buffer.byteLength,
  });
}

const loaded = new Map();

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
 * Loads the WebAssembly module and returns the attnkit API.
 *
 * options.threads (default 1) above 1 loads the pthread build with that
 * many threads when SharedArrayBuffer is allowed (always in Node, only on
 * cross-origin isolated pages in browsers). Otherwise it loads the
 * single-thread build and sets ak.threads to 1 and ak.threadsFallback to
 * the reason. Calls with the same threads and no wasmBinary or locateFile
 * share one instance; those options create a new one.
 */
export function loadAttnkit(options = {}) {
  if (options === null || typeof options !== 'object') {
    return Promise.reject(new TypeError(`loadAttnkit: options must be an object, got ${options === null ? 'null' : typeof options}`));
  }
  let threads;
  try {
    threads = threadCount(options);
  } catch (error) {
    return Promise.reject(error);
  }
  const custom = options.wasmBinary !== undefined || options.locateFile !== undefined;
  const key = `threads=${threads}`;
  if (!custom && loaded.has(key)) return loaded.get(key);
  const promise = instantiate(options, threads);
  if (!custom) {
    loaded.set(key, promise);
    promise.catch(() => loaded.delete(key));
  }
  return promise;
}
