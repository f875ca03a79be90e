// Runs every workload of tests/js/heap-workloads.js many times (default one
// million calls each) on a fresh module instance and reports the heap
// statistics before and after. Exits non-zero if the memory size, the bytes
// malloc has allocated or the wrapper's live buffers changed.
//
//   node scripts/heap-soak.mjs [calls per workload]
import { loadAttnkit } from '../web/lib/attnkit.js';
import { heapWorkloads } from '../tests/js/heap-workloads.js';

const calls = Number(process.argv[2] ?? 1_000_000);
if (!Number.isInteger(calls) || calls < 1) {
  console.error(`heap-soak: the call count must be a positive integer, got ${process.argv[2]}`);
  process.exit(2);
}

const ak = await loadAttnkit({ newInstance: true });
let failed = false;
for (const workload of heapWorkloads) {
  const run = workload.prepare(ak);
  for (let i = 0; i < 10; i += 1) run();
  const before = ak.heapStats();
  const start = performance.now();
  for (let i = 0; i < calls; i += 1) run();
  const seconds = (performance.now() - start) / 1000;
  const after = ak.heapStats();
  const flat =
    after.heapBytes === before.heapBytes &&
    after.allocatedBytes === before.allocatedBytes &&
    after.liveAllocations === 0;
  failed ||= !flat;
  console.log(
    `${flat ? 'flat   ' : 'CHANGED'} ${workload.name}: ${calls} calls in ${seconds.toFixed(1)} s; ` +
      `heap ${before.heapBytes} -> ${after.heapBytes} bytes, allocated ${before.allocatedBytes} -> ${after.allocatedBytes} bytes, ` +
      `live buffers ${after.liveAllocations}`,
  );
}
process.exit(failed ? 1 : 0);
