// The per-element tolerance of every parity test against the float64
// reference: |got − ref| ≤ ATOL + RTOL·|ref|.
import { expect } from '@jest/globals';
import { compare } from '../reference/reference.js';

export const ATOL = 1e-6;
export const RTOL = 1e-5;

/** Expects got to match want element-wise; names the first bad index. */
export function expectClose(got, want, atol = ATOL, rtol = RTOL) {
  expect(got.length).toBe(want.length);
  const { maxError, firstBad } = compare(got, want, atol, rtol);
  if (firstBad >= 0) {
    throw new Error(`element ${firstBad}: got ${got[firstBad]}, want ${want[firstBad]} (max error ${maxError})`);
  }
}
