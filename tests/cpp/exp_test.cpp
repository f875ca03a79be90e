// The vectorised exp() of the softmax against double-precision std::exp.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/exp_kernels.h"

namespace {

using attnkit::kernels::Batch;
using attnkit::kernels::exp_poly;
using attnkit::kernels::kLanes;

// The bound stated in kernels/exp_kernels.h.
constexpr double kMaxRelativeError = 1.5e-7;

const float kMinInput = std::log(std::numeric_limits<float>::min());  // about −87.34
const float kMaxInput = std::log(std::numeric_limits<float>::max());  // about 88.72

float bits_to_float(std::uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// Applies a vector function to each element, one full batch at a time (the
// last batch is padded with zeros).
std::vector<float> apply_batches(Batch (*fn)(Batch), const std::vector<float>& x) {
  std::vector<float> padded(x);
  padded.resize((x.size() + kLanes - 1) / kLanes * kLanes, 0.0f);
  std::vector<float> out(padded.size());
  for (std::size_t i = 0; i < padded.size(); i += kLanes) {
    fn(Batch::load_unaligned(padded.data() + i)).store_unaligned(out.data() + i);
  }
  out.resize(x.size());
  return out;
}

// Evaluates exp_poly on each element.
std::vector<float> exp_all(const std::vector<float>& x) { return apply_batches(exp_poly, x); }

// Returns the largest relative error over the inputs whose exact result is a
// finite float, and fails on the first input whose result is not finite and
// positive, or not +inf where the exact result rounds to +inf.
double max_relative_error(const std::vector<float>& x) {
  const std::vector<float> got = exp_all(x);
  const double overflow_threshold = std::ldexp(2.0 - std::ldexp(1.0, -24), 127);
  double worst = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double want = std::exp(static_cast<double>(x[i]));
    if (want >= overflow_threshold) {
      EXPECT_EQ(got[i], INFINITY) << "exp(" << x[i] << ") should round to +inf";
      continue;
    }
    if (!(got[i] > 0.0f) || !std::isfinite(got[i])) {
      ADD_FAILURE() << "exp(" << x[i] << ") returned " << got[i] << ", want " << want;
      return INFINITY;
    }
    worst = std::max(worst, std::fabs(got[i] - want) / want);
  }
  return worst;
}

// Every 29th float bit pattern from `first` up to `last` (inclusive, same sign).
std::vector<float> strided_floats(float first, float last) {
  std::uint32_t a, b;
  std::memcpy(&a, &first, sizeof a);
  std::memcpy(&b, &last, sizeof b);
  if (a > b) std::swap(a, b);
  std::vector<float> out;
  for (std::uint64_t bits = a; bits <= b; bits += 29) {
    out.push_back(bits_to_float(static_cast<std::uint32_t>(bits)));
  }
  out.push_back(bits_to_float(b));
  return out;
}

TEST(ExpPoly, NegativeRangeWithinBound) {
  // Scores minus the row maximum are never positive, so the softmax uses
  // −0 down to ln(FLT_MIN), and below that the result is 0.
  const double err = max_relative_error(strided_floats(-0.0f, kMinInput));
  EXPECT_LE(err, kMaxRelativeError);
  std::printf("max relative error for x <= 0: %.3g\n", err);
}

TEST(ExpPoly, PositiveRangeWithinBound) {
  // The last few floats below kMaxInput have exact results that round to +inf.
  const double err = max_relative_error(strided_floats(0.0f, kMaxInput));
  EXPECT_LE(err, kMaxRelativeError);
  std::printf("max relative error for x >= 0: %.3g\n", err);
}

TEST(ExpPoly, DenseAroundReductionSteps) {
  // Every float within 64 ulp of k·ln(2)/2, where n changes and |r| peaks.
  std::vector<float> x;
  for (int k = -251; k <= 255; ++k) {
    const float centre = static_cast<float>(k * 0.34657359027997264);
    std::uint32_t bits;
    std::memcpy(&bits, &centre, sizeof bits);
    for (int d = -64; d <= 64; ++d) {
      const float f = bits_to_float(bits + d);
      if (f >= kMinInput && f <= kMaxInput) x.push_back(f);
    }
  }
  EXPECT_LE(max_relative_error(x), kMaxRelativeError);
}

TEST(ExpPoly, ExactValuesAtZeroAndInfinity) {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> got = exp_all({0.0f, -0.0f, -inf, inf});
  EXPECT_EQ(got[0], 1.0f);
  EXPECT_EQ(got[1], 1.0f);
  EXPECT_EQ(got[2], 0.0f);
  EXPECT_EQ(got[3], inf);
}

TEST(ExpPoly, UnderflowsToZero) {
  const float below = std::nextafter(kMinInput, -1000.0f);
  const std::vector<float> got = exp_all({below, -88.0f, -103.0f, -104.0f, -1e30f});
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i], 0.0f) << "input index " << i;
  }
}

TEST(ExpPoly, OverflowsToInfinity) {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> got = exp_all({89.0f, 100.0f, 1e30f});
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i], inf) << "input index " << i;
  }
}

TEST(ExpPoly, NanGivesNan) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> got = exp_all({nan, -nan, 1.0f, nan});
  EXPECT_TRUE(std::isnan(got[0]));
  EXPECT_TRUE(std::isnan(got[1]));
  EXPECT_FALSE(std::isnan(got[2]));
  EXPECT_TRUE(std::isnan(got[3]));
}

// exp_nonpositive serves the softmax, whose inputs are scores minus the row
// maximum: x <= 0, −inf or NaN.
std::vector<float> exp_nonpositive_all(const std::vector<float>& x) {
  return apply_batches(attnkit::kernels::exp_nonpositive, x);
}

TEST(ExpNonpositive, NegativeRangeWithinBound) {
  const std::vector<float> x = strided_floats(-0.0f, kMinInput);
  const std::vector<float> got = exp_nonpositive_all(x);
  double worst = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double want = std::exp(static_cast<double>(x[i]));
    ASSERT_GT(got[i], 0.0f) << "exp(" << x[i] << ")";
    worst = std::max(worst, std::fabs(got[i] - want) / want);
  }
  EXPECT_LE(worst, kMaxRelativeError);
}

TEST(ExpNonpositive, SpecialValues) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float below = std::nextafter(kMinInput, -1000.0f);
  const std::vector<float> got = exp_nonpositive_all({0.0f, -0.0f, -inf, below, -1e30f, nan});
  EXPECT_EQ(got[0], 1.0f);
  EXPECT_EQ(got[1], 1.0f);
  EXPECT_EQ(got[2], 0.0f);
  EXPECT_EQ(got[3], 0.0f);
  EXPECT_EQ(got[4], 0.0f);
  EXPECT_TRUE(std::isnan(got[5]));
}

TEST(ExpNonpositive, MatchesExpPoly) {
  std::vector<float> x = strided_floats(-0.0f, -20.0f);
  const std::vector<float> a = exp_nonpositive_all(x);
  const std::vector<float> b = exp_all(x);
  for (std::size_t i = 0; i < x.size(); ++i) {
    ASSERT_EQ(a[i], b[i]) << "x = " << x[i];
  }
}

// exp2_nonpositive serves the softmax of the attention kernels, whose
// scores are in units of log2(e).
std::vector<float> exp2_nonpositive_all(const std::vector<float>& x) {
  return apply_batches(attnkit::kernels::exp2_nonpositive, x);
}

// Largest relative error against std::exp2 over x, failing on a result
// that is not finite and positive.
double exp2_max_relative_error(const std::vector<float>& x) {
  const std::vector<float> got = exp2_nonpositive_all(x);
  double worst = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double want = std::exp2(static_cast<double>(x[i]));
    if (!(got[i] > 0.0f) || !std::isfinite(got[i])) {
      ADD_FAILURE() << "exp2(" << x[i] << ") returned " << got[i] << ", want " << want;
      return INFINITY;
    }
    worst = std::max(worst, std::fabs(got[i] - want) / want);
  }
  return worst;
}

TEST(Exp2Nonpositive, NegativeRangeWithinBound) {
  const double err = exp2_max_relative_error(strided_floats(-0.0f, -126.0f));
  EXPECT_LE(err, kMaxRelativeError);
  std::printf("max relative error of exp2 for -126 <= x <= 0: %.3g\n", err);
}

TEST(Exp2Nonpositive, DenseAroundReductionSteps) {
  // Every float within 256 ulp of k + 1/2, where n changes and |r| peaks.
  std::vector<float> x;
  for (int k = -126; k <= -1; ++k) {
    const float centre = static_cast<float>(k) + 0.5f;
    std::uint32_t bits;
    std::memcpy(&bits, &centre, sizeof bits);
    for (int d = -256; d <= 256; ++d) {
      const float f = bits_to_float(bits + d);
      if (f >= -126.0f && f <= 0.0f) x.push_back(f);
    }
  }
  EXPECT_LE(exp2_max_relative_error(x), kMaxRelativeError);
}

TEST(Exp2Nonpositive, ExactPowersOfTwo) {
  // With r = 0 the polynomial gives exactly 1, so integers are exact.
  std::vector<float> x;
  for (int k = 0; k >= -126; --k) x.push_back(static_cast<float>(k));
  const std::vector<float> got = exp2_nonpositive_all(x);
  for (std::size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(got[i], std::ldexp(1.0f, static_cast<int>(x[i]))) << "x = " << x[i];
  }
}

TEST(Exp2Nonpositive, SpecialValues) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> got =
      exp2_nonpositive_all({0.0f, -0.0f, -inf, -127.0f, -150.0f, -1e30f, nan, -nan});
  EXPECT_EQ(got[0], 1.0f);
  EXPECT_EQ(got[1], 1.0f);
  EXPECT_EQ(got[2], 0.0f);
  EXPECT_EQ(got[3], 0.0f);
  EXPECT_EQ(got[4], 0.0f);
  EXPECT_EQ(got[5], 0.0f);
  EXPECT_TRUE(std::isnan(got[6]));
  EXPECT_TRUE(std::isnan(got[7]));
}

TEST(Exp2Nonpositive, BelowNormalRangeIsTiny) {
  // Between −127 and −126 the exact result is below FLT_MIN; the result may
  // be 0 or subnormal but must stay within FLT_MIN of it.
  for (float x = -126.0f; x >= -127.0f; x -= 1.0f / 64.0f) {
    const float got = exp2_nonpositive_all({x})[0];
    EXPECT_GE(got, 0.0f) << "x = " << x;
    EXPECT_LT(std::fabs(got - std::exp2(static_cast<double>(x))),
              static_cast<double>(std::numeric_limits<float>::min()))
        << "x = " << x;
  }
}

}  // namespace
