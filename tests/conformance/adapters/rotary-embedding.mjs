// Maps an ONNX RotaryEmbedding case (opset 23) onto ak.rope.
// Input slots: 0 X, 1 cos_cache, 2 sin_cache, 3 position_ids. X is
// (batch, heads, seq, headDim) when 4-D and (batch, seq, hidden) with the
// num_heads attribute when 3-D; the pairs are split halves unless
// interleaved = 1.
export function runCase(ak, testCase) {
  const [x, cosCache, sinCache, positionIds] = testCase.inputs;
  const { interleaved = 0, rotary_embedding_dim: rotaryDim = 0, num_heads: numHeads } = testCase.attributes;
  const options = {
    interleaved: interleaved === 1,
    cosCache: { data: cosCache.data, dims: cosCache.dims },
    sinCache: { data: sinCache.data, dims: sinCache.dims },
  };
  if (x.dims.length === 4) options.layout = 'bhsd';
  else options.numHeads = numHeads;
  if (rotaryDim) options.rotaryDim = rotaryDim;
  if (positionIds) options.positionIds = { data: positionIds.data, dims: positionIds.dims };
  return [ak.rope(x, options)];
}
