// cos(p·θᵢ) and sin(p·θᵢ) of RoPE positions p, for frequencies θᵢ.
//
// Evaluating std::cos and std::sin for every frequency of every position
// dominated RoPE's run time. RopeAngles splits a position p into an anchor
// a = p − k, a multiple of kAnchorInterval, and an offset
// 0 ≤ k < kAnchorInterval, evaluates cos and sin of a·θᵢ and of k·θᵢ directly
// in double, and combines them with the angle addition formulas:
//   cos(pθ) = cos(aθ)·cos(kθ) − sin(aθ)·sin(kθ)
//   sin(pθ) = sin(aθ)·cos(kθ) + cos(aθ)·sin(kθ)
// A run of S consecutive positions then needs about S/kAnchorInterval anchor
// rows and at most kAnchorInterval offset rows, instead of S rows.
//
// Each value depends only on p and θᵢ, not on which positions a call covers,
// so a prefill and token-by-token decoding give identical bits.
//
// Error: the direct evaluation cos(fl(p·θ)) is off from cos(p·θ) by up to
// |p·θ|·2⁻⁵³ from rounding the angle, plus half an ulp. Here the two angles
// are rounded separately, which gives at most (|a·θ| + |k·θ|)·2⁻⁵³, and the
// two libm results and the product sum add at most 4·2⁻⁵³ more, for values
// of magnitude ≤ 1. Both errors lie far below the 2⁻²⁵ rounding to float.
// tests/cpp/rope_angles_test.cpp checks this bound at positions up to 10⁶.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "kernels/simd.h"

namespace attnkit {
namespace detail {

class RopeAngles {
 public:
  // Distance between anchor positions, and so the number of offset rows.
  static constexpr std::int64_t kAnchorInterval = 32;

  RopeAngles() = default;
  ~RopeAngles() { std::free(storage_); }
  RopeAngles(const RopeAngles&) = delete;
  RopeAngles& operator=(const RopeAngles&) = delete;

  // Sets the frequencies to inv_freq ([half] θᵢ, copied) and returns false
  // when the allocation fails. Rows computed for the same frequencies
  // earlier are kept, so repeated calls, such as one per decoding step,
  // reuse the offset rows and the last anchor row.
  bool init(const double* inv_freq, std::size_t half) {
    if (storage_ && half == half_ && std::memcmp(inv_freq, inv_freq_, half * sizeof(double)) == 0) {
      return true;
    }
    std::free(storage_);
    storage_ = nullptr;
    half_ = 0;
    // θᵢ, cos, sin, anchor cos, anchor sin, then kAnchorInterval offset rows
    // of cos and sin.
    constexpr std::size_t kRowsPerPair = 5 + 2 * kAnchorInterval;
    // A byte count that does not fit size_t (possible for huge head sizes
    // in the 32-bit WebAssembly build) would wrap to a short buffer.
    if (half > SIZE_MAX / (kRowsPerPair * sizeof(double))) return false;
    const std::size_t doubles = kRowsPerPair * (half ? half : 1);
    storage_ = static_cast<double*>(std::malloc(doubles * sizeof(double)));
    if (!storage_) return false;
    half_ = half;
    inv_freq_ = storage_;
    cos_ = storage_ + half;
    sin_ = storage_ + 2 * half;
    anchor_cos_ = storage_ + 3 * half;
    anchor_sin_ = storage_ + 4 * half;
    offset_rows_ = storage_ + 5 * half;
    std::memcpy(inv_freq_, inv_freq, half * sizeof(double));
    for (bool& ready : offset_ready_) ready = false;
    anchor_ready_ = false;
    return true;
  }

  // Sets cos() and sin() to cos(p·θᵢ) and sin(p·θᵢ) for i < half.
  void compute(std::int64_t position) {
    std::int64_t k = position % kAnchorInterval;
    if (k < 0) k += kAnchorInterval;
    // The anchor cannot overflow: INT64_MIN is a multiple of kAnchorInterval.
    const std::int64_t anchor = position - k;
    if (!anchor_ready_ || anchor != anchor_) {
      evaluate(anchor, anchor_cos_, anchor_sin_);
      anchor_ = anchor;
      anchor_ready_ = true;
    }
    if (k == 0) {
      copy_row(anchor_cos_, cos_);
      copy_row(anchor_sin_, sin_);
      return;
    }
    double* offset_cos = offset_rows_ + 2 * static_cast<std::size_t>(k) * half_;
    double* offset_sin = offset_cos + half_;
    if (!offset_ready_[k]) {
      evaluate(k, offset_cos, offset_sin);
      offset_ready_[k] = true;
    }
    combine(offset_cos, offset_sin);
  }

  const double* cos() const { return cos_; }
  const double* sin() const { return sin_; }

 private:
  using DoubleBatch = xsimd::batch<double, kernels::Arch>;

  // angle = position·θᵢ in double: positions reach 10⁵ and more, where a
  // float angle would lose its fractional digits.
  void evaluate(std::int64_t position, double* cos_row, double* sin_row) const {
    const double p = static_cast<double>(position);
    for (std::size_t i = 0; i < half_; ++i) {
      const double angle = p * inv_freq_[i];
      cos_row[i] = std::cos(angle);
      sin_row[i] = std::sin(angle);
    }
  }

  void copy_row(const double* from, double* to) const {
    for (std::size_t i = 0; i < half_; ++i) to[i] = from[i];
  }

  // cos_ and sin_ of anchor + k from the anchor row and offset row k.
  void combine(const double* offset_cos, const double* offset_sin) {
    constexpr std::size_t lanes = DoubleBatch::size;
    const std::size_t n_vec = half_ - half_ % lanes;
    for (std::size_t i = 0; i < n_vec; i += lanes) {
      const DoubleBatch ca = DoubleBatch::load_unaligned(anchor_cos_ + i);
      const DoubleBatch sa = DoubleBatch::load_unaligned(anchor_sin_ + i);
      const DoubleBatch ck = DoubleBatch::load_unaligned(offset_cos + i);
      const DoubleBatch sk = DoubleBatch::load_unaligned(offset_sin + i);
      (ca * ck - sa * sk).store_unaligned(cos_ + i);
      (sa * ck + ca * sk).store_unaligned(sin_ + i);
    }
    for (std::size_t i = n_vec; i < half_; ++i) {
      cos_[i] = anchor_cos_[i] * offset_cos[i] - anchor_sin_[i] * offset_sin[i];
      sin_[i] = anchor_sin_[i] * offset_cos[i] + anchor_cos_[i] * offset_sin[i];
    }
  }

  std::size_t half_ = 0;
  double* storage_ = nullptr;
  double* inv_freq_ = nullptr;     // [half] θᵢ
  double* cos_ = nullptr;          // [half] cos(p·θᵢ) of the last position
  double* sin_ = nullptr;          // [half] sin(p·θᵢ)
  double* anchor_cos_ = nullptr;   // [half] cos(a·θᵢ) of anchor_
  double* anchor_sin_ = nullptr;   // [half] sin(a·θᵢ)
  double* offset_rows_ = nullptr;  // [kAnchorInterval][2][half] cos and sin of k·θᵢ
  bool offset_ready_[kAnchorInterval] = {};
  std::int64_t anchor_ = 0;
  bool anchor_ready_ = false;
};

// Returns this thread's RopeAngles, which keeps its rows between calls.
inline RopeAngles& thread_rope_angles() {
  thread_local RopeAngles angles;
  return angles;
}

}  // namespace detail
}  // namespace attnkit
