// Bad options of attention, attentionWithCache and multiheadAttentionForward:
// each raises a TypeError or RangeError naming the option and the dims, and
// the module computes correct results afterwards.
import { beforeAll, describe, expect, test } from '@jest/globals';
import { loadAttnkit, Tensor } from '../../web/lib/attnkit.js';
import { attentionReference, seededFloats } from '../reference/reference.js';
import { expectErrorThenWorks } from './expect-error.js';
import { expectClose } from './tolerance.js';

let ak;
beforeAll(async () => {
  ak = await loadAttnkit();
});

const t = (dims, fill = 0.5) => new Tensor(new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(fill), dims);
const q = t([2, 4, 3, 8]);
const k = t([2, 2, 5, 8]);
const v = t([2, 2, 5, 8]);

function expectStillWorks() {
  const x = seededFloats(2 * 3 * 4, 99);
  const out = ak.attention(new Tensor(x, [2, 3, 4]), new Tensor(x, [2, 3, 4]), new Tensor(x, [2, 3, 4]));
  expectClose(out.data, attentionReference(x, x, x, { batch: 2, heads: 1, qLen: 3, kvLen: 3, dim: 4 }));
}

function expectError(fn, type, pattern) {
  expectErrorThenWorks(fn, type, pattern, expectStillWorks);
}

describe('attention option errors', () => {
  test('mask that cannot broadcast', () => {
    expectError(() => ak.attention(q, k, v, { mask: t([4, 5]) }), RangeError, /attention: mask dims \[4, 5\] cannot broadcast to \[batch, heads, qLen, totalKvLen\] = \[2, 4, 3, 5\]/);
    expectError(() => ak.attention(q, k, v, { mask: t([3, 3, 5]) }), RangeError, /mask dims \[3, 3, 5\] cannot broadcast/);
    expectError(() => ak.attention(q, k, v, { mask: t([3, 6]) }), RangeError, /mask dims \[3, 6\] cannot broadcast.*at most 5/);
  });

  test('mask of the wrong rank or type', () => {
    expectError(() => ak.attention(q, k, v, { mask: t([5]) }), RangeError, /mask must have rank 2, 3 or 4, got rank 1/);
    expectError(() => ak.attention(q, k, v, { mask: { data: new Int8Array(15), dims: [3, 5] } }), TypeError, /mask\.data must be a Uint8Array/);
    expectError(() => ak.attention(q, k, v, { mask: { data: new Uint8Array(14), dims: [3, 5] } }), RangeError, /mask has 14 elements, but dims \[3, 5\] need 15/);
  });

  test('kvNumHeads that does not divide qNumHeads', () => {
    expectError(() => ak.attention(t([1, 2, 12]), t([1, 2, 8]), t([1, 2, 8]), { qNumHeads: 3, kvNumHeads: 2 }), RangeError, /kvNumHeads \(2\) must divide qNumHeads \(3\)/);
    expectError(() => ak.attention(t([1, 2, 12]), t([1, 2, 12]), t([1, 2, 12]), { qNumHeads: 5 }), RangeError, /q hidden size 12 \(dims \[1, 2, 12\]\) is not divisible by qNumHeads \(5\)/);
    expectError(() => ak.attention(q, k, v, { qNumHeads: 3 }), RangeError, /qNumHeads \(3\) does not match q heads in dims \[2, 4, 3, 8\]/);
    expectError(() => ak.attention(q, k, v, { kvNumHeads: 0 }), RangeError, /kvNumHeads must be a positive finite integer, got 0/);
  });

  test('past tensors whose dims disagree', () => {
    expectError(() => ak.attention(q, k, v, { pastKey: t([2, 2, 3, 8]) }), TypeError, /pastKey and pastValue must be given together/);
    expectError(() => ak.attention(q, k, v, { pastKey: t([2, 3, 3, 8]), pastValue: t([2, 2, 3, 8]) }), RangeError, /pastKey dims \[2, 3, 3, 8\] must be \[batch, kvHeads, pastLen, headDim\]/);
    expectError(() => ak.attention(q, k, v, { pastKey: t([2, 2, 3, 8]), pastValue: t([2, 2, 4, 8]) }), RangeError, /pastValue dims \[2, 2, 4, 8\] must be \[batch, kvHeads, pastLen, vHeadDim\] = \[2, 2, 3, 8\]/);
  });

  test('negative or non-finite softcap', () => {
    expectError(() => ak.attention(q, k, v, { softcap: -1 }), RangeError, /softcap must be >= 0 \(0 turns it off\), got -1/);
    expectError(() => ak.attention(q, k, v, { softcap: Infinity }), RangeError, /softcap must be a finite number, got Infinity/);
    expectError(() => ak.attention(q, k, v, { softcap: NaN }), RangeError, /softcap must be a finite number, got NaN/);
    expectError(() => ak.attention(q, k, v, { softcap: '1' }), TypeError, /softcap must be a number, got string 1/);
  });

  test('unknown causal alignment', () => {
    expectError(() => ak.attention(q, k, v, { causal: 'lower-right' }), TypeError, /causal must be true, false, 'top-left' or 'bottom-right', got string lower-right/);
    expectError(() => ak.attention(q, k, v, { causal: 1 }), TypeError, /causal must be/);
  });

  test('nonpadKvSeqlen out of range or with a past cache', () => {
    const lengths = (values) => ({ data: BigInt64Array.from(values.map(BigInt)), dims: [values.length] });
    expectError(() => ak.attention(q, k, v, { nonpadKvSeqlen: lengths([6, 1]) }), RangeError, /nonpadKvSeqlen\[0\] is 6, expected an integer in \[0, 5\]/);
    expectError(() => ak.attention(q, k, v, { nonpadKvSeqlen: lengths([-1, 1]) }), RangeError, /nonpadKvSeqlen\[0\] is -1/);
    expectError(() => ak.attention(q, k, v, { nonpadKvSeqlen: lengths([1]) }), RangeError, /nonpadKvSeqlen dims \[1\] must be \[batch\] = \[2\]/);
    expectError(() => ak.attention(q, k, v, { nonpadKvSeqlen: { data: new Float32Array(2), dims: [2] } }), TypeError, /nonpadKvSeqlen must be a tensor with BigInt64Array or Int32Array data/);
    expectError(
      () => ak.attention(q, k, v, { nonpadKvSeqlen: lengths([1, 1]), pastKey: t([2, 2, 1, 8]), pastValue: t([2, 2, 1, 8]) }),
      RangeError,
      /nonpadKvSeqlen cannot be combined with pastKey\/pastValue/,
    );
  });

  test('qkMatmulOutputMode and softmaxPrecision', () => {
    expectError(() => ak.attentionWithCache(q, k, v, { qkMatmulOutputMode: 4 }), RangeError, /qkMatmulOutputMode must be 0, 1, 2 or 3, got 4/);
    expectError(() => ak.attention(q, k, v, { softmaxPrecision: 11 }), RangeError, /softmaxPrecision 11 \(float64\) is not supported/);
    expectError(() => ak.attention(q, k, v, { softmaxPrecision: 7 }), RangeError, /softmaxPrecision must be one of 1 \(float32\), 10 \(float16\), 16 \(bfloat16\), got number 7/);
  });

  test('accepted softmaxPrecision values change nothing', () => {
    const x = new Tensor(seededFloats(2 * 4 * 3 * 8, 5), [2, 4, 3, 8]);
    const plain = Array.from(ak.attention(x, k, v).data);
    for (const precision of [1, 10, 16, 'float32']) {
      expect(Array.from(ak.attention(x, k, v, { softmaxPrecision: precision }).data)).toEqual(plain);
    }
  });

  test('unknown option', () => {
    expectError(() => ak.attention(q, k, v, { isCausal: true }), TypeError, /unknown option 'isCausal'/);
  });
});

describe('multiheadAttentionForward errors', () => {
  const x = t([2, 3, 4]);
  const weights = { inProjWeight: t([12, 4]), outProjWeight: t([4, 4]) };

  test('missing or invalid numHeads', () => {
    expectError(() => ak.multiheadAttentionForward(x, x, x, weights, {}), TypeError, /multiheadAttentionForward: the numHeads option is required/);
    expectError(() => ak.multiheadAttentionForward(x, x, x, weights, { numHeads: 3 }), RangeError, /E \(4\) must be divisible by numHeads \(3\)/);
  });

  test('weights of the wrong dims', () => {
    expectError(() => ak.multiheadAttentionForward(x, x, x, { ...weights, inProjWeight: t([4, 4]) }, { numHeads: 2 }), RangeError, /weights\.inProjWeight dims \[4, 4\] must be \[12, 4\]/);
    expectError(() => ak.multiheadAttentionForward(x, x, x, { ...weights, outProjBias: t([3]) }, { numHeads: 2 }), RangeError, /weights\.outProjBias dims \[3\] must be \[4\]/);
    expectError(() => ak.multiheadAttentionForward(x, x, x, null, { numHeads: 2 }), TypeError, /weights must be an object/);
  });

  test('masks of the wrong dims', () => {
    expectError(() => ak.multiheadAttentionForward(x, x, x, weights, { numHeads: 2, keyPaddingMask: { data: new Uint8Array(3), dims: [3] } }), RangeError, /keyPaddingMask dims \[3\] must be \[2, 3\]/);
    expectError(() => ak.multiheadAttentionForward(x, x, x, weights, { numHeads: 2, attnMask: t([2, 3, 3]) }), RangeError, /attnMask dims \[2, 3, 3\] must be \[3, 3\] or \[4, 3, 3\]/);
  });

  test('key and value of different lengths', () => {
    expectError(() => ak.multiheadAttentionForward(x, t([2, 5, 4]), t([2, 6, 4]), weights, { numHeads: 2 }), RangeError, /value dims \[2, 6, 4\] must be \[2, 5, 4\]/);
  });
});
