// Shared adapter of onnxruntime-node and onnxruntime-web: builds each
// workload's model, keeps the first form the runtime accepts and runs it.
import { modelForms } from './onnx-models.mjs';

// A workload whose score matrix would exceed this many bytes is skipped:
// the basic form stores the matrix, and larger ones take minutes per run
// here or exhaust the memory.
const MAX_SCORE_BYTES = 512 * 2 ** 20;

function firstLine(message) {
  return String(message).trim().split('\n')[0].slice(0, 200);
}

export function ortAdapter(ort, { name, threads, sessionOptions, note = '' }) {
  return {
    name,
    threads,
    note,
    async prepare(workload, inputs) {
      const s = workload.shape;
      if (workload.kind !== 'rope') {
        const scoreBytes = 4 * s.batch * s.heads * s.qLen * s.kvLen;
        if (scoreBytes > MAX_SCORE_BYTES) {
          return { unsupported: `skipped: the basic form would store a ${(scoreBytes / 2 ** 30).toFixed(1)} GiB score matrix` };
        }
      }
      const rejected = [];
      for (const candidate of modelForms(workload, inputs)) {
        let session;
        try {
          session = await ort.InferenceSession.create(candidate.build(), sessionOptions);
        } catch (error) {
          rejected.push(`${candidate.form}: ${firstLine(error.message)}`);
          continue;
        }
        const feeds = candidate.feeds(ort);
        // Some forms load but fail when run (onnxruntime-web's Attention
        // overflows an integer at S = 4096), so each form runs once here.
        let result;
        try {
          result = await session.run(feeds);
        } catch (error) {
          rejected.push(`${candidate.form} failed to run: ${firstLine(error.message)}`);
          await session.release();
          continue;
        }
        return {
          form: candidate.form,
          note: rejected.length ? `rejected ${rejected.join('; ')}` : '',
          run: async () => {
            result = await session.run(feeds);
          },
          output: () => result.y.data,
          dispose: () => session.release(),
        };
      }
      return { unsupported: `no model form accepted: ${rejected.join('; ')}` };
    },
  };
}
