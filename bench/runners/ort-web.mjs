// onnxruntime-web with its WebAssembly backend, run in Node.
import * as ort from 'onnxruntime-web';
import { ortAdapter } from '../lib/ort-adapter.mjs';

export async function create({ threads }) {
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.simd = true;
  return ortAdapter(ort, {
    name: 'onnxruntime-web wasm',
    threads,
    sessionOptions: { executionProviders: ['wasm'], graphOptimizationLevel: 'all' },
  });
}
