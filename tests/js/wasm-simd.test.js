// The shipped .wasm runs its hot loops on SIMD128: the functions that hold
// the attention, multi-head attention and RoPE kernels contain f32x4
// multiplies and adds inside loops.
import { describe, expect, test } from '@jest/globals';
import { inspectWasmSimd } from '../../scripts/check-wasm-simd.mjs';

describe('wasm SIMD', () => {
  const report = inspectWasmSimd();

  test.each(['attention', 'multiheadAttention', 'rope'])('%s kernel loops use f32x4', (name) => {
    const entry = report.find((r) => r.name === name);
    expect(entry).toBeDefined();
    expect(entry.loops).toBeGreaterThan(0);
    expect(entry.f32x4MulInLoops).toBeGreaterThan(0);
    expect(entry.f32x4AddInLoops).toBeGreaterThan(0);
  });
});
