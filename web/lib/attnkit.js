// Public entry point of the attnkit package.
import { heapStats } from './heap.js';
import { instantiateModule } from './load-module.js';
import { attentionOps } from './ops/attention.js';
import { ropeOps } from './ops/rope.js';
import { checkOptionKeys } from './options.js';
import { pinArguments, unpinResult } from './pin-arguments.js';
import { Tensor, describe } from './tensor.js';

export { Tensor };

const LOAD_OPTIONS = ['newInstance', 'wasmBinary', 'locateFile'];

// Wraps an operation so that it receives pinned tensor arguments, each read
// once (see pin-arguments.js), and returns the caller's own objects.
function withPinnedArguments(operation) {
  return function pinned(...args) {
    const originals = new Map();
    return unpinResult(operation(...pinArguments(args, originals)), originals, Tensor);
  };
}

function createApi(module) {
  const operations = { ...attentionOps(module), ...ropeOps(module) };
  for (const name of Object.keys(operations)) operations[name] = withPinnedArguments(operations[name]);
  return Object.freeze({
    version: module.version(),
    simd: module.simd(),
    heapStats: () => heapStats(module),
    ...operations,
  });
}

let shared = null;

/**
 * Loads the WebAssembly module and returns the attnkit API. Calls with no
 * options share one instance. options.newInstance, options.wasmBinary or
 * options.locateFile create a new instance with its own memory, so two
 * callers (for example two libraries in one Worker) never share state.
 */
export function loadAttnkit(options = {}) {
  const op = 'loadAttnkit';
  let opts;
  try {
    opts = checkOptionKeys(op, options, LOAD_OPTIONS);
    if (opts.newInstance !== undefined && typeof opts.newInstance !== 'boolean') {
      throw new TypeError(`${op}: newInstance must be a boolean, got ${describe(opts.newInstance)}`);
    }
  } catch (error) {
    return Promise.reject(error);
  }

  const fresh = opts.newInstance === true || opts.wasmBinary !== undefined || opts.locateFile !== undefined;
  const moduleOptions = { ...opts };
  delete moduleOptions.newInstance;
  if (fresh) return instantiateModule(moduleOptions).then(createApi);

  if (!shared) {
    shared = instantiateModule(moduleOptions).then(createApi);
    shared.catch(() => {
      shared = null;
    });
  }
  return shared;
}
