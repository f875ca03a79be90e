// RoPE of tensors in JavaScript memory above 1 MiB, which ak.rope streams
// through one WebAssembly buffer in pieces: pieces of several short batch
// entries, and an out in the same memory as x. Each result must equal
// ak.rope of an ak.alloc() copy of x, which is not streamed, bit for bit.
import { beforeAll, describe, expect, test } from '@jest/globals';
import { loadAttnkit, Tensor } from '../../web/lib/attnkit.js';
import { ropeGeneralReference, seededFloats } from '../reference/reference.js';
import { expectClose } from './tolerance.js';

let ak;
beforeAll(async () => {
  ak = await loadAttnkit();
});

// Returns ak.rope(x, options).data computed on a copy of x in WebAssembly
// memory.
function ropeOfHeapCopy(x, options, instance = ak) {
  const copy = instance.alloc(x.dims);
  try {
    copy.data.set(x.data);
    return instance.rope(copy, options).data.slice();
  } finally {
    copy.dispose();
  }
}

// Index of the first element whose bits differ, or -1.
function firstDifference(got, want) {
  const gotBits = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const wantBits = new Uint32Array(want.buffer, want.byteOffset, want.length);
  if (gotBits.length !== wantBits.length) return 0;
  return gotBits.findIndex((bits, i) => bits !== wantBits[i]);
}

// Rotates x into a new array, into out and in place, and compares each
// result with the unstreamed one.
function expectStreamedEqualsHeap(x, options, instance = ak) {
  const want = ropeOfHeapCopy(x, options, instance);
  expect(firstDifference(instance.rope(x, options).data, want)).toBe(-1);

  const out = new Tensor(new Float32Array(x.data.length).fill(NaN), x.dims);
  expect(instance.rope(x, { ...options, out })).toBe(out);
  expect(firstDifference(out.data, want)).toBe(-1);

  const copy = new Tensor(x.data.slice(), x.dims);
  expect(instance.rope(copy, { ...options, inPlace: true })).toBe(copy);
  expect(firstDifference(copy.data, want)).toBe(-1);
  expect(instance.heapStats().liveAllocations).toBe(0);
}

// 300 batch entries of 7 tokens of 4 × 32 floats, 1.03 MiB: a piece of
// 2048 tokens contains 292 batch entries, and the second piece the last 8.
const shortSeqs = { batch: 300, seq: 7, heads: 4, dim: 32 };
const shortDims = [300, 7, 4, 32];
const shortSize = 300 * 7 * 4 * 32;

describe('rope pieces of several batch entries', () => {
  const x = new Tensor(seededFloats(shortSize, 21), shortDims);

  test('positionOffset matches the reference', () => {
    const got = ak.rope(x, { positionOffset: 40 });
    expectClose(got.data, ropeGeneralReference(x.data, { ...shortSeqs, positions: (b, s) => s + 40 }));
    expectStreamedEqualsHeap(x, { positionOffset: 40 });
  });

  test('positionIds per batch entry', () => {
    const ids = new Int32Array(300 * 7).map((_, i) => (i * 7919) % 3001);
    const positionIds = { data: ids, dims: [300, 7] };
    const got = ak.rope(x, { positionIds });
    expectClose(got.data, ropeGeneralReference(x.data, { ...shortSeqs, positions: (b, s) => ids[b * 7 + s] }));
    expectStreamedEqualsHeap(x, { positionIds });
    const wide = { data: BigInt64Array.from(ids, (id) => BigInt(id) - 1500n), dims: [300, 7] };
    expectStreamedEqualsHeap(x, { positionIds: wide, interleaved: false, rotaryDim: 16 });
  });

  test('per-token and position caches', () => {
    for (const width of [8, 16]) {
      const cacheDims = [300, 7, width];
      const cosCache = new Tensor(seededFloats(300 * 7 * width, 22), cacheDims);
      const sinCache = new Tensor(seededFloats(300 * 7 * width, 23), cacheDims);
      expectStreamedEqualsHeap(x, { rotaryDim: 16, cosCache, sinCache });
    }
    const table = ak.ropeCache({ maxPositions: 64, rotaryDim: 32 });
    expectStreamedEqualsHeap(x, { positionOffset: 57, ...table });
    const ids = new Int32Array(300 * 7).map((_, i) => (i * 31) % 64);
    expectStreamedEqualsHeap(x, { positionIds: { data: ids, dims: [300, 7] }, ...table });
  });

  test('rank 3 and scaling', () => {
    const x3 = new Tensor(x.data, [300, 7, 128]);
    expectStreamedEqualsHeap(x3, { numHeads: 4, positionOffset: -9 });
    expectStreamedEqualsHeap(x, { scaling: { type: 'yarn', factor: 4, originalMaxPositions: 16 } });
  });

  test('one token per batch entry', () => {
    // 70000 batch entries of one 4-float token: 1.07 MiB.
    const tokens = new Tensor(seededFloats(70000 * 4, 24), [70000, 1, 1, 4]);
    const ids = new Int32Array(70000).map((_, i) => i % 977);
    expectStreamedEqualsHeap(tokens, { positionIds: { data: ids, dims: [70000, 1] } });
    expectStreamedEqualsHeap(tokens, { positionOffset: 5 });
  });

  test('seq of exactly one piece', () => {
    // 2048 tokens of 128 floats fill one 1 MiB piece.
    const exact = new Tensor(seededFloats(3 * 2048 * 128, 25), [3, 2048, 1, 128]);
    expectStreamedEqualsHeap(exact, { positionOffset: 3 });
    const longer = new Tensor(seededFloats(2 * 2049 * 128, 26), [2, 2049, 1, 128]);
    expectStreamedEqualsHeap(longer, { positionOffset: 3 });
  });

  test('tokens larger than one piece', () => {
    // Tokens of 5 × 65536 floats (1.25 MiB): one token per piece, in a
    // buffer larger than 1 MiB.
    const huge = new Tensor(seededFloats(2 * 3 * 5 * 65536, 27), [2, 3, 5, 65536]);
    const ids = { data: BigInt64Array.from([9n, -4n, 70000n, 0n, 1n, 2n]), dims: [2, 3] };
    expectStreamedEqualsHeap(huge, { positionIds: ids, rotaryDim: 64, interleaved: false });
    const cosCache = new Tensor(seededFloats(2 * 3 * 32, 28), [2, 3, 32]);
    const sinCache = new Tensor(seededFloats(2 * 3 * 32, 29), [2, 3, 32]);
    expectStreamedEqualsHeap(huge, { rotaryDim: 64, cosCache, sinCache });
    expectStreamedEqualsHeap(new Tensor(huge.data, [2, 3, 5 * 65536]), { numHeads: 5, positionOffset: 2 ** 40 });
  });

  test('late bad position id writes nothing', () => {
    const ids = new Int32Array(300 * 7).fill(1);
    ids[ids.length - 1] = 64;
    const table = ak.ropeCache({ maxPositions: 64, rotaryDim: 32 });
    const copy = new Tensor(x.data.slice(), shortDims);
    expect(() => ak.rope(copy, { positionIds: { data: ids, dims: [300, 7] }, ...table, inPlace: true })).toThrow(
      /rope: positionIds\[299, 6\] is 64, outside the cache rows 0 to 63/,
    );
    expect(firstDifference(copy.data, x.data)).toBe(-1);
    expect(ak.heapStats().liveAllocations).toBe(0);
  });
});

describe('rope out in the memory of x', () => {
  // 1024 tokens of 32 × 128 floats, 16 MiB. Copying x in and the result
  // out would grow a new instance's 16 MiB memory. Streaming needs 1 MiB.
  const dims = [1, 1024, 32, 128];
  const size = 1024 * 32 * 128;

  test('out equal to x streams', async () => {
    const fresh = await loadAttnkit({ newInstance: true });
    const before = fresh.memoryBytes();
    const x = new Tensor(seededFloats(size, 31), dims);
    const want = ropeOfHeapCopy(x, { positionOffset: 7 });
    expect(fresh.rope(x, { positionOffset: 7, out: x })).toBe(x);
    expect(firstDifference(x.data, want)).toBe(-1);
    expect(fresh.memoryBytes()).toBe(before);

    const sameMemory = new Tensor(new Float32Array(x.data.buffer), dims);
    const wantAgain = ropeOfHeapCopy(x, { positionOffset: -7 });
    fresh.rope(x, { positionOffset: -7, out: sameMemory });
    expect(firstDifference(x.data, wantAgain)).toBe(-1);
    expect(fresh.memoryBytes()).toBe(before);
    expect(fresh.heapStats().liveAllocations).toBe(0);
  });

  test('out before x streams, out after x is copied', async () => {
    const fresh = await loadAttnkit({ newInstance: true });
    const before = fresh.memoryBytes();
    const x0 = new Tensor(seededFloats(size, 32), dims);
    const want = ropeOfHeapCopy(x0, {});

    // out starts 3 elements before x: each piece writes only memory that
    // earlier pieces have read.
    const memory = new Float32Array(size + 3);
    memory.set(x0.data, 3);
    const x = new Tensor(memory.subarray(3), dims);
    fresh.rope(x, { out: new Tensor(memory.subarray(0, size), dims) });
    expect(firstDifference(memory.subarray(0, size), want)).toBe(-1);
    expect(fresh.memoryBytes()).toBe(before);

    // out starts 3 elements after x: a piece would overwrite the start of
    // the next one before it is read, so x is copied in whole.
    memory.set(x0.data, 0);
    const early = new Tensor(memory.subarray(0, size), dims);
    fresh.rope(early, { out: new Tensor(memory.subarray(3), dims) });
    expect(firstDifference(memory.subarray(3), want)).toBe(-1);
    expect(fresh.heapStats().liveAllocations).toBe(0);
  });

  test('out in another SharedArrayBuffer of x memory', () => {
    // structuredClone of a SharedArrayBuffer returns a second object for
    // the same memory, so an out after x in it overlaps x unseen.
    const x0 = new Tensor(seededFloats(size, 33), dims);
    const want = ropeOfHeapCopy(x0, {});
    const shared = new SharedArrayBuffer((size + 3) * 4);
    const alias = structuredClone(shared);
    const x = new Tensor(new Float32Array(shared, 0, size), dims);
    x.data.set(x0.data);
    ak.rope(x, { out: new Tensor(new Float32Array(alias, 12, size), dims) });
    expect(firstDifference(new Float32Array(shared, 12, size), want)).toBe(-1);
    expect(ak.heapStats().liveAllocations).toBe(0);
  });
});

describe('rope streaming with two threads', () => {
  test('batch pieces and out equal to x', async () => {
    const threaded = await loadAttnkit({ threads: 2 });
    const x = new Tensor(seededFloats(shortSize, 41), shortDims);
    const ids = new Int32Array(300 * 7).map((_, i) => (i * 13) % 500);
    expectStreamedEqualsHeap(x, { positionIds: { data: ids, dims: [300, 7] } }, threaded);

    const want = ropeOfHeapCopy(x, { positionOffset: 11 }, threaded);
    const shared = new Tensor(new Float32Array(new SharedArrayBuffer(shortSize * 4)), shortDims);
    shared.data.set(x.data);
    expect(threaded.rope(shared, { positionOffset: 11, out: shared })).toBe(shared);
    expect(firstDifference(shared.data, want)).toBe(-1);
    expect(threaded.heapStats().liveAllocations).toBe(0);
  });
});
