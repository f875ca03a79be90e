// Public entry point of the attnkit package.
import { instantiateModule } from './load-module.js';
import { attentionOps } from './ops/attention.js';
import { ropeOps } from './ops/rope.js';
import { Tensor } from './tensor.js';

export { Tensor };

function createApi(module) {
  return Object.freeze({
    version: module.version(),
    simd: module.simd(),
    ...attentionOps(module),
    ...ropeOps(module),
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
