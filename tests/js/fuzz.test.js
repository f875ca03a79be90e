// Seeded, bounded fuzzing of the public API: every call either returns a
// tensor that matches the float64 reference or throws a TypeError or a
// RangeError, and never anything else. A valid call that throws or an
// invalid call that returns fails too. The calls come from
// tests/js/fuzz-cases.js.
//
// ATTNKIT_JS_FUZZ_SEED and ATTNKIT_JS_FUZZ_CALLS change the run; a failure
// names the seed and the index that reproduce it.
import { beforeAll, expect, test } from '@jest/globals';
import { loadAttnkit, Tensor } from '../../web/lib/attnkit.js';
import { float16BitsToNumber } from '../conformance/cases.mjs';
import { compare } from '../reference/reference.js';
import { buildCall } from './fuzz-cases.js';
import { ATOL, RTOL } from './tolerance.js';

const SEED = Number(process.env.ATTNKIT_JS_FUZZ_SEED ?? 20261204);
const CALLS = Number(process.env.ATTNKIT_JS_FUZZ_CALLS ?? 3000);

let ak;
beforeAll(async () => {
  ak = await loadAttnkit({ newInstance: true });
});

// Returns null when the call behaved, or a message saying how it did not.
function checkCall(call) {
  let result;
  try {
    result = call.invoke(ak);
  } catch (error) {
    if (!(error instanceof TypeError) && !(error instanceof RangeError)) {
      return `threw ${error?.constructor?.name}: ${error?.message ?? error}`;
    }
    if (!error.message.startsWith(`${call.operation}: `)) {
      return `threw a message that does not start with the operation: ${error.message}`;
    }
    return call.expected ? `rejected a valid call: ${error.message}` : null;
  }

  if (!call.expected) return `accepted an invalid call (${call.mutation})`;
  const want = call.expected();
  if (call.inPlaceTarget && result !== call.inPlaceTarget) return 'returned a new object for an in-place call';
  if (!want.fields) return checkTensor(result, want);

  // Several named tensors, as attentionWithCache and ropeCache return them;
  // an undefined expectation means the field must be absent.
  if (result === null || typeof result !== 'object') return `returned ${result}, not an object of tensors`;
  for (const [name, expected] of Object.entries(want.fields)) {
    if (expected === undefined) {
      if (result[name] !== undefined) return `${name} is ${result[name]}, expected undefined`;
      continue;
    }
    const problem = checkTensor(result[name], expected);
    if (problem) return `${name} ${problem}`;
  }
  return null;
}

// Float16 outputs are rounded to 11 significant bits (relative step 2^-11).
const FLOAT16_TOLERANCE = 1e-3;

// Returns null when `tensor` has want.dims and matches want.data; with
// want.float16 its data must be float16 bits, compared after decoding.
function checkTensor(tensor, want) {
  if (!(tensor instanceof Tensor)) return `returned ${tensor}, not a Tensor`;
  if (JSON.stringify(tensor.dims) !== JSON.stringify(want.dims)) {
    return `returned dims [${tensor.dims}], expected [${want.dims}]`;
  }
  const Expected = want.float16 ? Uint16Array : Float32Array;
  if (!(tensor.data instanceof Expected)) return `returned ${tensor.data?.constructor?.name} data, expected ${Expected.name}`;
  if (tensor.data.length !== want.data.length) return `returned ${tensor.data.length} elements, expected ${want.data.length}`;
  const values = want.float16 ? Float32Array.from(tensor.data, float16BitsToNumber) : tensor.data;
  const [atol, rtol] = want.float16 ? [FLOAT16_TOLERANCE, FLOAT16_TOLERANCE] : [ATOL, RTOL];
  const { maxError, firstBad } = compare(values, want.data, atol, rtol);
  if (firstBad >= 0) {
    return `element ${firstBad} is ${values[firstBad]}, expected ${want.data[firstBad]} (max error ${maxError})`;
  }
  return null;
}

test(`${CALLS} random calls from seed ${SEED}`, () => {
  const failures = [];
  const counts = { valid: 0, invalid: 0 };
  for (let index = 0; index < CALLS; index += 1) {
    const call = buildCall(SEED, index);
    counts[call.expected ? 'valid' : 'invalid'] += 1;
    const problem = checkCall(call);
    if (problem) failures.push(`seed ${SEED}, index ${index}, ${call.operation}${call.mutation ? ` (${call.mutation})` : ''}: ${problem}`);
  }
  expect(failures).toEqual([]);
  expect(ak.heapStats().liveAllocations).toBe(0);
  // Both kinds of call must occur, or the run tested only one side.
  expect(counts.valid).toBeGreaterThan(CALLS / 4);
  expect(counts.invalid).toBeGreaterThan(CALLS / 4);
});
