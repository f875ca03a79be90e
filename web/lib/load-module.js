// Loads the Emscripten module. In Node the .wasm bytes are read from disk
// and passed as wasmBinary, because Emscripten 3.1.6's loader would try
// fetch() there. In browsers the ES module glue fetches the .wasm next to it.

const isNode =
  typeof process === 'object' &&
  process !== null &&
  typeof process.versions === 'object' &&
  typeof process.versions.node === 'string' &&
  typeof window === 'undefined';

const distUrl = new URL('../../dist/', import.meta.url);

/**
 * Instantiates a new module. Options: wasmBinary (bytes of attnkit.wasm)
 * and locateFile (maps a file name to its URL), as Emscripten takes them.
 */
export async function instantiateModule(options = {}) {
  if (isNode) {
    const { readFile } = await import('node:fs/promises');
    const { createRequire } = await import('node:module');
    const require = createRequire(import.meta.url);
    const factory = require(new URL('attnkit.cjs', distUrl).pathname);
    const wasmBinary = options.wasmBinary ?? (await readFile(new URL('attnkit.wasm', distUrl)));
    return factory({ ...options, wasmBinary });
  }

  const { default: factory } = await import(new URL('attnkit.mjs', distUrl).href);
  const locateFile = options.locateFile ?? ((file) => new URL(file, distUrl).href);
  return factory({ ...options, locateFile });
}
