// Bad input: each class of error has its type and message, and the module
// still computes correct results after it.
import { beforeAll, describe, expect, test } from '@jest/globals';
import { loadAttnkit, Tensor } from '../../web/lib/attnkit.js';
import { attentionReference, seededFloats } from '../reference/reference.js';
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
  let caught;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(type);
  expect(caught.message).toMatch(pattern);
  expectStillWorks();
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
