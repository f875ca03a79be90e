// Shared xsimd definitions for the kernels.
//
// Every kernel is written once against xsimd::batch<float, Arch>. The native
// build compiles for the best instruction set the compiler targets
// (-march=native by default). The WebAssembly build compiles xsimd's SSE4.1
// path with -msimd128 -msse4.1, and Emscripten lowers those intrinsics to
// SIMD128 instructions.
#pragma once

#include <xsimd/xsimd.hpp>

#include <cstddef>
#include <type_traits>

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif

// Keeps a large kernel a function of its own in LLVM's output (binaryen may
// still inline a function that has a single caller).
#define ATTNKIT_NOINLINE __attribute__((noinline))
// Inlines a register tile into its caller even where the compiler's cost
// model would call it, because the call then costs more than a short tile.
#define ATTNKIT_ALWAYS_INLINE __attribute__((always_inline))

namespace attnkit {
namespace kernels {

using Arch = xsimd::default_arch;
using Batch = xsimd::batch<float, Arch>;
constexpr std::size_t kLanes = Batch::size;

// Vector registers of the target: 32 with AVX-512 (zmm0 to zmm31), else 16,
// as x86-64 has for SSE and AVX and as V8 uses for SIMD128 on x86-64 (the 32
// registers of Arm NEON are not counted). The register tiles of the kernels
// keep about half of them as accumulators.
constexpr std::size_t kVectorRegisters = std::is_base_of<xsimd::avx512f, Arch>::value ? 32 : 16;
constexpr std::size_t kTileAccumulators = kVectorRegisters / 2;

// Returns the lane-wise maximum, (a > b) ? a : b, so a lane where either
// value is NaN gives b, as x86's maxps does.
inline Batch max_lanes(Batch a, Batch b) {
#if defined(__wasm_simd128__)
  // Emscripten lowers _mm_max_ps to a compare and a bit select, where
  // f32x4.pmax(b, a) = (b < a) ? a : b is one instruction.
  return Batch(static_cast<__m128>(wasm_f32x4_pmax(static_cast<v128_t>(b.data),
                                                   static_cast<v128_t>(a.data))));
#else
  return xsimd::max(a, b);
#endif
}

// Rounds n down to a multiple of the vector width.
inline std::size_t round_down_to_lanes(std::size_t n) { return n - n % kLanes; }

// Returns the sum of a[i] * b[i] for i < n, accumulated in float.
inline float dot(const float* a, const float* b, std::size_t n) {
  const std::size_t n_vec = round_down_to_lanes(n);

  Batch vacc(0.0f);
  for (std::size_t i = 0; i < n_vec; i += kLanes) {
    vacc = xsimd::fma(Batch::load_unaligned(a + i), Batch::load_unaligned(b + i), vacc);
  }

  float acc = xsimd::hadd(vacc);
  for (std::size_t i = n_vec; i < n; ++i) {
    acc += a[i] * b[i];
  }
  return acc;
}

// Computes y[i] += alpha * x[i] for i < n.
inline void axpy(float alpha, const float* x, float* y, std::size_t n) {
  const std::size_t n_vec = round_down_to_lanes(n);
  const Batch valpha(alpha);

  for (std::size_t i = 0; i < n_vec; i += kLanes) {
    const Batch vy = xsimd::fma(valpha, Batch::load_unaligned(x + i), Batch::load_unaligned(y + i));
    vy.store_unaligned(y + i);
  }

  for (std::size_t i = n_vec; i < n; ++i) {
    y[i] += alpha * x[i];
  }
}

// Computes y[i] *= alpha for i < n.
inline void scale_in_place(float alpha, float* y, std::size_t n) {
  const std::size_t n_vec = round_down_to_lanes(n);
  const Batch valpha(alpha);

  for (std::size_t i = 0; i < n_vec; i += kLanes) {
    (Batch::load_unaligned(y + i) * valpha).store_unaligned(y + i);
  }

  for (std::size_t i = n_vec; i < n; ++i) {
    y[i] *= alpha;
  }
}

}  // namespace kernels
}  // namespace attnkit
