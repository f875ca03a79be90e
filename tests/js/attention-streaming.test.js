// Attention of rank-4 tensors in JavaScript memory above a few MiB, which
// the single-thread build runs in pieces through small WebAssembly buffers:
// each piece contains whole key/value heads with their query heads. Every
// result must equal, bit for bit, the same call on ak.alloc() copies of the
// inputs, which runs in one piece, and one case is also checked against
// the float64 reference.
import { beforeAll, describe, expect, test } from '@jest/globals';
import { loadAttnkit, Tensor } from '../../web/lib/attnkit.js';
import { float16BitsToNumber, float32ToFloat16Bits } from '../conformance/cases.mjs';
import { biasedAttentionReference, seededFloats } from '../reference/reference.js';
import { expectClose } from './tolerance.js';

let ak;
beforeAll(async () => {
  ak = await loadAttnkit();
});

const product = (dims) => dims.reduce((a, b) => a * b, 1);

// Seeded q, k, v tensors in JavaScript memory.
function inputs(qDims, kvDims, seed) {
  return {
    q: new Tensor(seededFloats(product(qDims), seed), qDims),
    k: new Tensor(seededFloats(product(kvDims), seed + 1), kvDims),
    v: new Tensor(seededFloats(product(kvDims), seed + 2), kvDims),
  };
}

// Returns ak.attention on copies of q, k, v in WebAssembly memory.
function attentionOfHeapCopies({ q, k, v }, options) {
  const copies = [q, k, v].map((t) => {
    const copy = ak.alloc(t.dims);
    copy.data.set(t.data);
    return copy;
  });
  try {
    return ak.attention(copies[0], copies[1], copies[2], options).data.slice();
  } finally {
    copies.forEach((t) => t.dispose());
  }
}

// Index of the first element whose bits differ, or -1.
function firstDifference(got, want) {
  const gotBits = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const wantBits = new Uint32Array(want.buffer, want.byteOffset, want.length);
  if (gotBits.length !== wantBits.length) return 0;
  return gotBits.findIndex((bits, i) => bits !== wantBits[i]);
}

function expectStreamedEqualsHeap(tensors, options) {
  const want = attentionOfHeapCopies(tensors, options);
  const got = ak.attention(tensors.q, tensors.k, tensors.v, options);
  expect(got.dims).toEqual([tensors.q.dims[0], tensors.q.dims[1], tensors.q.dims[2], tensors.v.dims[3]]);
  expect(firstDifference(got.data, want)).toBe(-1);
  expect(ak.heapStats().liveAllocations).toBe(0);
  return got;
}

describe('attention in pieces', () => {
  test('GQA decode, one group per piece', () => {
    // A unit (4 query rows, 4096 keys and values of 64) is 2 MiB, so each
    // of the 2 key/value heads is a piece of its own.
    const t = inputs([1, 8, 1, 64], [1, 2, 4096, 64], 310);
    const got = expectStreamedEqualsHeap(t, {});
    const { out } = biasedAttentionReference(t.q.data, t.k.data, t.v.data, {
      batch: 1, heads: 8, kvHeads: 2, qLen: 1, kvLen: 4096, dim: 64,
    });
    expectClose(got.data, out);
  });

  test('causal prefill, shorter last piece', () => {
    // A unit is 40 KiB, so 25 units make a 1 MiB piece: 52 units run as
    // pieces of 25, 25 and 2.
    const t = inputs([13, 4, 60, 32], [13, 4, 100, 32], 320);
    const options = { causal: 'bottom-right', scale: 0.3, softcap: 4 };
    const got = expectStreamedEqualsHeap(t, options);
    const { out } = biasedAttentionReference(t.q.data, t.k.data, t.v.data, {
      batch: 13, heads: 4, qLen: 60, kvLen: 100, dim: 32, scale: 0.3, softcap: 4,
      blocked: (b, h, i, j) => j > i + 40,
    });
    expectClose(got.data, out);
  });

  test('causal, value size differs from key size', () => {
    // A unit (2 query heads, 1 key/value head) is 150 KiB: 15 units run as
    // pieces of 6, 6 and 3.
    const t = inputs([5, 6, 200, 24], [5, 3, 200, 24], 330);
    const v = new Tensor(seededFloats(5 * 3 * 200 * 40, 333), [5, 3, 200, 40]);
    expectStreamedEqualsHeap({ ...t, v }, { causal: true });
  });

  test('float16 inputs match the float32 call', () => {
    const t = inputs([2, 8, 128, 64], [2, 8, 256, 64], 340);
    const half = (tensor) => new Tensor(Uint16Array.from(tensor.data, float32ToFloat16Bits), tensor.dims);
    const halves = { q: half(t.q), k: half(t.k), v: half(t.v) };
    const got = ak.attention(halves.q, halves.k, halves.v);
    expect(got.data).toBeInstanceOf(Uint16Array);
    // The same values as float32 copies in WebAssembly memory.
    const widen = (tensor) => new Tensor(Float32Array.from(tensor.data, float16BitsToNumber), tensor.dims);
    const want = attentionOfHeapCopies({ q: widen(halves.q), k: widen(halves.k), v: widen(halves.v) }, {});
    expect(Array.from(got.data)).toEqual(Array.from(want, float32ToFloat16Bits));
    expect(ak.heapStats().liveAllocations).toBe(0);
  });
});

describe('limits of a streamed call', () => {
  test('oversized output, same error as one copy', () => {
    // Two units, each with an output of 2^15 × 2^16 floats: 2^32 in all.
    const q = new Tensor(new Float32Array(2 * 2 ** 15), [2, 1, 2 ** 15, 1]);
    const k = new Tensor(new Float32Array(2), [2, 1, 1, 1]);
    const v = new Tensor(new Float32Array(2 * 2 ** 16), [2, 1, 1, 2 ** 16]);
    expect(() => ak.attention(q, k, v)).toThrow(RangeError);
    expect(() => ak.attention(q, k, v)).toThrow(
      /attention: the output needs 4294967296 floats \(17179869184 bytes\), more than the 2147483644-byte limit of one buffer/,
    );
    expect(ak.heapStats().liveAllocations).toBe(0);
  });

  test('empty query with too many heads, same error as one copy', () => {
    // q has no rows, but batch × heads = 2^29 is beyond the kernel's limit,
    // while one piece (1 × 2^28 heads) is not. Keys and values of 1 MiB per
    // unit make the call large enough to run in pieces.
    const q = new Tensor(new Float32Array(0), [2, 2 ** 28, 0, 1]);
    const t = inputs([2, 1, 1, 1], [2, 1, 2 ** 18, 1], 360);
    const call = () => ak.attention(q, t.k, t.v);
    expect(call).toThrow(RangeError);
    expect(call).toThrow(/^attention: tensor sizes exceed 2\^29 elements$/);
    expect(() => attentionOfHeapCopies({ ...t, q })).toThrow(/^attention: tensor sizes exceed 2\^29 elements$/);
    expect(ak.heapStats().liveAllocations).toBe(0);
  });
});

describe('memory of a streamed call', () => {
  test('memory grows by less than a tensor', async () => {
    const fresh = await loadAttnkit({ newInstance: true });
    // q, k, v and the result are 8 MiB each.
    const t = inputs([1, 32, 1024, 64], [1, 32, 1024, 64], 350);
    const before = fresh.memoryBytes();
    const got = fresh.attention(t.q, t.k, t.v, { causal: true });
    expect(fresh.memoryBytes() - before).toBeLessThan(8 * 1024 * 1024);
    expect(fresh.heapStats().liveAllocations).toBe(0);
    // One head against the float64 reference.
    const head = 17;
    const slice = (tensor) => tensor.data.subarray(head * 1024 * 64, (head + 1) * 1024 * 64);
    const { out } = biasedAttentionReference(slice(t.q), slice(t.k), slice(t.v), {
      batch: 1, heads: 1, qLen: 1024, kvLen: 1024, dim: 64, blocked: (b, h, i, j) => j > i,
    });
    expectClose(got.data.subarray(head * 1024 * 64, (head + 1) * 1024 * 64), out);
  });
});
