// ONNX graphs of the workloads, in two forms: the fused opset-23 operators
// (Attention, RotaryEmbedding) and the same computation from basic
// operators (MatMul, Softmax, Gather, Mul, Add), for runtimes that reject
// the fused form.
import { ElemType, buildModel } from './onnx-builder.mjs';

const F = ElemType.FLOAT;

function input(name, dims) {
  return { name, type: F, dims };
}

function int64Initializer(name, values) {
  return { name, type: ElemType.INT64, dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) };
}

function attentionFused(w) {
  const s = w.shape;
  const attributes = {};
  if (s.causal) attributes.is_causal = 1;
  return buildModel({
    opset: 23,
    inputs: [input('q', [s.batch, s.heads, s.qLen, s.dim]), input('k', [s.batch, s.kvHeads, s.kvLen, s.dim]), input('v', [s.batch, s.kvHeads, s.kvLen, s.dim])],
    outputs: [input('y', [s.batch, s.heads, s.qLen, s.dim])],
    nodes: [{ op: 'Attention', inputs: ['q', 'k', 'v'], outputs: ['y'], attributes }],
  });
}

// softmax(q·kᵀ·scale + mask)·v. For GQA the query heads of one group are
// stacked along the sequence axis, so one K/V head serves its whole group.
function attentionBasic(w) {
  const s = w.shape;
  const group = s.heads / s.kvHeads;
  const initializers = [
    { name: 'scale', type: F, dims: [], data: Float32Array.of(1 / Math.sqrt(s.dim)) },
    int64Initializer('grouped_shape', [s.batch, s.kvHeads, group * s.qLen, s.dim]),
    int64Initializer('out_shape', [s.batch, s.heads, s.qLen, s.dim]),
  ];
  const nodes = [
    { op: 'Reshape', inputs: ['q', 'grouped_shape'], outputs: ['qg'] },
    { op: 'Transpose', inputs: ['k'], outputs: ['kt'], attributes: { perm: [0, 1, 3, 2] } },
    { op: 'MatMul', inputs: ['qg', 'kt'], outputs: ['raw'] },
    { op: 'Mul', inputs: ['raw', 'scale'], outputs: ['scaled'] },
  ];
  let logits = 'scaled';
  if (s.causal) {
    if (group !== 1) throw new Error('the basic form supports causal attention without GQA only');
    const mask = new Float32Array(s.qLen * s.kvLen);
    for (let i = 0; i < s.qLen; i += 1) {
      for (let j = i + s.kvLen - s.qLen + 1; j < s.kvLen; j += 1) mask[i * s.kvLen + j] = -Infinity;
    }
    initializers.push({ name: 'mask', type: F, dims: [s.qLen, s.kvLen], data: mask });
    nodes.push({ op: 'Add', inputs: ['scaled', 'mask'], outputs: ['masked'] });
    logits = 'masked';
  }
  nodes.push(
    { op: 'Softmax', inputs: [logits], outputs: ['p'], attributes: { axis: -1 } },
    { op: 'MatMul', inputs: ['p', 'v'], outputs: ['yg'] },
    { op: 'Reshape', inputs: ['yg', 'out_shape'], outputs: ['y'] },
  );
  return buildModel({
    opset: 17,
    inputs: [input('q', [s.batch, s.heads, s.qLen, s.dim]), input('k', [s.batch, s.kvHeads, s.kvLen, s.dim]), input('v', [s.batch, s.kvHeads, s.kvLen, s.dim])],
    outputs: [input('y', [s.batch, s.heads, s.qLen, s.dim])],
    nodes,
    initializers,
  });
}

// Multi-head: attention, heads to [B, S, E], then · oᵀ (oᵀ stored as an
// initializer, so the runtime gets a constant weight, as in a real model).
function mha(w, inputs, fused) {
  const s = w.shape;
  const embed = s.heads * s.dim;
  const oT = new Float32Array(embed * embed);
  for (let n = 0; n < embed; n += 1) for (let e = 0; e < embed; e += 1) oT[e * embed + n] = inputs.o[n * embed + e];
  const nodes = [];
  const initializers = [
    { name: 'o_t', type: F, dims: [embed, embed], data: oT },
    int64Initializer('concat_shape', [s.batch, s.qLen, embed]),
  ];
  if (fused) {
    nodes.push({ op: 'Attention', inputs: ['q', 'k', 'v'], outputs: ['heads'] });
  } else {
    initializers.push({ name: 'scale', type: F, dims: [], data: Float32Array.of(1 / Math.sqrt(s.dim)) });
    nodes.push(
      { op: 'Transpose', inputs: ['k'], outputs: ['kt'], attributes: { perm: [0, 1, 3, 2] } },
      { op: 'MatMul', inputs: ['q', 'kt'], outputs: ['raw'] },
      { op: 'Mul', inputs: ['raw', 'scale'], outputs: ['scaled'] },
      { op: 'Softmax', inputs: ['scaled'], outputs: ['p'], attributes: { axis: -1 } },
      { op: 'MatMul', inputs: ['p', 'v'], outputs: ['heads'] },
    );
  }
  nodes.push(
    { op: 'Transpose', inputs: ['heads'], outputs: ['bshd'], attributes: { perm: [0, 2, 1, 3] } },
    { op: 'Reshape', inputs: ['bshd', 'concat_shape'], outputs: ['concat'] },
    { op: 'MatMul', inputs: ['concat', 'o_t'], outputs: ['y'] },
  );
  const dims = [s.batch, s.heads, s.qLen, s.dim];
  return buildModel({
    opset: fused ? 23 : 17,
    inputs: [input('q', dims), input('k', dims), input('v', dims)],
    outputs: [input('y', [s.batch, s.qLen, embed])],
    nodes,
    initializers,
  });
}

function ropeTables(s) {
  const half = s.dim / 2;
  const cos = new Float32Array(s.seqLen * half);
  const sin = new Float32Array(s.seqLen * half);
  for (let p = 0; p < s.seqLen; p += 1) {
    for (let i = 0; i < half; i += 1) {
      const angle = p * 10000 ** ((-2 * i) / s.dim);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin, half };
}

// RotaryEmbedding-23 on x as [B, S, H·D] with num_heads, interleaved pairs.
function ropeFused(w) {
  const s = w.shape;
  const { cos, sin, half } = ropeTables(s);
  const positions = BigInt64Array.from({ length: s.batch * s.seqLen }, (_, i) => BigInt(i % s.seqLen));
  const hidden = s.heads * s.dim;
  return buildModel({
    opset: 23,
    inputs: [input('x', [s.batch, s.seqLen, hidden])],
    outputs: [input('y', [s.batch, s.seqLen, hidden])],
    initializers: [
      { name: 'cos', type: F, dims: [s.seqLen, half], data: cos },
      { name: 'sin', type: F, dims: [s.seqLen, half], data: sin },
      { name: 'positions', type: ElemType.INT64, dims: [s.batch, s.seqLen], data: positions },
    ],
    nodes: [
      {
        op: 'RotaryEmbedding',
        inputs: ['x', 'cos', 'sin', 'positions'],
        outputs: ['y'],
        attributes: { interleaved: 1, num_heads: s.heads },
      },
    ],
  });
}

// x·cos + swap_pairs(x)·(−sin, +sin), with tables of shape [S, 1, D].
function ropeBasic(w) {
  const s = w.shape;
  const { cos, sin, half } = ropeTables(s);
  const cosFull = new Float32Array(s.seqLen * s.dim);
  const sinSigned = new Float32Array(s.seqLen * s.dim);
  for (let p = 0; p < s.seqLen; p += 1) {
    for (let i = 0; i < half; i += 1) {
      cosFull[p * s.dim + 2 * i] = cos[p * half + i];
      cosFull[p * s.dim + 2 * i + 1] = cos[p * half + i];
      sinSigned[p * s.dim + 2 * i] = -sin[p * half + i];
      sinSigned[p * s.dim + 2 * i + 1] = sin[p * half + i];
    }
  }
  const swap = Array.from({ length: s.dim }, (_, i) => i ^ 1);
  const dims = [s.batch, s.seqLen, s.heads, s.dim];
  return buildModel({
    opset: 17,
    inputs: [input('x', dims)],
    outputs: [input('y', dims)],
    initializers: [
      { name: 'cos', type: F, dims: [s.seqLen, 1, s.dim], data: cosFull },
      { name: 'sin', type: F, dims: [s.seqLen, 1, s.dim], data: sinSigned },
      int64Initializer('swap', swap),
    ],
    nodes: [
      { op: 'Gather', inputs: ['x', 'swap'], outputs: ['swapped'], attributes: { axis: 3 } },
      { op: 'Mul', inputs: ['x', 'cos'], outputs: ['a'] },
      { op: 'Mul', inputs: ['swapped', 'sin'], outputs: ['b'] },
      { op: 'Add', inputs: ['a', 'b'], outputs: ['y'] },
    ],
  });
}

/**
 * Returns the model forms of a workload, fused first:
 * [{ form, bytes, feeds(ort) }]. feeds builds the input tensors.
 */
export function modelForms(workload, inputs) {
  const s = workload.shape;
  if (workload.kind === 'rope') {
    const hidden = s.heads * s.dim;
    const feedsFused = (ort) => ({ x: new ort.Tensor('float32', inputs.x, [s.batch, s.seqLen, hidden]) });
    const feedsBasic = (ort) => ({ x: new ort.Tensor('float32', inputs.x, [s.batch, s.seqLen, s.heads, s.dim]) });
    return [
      { form: 'RotaryEmbedding-23', build: () => ropeFused(workload), feeds: feedsFused },
      { form: 'Gather/Mul/Add', build: () => ropeBasic(workload), feeds: feedsBasic },
    ];
  }
  const feeds = (ort) => ({
    q: new ort.Tensor('float32', inputs.q, [s.batch, s.heads, s.qLen, s.dim]),
    k: new ort.Tensor('float32', inputs.k, [s.batch, s.kvHeads, s.kvLen, s.dim]),
    v: new ort.Tensor('float32', inputs.v, [s.batch, s.kvHeads, s.kvLen, s.dim]),
  });
  if (workload.kind === 'mha') {
    return [
      { form: 'Attention-23 + MatMul', build: () => mha(workload, inputs, true), feeds },
      { form: 'MatMul/Softmax/MatMul + MatMul', build: () => mha(workload, inputs, false), feeds },
    ];
  }
  return [
    { form: 'Attention-23', build: () => attentionFused(workload), feeds },
    { form: 'MatMul/Softmax/MatMul', build: () => attentionBasic(workload), feeds },
  ];
}
