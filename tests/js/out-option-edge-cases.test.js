// The `out` option under unusual arguments: operations that do not take it,
// out.data objects that override typed array members, `out: undefined`,
// and a call made from a getter while another call with `out` runs.
import { beforeAll, describe, expect, test } from '@jest/globals';
import { loadAttnkit, Tensor } from '../../web/lib/attnkit.js';
import { attentionReference, ropeGeneralReference, seededFloats } from '../reference/reference.js';
import { expectClose } from './tolerance.js';

let ak;
beforeAll(async () => {
  ak = await loadAttnkit();
});

// Returns the error thrown by fn(), or null.
function thrownBy(fn) {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return null;
}

describe('out on operations without it', () => {
  const [batch, len, embed] = [1, 3, 8];
  const query = new Tensor(seededFloats(batch * len * embed, 1), [batch, len, embed]);
  const weights = {
    inProjWeight: new Tensor(seededFloats(3 * embed * embed, 2), [3 * embed, embed]),
    outProjWeight: new Tensor(seededFloats(embed * embed, 3), [embed, embed]),
  };

  test('multiheadAttentionForward rejects a JS out before writing', () => {
    const out = new Tensor(new Float32Array(batch * len * embed).fill(5), [batch, len, embed]);
    const error = thrownBy(() => ak.multiheadAttentionForward(query, query, query, weights, { numHeads: 2, out }));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe('multiheadAttentionForward: the out option is not supported by this operation');
    expect(out.data.every((value) => value === 5)).toBe(true);
    expect(ak.heapStats().liveAllocations).toBe(0);
  });

  test('multiheadAttentionForward rejects an alloc() out before writing', () => {
    const out = ak.alloc([batch, len, embed]);
    out.data.fill(5);
    const error = thrownBy(() => ak.multiheadAttentionForward(query, query, query, weights, { numHeads: 2, out }));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe('multiheadAttentionForward: the out option is not supported by this operation');
    expect(out.data.every((value) => value === 5)).toBe(true);
    out.dispose();
    expect(ak.heapStats().liveAllocations).toBe(0);

    const { output } = ak.multiheadAttentionForward(query, query, query, weights, { numHeads: 2 });
    expect(output.dims).toEqual([batch, len, embed]);
  });
});

describe('out.data with overridden members', () => {
  const dims = [1, 5, 2, 8];
  const size = 80;
  const shape = { batch: 1, seq: 5, heads: 2, dim: 8 };

  test('a length getter cannot make out look larger', () => {
    class LongerLength extends Float32Array {
      get length() {
        return size;
      }
    }
    const x = new Tensor(seededFloats(size, 1), dims);
    const out = { data: new LongerLength(size - 10), dims };
    const error = thrownBy(() => ak.rope(x, { out }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toBe('rope: out has 70 elements, but dims [1, 5, 2, 8] need 80');
    expect(ak.heapStats().liveAllocations).toBe(0);
  });

  test('an own set method is not called', () => {
    const x = new Tensor(seededFloats(size, 2), dims);
    const data = new Float32Array(size);
    let calls = 0;
    data.set = (...args) => {
      calls += 1;
      Float32Array.prototype.set.apply(data, args);
    };
    ak.rope(x, { out: { data, dims } });
    expect(calls).toBe(0);
    expectClose(data, ropeGeneralReference(x.data, shape));
  });

  test('a buffer getter cannot hide an overlap with a large x', () => {
    // 2 × 300 tokens of 8 × 128 floats, 2.4 MiB: x streams through pieces
    // unless out overlaps it.
    const bigDims = [2, 300, 8, 128];
    const bigSize = 2 * 300 * 8 * 128;
    class OtherBuffer extends Float32Array {
      get buffer() {
        return new ArrayBuffer(8);
      }
    }
    const memory = new Float32Array(bigSize + 1);
    memory.set(seededFloats(bigSize, 3));
    const x = new Tensor(memory.subarray(0, bigSize), bigDims);
    const want = ropeGeneralReference(x.data, { batch: 2, seq: 300, heads: 8, dim: 128 });
    // out starts one element after x in the same memory.
    const out = { data: new OtherBuffer(memory.buffer, 4, bigSize), dims: bigDims };
    ak.rope(x, { out });
    expectClose(memory.subarray(1), want);
  });
});

describe('out: undefined', () => {
  test('means no out, as for every other option', () => {
    const dims = [1, 2, 6, 8];
    const [q, k, v] = [1, 2, 3].map((seed) => new Tensor(seededFloats(96, seed), dims));
    const got = ak.attention(q, k, v, { out: undefined });
    expect(got).toBeInstanceOf(Tensor);
    expectClose(got.data, attentionReference(q.data, k.data, v.data, { batch: 1, heads: 2, qLen: 6, kvLen: 6, dim: 8 }));

    const x = new Tensor(seededFloats(80, 4), [1, 5, 2, 8]);
    const rotated = ak.rope(x, { out: undefined, positionOffset: 3 });
    expectClose(rotated.data, ropeGeneralReference(x.data, { batch: 1, seq: 5, heads: 2, dim: 8, positions: (b, s) => s + 3 }));
    expect(ak.ropeCache({ maxPositions: 4, rotaryDim: 8, out: undefined }).cosCache.dims).toEqual([4, 4]);
  });
});

describe('call from a getter during a call with out', () => {
  const dims = [1, 2, 1, 8];
  const x = new Tensor(seededFloats(16, 5), dims);
  const want = ropeGeneralReference(x.data, { batch: 1, seq: 2, heads: 1, dim: 8, positions: (b, s) => s / 2 });

  test('the inner call returns its own result', () => {
    const out = new Tensor(new Float32Array(16), dims);
    let inner;
    const scaling = {
      type: 'linear',
      get factor() {
        inner = ak.rope(x, { positionOffset: 1 });
        return 2;
      },
    };
    expect(ak.rope(x, { out, scaling })).toBe(out);
    expect(inner.data).not.toBe(out.data);
    expectClose(inner.data, ropeGeneralReference(x.data, { batch: 1, seq: 2, heads: 1, dim: 8, positions: (b, s) => s + 1 }));
    expectClose(out.data, want);
  });

  test('an inner call of another size does not see out', () => {
    const out = new Tensor(new Float32Array(16), dims);
    const q = new Tensor(seededFloats(8, 6), [1, 1, 1, 8]);
    let inner;
    const scaling = {
      type: 'linear',
      get factor() {
        inner = ak.attention(q, q, q);
        return 2;
      },
    };
    expect(ak.rope(x, { out, scaling })).toBe(out);
    expectClose(inner.data, q.data);
    expectClose(out.data, want);
    expect(ak.heapStats().liveAllocations).toBe(0);
  });
});
