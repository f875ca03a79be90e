// Calls repeated by the heap tests (tests/js/heap.test.js) and by
// scripts/heap-soak.mjs. Each entry's prepare(ak) builds its inputs once and
// returns a function that makes one call. Calls that must fail check the
// error type they throw, so a loop of them cannot pass by accident. A new
// operation or option gets a row here.
import { Tensor } from '../../web/lib/attnkit.js';
import { seededFloats } from '../reference/reference.js';

const tensor = (dims, seed) => new Tensor(seededFloats(dims.reduce((a, b) => a * b, 1), seed), dims);

function expectThrows(fn, type) {
  try {
    fn();
  } catch (error) {
    if (error instanceof type) return;
    throw new Error(`expected a ${type.name}, got ${error}`);
  }
  throw new Error(`expected a ${type.name}, but the call returned`);
}

export const heapWorkloads = [
  {
    name: 'attention rank 3',
    prepare(ak) {
      const q = tensor([2, 5, 8], 1);
      const kv = tensor([2, 7, 8], 2);
      return () => ak.attention(q, kv, kv);
    },
  },
  {
    name: 'attention rank 4 with shared key/value heads and a scale',
    prepare(ak) {
      const q = tensor([1, 4, 3, 16], 3);
      const k = tensor([1, 2, 9, 16], 4);
      const v = tensor([1, 2, 9, 12], 5);
      return () => ak.attention(q, k, v, { scale: 0.5 });
    },
  },
  {
    name: 'multiheadAttention with bias',
    prepare(ak) {
      const q = tensor([1, 2, 3, 4], 6);
      const kv = tensor([1, 2, 5, 4], 7);
      const o = tensor([8, 8], 8);
      const outBias = tensor([8], 9);
      return () => ak.multiheadAttention(q, kv, kv, o, { outBias });
    },
  },
  {
    name: 'attentionWithCache with a mask, a past cache and causal',
    prepare(ak) {
      const q = tensor([2, 3, 4, 8], 15);
      const k = tensor([2, 1, 5, 8], 16);
      const v = tensor([2, 1, 5, 6], 17);
      const pastKey = tensor([2, 1, 3, 8], 18);
      const pastValue = tensor([2, 1, 3, 6], 19);
      const mask = { data: Uint8Array.from({ length: 4 * 8 }, (_, i) => (i % 5 === 4 ? 0 : 1)), dims: [4, 8] };
      const nonpadKvSeqlen = { data: Int32Array.from([5, 3]), dims: [2] };
      let step = 0;
      return () => {
        step = (step + 1) % 2;
        if (step === 0) {
          return ak.attentionWithCache(q, k, v, { pastKey, pastValue, mask, causal: 'bottom-right', softcap: 2, qkMatmulOutputMode: 3 });
        }
        return ak.attention(q, k, v, { nonpadKvSeqlen, causal: true });
      };
    },
  },
  {
    name: 'multiheadAttentionForward with masks and weights',
    prepare(ak) {
      const query = tensor([2, 3, 8], 20);
      const key = tensor([2, 4, 8], 21);
      const weights = { inProjWeight: tensor([24, 8], 22), inProjBias: tensor([24], 23), outProjWeight: tensor([8, 8], 24) };
      const keyPaddingMask = { data: Uint8Array.from([0, 0, 0, 1, 0, 0, 1, 1]), dims: [2, 4] };
      return () => ak.multiheadAttentionForward(query, key, key, weights, { numHeads: 2, keyPaddingMask, needWeights: true });
    },
  },
  {
    name: 'rope in both pair layouts',
    prepare(ak) {
      const x = tensor([2, 6, 3, 10], 10);
      let interleaved = false;
      return () => {
        interleaved = !interleaved;
        return ak.rope(x, { interleaved, positionOffset: 7 });
      };
    },
  },
  {
    name: 'rope with position ids, a cache, scaling and in place',
    prepare(ak) {
      const x = tensor([2, 3, 4, 8], 13);
      const positionIds = { data: Int32Array.from([0, 4, 9, 1, 2, 3, 15, 7]), dims: [2, 4] };
      const { cosCache, sinCache } = ak.ropeCache({ maxPositions: 16, rotaryDim: 6, scaling: { type: 'linear', factor: 2 } });
      const yarn = { type: 'yarn', factor: 4, originalMaxPositions: 64 };
      let step = 0;
      return () => {
        step = (step + 1) % 3;
        if (step === 0) return ak.rope(x, { layout: 'bhsd', rotaryDim: 6, positionIds, cosCache, sinCache });
        if (step === 1) return ak.rope(x, { scaling: yarn, interleaved: false });
        return ak.rope(x, { inPlace: true, positionOffset: 3 });
      };
    },
  },
  {
    name: 'ropeCache',
    prepare(ak) {
      return () => ak.ropeCache({ maxPositions: 32, rotaryDim: 16, scaling: { type: 'ntk', factor: 2, originalMaxPositions: 16, currentLength: 40 } });
    },
  },
  {
    name: 'rejected calls',
    prepare(ak) {
      const q = tensor([1, 2, 4], 11);
      const wrongLength = { data: new Float32Array(5), dims: [1, 2, 4] };
      const hugeOutputQ = new Tensor(new Float32Array(2 ** 16), [1, 1, 2 ** 16, 1]);
      const hugeOutputK = new Tensor(new Float32Array(1), [1, 1, 1, 1]);
      const hugeOutputV = new Tensor(new Float32Array(2 ** 16), [1, 1, 1, 2 ** 16]);
      const oddHead = tensor([1, 2, 1, 3], 12);
      const x = tensor([1, 2, 1, 4], 14);
      const calls = [
        [() => ak.attention(wrongLength, q, q), RangeError],
        [() => ak.attention(q, q, q, { scale: 'x' }), TypeError],
        [() => ak.attention(hugeOutputQ, hugeOutputK, hugeOutputV), RangeError],
        [() => ak.rope(oddHead), RangeError],
        [() => ak.rope(x, { positionIds: { data: new Int32Array(3), dims: [1, 3] } }), RangeError],
        [() => ak.ropeCache({ maxPositions: 4, rotaryDim: 3 }), RangeError],
        [() => ak.attention(q, q, q, { mask: { data: new Uint8Array(3), dims: [3, 1] } }), RangeError],
      ];
      // One rejected call per run, in turn, because each throw costs a stack trace.
      let next = 0;
      return () => {
        const [call, type] = calls[next];
        next = (next + 1) % calls.length;
        expectThrows(call, type);
      };
    },
  },
];
