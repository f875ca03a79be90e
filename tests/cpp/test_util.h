// Helpers shared by the native tests: seeded inputs and the tolerance check.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace test_util {

// Per-element tolerance used by every parity test against the float64
// reference: |got − ref| ≤ kAbsTol + kRelTol·|ref|.
constexpr double kAbsTol = 1e-6;
constexpr double kRelTol = 1e-5;

inline std::vector<float> random_floats(std::size_t n, std::uint32_t seed, float lo = -1.0f,
                                        float hi = 1.0f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> out(n);
  for (float& x : out) {
    x = dist(gen);
  }
  return out;
}

// Checks every element and reports the first index outside the tolerance.
// Infinities must match exactly.
inline void expect_close(const std::vector<float>& got, const std::vector<double>& want,
                         double abs_tol = kAbsTol, double rel_tol = kRelTol) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (static_cast<double>(got[i]) == want[i]) {
      continue;  // covers equal infinities, whose difference is NaN
    }
    const double err = std::fabs(static_cast<double>(got[i]) - want[i]);
    if (!(err <= abs_tol + rel_tol * std::fabs(want[i]))) {
      FAIL() << "element " << i << ": got " << got[i] << ", want " << want[i] << ", error " << err;
    }
  }
}

}  // namespace test_util
