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
