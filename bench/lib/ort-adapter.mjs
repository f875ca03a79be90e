// Shared adapter of onnxruntime-node and onnxruntime-web: builds each
// workload's model, keeps the first form the runtime accepts and runs it.
import { modelForms } from './onnx-models.mjs';

// A workload whose score matrix would exceed this many bytes is skipped,
// because the basic form stores it and the run would exhaust memory.
const MAX_SCORE_BYTES = 1 << 30;

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
          return { unsupported: `skipped: a ${(scoreBytes / 2 ** 30).toFixed(0)} GiB score matrix would not fit` };
        }
      }
      const rejected = [];
      for (const candidate of modelForms(workload, inputs)) {
        let session;
        try {
          session = await ort.InferenceSession.create(candidate.build(), sessionOptions);
        } catch (error) {
          rejected.push(`${candidate.form}: ${String(error.message).split('\n')[0].slice(0, 160)}`);
          continue;
        }
        const feeds = candidate.feeds(ort);
        let result;
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
