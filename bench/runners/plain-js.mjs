// Plain JavaScript implementations, written for speed within the language:
// Float32Array storage, one pass over the keys per query row with reused
// buffers, RoPE writing into a reused output buffer with precomputed tables.

// Workloads above this many floating-point operations would take many
// seconds per run in JavaScript, so they are skipped.
const MAX_FLOPS = 5e9;

function attentionInto(out, q, k, v, s, scores) {
  const group = s.heads / s.kvHeads;
  const scale = 1 / Math.sqrt(s.dim);
  const dim = s.dim;
  for (let b = 0; b < s.batch; b += 1) {
    for (let h = 0; h < s.heads; h += 1) {
      const kvBase = (b * s.kvHeads + Math.floor(h / group)) * s.kvLen;
      for (let i = 0; i < s.qLen; i += 1) {
        const qOff = ((b * s.heads + h) * s.qLen + i) * dim;
        const lastKey = s.causal ? i + s.kvLen - s.qLen : s.kvLen - 1;
        let max = -Infinity;
        for (let j = 0; j <= lastKey; j += 1) {
          const kOff = (kvBase + j) * dim;
          let dot = 0;
          for (let d = 0; d < dim; d += 1) dot += q[qOff + d] * k[kOff + d];
          dot *= scale;
          scores[j] = dot;
          if (dot > max) max = dot;
        }
        const oOff = qOff;
        out.fill(0, oOff, oOff + dim);
        let sum = 0;
        for (let j = 0; j <= lastKey; j += 1) {
          const w = Math.exp(scores[j] - max);
          sum += w;
          const vOff = (kvBase + j) * dim;
          for (let d = 0; d < dim; d += 1) out[oOff + d] += w * v[vOff + d];
        }
        const inv = 1 / sum;
        for (let d = 0; d < dim; d += 1) out[oOff + d] *= inv;
      }
    }
  }
}

export async function create() {
  return {
    name: 'plain JavaScript',
    threads: 1,
    prepare(workload, inputs) {
      const s = workload.shape;
      if (workload.flops > MAX_FLOPS) {
        return { unsupported: `skipped: ${(workload.flops / 1e9).toFixed(0)} GFLOP would take many seconds per run` };
      }
      if (workload.kind === 'rope') {
        // Tables of cos/sin per (position, pair), built once like a model would.
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
        const out = new Float32Array(inputs.x.length);
        const x = inputs.x;
        return {
          form: 'loop into a reused buffer',
          run() {
            for (let b = 0; b < s.batch; b += 1) {
              for (let p = 0; p < s.seqLen; p += 1) {
                const t = p * half;
                for (let h = 0; h < s.heads; h += 1) {
                  const off = ((b * s.seqLen + p) * s.heads + h) * s.dim;
                  for (let i = 0; i < half; i += 1) {
                    const a = x[off + 2 * i];
                    const bb = x[off + 2 * i + 1];
                    out[off + 2 * i] = a * cos[t + i] - bb * sin[t + i];
                    out[off + 2 * i + 1] = a * sin[t + i] + bb * cos[t + i];
                  }
                }
              }
            }
          },
          output: () => out,
        };
      }

      const scores = new Float32Array(s.kvLen);
      const out = new Float32Array(s.batch * s.heads * s.qLen * s.dim);
      if (workload.kind === 'attention') {
        return {
          form: 'row by row',
          run: () => attentionInto(out, inputs.q, inputs.k, inputs.v, s, scores),
          output: () => out,
        };
      }

      // Multi-head: attention per head, concat [S, E], then concat · oᵀ.
      const embed = s.heads * s.dim;
      const concat = new Float32Array(s.batch * s.qLen * embed);
      const projected = new Float32Array(s.batch * s.qLen * embed);
      const o = inputs.o;
      const shape = { ...s, kvHeads: s.heads, causal: false };
      return {
        form: 'row by row, then a triple loop',
        run() {
          attentionInto(out, inputs.q, inputs.k, inputs.v, shape, scores);
          for (let b = 0; b < s.batch; b += 1) {
            for (let h = 0; h < s.heads; h += 1) {
              for (let i = 0; i < s.qLen; i += 1) {
                const src = ((b * s.heads + h) * s.qLen + i) * s.dim;
                concat.set(out.subarray(src, src + s.dim), (b * s.qLen + i) * embed + h * s.dim);
              }
            }
          }
          for (let r = 0; r < s.batch * s.qLen; r += 1) {
            for (let n = 0; n < embed; n += 1) {
              let acc = 0;
              for (let e = 0; e < embed; e += 1) acc += concat[r * embed + e] * o[n * embed + e];
              projected[r * embed + n] = acc;
            }
          }
        },
        output: () => projected,
      };
    },
  };
}
