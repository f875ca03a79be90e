// The benchmark workloads, their seeded inputs and the rows whose outputs
// are checked against the float64 JavaScript reference.

/** Returns uniform floats in [−1, 1) from the mulberry32 generator. */
export function seededFloats(length, seed) {
  let state = seed >>> 0;
  const out = new Float32Array(length);
  for (let i = 0; i < length; i += 1) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

function attentionWorkload(id, label, { batch = 1, heads, kvHeads = heads, qLen, kvLen, dim, causal = false, quick = true }) {
  const keysPerQuery = causal ? (kvLen + 1) / 2 : kvLen; // causal prefill with qLen == kvLen
  return {
    id,
    label,
    kind: 'attention',
    shape: { batch, heads, kvHeads, qLen, kvLen, dim, causal },
    flops: 4 * batch * heads * qLen * keysPerQuery * dim,
    // K and V are read once per key/value head.
    bytes: 4 * (2 * batch * kvHeads * kvLen * dim + 2 * batch * heads * qLen * dim),
    inQuick: quick,
  };
}

/** Returns every workload, in table order. */
export function allWorkloads() {
  return [
    {
      ...attentionWorkload('a', '(a) single head B32 S128 D192', { batch: 32, heads: 1, qLen: 128, kvLen: 128, dim: 192 }),
      // attnkit also runs it on tensors in WebAssembly memory, which times
      // the attention part without the copies.
      memoryVariant: true,
    },
    {
      id: 'b',
      label: '(b) BERT-base MHA B1 H12 S512 Dh64 + 768×768 projection',
      kind: 'mha',
      shape: { batch: 1, heads: 12, kvHeads: 12, qLen: 512, kvLen: 512, dim: 64 },
      flops: 4 * 12 * 512 * 512 * 64 + 2 * 512 * 768 * 768,
      // The attention part alone, without the projection.
      attentionFlops: 4 * 12 * 512 * 512 * 64,
      bytes: 4 * (4 * 512 * 768 + 768 * 768),
      inQuick: true,
    },
    attentionWorkload('c1024', '(c) causal prefill B1 H32 S1024 Dh64', { heads: 32, qLen: 1024, kvLen: 1024, dim: 64, causal: true }),
    attentionWorkload('c2048', '(c) causal prefill B1 H32 S2048 Dh64', { heads: 32, qLen: 2048, kvLen: 2048, dim: 64, causal: true, quick: false }),
    attentionWorkload('d', '(d) decode B1 H32 q1 kv2048 Dh64', { heads: 32, qLen: 1, kvLen: 2048, dim: 64 }),
    attentionWorkload('d-gqa', '(d) decode GQA B1 H32/8 q1 kv2048 Dh64', { heads: 32, kvHeads: 8, qLen: 1, kvLen: 2048, dim: 64 }),
    {
      id: 'e',
      label: '(e) RoPE B1 S2048 H32 Dh128',
      kind: 'rope',
      shape: { batch: 1, seqLen: 2048, heads: 32, dim: 128 },
      flops: 6 * 2048 * 32 * 128 / 2 * 2,
      bytes: 2 * 4 * 2048 * 32 * 128,
      inQuick: true,
    },
    ...[4096, 8192, 16384, 32768].map((s) => ({
      ...attentionWorkload(`f${s}`, `(f) long context H1 Dh64 S${s}`, { heads: 1, qLen: s, kvLen: s, dim: 64, quick: s <= 8192 }),
      longContext: true,
    })),
  ];
}

/** Returns the seeded inputs of a workload (the same for every library). */
export function workloadInputs(workload) {
  const s = workload.shape;
  if (workload.kind === 'rope') {
    return { x: seededFloats(s.batch * s.seqLen * s.heads * s.dim, 11) };
  }
  const q = seededFloats(s.batch * s.heads * s.qLen * s.dim, 1);
  const k = seededFloats(s.batch * s.kvHeads * s.kvLen * s.dim, 2) ;
  const v = seededFloats(s.batch * s.kvHeads * s.kvLen * s.dim, 3);
  if (workload.kind === 'mha') {
    const embed = s.heads * s.dim;
    // Scaled like nn.Linear's default initialisation, ±1/sqrt(E).
    const o = seededFloats(embed * embed, 4).map((x) => x / Math.sqrt(embed));
    return { q, k, v, o };
  }
  return { q, k, v };
}

/** Number of output rows and their length: [rows, rowLength]. */
export function outputRows(workload) {
  const s = workload.shape;
  if (workload.kind === 'rope') return [s.batch * s.seqLen * s.heads, s.dim];
  if (workload.kind === 'mha') return [s.batch * s.qLen, s.heads * s.dim];
  return [s.batch * s.heads * s.qLen, s.dim];
}

/** Indices of the eight output rows that are checked, spread evenly. */
export function sampleRows(workload) {
  const [rows] = outputRows(workload);
  const picked = new Set();
  for (let i = 0; i < 8; i += 1) picked.add(Math.floor((i * (rows - 1)) / 7));
  return [...picked];
}

/** Variant names that the runners and the report share. */
export const IN_WASM_MEMORY = 'in wasm memory';
export const ATTENTION_PART = 'attention part in wasm memory';
