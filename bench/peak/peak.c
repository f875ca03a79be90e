// Microbenchmarks of the WebAssembly engine: SIMD128 multiply+add
// throughput and memory bandwidth. Built by bench/lib/peak.mjs with emcc.
#include <stddef.h>
#include <stdint.h>
#include <wasm_simd128.h>

#define KEEP __attribute__((used, visibility("default")))

// Runs `iterations` rounds of 12 independent acc = acc·m + c chains, so
// each round is 12 f32x4 multiplies and 12 f32x4 adds (96 flops). Returns
// a sum of the accumulators so the loop cannot be removed.
KEEP float multiply_add_loop(int iterations, float seed) {
  const v128_t m = wasm_f32x4_splat(0.999999f);
  const v128_t c = wasm_f32x4_splat(1e-7f);
  v128_t a0 = wasm_f32x4_splat(seed), a1 = wasm_f32x4_splat(seed + 1), a2 = wasm_f32x4_splat(seed + 2);
  v128_t a3 = wasm_f32x4_splat(seed + 3), a4 = wasm_f32x4_splat(seed + 4), a5 = wasm_f32x4_splat(seed + 5);
  v128_t a6 = wasm_f32x4_splat(seed + 6), a7 = wasm_f32x4_splat(seed + 7), a8 = wasm_f32x4_splat(seed + 8);
  v128_t a9 = wasm_f32x4_splat(seed + 9), a10 = wasm_f32x4_splat(seed + 10), a11 = wasm_f32x4_splat(seed + 11);
  for (int i = 0; i < iterations; ++i) {
    a0 = wasm_f32x4_add(wasm_f32x4_mul(a0, m), c);
    a1 = wasm_f32x4_add(wasm_f32x4_mul(a1, m), c);
    a2 = wasm_f32x4_add(wasm_f32x4_mul(a2, m), c);
    a3 = wasm_f32x4_add(wasm_f32x4_mul(a3, m), c);
    a4 = wasm_f32x4_add(wasm_f32x4_mul(a4, m), c);
    a5 = wasm_f32x4_add(wasm_f32x4_mul(a5, m), c);
    a6 = wasm_f32x4_add(wasm_f32x4_mul(a6, m), c);
    a7 = wasm_f32x4_add(wasm_f32x4_mul(a7, m), c);
    a8 = wasm_f32x4_add(wasm_f32x4_mul(a8, m), c);
    a9 = wasm_f32x4_add(wasm_f32x4_mul(a9, m), c);
    a10 = wasm_f32x4_add(wasm_f32x4_mul(a10, m), c);
    a11 = wasm_f32x4_add(wasm_f32x4_mul(a11, m), c);
  }
  v128_t s = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_add(a0, a1), wasm_f32x4_add(a2, a3)),
                            wasm_f32x4_add(wasm_f32x4_add(a4, a5), wasm_f32x4_add(a6, a7)));
  s = wasm_f32x4_add(s, wasm_f32x4_add(wasm_f32x4_add(a8, a9), wasm_f32x4_add(a10, a11)));
  return wasm_f32x4_extract_lane(s, 0) + wasm_f32x4_extract_lane(s, 1) +
         wasm_f32x4_extract_lane(s, 2) + wasm_f32x4_extract_lane(s, 3);
}

// Copies `bytes` (a multiple of 64) from src to dst with v128 loads and stores.
KEEP void copy_bytes(uint8_t* dst, const uint8_t* src, size_t bytes) {
  for (size_t i = 0; i < bytes; i += 64) {
    const v128_t x0 = wasm_v128_load(src + i);
    const v128_t x1 = wasm_v128_load(src + i + 16);
    const v128_t x2 = wasm_v128_load(src + i + 32);
    const v128_t x3 = wasm_v128_load(src + i + 48);
    wasm_v128_store(dst + i, x0);
    wasm_v128_store(dst + i + 16, x1);
    wasm_v128_store(dst + i + 32, x2);
    wasm_v128_store(dst + i + 48, x3);
  }
}

// Reads `bytes` (a multiple of 64) of floats with v128 loads and returns their sum.
KEEP float read_bytes(const uint8_t* src, size_t bytes) {
  v128_t s0 = wasm_f32x4_splat(0), s1 = s0, s2 = s0, s3 = s0;
  for (size_t i = 0; i < bytes; i += 64) {
    s0 = wasm_f32x4_add(s0, wasm_v128_load(src + i));
    s1 = wasm_f32x4_add(s1, wasm_v128_load(src + i + 16));
    s2 = wasm_f32x4_add(s2, wasm_v128_load(src + i + 32));
    s3 = wasm_f32x4_add(s3, wasm_v128_load(src + i + 48));
  }
  const v128_t s = wasm_f32x4_add(wasm_f32x4_add(s0, s1), wasm_f32x4_add(s2, s3));
  return wasm_f32x4_extract_lane(s, 0) + wasm_f32x4_extract_lane(s, 1) +
         wasm_f32x4_extract_lane(s, 2) + wasm_f32x4_extract_lane(s, 3);
}
