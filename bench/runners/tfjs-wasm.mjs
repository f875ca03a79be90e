// @tensorflow/tfjs-backend-wasm with tfjs-core ops (single thread in Node).
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

// Workloads above this many floating-point operations take many seconds
// per run with this backend, so they are skipped.
const MAX_FLOPS = 2e9;

export async function create() {
  const require = createRequire(import.meta.url);
  const tf = require('@tensorflow/tfjs-core');
  const wasm = require('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm'))}/`);
  await tf.setBackend('wasm');
  await tf.ready();

  return {
    name: 'tfjs-backend-wasm',
    threads: 1,
    note: `SIMD ${(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) ? 'on' : 'off'}`,
    prepare(workload, inputs) {
      const s = workload.shape;
      let out;
      const keep = [];
      const constant = (data, dims) => {
        const t = tf.tensor(data, dims, 'float32');
        keep.push(t);
        return t;
      };
      const common = {
        output: () => out,
        dispose: () => keep.forEach((t) => t.dispose()),
      };

      if (workload.flops > MAX_FLOPS) {
        return { unsupported: `skipped: ${(workload.flops / 1e9).toFixed(1)} GFLOP take many seconds per run here` };
      }

      if (workload.kind === 'rope') {
        // x·cos + reverse_pairs(x)·(−sin, +sin), with both tables expanded
        // to x's full shape because broadcasting ops are slow in this backend.
        const count = s.batch * s.seqLen * s.heads * s.dim;
        const cos = new Float32Array(count);
        const sin = new Float32Array(count);
        for (let n = 0; n < count; n += 1) {
          const position = Math.floor(n / (s.heads * s.dim)) % s.seqLen;
          const pair = (n % s.dim) >> 1;
          const angle = position * 10000 ** ((-2 * pair) / s.dim);
          cos[n] = Math.cos(angle);
          sin[n] = n % 2 ? Math.sin(angle) : -Math.sin(angle);
        }
        const pairDims = [s.batch * s.seqLen * s.heads, s.dim / 2, 2];
        const cosT = constant(cos, pairDims);
        const sinT = constant(sin, pairDims);
        return {
          ...common,
          form: 'reverse/mul/add, with upload and dataSync',
          run() {
            out = tf.tidy(() => {
              const x = tf.tensor(inputs.x, pairDims);
              return tf.add(tf.mul(x, cosT), tf.mul(tf.reverse(x, 2), sinT)).dataSync();
            });
          },
        };
      }

      const group = s.heads / s.kvHeads;
      if (s.causal && group !== 1) return { unsupported: 'causal GQA is not built for tfjs' };
      const mask = s.causal
        ? constant(
            Float32Array.from({ length: s.qLen * s.kvLen }, (_, n) => ((n % s.kvLen) > Math.floor(n / s.kvLen) ? -Infinity : 0)),
            [s.qLen, s.kvLen],
          )
        : null;
      const embed = s.heads * s.dim;
      const o = workload.kind === 'mha' ? constant(inputs.o, [embed, embed]) : null;

      const attention = (q, k, v) => {
        // Heads of one GQA group stacked along the sequence axis share K/V.
        const qg = tf.reshape(q, [s.batch * s.kvHeads, group * s.qLen, s.dim]);
        const kr = tf.reshape(k, [s.batch * s.kvHeads, s.kvLen, s.dim]);
        const vr = tf.reshape(v, [s.batch * s.kvHeads, s.kvLen, s.dim]);
        let logits = tf.mul(tf.matMul(qg, kr, false, true), 1 / Math.sqrt(s.dim));
        if (mask) logits = tf.add(logits, mask);
        return tf.reshape(tf.matMul(tf.softmax(logits), vr), [s.batch, s.heads, s.qLen, s.dim]);
      };
      return {
        ...common,
        form: workload.kind === 'mha' ? 'matMul/softmax/matMul + matMul' : 'matMul/softmax/matMul',
        run() {
          out = tf.tidy(() => {
            const q = tf.tensor(inputs.q, [s.batch, s.heads, s.qLen, s.dim]);
            const k = tf.tensor(inputs.k, [s.batch, s.kvHeads, s.kvLen, s.dim]);
            const v = tf.tensor(inputs.v, [s.batch, s.kvHeads, s.kvLen, s.dim]);
            let y = attention(q, k, v);
            if (o) {
              const concat = tf.reshape(tf.transpose(y, [0, 2, 1, 3]), [s.batch * s.qLen, embed]);
              y = tf.matMul(concat, o, false, true);
            }
            return y.dataSync();
          });
        },
      };
    },
  };
}
