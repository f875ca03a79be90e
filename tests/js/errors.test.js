// Bad input: each class of error has its type and message, and the module
// still computes correct results after it.
import { beforeAll, describe, expect, test } from '@jest/globals';
import { loadAttnkit, Tensor } from '../../web/lib/attnkit.js';
import { attentionReference, multiheadReference, ropeReference, seededFloats } from '../reference/reference.js';
import { expectErrorThenWorks } from './expect-error.js';
import { expectClose } from './tolerance.js';

let ak;
beforeAll(async () => {
  ak = await loadAttnkit();
});

const t = (dims, fill = 0.5) => new Tensor(new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(fill), dims);

// A valid call whose result is checked, run after every error.
function expectStillWorks() {
  const q = seededFloats(2 * 3 * 4, 99);
  const out = ak.attention(new Tensor(q, [2, 3, 4]), new Tensor(q, [2, 3, 4]), new Tensor(q, [2, 3, 4]));
  expectClose(out.data, attentionReference(q, q, q, { batch: 2, heads: 1, qLen: 3, kvLen: 3, dim: 4 }));
}

function expectError(fn, type, pattern) {
  expectErrorThenWorks(fn, type, pattern, expectStillWorks);
}

describe('Tensor', () => {
  test('rejects data that is not a Float32Array', () => {
    expect(() => new Tensor([1, 2], [2])).toThrow(TypeError);
    expect(() => new Tensor(new Float64Array(2), [2])).toThrow(/Float32Array or a Uint16Array of float16 bits, got Float64Array\(2\)/);
  });

  test('rejects a length that does not match dims', () => {
    expect(() => new Tensor(new Float32Array(5), [2, 3])).toThrow(RangeError);
    expect(() => new Tensor(new Float32Array(5), [2, 3])).toThrow('Tensor: tensor has 5 elements, but dims [2, 3] need 6');
  });

  test.each([[-1], [1.5], [NaN], [Infinity], ['2']])('rejects dim %p', (d) => {
    expect(() => new Tensor(new Float32Array(2), [2, d])).toThrow(RangeError);
  });
});

describe('attention errors', () => {
  test('data not a Float32Array', () => {
    expectError(() => ak.attention({ data: [1, 2], dims: [1, 1, 2] }, t([1, 1, 2]), t([1, 1, 2])), TypeError, /attention: q\.data must be a Float32Array or a Uint16Array of float16 bits, got Array\(2\)/);
  });

  test('tensor not an object', () => {
    expectError(() => ak.attention(t([1, 1, 2]), null, t([1, 1, 2])), TypeError, /attention: k must be a tensor/);
  });

  test('length does not match dims', () => {
    expectError(
      () => ak.attention({ data: new Float32Array(5), dims: [1, 2, 3] }, t([1, 2, 3]), t([1, 2, 3])),
      RangeError,
      /attention: q has 5 elements, but dims \[1, 2, 3\] need 6/,
    );
  });

  test('wrong rank', () => {
    expectError(() => ak.attention(t([2, 3]), t([2, 3]), t([2, 3])), RangeError, /q must have rank 3 or 4, got rank 2 \(dims \[2, 3\]\)/);
    expectError(() => ak.attention(t([1, 2, 3]), t([1, 1, 2, 3]), t([1, 2, 3])), RangeError, /k must have rank 3/);
  });

  test('mismatched batch', () => {
    expectError(() => ak.attention(t([2, 3, 4]), t([1, 3, 4]), t([1, 3, 4])), RangeError, /batch sizes of q \(2\) and k \(1\) must be equal/);
  });

  test('mismatched head size', () => {
    expectError(() => ak.attention(t([1, 3, 4]), t([1, 3, 5]), t([1, 3, 4])), RangeError, /head sizes of q \(4\) and k \(5\)/);
  });

  test('mismatched key and value lengths', () => {
    expectError(() => ak.attention(t([1, 1, 3, 8]), t([1, 1, 5, 8]), t([1, 1, 6, 8])), RangeError, /sequence lengths of k \(5\) and v \(6\)/);
  });

  test('heads not a multiple of key/value heads', () => {
    expectError(() => ak.attention(t([1, 3, 2, 4]), t([1, 2, 2, 4]), t([1, 2, 2, 4])), RangeError, /kvNumHeads \(2\) must divide qNumHeads \(3\)/);
  });

  test('zero batch or head size', () => {
    expectError(() => ak.attention(t([0, 2, 4]), t([0, 2, 4]), t([0, 2, 4])), RangeError, /q batch \(dims\[0\]\) must be positive, got 0/);
    expectError(() => ak.attention(t([1, 2, 0]), t([1, 2, 0]), t([1, 2, 0])), RangeError, /hidden size/);
  });

  test('negative or fractional dims', () => {
    expectError(() => ak.attention({ data: new Float32Array(0), dims: [1, -2, 0] }, t([1, 2, 4]), t([1, 2, 4])), RangeError, /q\.dims\[1\] must be a non-negative integer, got -2/);
    expectError(() => ak.attention({ data: new Float32Array(3), dims: [1, 1.5, 2] }, t([1, 2, 4]), t([1, 2, 4])), RangeError, /got 1\.5/);
  });

  test('unknown option and wrong option type', () => {
    expectError(() => ak.attention(t([1, 2, 4]), t([1, 2, 4]), t([1, 2, 4]), { scael: 1 }), TypeError, /unknown option 'scael'/);
    expectError(() => ak.attention(t([1, 2, 4]), t([1, 2, 4]), t([1, 2, 4]), { scale: '1' }), TypeError, /scale must be a number/);
    expectError(() => ak.attention(t([1, 2, 4]), t([1, 2, 4]), t([1, 2, 4]), { scale: NaN }), RangeError, /scale must be a finite number, got NaN/);
  });
});

describe('multiheadAttention errors', () => {
  test('o is not E×E', () => {
    expectError(() => ak.multiheadAttention(t([1, 2, 3, 4]), t([1, 2, 3, 4]), t([1, 2, 3, 4]), t([8, 7])), RangeError, /o must have dims \[8, 8\] \(E = heads·headDim\), got \[8, 7\]/);
  });

  test('rank 3 inputs', () => {
    expectError(() => ak.multiheadAttention(t([1, 3, 4]), t([1, 3, 4]), t([1, 3, 4]), t([4, 4])), RangeError, /q must have rank 4/);
  });

  test('key heads differ from query heads', () => {
    expectError(() => ak.multiheadAttention(t([1, 2, 3, 4]), t([1, 1, 3, 4]), t([1, 1, 3, 4]), t([8, 8])), RangeError, /head counts of q \(2\) and k \(1\)/);
  });

  test('bias of the wrong size', () => {
    expectError(() => ak.multiheadAttention(t([1, 2, 3, 4]), t([1, 2, 3, 4]), t([1, 2, 3, 4]), t([8, 8]), { outBias: t([7]) }), RangeError, /outBias must have dims \[8\], got \[7\]/);
  });
});

describe('rope errors', () => {
  test('odd head size', () => {
    expectError(() => ak.rope(t([1, 2, 1, 3])), RangeError, /rope: headDim must be even and positive, got 3 in dims \[1, 2, 1, 3\]/);
  });

  test('zero batch or heads', () => {
    expectError(() => ak.rope(t([0, 2, 1, 4])), RangeError, /rope: batch and heads of x must be positive, got dims \[0, 2, 1, 4\]/);
    expectError(() => ak.rope(t([1, 2, 0, 4])), RangeError, /rope: batch and heads of x must be positive/);
  });

  test('wrong rank', () => {
    expectError(() => ak.rope(t([2, 4])), RangeError, /rope: x must have rank 3 or 4, got rank 2/);
  });

  test('bad options', () => {
    expectError(() => ak.rope(t([1, 2, 1, 4]), { base: -1 }), RangeError, /base must be a positive finite number, got -1/);
    expectError(() => ak.rope(t([1, 2, 1, 4]), { interleaved: 1 }), TypeError, /interleaved must be a boolean/);
    expectError(() => ak.rope(t([1, 2, 1, 4]), { positionOffset: 0.5 }), RangeError, /positionOffset must be a finite integer, got 0\.5/);
  });

  test('Float64Array data', () => {
    expectError(() => ak.rope({ data: new Float64Array(8), dims: [1, 2, 1, 4] }), TypeError, /x\.data must be a Float32Array, got Float64Array\(8\)/);
  });
});

describe('buffers and sizes', () => {
  function detachedTensor(dims) {
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
    structuredClone(data.buffer, { transfer: [data.buffer] });
    return { data, dims };
  }

  test('detached buffer', () => {
    expectError(
      () => ak.attention(detachedTensor([1, 2, 4]), t([1, 2, 4]), t([1, 2, 4])),
      TypeError,
      /attention: q\.data is a view of a detached ArrayBuffer/,
    );
    expectError(() => ak.rope(detachedTensor([1, 2, 1, 4])), TypeError, /rope: x\.data is a view of a detached ArrayBuffer/);
    expect(() => new Tensor(detachedTensor([2]).data, [2])).toThrow(TypeError);
  });

  test('dims of the wrong type', () => {
    expectError(() => ak.rope({ data: new Float32Array(8), dims: '1,2,1,4' }), TypeError, /rope: x\.dims must be an array of integers, got string 1,2,1,4/);
    expectError(() => ak.rope({ data: new Float32Array(8) }), TypeError, /x\.dims must be an array of integers, got undefined/);
  });

  test('a dim above the 32-bit range', () => {
    expectError(
      () => ak.attention({ data: new Float32Array(0), dims: [1, 2 ** 32, 0, 4] }, t([1, 1, 2, 4]), t([1, 1, 2, 4])),
      RangeError,
      /attention: q\.dims\[1\] must be at most 4294967295, got 4294967296 in dims \[1, 4294967296, 0, 4\]/,
    );
  });

  test('an output larger than one buffer may be', () => {
    // q and v hold 2^16 floats each, but the output would hold 2^32.
    const q = t([1, 1, 2 ** 16, 1]);
    const k = t([1, 1, 1, 1]);
    const v = t([1, 1, 1, 2 ** 16]);
    expectError(
      () => ak.attention(q, k, v),
      RangeError,
      /attention: the output needs 4294967296 floats \(17179869184 bytes\), more than the 2147483644-byte limit of one buffer/,
    );
    expect(ak.heapStats().liveAllocations).toBe(0);
  });

  test('an output between the buffer limit and the 4 GiB memory', () => {
    // 2^29 floats are 2 GiB, just above the limit of one buffer.
    expectError(() => ak.attention(t([1, 1, 2 ** 13, 1]), t([1, 1, 1, 1]), t([1, 1, 1, 2 ** 16])), RangeError, /the output needs 536870912 floats/);
  });

  test('head size whose scratch memory is too large', () => {
    const n = 2 ** 23;
    const q = { data: new Float32Array(n), dims: [1, n] };
    expectError(
      () => ak.attention({ ...q, dims: [1, 1, n] }, { ...q, dims: [1, 1, n] }, t([1, 1, 1])),
      RangeError,
      /attention: head sizes 8388608 and 1 need \d+ floats of scratch memory, more than the limit of 536870911/,
    );
  });

  test('options that are not an object', () => {
    expectError(() => ak.attention(t([1, 2, 4]), t([1, 2, 4]), t([1, 2, 4]), 1.5), TypeError, /attention: options must be an object, got number 1\.5/);
    expectError(() => ak.rope(t([1, 2, 1, 4]), [true]), TypeError, /rope: options must be an object, got Array\(1\)/);
    expectError(() => ak.rope(t([1, 2, 1, 4]), null), TypeError, /rope: options must be an object, got null/);
  });

  test('positionOffset beyond the safe integers', () => {
    expectError(() => ak.rope(t([1, 2, 1, 4]), { positionOffset: 2 ** 53 }), RangeError, /rope: positionOffset must be a safe integer, got 9007199254740992/);
  });

  test('subarray views are read at their offset', () => {
    const backing = seededFloats(40, 7);
    const view = backing.subarray(16, 40);
    const out = ak.attention(new Tensor(view, [2, 3, 4]), new Tensor(view, [2, 3, 4]), new Tensor(view, [2, 3, 4]));
    expectClose(out.data, attentionReference(view, view, view, { batch: 2, heads: 1, qLen: 3, kvLen: 3, dim: 4 }));
  });
});

describe('remaining classes of the docs table', () => {
  test('zero RoPE head size', () => {
    expectError(() => ak.rope(t([1, 2, 3, 0])), RangeError, /rope: headDim must be even and positive, got 0 in dims \[1, 2, 3, 0\]/);
  });

  test('non-finite and non-number dims', () => {
    expectError(() => ak.attention({ data: new Float32Array(3), dims: [1, NaN, 2] }, t([1, 2, 4]), t([1, 2, 4])), RangeError, /q\.dims\[1\] must be a non-negative integer, got NaN/);
    expectError(() => ak.rope({ data: new Float32Array(8), dims: [1, 2, 1, '4'] }), RangeError, /x\.dims\[3\] must be a non-negative integer, got string 4 in dims \[1, 2, 1, 4\]/);
  });

  test('outBias of the wrong type', () => {
    expectError(() => ak.multiheadAttention(t([1, 2, 3, 4]), t([1, 2, 3, 4]), t([1, 2, 3, 4]), t([8, 8]), { outBias: [1, 2] }), TypeError, /multiheadAttention: outBias\.data must be a Float32Array, got undefined/);
  });

  test('a Uint16Array is rejected where float16 is not accepted', () => {
    expectError(() => ak.rope({ data: new Uint16Array(8), dims: [1, 2, 1, 4] }), TypeError, /rope: x\.data must be a Float32Array, got Uint16Array\(8\)/);
  });
});

describe('arguments that change between reads', () => {
  // Each function reads a tensor's data and dims once; later reads by a
  // getter or a Proxy would otherwise size buffers unlike the checked shape.
  test('a data getter is read once', () => {
    const full = seededFloats(2 * 4 * 1 * 4, 3);
    let reads = 0;
    const x = {
      get data() {
        reads += 1;
        return reads === 1 ? full : new Float32Array(2);
      },
      dims: [2, 4, 1, 4],
    };
    const out = ak.rope(x);
    expect(reads).toBe(1);
    expectClose(out.data, ropeReference(full, { batch: 2, seq: 4, heads: 1, dim: 4 }));
    expect(ak.heapStats().liveAllocations).toBe(0);
    expectStillWorks();
  });

  test('an own length property is ignored', () => {
    const data = seededFloats(16, 4);
    Object.defineProperty(data, 'length', { get: () => 2 });
    const out = ak.rope({ data, dims: [1, 2, 2, 4] });
    expect(out.data.length).toBe(16);
    expectClose(out.data, ropeReference(data.slice(0, 16), { batch: 1, seq: 2, heads: 2, dim: 4 }));
  });

  test('dims behind a Proxy are read once', () => {
    const q = seededFloats(8, 5);
    let reads = 0;
    const dims = new Proxy([1, 2, 4], {
      get(target, key) {
        if (key === '2') {
          reads += 1;
          return reads === 1 ? 4 : 4000;
        }
        return Reflect.get(target, key);
      },
    });
    const out = ak.attention({ data: q, dims }, new Tensor(q, [1, 2, 4]), new Tensor(q, [1, 2, 4]));
    expect(reads).toBe(1);
    expect(out.dims).toEqual([1, 2, 4]);
    expectClose(out.data, attentionReference(q, q, q, { batch: 1, heads: 1, qLen: 2, kvLen: 2, dim: 4 }));
  });

  test('a Proxy in place of a typed array', () => {
    expectError(
      () => ak.rope({ data: new Proxy(new Float32Array(8), {}), dims: [1, 2, 1, 4] }),
      TypeError,
      /rope: x\.data imitates a typed array but is not one \(for example a Proxy\); pass the typed array itself/,
    );
  });

  test('a tensor in the options is read once', () => {
    const bias = seededFloats(8, 6);
    let reads = 0;
    const outBias = {
      get data() {
        reads += 1;
        return reads === 1 ? bias : new Float32Array(1);
      },
      dims: [8],
    };
    const q = seededFloats(1 * 2 * 3 * 4, 7);
    const o = seededFloats(64, 8, -0.1, 0.1);
    const out = ak.multiheadAttention(new Tensor(q, [1, 2, 3, 4]), new Tensor(q, [1, 2, 3, 4]), new Tensor(q, [1, 2, 3, 4]), new Tensor(o, [8, 8]), { outBias });
    expect(reads).toBe(1);
    expectClose(out.data, multiheadReference(q, q, q, o, { batch: 1, heads: 2, qLen: 3, kvLen: 3, dim: 4, bias }));
  });
});

describe('float32 option range', () => {
  test('scale beyond float32', () => {
    expectError(() => ak.attention(t([1, 2, 4]), t([1, 2, 4]), t([1, 2, 4]), { scale: 1e39 }), RangeError, /attention: scale must be within the float32 range ±3\.4028234663852886e\+38, got 1e\+39/);
    expectError(() => ak.multiheadAttention(t([1, 2, 3, 4]), t([1, 2, 3, 4]), t([1, 2, 3, 4]), t([8, 8]), { scale: -1e39 }), RangeError, /multiheadAttention: scale must be within the float32 range/);
  });
});

describe('RoPE option tensors that change between reads', () => {
  test('positionIds with an own length property', () => {
    const x = seededFloats(1 * 3 * 1 * 4, 9);
    const data = Int32Array.from([5, 0, 2]);
    Object.defineProperty(data, 'length', { get: () => 1 });
    const out = ak.rope(new Tensor(x, [1, 3, 1, 4]), { positionIds: { data, dims: [1, 3] } });
    const want = ak.rope(new Tensor(x, [1, 3, 1, 4]), { positionIds: { data: Int32Array.from([5, 0, 2]), dims: [1, 3] } });
    expect(Array.from(out.data)).toEqual(Array.from(want.data));
  });
});

describe('empty RoPE input with a huge head size', () => {
  test('returns an empty tensor without allocating', () => {
    // Building the frequency table for headDim 2^31 trapped with an
    // out-of-bounds access before empty input skipped it.
    for (const headDim of [2 ** 30, 2 ** 31, 2 ** 32 - 2]) {
      const out = ak.rope({ data: new Float32Array(0), dims: [1, 0, 1, headDim] });
      expect(out.dims).toEqual([1, 0, 1, headDim]);
      expect(out.data.length).toBe(0);
    }
    expect(ak.heapStats().heapBytes).toBeLessThan(2 ** 30);
    expectStillWorks();
  });
});

describe('ropeCache size', () => {
  // The other RoPE rows of docs/errors.md are checked in rope-errors.test.js.
  test('table above the buffer limit', () => {
    expectError(() => ak.ropeCache({ maxPositions: 2 ** 20, rotaryDim: 2 ** 12 }), RangeError, /ropeCache: output 1 needs 2147483648 floats/);
  });
});

describe('RoPE angle table of a huge head size', () => {
  test('is a RangeError, not a short buffer', () => {
    // 69 doubles per pair of 2^23 pairs is 4.6 GB, which wrapped the 32-bit
    // size_t to a 335 MB buffer that the angle rows then overran.
    const n = 2 ** 24;
    const x = new Tensor(new Float32Array(n), [1, 1, 1, n]);
    expectError(() => ak.rope(x), RangeError, /rope: could not allocate the angle table/);
    expect(ak.heapStats().liveAllocations).toBe(0);
  });
});
