// attnkit's WebAssembly build through the package's public API.
import { readFileSync } from 'node:fs';
import { loadAttnkit, Tensor } from '../../web/lib/attnkit.js';
import { ATTENTION_PART, IN_WASM_MEMORY, outputRows, sampleRows } from '../lib/workloads.mjs';

// Returns the option error of an unsupported feature, or null when the
// library accepts it.
function rejectsOption(call) {
  try {
    call();
    return null;
  } catch (error) {
    return error.message;
  }
}

export async function create({ threads }) {
  const options = threads > 1 ? { threads } : {};
  let ak;
  let note = '';
  try {
    ak = await loadAttnkit(options);
  } catch (error) {
    // Builds without a threads option reject it; fall back to one thread.
    note = `threads option rejected (${error.message}); single-thread build`;
    ak = await loadAttnkit();
  }
  const activeThreads = typeof ak.threads === 'number' ? ak.threads : 1;
  if (threads > 1 && activeThreads !== threads) {
    note ||= `${threads} threads requested, the package runs ${activeThreads}`;
  }

  // Long context runs in a fresh instance with q, k, v and out allocated in
  // its memory, so the growth of the WebAssembly memory during the calls
  // bounds the extra memory attention allocates. Emscripten grows the memory
  // by at least 20 % at a time, so the growth overstates it; 0 means the
  // scratch fit in memory that was already there.
  async function longContext(workload, inputs) {
    const s = workload.shape;
    const build = activeThreads > 1 ? 'attnkit-threads.wasm' : 'attnkit.wasm';
    const wasmBinary = readFileSync(new URL(`../../dist/${build}`, import.meta.url));
    const fresh = await loadAttnkit({ wasmBinary, ...options });
    const dims = [s.batch, s.heads, s.qLen, s.dim];
    const [hq, hk, hv, hout] = [dims, dims, dims, dims].map((d) => fresh.alloc(d));
    hq.data.set(inputs.q);
    hk.data.set(inputs.k);
    hv.data.set(inputs.v);
    const before = fresh.memoryBytes();
    return {
      form: 'ak.attention(ak.alloc tensors, { out }) in a fresh instance',
      run: () => fresh.attention(hq, hk, hv, { out: hout }),
      output: () => hout.data,
      extraMemoryBytes: () => fresh.memoryBytes() - before,
      dispose: () => [hq, hk, hv, hout].forEach((t) => t.dispose()),
    };
  }

  // The attention part of multi-head attention (b): ak.attention on q, k, v
  // in WebAssembly memory, timed without the projection and the copies. For
  // the check, the sampled rows are projected afterwards in float64 (concat ·
  // oᵀ), so they compare with the reference of the whole operation.
  function attentionPart(workload, inputs, dims) {
    const s = workload.shape;
    const [hq, hk, hv, hout] = [dims, dims, dims, dims].map((d) => ak.alloc(d));
    hq.data.set(inputs.q);
    hk.data.set(inputs.k);
    hv.data.set(inputs.v);
    const embed = s.heads * s.dim;
    return {
      variant: ATTENTION_PART,
      form: 'ak.attention(ak.alloc tensors, { out }), projection outside the timing',
      run: () => ak.attention(hq, hk, hv, { out: hout }),
      output: () => {
        const heads = hout.data;
        const [rows, rowLength] = outputRows(workload);
        const projected = new Float32Array(rows * rowLength);
        for (const i of sampleRows(workload)) {
          const concat = new Float64Array(embed);
          for (let h = 0; h < s.heads; h += 1) {
            for (let d = 0; d < s.dim; d += 1) concat[h * s.dim + d] = heads[(h * s.qLen + i) * s.dim + d];
          }
          for (let n = 0; n < embed; n += 1) {
            let sum = 0;
            for (let m = 0; m < embed; m += 1) sum += concat[m] * inputs.o[n * embed + m];
            projected[i * rowLength + n] = sum;
          }
        }
        return projected;
      },
      dispose: () => [hq, hk, hv, hout].forEach((t) => t.dispose()),
    };
  }

  return {
    name: 'attnkit wasm',
    threads: activeThreads,
    note,
    async prepare(workload, inputs) {
      const s = workload.shape;
      if (threads > 1 && activeThreads === 1) {
        return { unsupported: note || 'no multi-threaded build' };
      }
      if (workload.longContext) return longContext(workload, inputs);

      if (workload.kind === 'rope') {
        const x = new Tensor(inputs.x, [s.batch, s.seqLen, s.heads, s.dim]);
        // Like the plain JavaScript runner, the copying form writes into a
        // result array it reuses. A new array per call is reported apart.
        const reused = new Tensor(new Float32Array(inputs.x.length), x.dims);
        let out;
        const variants = [
          { variant: 'copying', form: 'ak.rope(Tensor, { out: reused Tensor })', run: () => ak.rope(x, { out: reused }), output: () => reused.data },
          { variant: 'copying into a new array', form: 'ak.rope(Tensor)', run: () => { out = ak.rope(x); }, output: () => out.data },
        ];
        if (typeof ak.alloc !== 'function') {
          variants.push({ variant: 'in wasm memory', unsupported: 'ak.alloc is not available in this build' });
        } else {
          const hx = ak.alloc(x.dims);
          hx.data.set(inputs.x);
          const hout = ak.alloc(x.dims);
          variants.push({
            variant: 'in wasm memory',
            form: 'ak.rope(ak.alloc tensor, { out })',
            run: () => ak.rope(hx, { out: hout }),
            output: () => hout.data,
            dispose: () => { hx.dispose(); hout.dispose(); },
          });
          // Rotating q or k in place, as a decoding loop can, reads and
          // writes the same cache lines, so no line is read only to be
          // overwritten. Later runs rotate the result again, and only the
          // first, which is checked, starts from the input.
          const hxInPlace = ak.alloc(x.dims);
          hxInPlace.data.set(inputs.x);
          variants.push({
            variant: 'in place in wasm memory',
            form: 'ak.rope(ak.alloc tensor, { inPlace: true })',
            run: () => ak.rope(hxInPlace, { inPlace: true }),
            output: () => hxInPlace.data,
            dispose: () => hxInPlace.dispose(),
          });
        }
        return variants;
      }

      const q = new Tensor(inputs.q, [s.batch, s.heads, s.qLen, s.dim]);
      const k = new Tensor(inputs.k, [s.batch, s.kvHeads, s.kvLen, s.dim]);
      const v = new Tensor(inputs.v, [s.batch, s.kvHeads, s.kvLen, s.dim]);
      let out;

      if (workload.kind === 'mha') {
        const o = new Tensor(inputs.o, [s.heads * s.dim, s.heads * s.dim]);
        const whole = { form: 'ak.multiheadAttention', run: () => { out = ak.multiheadAttention(q, k, v, o); }, output: () => out.data };
        if (typeof ak.alloc !== 'function') return whole;
        return [whole, attentionPart(workload, inputs, q.dims)];
      }

      const attnOptions = s.causal ? { causal: true } : undefined;
      if (s.causal) {
        const rejected = rejectsOption(() => ak.attention(
          new Tensor(new Float32Array(4), [1, 1, 2, 2]), new Tensor(new Float32Array(4), [1, 1, 2, 2]),
          new Tensor(new Float32Array(4), [1, 1, 2, 2]), { causal: true }));
        if (rejected) return { unsupported: `causal attention is not available: ${rejected}` };
      }

      const copying = {
        variant: s.qLen === 1 ? 'copying' : '',
        form: 'ak.attention',
        run: () => { out = ak.attention(q, k, v, attnOptions); },
        output: () => out.data,
      };
      if (s.qLen !== 1 && workload.memoryVariant && typeof ak.alloc === 'function') {
        const [hq, hk, hv, hout] = [q, k, v, q].map((t) => ak.alloc(t.dims));
        hq.data.set(inputs.q);
        hk.data.set(inputs.k);
        hv.data.set(inputs.v);
        return [copying, {
          variant: IN_WASM_MEMORY,
          form: 'ak.attention(ak.alloc tensors, { out })',
          run: () => ak.attention(hq, hk, hv, { ...attnOptions, out: hout }),
          output: () => hout.data,
          dispose: () => [hq, hk, hv, hout].forEach((t) => t.dispose()),
        }];
      }
      if (s.qLen !== 1) return copying;

      // Decode: the KV cache stays in WebAssembly memory between tokens.
      if (typeof ak.alloc !== 'function') {
        return [copying, { variant: 'KV cache in wasm memory', unsupported: 'ak.alloc is not available in this build' }];
      }
      const hq = ak.alloc(q.dims);
      const hk = ak.alloc(k.dims);
      const hv = ak.alloc(v.dims);
      const hout = ak.alloc([s.batch, s.heads, s.qLen, s.dim]);
      hq.data.set(inputs.q);
      hk.data.set(inputs.k);
      hv.data.set(inputs.v);
      return [
        copying,
        {
          variant: 'KV cache in wasm memory',
          form: 'ak.attention(ak.alloc tensors, { out })',
          run: () => ak.attention(hq, hk, hv, { out: hout }),
          output: () => hout.data,
          dispose: () => [hq, hk, hv, hout].forEach((t) => t.dispose()),
        },
      ];
    },
  };
}
