// Public entry point of the attnkit package.
import { HeapTensor, allocHeapTensor, withOutput } from './heap.js';
import { instantiateModule } from './load-module.js';
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
      throw new RangeError(`${name}: out has dims [${out.dims.join(', ')}], but the result has dims [${result.dims.join(', ')}]; out now holds the result in the result's dims`);
    }
    return out;
  };
}

function createApi(module) {
  const ops = { ...attentionOps(module), ...ropeOps(module) };
  for (const [name, fn] of Object.entries(ops)) ops[name] = withOutOption(module, name, fn);
  return Object.freeze({
    version: module.version(),
    simd: module.simd(),
    ...ops,
    /** Allocates a zero-filled tensor in WebAssembly memory (see HeapTensor). */
    alloc: (dims) => allocHeapTensor(module, dims),
    /** Current size of the WebAssembly memory in bytes. */
    memoryBytes: () => module.HEAPU8.buffer.byteLength,
  });
}

const loaded = new Map();

/**
 * Loads the WebAssembly module and returns the attnkit API. Calls with no
 * options share one instance; options.wasmBinary or options.locateFile
 * create a new one.
 */
export function loadAttnkit(options = {}) {
  const custom = options.wasmBinary !== undefined || options.locateFile !== undefined;
  const key = 'default';
  if (!custom && loaded.has(key)) return loaded.get(key);
  const promise = instantiateModule(options).then(createApi);
  if (!custom) {
    loaded.set(key, promise);
    promise.catch(() => loaded.delete(key));
  }
  return promise;
}
