// Disassembles dist/attnkit.wasm with binaryen's wasm-dis and reports, for
// the function that contains each kernel, how many f32x4 multiplies and adds
// sit inside loops. Run directly for a table:
//
//   node scripts/check-wasm-simd.mjs [path/to/attnkit.wasm]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// Demangled function names (from the name section kept by
// --profiling-funcs) whose bodies hold each kernel after inlining: the C++
// entry point or the Embind wrapper it was inlined into. The GEMM of the
// output projection stays a function of its own once several entry points
// call it, so it counts for multiheadAttention. The attention kernels for
// one head (general and specialised) stay functions of their own as well.
const KERNEL_FUNCTIONS = {
  attention: /(attnkit::scaled_dot_product_attention|::attention|kernels::attention_head\w*)\(/,
  multiheadAttention: /(multihead_attention|kernels::gemm_packed)\(/,
  rope: /(attnkit::apply_rope|::rope)\(/,
};

function demangle(name) {
  return name.replace(/\\([0-9a-f]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
}

// Counts instructions that appear while at least one (loop ...) is open.
function countInLoops(body, instruction) {
  let count = 0;
  let loopDepth = 0;
  const stack = [];
  const tokens = body.match(/\(|\)|[^\s()]+/g) ?? [];
  for (let i = 0; i < tokens.length; i += 1) {
    const token = tokens[i];
    if (token === '(') {
      const isLoop = tokens[i + 1] === 'loop';
      stack.push(isLoop);
      if (isLoop) loopDepth += 1;
    } else if (token === ')') {
      if (stack.pop()) loopDepth -= 1;
    } else if (token === instruction && loopDepth > 0) {
      count += 1;
    }
  }
  return count;
}

/** Returns one row per kernel: { name, functions, loops, f32x4MulInLoops, f32x4AddInLoops }. */
export function inspectWasmSimd(wasmPath = fileURLToPath(new URL('../dist/attnkit.wasm', import.meta.url))) {
  const text = execFileSync('wasm-dis', [wasmPath], { maxBuffer: 256 * 1024 * 1024 }).toString();
  const functions = text.split(/\n \(func /).slice(1).map((chunk) => {
    const name = demangle(chunk.slice(0, chunk.search(/\s/)).replace(/^\$/, ''));
    return { name, body: chunk };
  });

  return Object.entries(KERNEL_FUNCTIONS).map(([kernel, pattern]) => {
    const matches = functions.filter((f) => pattern.test(f.name));
    const sum = (count) => matches.reduce((n, f) => n + count(f.body), 0);
    return {
      name: kernel,
      functions: matches.length,
      loops: sum((body) => (body.match(/\(loop/g) ?? []).length),
      f32x4MulInLoops: sum((body) => countInLoops(body, 'f32x4.mul')),
      f32x4AddInLoops: sum((body) => countInLoops(body, 'f32x4.add')),
    };
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.table(inspectWasmSimd(process.argv[2]));
}
