// The RoPE kernels called directly, at sizes that run only the scalar tail,
// only the vector body, or both, with guard values after every buffer.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <vector>

#include "cpp/test_util.h"
#include "kernels/rope_kernels.h"

namespace {

using attnkit::kernels::kLanes;
using test_util::random_floats;

constexpr float kGuard = 12345.0f;
constexpr std::size_t kGuardCount = 2 * kLanes;

// Returns n random values followed by kGuardCount guard values.
std::vector<float> guarded(std::size_t n, std::uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::vector<float> values = random_floats(n, seed, lo, hi);
  values.resize(n + kGuardCount, kGuard);
  return values;
}

void expect_guards_intact(const std::vector<float>& buffer, std::size_t n) {
  for (std::size_t i = n; i < buffer.size(); ++i) {
    ASSERT_EQ(buffer[i], kGuard) << "write past the end at index " << i;
  }
}

// Interleaved kernel against out[2i] = a·c[2i] + b·s[2i],
// out[2i+1] = b·c[2i+1] + a·s[2i+1], computed in double.
void check_interleaved(std::size_t rotary_dim, bool in_place) {
  SCOPED_TRACE(testing::Message() << "rotary_dim " << rotary_dim << (in_place ? ", in place" : ""));
  const std::vector<float> x = guarded(rotary_dim, 100 + rotary_dim);
  const std::vector<float> cos_row = guarded(rotary_dim, 200 + rotary_dim);
  const std::vector<float> sin_row = guarded(rotary_dim, 300 + rotary_dim);
  std::vector<float> out = in_place ? x : std::vector<float>(rotary_dim + kGuardCount, kGuard);

  attnkit::kernels::rope_interleaved(in_place ? out.data() : x.data(), out.data(), cos_row.data(),
                                     sin_row.data(), rotary_dim);

  for (std::size_t i = 0; i < rotary_dim; i += 2) {
    const double a = x[i];
    const double b = x[i + 1];
    EXPECT_NEAR(out[i], a * cos_row[i] + b * sin_row[i], 1e-6) << "channel " << i;
    EXPECT_NEAR(out[i + 1], b * cos_row[i + 1] + a * sin_row[i + 1], 1e-6) << "channel " << i + 1;
  }
  expect_guards_intact(out, rotary_dim);
}

// Split-half kernel against out[i] = a·c[i] − b·s[i],
// out[i+h] = b·c[i+h] + a·s[i+h], computed in double.
void check_split_half(std::size_t half, bool in_place) {
  SCOPED_TRACE(testing::Message() << "half " << half << (in_place ? ", in place" : ""));
  const std::size_t n = 2 * half;
  const std::vector<float> x = guarded(n, 400 + half);
  const std::vector<float> cos_row = guarded(n, 500 + half);
  const std::vector<float> sin_row = guarded(n, 600 + half);
  std::vector<float> out = in_place ? x : std::vector<float>(n + kGuardCount, kGuard);

  attnkit::kernels::rope_split_half(in_place ? out.data() : x.data(), out.data(), cos_row.data(),
                                    sin_row.data(), half);

  for (std::size_t i = 0; i < half; ++i) {
    const double a = x[i];
    const double b = x[half + i];
    EXPECT_NEAR(out[i], a * cos_row[i] - b * sin_row[i], 1e-6) << "channel " << i;
    EXPECT_NEAR(out[half + i], b * cos_row[half + i] + a * sin_row[half + i], 1e-6)
        << "channel " << half + i;
  }
  expect_guards_intact(out, n);
}

TEST(RopeKernels, InterleavedScalarTailOnly) {
  for (std::size_t dim = 2; dim < kLanes; dim += 2) {
    check_interleaved(dim, false);
    check_interleaved(dim, true);
  }
}

TEST(RopeKernels, InterleavedVectorBodyOnly) {
  for (std::size_t dim : {kLanes, 2 * kLanes, 8 * kLanes}) {
    check_interleaved(dim, false);
    check_interleaved(dim, true);
  }
}

TEST(RopeKernels, InterleavedBodyAndTail) {
  for (std::size_t dim = kLanes + 2; dim < 3 * kLanes; dim += 2) {
    check_interleaved(dim, false);
    check_interleaved(dim, true);
  }
}

TEST(RopeKernels, SplitHalfScalarTailOnly) {
  for (std::size_t half = 1; half < kLanes; ++half) {
    check_split_half(half, false);
    check_split_half(half, true);
  }
}

TEST(RopeKernels, SplitHalfVectorBodyOnly) {
  for (std::size_t half : {kLanes, 2 * kLanes, 8 * kLanes}) {
    check_split_half(half, false);
    check_split_half(half, true);
  }
}

TEST(RopeKernels, SplitHalfBodyAndTail) {
  for (std::size_t half = kLanes + 1; half < 3 * kLanes; ++half) {
    check_split_half(half, false);
    check_split_half(half, true);
  }
}

TEST(RopeKernels, SplitHalfReadsSecondHalfOfTheRows) {
  // Rows whose halves differ: the second output half must use them.
  const std::size_t half = kLanes + 1;
  std::vector<float> x(2 * half, 1.0f);
  std::vector<float> cos_row(2 * half, 0.0f);
  std::vector<float> sin_row(2 * half, 0.0f);
  for (std::size_t i = half; i < 2 * half; ++i) cos_row[i] = 3.0f;
  std::vector<float> out(2 * half);
  attnkit::kernels::rope_split_half(x.data(), out.data(), cos_row.data(), sin_row.data(), half);
  for (std::size_t i = 0; i < half; ++i) {
    EXPECT_EQ(out[i], 0.0f) << i;
    EXPECT_EQ(out[half + i], 3.0f) << half + i;
  }
}

}  // namespace
