// Maps an ONNX Attention case (opsets 23 and 24) onto ak.attentionWithCache,
// or onto ak.attention when the case needs only the output Y.
// Input slots: 0 Q, 1 K, 2 V, 3 attn_mask, 4 past_key, 5 past_value,
// 6 nonpad_kv_seqlen. Output slots: 0 Y, 1 present_key, 2 present_value,
// 3 qk_matmul_output.

const ATTRIBUTE_OPTIONS = {
  is_causal: ['causal', (v) => v === 1],
  scale: ['scale', (v) => v],
  softcap: ['softcap', (v) => v],
  q_num_heads: ['qNumHeads', (v) => v],
  kv_num_heads: ['kvNumHeads', (v) => v],
  qk_matmul_output_mode: ['qkMatmulOutputMode', (v) => v],
  softmax_precision: ['softmaxPrecision', (v) => v],
};

const INPUT_OPTIONS = { 3: 'mask', 4: 'pastKey', 5: 'pastValue', 6: 'nonpadKvSeqlen' };

export function runCase(ak, testCase) {
  const [q, k, v] = testCase.inputs;
  const options = {};
  for (const [attribute, value] of Object.entries(testCase.attributes)) {
    const entry = ATTRIBUTE_OPTIONS[attribute];
    if (!entry) throw new Error(`attribute ${attribute} has no attnkit option`);
    options[entry[0]] = entry[1](value);
  }
  for (const [slot, name] of Object.entries(INPUT_OPTIONS)) {
    const tensor = testCase.inputs[slot];
    if (tensor) options[name] = { data: tensor.data, dims: tensor.dims };
  }

  // attentionWithCache returns qkOutput only when qkMatmulOutputMode is
  // given; ONNX produces output 3 whenever the node names it (default mode 0).
  if (testCase.outputs[3] && options.qkMatmulOutputMode === undefined) options.qkMatmulOutputMode = 0;

  const needsAll = testCase.outputs.slice(1).some((t) => t);
  if (!needsAll && typeof ak.attentionWithCache !== 'function') {
    return [ak.attention(q, k, v, options)];
  }
  const result = ak.attentionWithCache(q, k, v, options);
  return [result.output, result.presentKey ?? null, result.presentValue ?? null, result.qkOutput ?? null];
}
