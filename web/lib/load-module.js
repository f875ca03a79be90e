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
 * Lets Node exit while the pool's worker threads wait for work: the
 * workers only run during a call, so they need not keep the process alive.
 */
export function unrefWorkers(module) {
  if (!isNode || !module.PThread) return;
  for (const worker of [...module.PThread.unusedWorkers, ...module.PThread.runningWorkers]) worker.unref();
}

/**
 * Returns null when this environment can run the pthread build, otherwise
 * the reason it cannot. Browsers allow SharedArrayBuffer only on
 * cross-origin isolated pages (COOP and COEP headers).
 */
export function threadSupportProblem() {
  if (typeof SharedArrayBuffer === 'undefined') {
    return 'SharedArrayBuffer is not available (the page is not cross-origin isolated)';
  }
  if (!isNode && globalThis.crossOriginIsolated !== true) {
    return 'the page is not cross-origin isolated, so WebAssembly threads are not allowed';
  }
  return null;
}

/**
 * Instantiates a new module. Options: wasmBinary (bytes of the build's
 * .wasm) and locateFile (maps a file name to its URL), as Emscripten takes
 * them. poolSize > 0 selects the pthread build (attnkit-threads) with that
 * many worker threads.
 */
export async function instantiateModule(options = {}, poolSize = 0) {
  const name = poolSize > 0 ? 'attnkit-threads' : 'attnkit';
  const moduleOptions = { ...options };
  if (poolSize > 0) moduleOptions.attnkitPoolSize = poolSize;

  if (isNode) {
    const { readFile } = await import('node:fs/promises');
    const { createRequire } = await import('node:module');
    const require = createRequire(import.meta.url);
    const factory = require(new URL(`${name}.cjs`, distUrl).pathname);
    const wasmBinary = options.wasmBinary ?? (await readFile(new URL(`${name}.wasm`, distUrl)));
    return factory({ ...moduleOptions, wasmBinary });
  }

  const { default: factory } = await import(new URL(`${name}.mjs`, distUrl).href);
  const locateFile = options.locateFile ?? ((file) => new URL(file, distUrl).href);
  // Workers load the classic-script glue; the .mjs copy ends with an export.
  // NOTE: the pthread build has been run in Node only, not in a browser.
  if (poolSize > 0) moduleOptions.mainScriptUrlOrBlob = locateFile(`${name}.cjs`);
  return factory({ ...moduleOptions, locateFile });
}
