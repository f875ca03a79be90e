// Float64 reference rows for the checks, written directly from the
// definitions: softmax(q·kᵀ/sqrt(d))·v, concat·oᵀ and the RoPE rotation.
import { outputRows } from './workloads.mjs';

// One output row of attention: query row i of head h in batch b.
function attentionRow(inputs, s, b, h, i) {
  const { q, k, v } = inputs;
  const group = s.heads / s.kvHeads;
  const kvHead = Math.floor(h / group);
  const qOff = ((b * s.heads + h) * s.qLen + i) * s.dim;
  const kvBase = (b * s.kvHeads + kvHead) * s.kvLen;
  // Causal: query i attends to keys up to i + (kvLen − qLen), aligned at the end.
  const lastKey = s.causal ? i + s.kvLen - s.qLen : s.kvLen - 1;
  const scale = 1 / Math.sqrt(s.dim);

  const scores = new Float64Array(lastKey + 1);
  let max = -Infinity;
  for (let j = 0; j <= lastKey; j += 1) {
    let dot = 0;
    const kOff = (kvBase + j) * s.dim;
    for (let d = 0; d < s.dim; d += 1) dot += q[qOff + d] * k[kOff + d];
    scores[j] = dot * scale;
    if (scores[j] > max) max = scores[j];
  }
  const row = new Float64Array(s.dim);
  let sum = 0;
  for (let j = 0; j <= lastKey; j += 1) {
    const w = Math.exp(scores[j] - max);
    sum += w;
    const vOff = (kvBase + j) * s.dim;
    for (let d = 0; d < s.dim; d += 1) row[d] += w * v[vOff + d];
  }
  for (let d = 0; d < s.dim; d += 1) row[d] /= sum;
  return row;
}

function mhaRow(inputs, s, row) {
  const b = Math.floor(row / s.qLen);
  const i = row % s.qLen;
  const embed = s.heads * s.dim;
  const concat = new Float64Array(embed);
  for (let h = 0; h < s.heads; h += 1) concat.set(attentionRow(inputs, s, b, h, i), h * s.dim);
  const out = new Float64Array(embed);
  for (let n = 0; n < embed; n += 1) {
    let acc = 0;
    for (let e = 0; e < embed; e += 1) acc += concat[e] * inputs.o[n * embed + e];
    out[n] = acc;
  }
  return out;
}

// Interleaved pairs (x[2i], x[2i+1]) turn by position·10000^(−2i/dim).
function ropeRow(inputs, s, row) {
  const position = Math.floor(row / s.heads) % s.seqLen;
  const x = inputs.x.subarray(row * s.dim, (row + 1) * s.dim);
  const out = new Float64Array(s.dim);
  for (let i = 0; i < s.dim / 2; i += 1) {
    const angle = position * 10000 ** ((-2 * i) / s.dim);
    const [a, b] = [x[2 * i], x[2 * i + 1]];
    out[2 * i] = a * Math.cos(angle) - b * Math.sin(angle);
    out[2 * i + 1] = a * Math.sin(angle) + b * Math.cos(angle);
  }
  return out;
}

/** Returns the float64 reference of output row `row` of a workload. */
export function referenceRow(workload, inputs, row) {
  const s = workload.shape;
  if (workload.kind === 'rope') return ropeRow(inputs, s, row);
  if (workload.kind === 'mha') return mhaRow(inputs, s, row);
  const [rows] = outputRows(workload);
  const perBatch = rows / s.batch;
  const b = Math.floor(row / perBatch);
  const h = Math.floor((row % perBatch) / s.qLen);
  return attentionRow(inputs, s, b, h, row % s.qLen);
}

// |got − ref| ≤ ABS_TOL + REL_TOL·|ref| for every checked element. Looser
// than the unit tests because other libraries sum in other orders.
const ABS_TOL = 1e-4;
const REL_TOL = 1e-3;

/**
 * Compares the sampled rows (a Map row → Float32Array or array) with the
 * reference. Returns { ok, maxError, message }.
 */
export function checkRows(workload, inputs, rowsByIndex) {
  let maxError = 0;
  for (const [row, got] of rowsByIndex) {
    const want = referenceRow(workload, inputs, row);
    if (got.length !== want.length) {
      return { ok: false, maxError: Infinity, message: `row ${row} has ${got.length} values, expected ${want.length}` };
    }
    for (let d = 0; d < want.length; d += 1) {
      const err = Math.abs(got[d] - want[d]);
      if (!(err <= ABS_TOL + REL_TOL * Math.abs(want[d]))) {
        return { ok: false, maxError: err, message: `row ${row} element ${d}: got ${got[d]}, expected ${want[d]}` };
      }
      maxError = Math.max(maxError, err);
    }
  }
  return { ok: true, maxError, message: '' };
}
