// Rotary position embedding kernels (RoFormer, arXiv 2104.09864).
//
// A pair (a, b) at angle φ becomes (a·cos φ − b·sin φ, a·sin φ + b·cos φ).
// The caller builds the cos and sin of one position once and applies them
// to every head of that token.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/simd.h"

namespace attnkit {
namespace kernels {

// Index pattern (1, 0, 3, 2, ...) that swaps the two lanes of each pair.
struct SwapPairsPattern {
  static constexpr std::uint32_t get(std::size_t index, std::size_t /*size*/) {
    return static_cast<std::uint32_t>(index ^ 1u);
  }
};

// Rotates adjacent pairs (x[2i], x[2i+1]) of the first rotary_dim channels
// of one head:
//   out[2i]     = x[2i]·cos_pairs[2i]     + x[2i+1]·sin_signed[2i]
//   out[2i + 1] = x[2i+1]·cos_pairs[2i+1] + x[2i]·sin_signed[2i+1]
// cos_pairs: [rotary_dim], cos φᵢ for both lanes of pair i.
// sin_signed: [rotary_dim], (−sin φᵢ, +sin φᵢ) for pair i.
// x and out: [rotary_dim], and they may be the same buffer.
inline void rope_interleaved(const float* x, float* out, const float* cos_pairs,
                             const float* sin_signed, std::size_t rotary_dim) {
  constexpr auto swap_pairs =
      xsimd::make_batch_constant<xsimd::batch<std::uint32_t, Arch>, SwapPairsPattern>();
  const std::size_t n_vec = round_down_to_lanes(rotary_dim);

  // Lane counts are even, so every vector starts on a pair boundary.
  for (std::size_t i = 0; i < n_vec; i += kLanes) {
    const Batch vx = Batch::load_unaligned(x + i);
    const Batch vswapped = xsimd::swizzle(vx, swap_pairs);
    const Batch vout = xsimd::fma(vx, Batch::load_unaligned(cos_pairs + i),
                                  vswapped * Batch::load_unaligned(sin_signed + i));
    vout.store_unaligned(out + i);
  }

  for (std::size_t i = n_vec; i < rotary_dim; i += 2) {
    const float a = x[i];
    const float b = x[i + 1];
    out[i] = a * cos_pairs[i] + b * sin_signed[i];
    out[i + 1] = b * cos_pairs[i + 1] + a * sin_signed[i + 1];
  }
}

// Rotates split-half pairs (x[i], x[i + half]) of one head, half = rotary_dim / 2:
//   out[i]        = x[i]·cos_row[i]               − x[i + half]·sin_row[i]
//   out[i + half] = x[i + half]·cos_row[i + half] + x[i]·sin_row[i + half]
// cos_row, sin_row: [2·half]. For RoPE both halves of a row hold the same
// values, but full-width tables (Hugging Face's cos/sin layout, for example
// 2-D vision RoPE) may give the second half its own angles. x and out:
// [2·half], and they may be the same buffer.
inline void rope_split_half(const float* x, float* out, const float* cos_row,
                            const float* sin_row, std::size_t half) {
  const std::size_t n_vec = round_down_to_lanes(half);

  for (std::size_t i = 0; i < n_vec; i += kLanes) {
    const Batch va = Batch::load_unaligned(x + i);
    const Batch vb = Batch::load_unaligned(x + half + i);
    const Batch vout_a = xsimd::fms(va, Batch::load_unaligned(cos_row + i),
                                    vb * Batch::load_unaligned(sin_row + i));
    const Batch vout_b = xsimd::fma(vb, Batch::load_unaligned(cos_row + half + i),
                                    va * Batch::load_unaligned(sin_row + half + i));
    vout_a.store_unaligned(out + i);
    vout_b.store_unaligned(out + half + i);
  }

  for (std::size_t i = n_vec; i < half; ++i) {
    const float a = x[i];
    const float b = x[half + i];
    out[i] = a * cos_row[i] - b * sin_row[i];
    out[half + i] = b * cos_row[half + i] + a * sin_row[half + i];
  }
}

}  // namespace kernels
}  // namespace attnkit
