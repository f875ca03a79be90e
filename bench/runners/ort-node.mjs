// onnxruntime-node (native CPU execution provider).
import { createRequire } from 'node:module';
import { ortAdapter } from '../lib/ort-adapter.mjs';

export async function create({ threads }) {
  const ort = createRequire(import.meta.url)('onnxruntime-node');
  return ortAdapter(ort, {
    name: 'onnxruntime-node',
    threads,
    sessionOptions: { executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' },
  });
}
