// Shape and size checks shared by the entry points.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <string>

#include "attnkit/attnkit.h"

namespace attnkit {
namespace detail {

// Largest element count an entry point accepts for one buffer: 2^31 − 1
// bytes' worth of floats, so that byte offsets fit a signed 32-bit integer in
// the WebAssembly build.
constexpr std::size_t kMaxElements = (std::size_t{1} << 31) / sizeof(float) - 1;

// Multiplies the factors into *product; returns false if the product would
// exceed kMaxElements.
inline bool checked_product(std::initializer_list<std::size_t> factors, std::size_t* product) {
  std::size_t p = 1;
  for (std::size_t f : factors) {
    if (f != 0 && p > kMaxElements / f) {
      return false;
    }
    p *= f;
  }
  *product = p;
  return true;
}

// Heap buffer of floats released on scope exit. Uses aligned_alloc so that
// an allocation failure comes back as a null pointer instead of an abort.
// The buffer starts on a 64-byte boundary, a cache line, so a 16-byte
// vector at a multiple of four floats never straddles two lines. (malloc
// aligns to 8 bytes in the WebAssembly build, and attention ran 1.5 to 2 %
// slower on inputs placed that way.)
class FloatBuffer {
 public:
  static constexpr std::size_t kAlignment = 64;
  // A count whose byte size does not fit size_t (possible in the 32-bit
  // WebAssembly build) gives a null buffer instead of a short one.
  explicit FloatBuffer(std::size_t count)
      : data_(count > (SIZE_MAX - kAlignment) / sizeof(float)
                  ? nullptr
                  : static_cast<float*>(std::aligned_alloc(
                        kAlignment, rounded_bytes(count ? count : 1)))) {}
  ~FloatBuffer() { std::free(data_); }
  FloatBuffer(const FloatBuffer&) = delete;
  FloatBuffer& operator=(const FloatBuffer&) = delete;

  float* get() const { return data_; }
  explicit operator bool() const { return data_ != nullptr; }

 private:
  // aligned_alloc takes a size that is a multiple of the alignment.
  static std::size_t rounded_bytes(std::size_t count) {
    return (count * sizeof(float) + kAlignment - 1) / kAlignment * kAlignment;
  }

  float* data_;
};

// Checks a scaled_dot_product_attention call before anything is allocated:
// sizes, the scale, the kernel's scratch size and the pointers. `op` starts
// each message. Defined in attention.cpp.
Status check_attention_call(const char* op, const float* q, const float* k, const float* v,
                            const float* out, const AttentionShape& shape,
                            const AttentionOptions& options);

// Checks the RoPE rotary width, base and scaling without computing any
// frequency. Defined in rope_frequencies.cpp.
Status check_rope_frequency_options(std::size_t rotary_dim, double base,
                                    const RopeScaling& scaling);

inline std::string to_string_size(std::size_t n) { return std::to_string(n); }

}  // namespace detail
}  // namespace attnkit
