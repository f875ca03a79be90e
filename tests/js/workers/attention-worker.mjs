// Worker for tests/js/instances.test.js: loads its own attnkit instance,
// runs the attention call the parent describes, and posts back the output
// and the instance's heap statistics.
import { parentPort, workerData } from 'node:worker_threads';
import { loadAttnkit, Tensor } from '../../../web/lib/attnkit.js';

const ak = await loadAttnkit();
const { q, k, v, dims, repeat } = workerData;
let out;
for (let i = 0; i < repeat; i += 1) {
  out = ak.attention(new Tensor(q, dims), new Tensor(k, dims), new Tensor(v, dims));
}
parentPort.postMessage({ out: out.data, stats: ak.heapStats() });
