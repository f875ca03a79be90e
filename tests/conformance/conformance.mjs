// Runs conformance cases through the public npm API and compares every
// expected output with numpy assert_allclose semantics, as the ONNX backend
// tests do: |got − want| ≤ atol + rtol·|want| with rtol 1e-3 and atol 1e-7,
// and non-finite expected values matched exactly.
import { loadAttnkit } from '../../web/lib/attnkit.js';
import { findCaseFiles, float16BitsToNumber, loadCase } from './cases.mjs';

export const RTOL = 1e-3;
export const ATOL = 1e-7;

// Adapters map an op's inputs and attributes onto the npm API; each exports
// runCase(ak, testCase) returning one { data, dims } (or null) per output slot.
const ADAPTERS = {
  Attention: () => import('./adapters/attention.mjs'),
  RotaryEmbedding: () => import('./adapters/rotary-embedding.mjs'),
};

function numbersOf(tensor) {
  if (tensor.data instanceof Uint16Array) return Array.from(tensor.data, float16BitsToNumber);
  return Array.from(tensor.data);
}

// Compares one output; returns null when it matches, else a description.
function compareOutput(name, got, want) {
  if (!got) return `${name}: missing from the result`;
  if (got.dims.length !== want.dims.length || got.dims.some((d, i) => d !== want.dims[i])) {
    return `${name}: dims [${got.dims.join(', ')}], expected [${want.dims.join(', ')}]`;
  }
  const g = numbersOf(got);
  const w = numbersOf(want);
  let worst = { excess: 0, index: -1 };
  for (let i = 0; i < w.length; i += 1) {
    let excess;
    if (!Number.isFinite(w[i])) {
      excess = Object.is(g[i], w[i]) || (Number.isNaN(g[i]) && Number.isNaN(w[i])) ? 0 : Infinity;
    } else {
      const err = Math.abs(g[i] - w[i]);
      excess = Number.isNaN(err) ? Infinity : err - (ATOL + RTOL * Math.abs(w[i]));
    }
    if (excess > 0 && (worst.index < 0 || excess > worst.excess)) worst = { excess, index: i };
  }
  if (worst.index < 0) return null;
  const i = worst.index;
  return `${name}: worst element ${i}: got ${g[i]}, expected ${w[i]} (error ${Math.abs(g[i] - w[i])})`;
}

/** Runs one decoded case; returns { name, ok, message }. */
export async function runCase(ak, testCase) {
  const adapterModule = ADAPTERS[testCase.op];
  if (!adapterModule) return { name: testCase.name, ok: false, message: `no adapter for op ${testCase.op}` };
  let outputs;
  try {
    outputs = (await adapterModule()).runCase(ak, testCase);
  } catch (error) {
    return { name: testCase.name, ok: false, message: `${error.name}: ${error.message}` };
  }
  const problems = [];
  testCase.outputs.forEach((want, slot) => {
    if (!want) return;
    const problem = compareOutput(want.name, outputs[slot], want);
    if (problem) problems.push(problem);
  });
  return { name: testCase.name, ok: problems.length === 0, message: problems.join('; ') };
}

/** Runs every case found under `dirs`; returns one result per case file. */
export async function runConformance(dirs) {
  const ak = await loadAttnkit();
  const results = [];
  for (const file of findCaseFiles(dirs)) {
    let testCase;
    try {
      testCase = loadCase(file);
    } catch (error) {
      results.push({ name: file, ok: false, message: `unreadable case: ${error.message}` });
      continue;
    }
    results.push(await runCase(ak, testCase));
  }
  return results;
}
