// Repeated calls, successful or failing, leave the WebAssembly heap as they
// found it: the memory size, the bytes malloc has allocated and the wrapper's
// live buffers stay flat. scripts/heap-soak.mjs runs the same loop a million times.
import { beforeAll, describe, expect, test } from '@jest/globals';
import { loadAttnkit, Tensor } from '../../web/lib/attnkit.js';
import { attentionReference, seededFloats } from '../reference/reference.js';
import { expectClose } from './tolerance.js';
import { heapWorkloads } from './heap-workloads.js';

// A call took 15 to 100 µs on the 2-core x86-64 machine these tests were
// written on, so the workloads take a few seconds in total. For a million
// calls of each, run scripts/heap-soak.mjs.
const CALLS = 10000;

let ak;
beforeAll(async () => {
  ak = await loadAttnkit({ newInstance: true });
});

describe('heap stays flat', () => {
  test.each(heapWorkloads.map((w) => [w.name, w]))('%s', (name, workload) => {
    const run = workload.prepare(ak);
    // The first calls may grow the heap and fill malloc's free lists.
    for (let i = 0; i < 10; i += 1) run();
    const before = ak.heapStats();
    for (let i = 0; i < CALLS; i += 1) run();
    const after = ak.heapStats();

    expect(after.heapBytes).toBe(before.heapBytes);
    expect(after.allocatedBytes).toBe(before.allocatedBytes);
    expect(after.liveAllocations).toBe(0);
  });
});

describe('errors after allocation', () => {
  test('a status error from C++ frees every buffer', () => {
    // Head size 2^23 passes the JavaScript checks, but the kernel's scratch
    // would need more than 2^29 floats, so C++ returns an error after the
    // wrapper has copied q, k and v into the heap.
    const n = 2 ** 23;
    const q = new Tensor(new Float32Array(n), [1, 1, 1, n]);
    const v = new Tensor(new Float32Array(1), [1, 1, 1, 1]);
    expect(() => ak.attention(q, q, v)).toThrow(/attention: head sizes 8388608 and 1 need \d+ floats of scratch memory/);
    const before = ak.heapStats();
    for (let i = 0; i < 3; i += 1) expect(() => ak.attention(q, q, v)).toThrow(RangeError);
    const after = ak.heapStats();
    expect(after.heapBytes).toBe(before.heapBytes);
    expect(after.allocatedBytes).toBe(before.allocatedBytes);
    expect(after.liveAllocations).toBe(0);
  });
});

describe('heapStats', () => {
  test('reports what a large call allocates', async () => {
    // A fresh instance starts at 16 MiB. Input and output together are
    // twice that, so the memory grows. Layout 'bhsd' copies x in whole,
    // where a 'bshd' x would stream through a small buffer.
    const ak = await loadAttnkit({ newInstance: true });
    // RoPE keeps a per-thread angle table for the last head size between
    // calls, so a small call of the same head size comes first.
    ak.rope(new Tensor(new Float32Array(64), [1, 1, 1, 64]));
    const before = ak.heapStats();
    const n = before.heapBytes / 4;
    const x = new Tensor(new Float32Array(n), [1, 1, n / 64, 64]);
    ak.rope(x, { layout: 'bhsd' });
    const after = ak.heapStats();
    expect(after.heapBytes).toBeGreaterThan(before.heapBytes);
    expect(after.liveAllocations).toBe(0);
    expect(after.allocatedBytes).toBe(before.allocatedBytes);
  });
});

describe('results and heap growth', () => {
  test('a result stays valid after the heap grows', async () => {
    const ak = await loadAttnkit({ newInstance: true });
    const q = seededFloats(2 * 3 * 4, 5);
    const out = ak.attention(new Tensor(q, [2, 3, 4]), new Tensor(q, [2, 3, 4]), new Tensor(q, [2, 3, 4]));
    const copy = Float32Array.from(out.data);
    const heapBefore = ak.heapStats().heapBytes;

    // Inputs larger than the whole current memory force it to grow, which
    // replaces the ArrayBuffer behind every heap view.
    const n = heapBefore / 4 + 1024;
    const big = new Tensor(new Float32Array(n), [1, 1, n / 2, 2]);
    ak.rope(big, { layout: 'bhsd' });
    expect(ak.heapStats().heapBytes).toBeGreaterThan(heapBefore);

    expect(out.data.buffer.byteLength).toBe(out.data.length * 4);
    expect(Array.from(out.data)).toEqual(Array.from(copy));
    expectClose(out.data, attentionReference(q, q, q, { batch: 2, heads: 1, qLen: 3, kvLen: 3, dim: 4 }));
  });
});
