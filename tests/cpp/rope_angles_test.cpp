// The anchor-and-offset angle rows of RoPE against cos and sin evaluated in
// long double, for every scaling type and positions up to 10⁶.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "attnkit/attnkit.h"
#include "cpp/test_util.h"
#include "reference/reference.h"
#include "rope_angles.h"

namespace {

using attnkit::RopeScaling;
using attnkit::RopeScalingType;
using attnkit::detail::RopeAngles;

constexpr double kDoubleEpsilon = 0x1p-53;

struct ScalingCase {
  std::string name;
  RopeScaling scaling;
};

std::vector<ScalingCase> scaling_cases() {
  std::vector<ScalingCase> cases;
  cases.push_back({"none", {}});

  RopeScaling linear;
  linear.type = RopeScalingType::kLinear;
  linear.factor = 4.0;
  cases.push_back({"linear", linear});

  RopeScaling ntk;
  ntk.type = RopeScalingType::kDynamicNtk;
  ntk.factor = 2.0;
  ntk.original_max_positions = 2048.0;
  ntk.current_length = 1e6;
  cases.push_back({"ntk", ntk});

  RopeScaling yarn;
  yarn.type = RopeScalingType::kYarn;
  yarn.factor = 16.0;
  yarn.original_max_positions = 4096.0;
  cases.push_back({"yarn", yarn});

  RopeScaling llama3;
  llama3.type = RopeScalingType::kLlama3;
  llama3.factor = 8.0;
  llama3.original_max_positions = 8192.0;
  cases.push_back({"llama3", llama3});
  return cases;
}

std::vector<double> inv_freq_of(std::size_t rotary_dim, const RopeScaling& scaling, double* factor) {
  std::vector<double> inv_freq(rotary_dim / 2);
  const attnkit::Status status =
      attnkit::rope_frequencies(rotary_dim, 10000.0, scaling, inv_freq.data(), factor);
  EXPECT_TRUE(status.ok()) << status.message;
  return inv_freq;
}

// The bound stated in rope_angles.h: (|a·θ| + |k·θ|)·2⁻⁵³ from the two angle
// roundings plus 4·2⁻⁵³, with one more 2⁻⁵³ for the long double reference.
double angle_bound(std::int64_t position, double theta) {
  std::int64_t k = position % RopeAngles::kAnchorInterval;
  if (k < 0) k += RopeAngles::kAnchorInterval;
  const double anchor = static_cast<double>(position - k);
  return (std::fabs(anchor * theta) + static_cast<double>(k) * theta + 5.0) * kDoubleEpsilon;
}

// Checks positions first … first + count − 1 in order and returns the
// largest error seen.
double check_run(RopeAngles& angles, const std::vector<double>& inv_freq, std::int64_t first,
                 std::int64_t count) {
  double max_error = 0.0;
  for (std::int64_t position = first; position < first + count; ++position) {
    angles.compute(position);
    for (std::size_t i = 0; i < inv_freq.size(); ++i) {
      const long double angle = static_cast<long double>(position) * inv_freq[i];
      const double bound = angle_bound(position, inv_freq[i]);
      const double cos_error = std::fabs(angles.cos()[i] - static_cast<double>(std::cos(angle)));
      const double sin_error = std::fabs(angles.sin()[i] - static_cast<double>(std::sin(angle)));
      if (!(cos_error <= bound) || !(sin_error <= bound)) {
        ADD_FAILURE() << "position " << position << ", frequency " << i << ": cos error "
                      << cos_error << ", sin error " << sin_error << ", bound " << bound;
        return max_error;
      }
      max_error = std::max({max_error, cos_error, sin_error});
    }
  }
  return max_error;
}

TEST(RopeAngles, WithinBoundForEveryScalingType) {
  for (const ScalingCase& scaling_case : scaling_cases()) {
    SCOPED_TRACE(scaling_case.name);
    double factor = 0.0;
    const std::vector<double> inv_freq = inv_freq_of(128, scaling_case.scaling, &factor);
    RopeAngles angles;
    ASSERT_TRUE(angles.init(inv_freq.data(), inv_freq.size()));
    check_run(angles, inv_freq, 0, 300);
    check_run(angles, inv_freq, 999'900, 101);  // up to 10⁶
    check_run(angles, inv_freq, -77, 90);       // negative positions from positionIds
  }
}

TEST(RopeAngles, ErrorNearMillionStaysFarBelowFloatRounding) {
  double factor = 0.0;
  const std::vector<double> inv_freq = inv_freq_of(128, {}, &factor);
  RopeAngles angles;
  ASSERT_TRUE(angles.init(inv_freq.data(), inv_freq.size()));
  const double max_error = check_run(angles, inv_freq, 1'000'000 - 64, 65);
  // θ₀ = 1, so rounding the angle 10⁶ alone can cost 10⁶·2⁻⁵³ ≈ 1.1e-10.
  EXPECT_LT(max_error, 2.5e-10);
  EXPECT_LT(max_error, 0x1p-25);
}

TEST(RopeAngles, ValueDependsOnlyOnPosition) {
  double factor = 0.0;
  const std::vector<double> inv_freq = inv_freq_of(64, {}, &factor);
  RopeAngles run;
  RopeAngles single;
  ASSERT_TRUE(run.init(inv_freq.data(), inv_freq.size()));
  ASSERT_TRUE(single.init(inv_freq.data(), inv_freq.size()));
  // A run through several anchors against positions visited one at a time
  // in another order, as token-by-token decoding and position ids do.
  std::vector<std::vector<double>> by_run;
  for (std::int64_t p = 5000; p < 5100; ++p) {
    run.compute(p);
    std::vector<double> row(run.cos(), run.cos() + inv_freq.size());
    row.insert(row.end(), run.sin(), run.sin() + inv_freq.size());
    by_run.push_back(row);
  }
  for (std::int64_t p = 5099; p >= 5000; p -= 7) {
    single.compute(p);
    const std::vector<double>& want = by_run[static_cast<std::size_t>(p - 5000)];
    for (std::size_t i = 0; i < inv_freq.size(); ++i) {
      ASSERT_EQ(single.cos()[i], want[i]) << "position " << p << ", frequency " << i;
      ASSERT_EQ(single.sin()[i], want[inv_freq.size() + i]) << "position " << p << ", frequency " << i;
    }
  }
}

TEST(RopeAngles, OddFrequencyCountUsesScalarTail) {
  // rotary_dim 6 gives 3 frequencies, which leaves a tail for 2- and 4-lane
  // double batches.
  double factor = 0.0;
  const std::vector<double> inv_freq = inv_freq_of(6, {}, &factor);
  RopeAngles angles;
  ASSERT_TRUE(angles.init(inv_freq.data(), inv_freq.size()));
  check_run(angles, inv_freq, 123'456, 70);
}

// apply_rope at positions near 10⁶ against the float64 reference, for every
// scaling type, both layouts and both pair layouts.
TEST(RopeAngles, ApplyRopeNearMillionMatchesReference) {
  const std::size_t batch = 2, seq = 70, heads = 3, dim = 64;
  const auto x = test_util::random_floats(batch * seq * heads * dim, 77);
  for (const ScalingCase& scaling_case : scaling_cases()) {
    double factor = 0.0;
    const std::vector<double> inv_freq = inv_freq_of(dim, scaling_case.scaling, &factor);
    for (auto layout : {attnkit::RopeLayout::kBSHD, attnkit::RopeLayout::kBHSD}) {
      for (bool interleaved : {true, false}) {
        SCOPED_TRACE(testing::Message() << scaling_case.name << ", layout " << static_cast<int>(layout)
                                        << ", interleaved " << interleaved);
        attnkit::RopeShape shape{batch, seq, heads, dim, layout};
        attnkit::RopeOptions options;
        options.interleaved = interleaved;
        options.position_offset = 999'950;
        options.scaling = scaling_case.scaling;
        std::vector<float> out(x.size());
        const attnkit::Status status = attnkit::apply_rope(x.data(), out.data(), shape, options);
        ASSERT_TRUE(status.ok()) << status.message;
        const auto position = [](std::size_t, std::size_t s) { return 999'950 + static_cast<long long>(s); };
        test_util::expect_close(out, reference::rope_general(x, batch, seq, heads, dim,
                                                             layout == attnkit::RopeLayout::kBHSD, dim,
                                                             interleaved, inv_freq, factor, position));
      }
    }
  }
}

// Position ids with runs, jumps, repeats and negative values, where the
// anchor changes in both directions.
TEST(RopeAngles, ApplyRopePositionIdsWithJumps) {
  const std::size_t batch = 2, seq = 48, heads = 2, dim = 32;
  std::vector<std::int32_t> ids(batch * seq);
  for (std::size_t s = 0; s < seq; ++s) {
    ids[s] = static_cast<std::int32_t>(s < 20 ? 1'000'000 - 10 + s : 31 - s);
    ids[seq + s] = static_cast<std::int32_t>((s * 7919) % 5000) - 100;
  }
  const auto x = test_util::random_floats(batch * seq * heads * dim, 78);
  for (bool interleaved : {true, false}) {
    SCOPED_TRACE(interleaved);
    attnkit::RopeShape shape{batch, seq, heads, dim};
    attnkit::RopeOptions options;
    options.interleaved = interleaved;
    options.position_ids = ids.data();
    std::vector<float> out(x.size());
    ASSERT_TRUE(attnkit::apply_rope(x.data(), out.data(), shape, options).ok());
    const auto position = [&](std::size_t b, std::size_t s) { return static_cast<long long>(ids[b * seq + s]); };
    test_util::expect_close(out, reference::rope_general(x, batch, seq, heads, dim, false, dim, interleaved,
                                                         reference::rope_inv_freq(dim, 10000.0), 1.0,
                                                         position));
  }
}

// The prefill of a whole sequence and a token-by-token decode agree bit for
// bit, because each row depends only on its position.
TEST(RopeAngles, PrefillAndDecodeAgree) {
  const std::size_t seq = 100, heads = 4, dim = 64;
  const auto x = test_util::random_floats(seq * heads * dim, 79);
  attnkit::RopeOptions options;
  options.position_offset = 70'000;
  std::vector<float> prefill(x.size());
  ASSERT_TRUE(attnkit::apply_rope(x.data(), prefill.data(), {1, seq, heads, dim}, options).ok());
  for (std::size_t s = 0; s < seq; ++s) {
    options.position_offset = 70'000 + static_cast<std::int64_t>(s);
    std::vector<float> token(heads * dim);
    const float* x_token = x.data() + s * heads * dim;
    ASSERT_TRUE(attnkit::apply_rope(x_token, token.data(), {1, 1, heads, dim}, options).ok());
    for (std::size_t j = 0; j < token.size(); ++j) {
      ASSERT_EQ(token[j], prefill[s * heads * dim + j]) << "token " << s << ", element " << j;
    }
  }
}

// build_rope_cache over 100 000 positions against cos and sin in long
// double, for every scaling type, including its attention factor.
TEST(RopeAngles, BuildRopeCacheOverManyPositions) {
  const std::size_t positions = 100'000, rotary_dim = 8, half = rotary_dim / 2;
  std::vector<float> cos_cache(positions * half), sin_cache(positions * half);
  for (const ScalingCase& scaling_case : scaling_cases()) {
    SCOPED_TRACE(scaling_case.name);
    double factor = 0.0;
    const std::vector<double> inv_freq = inv_freq_of(rotary_dim, scaling_case.scaling, &factor);
    ASSERT_TRUE(attnkit::build_rope_cache(cos_cache.data(), sin_cache.data(), positions, rotary_dim,
                                          10000.0, scaling_case.scaling)
                    .ok());
    for (std::size_t p = 0; p < positions; ++p) {
      for (std::size_t i = 0; i < half; ++i) {
        const long double angle = static_cast<long double>(p) * inv_freq[i];
        const double want_cos = factor * static_cast<double>(std::cos(angle));
        const double want_sin = factor * static_cast<double>(std::sin(angle));
        // The double error bound, plus half an ulp of float (at most
        // 2⁻²⁴·|value|) for the rounding.
        const double bound = factor * angle_bound(static_cast<std::int64_t>(p), inv_freq[i]);
        const double cos_tolerance = bound + 0x1p-24 * std::fabs(want_cos);
        const double sin_tolerance = bound + 0x1p-24 * std::fabs(want_sin);
        ASSERT_NEAR(cos_cache[p * half + i], want_cos, cos_tolerance) << "position " << p << ", frequency " << i;
        ASSERT_NEAR(sin_cache[p * half + i], want_sin, sin_tolerance) << "position " << p << ", frequency " << i;
      }
    }
  }
}

}  // namespace

namespace {

// Each thread keeps its angle rows between calls. Alternating frequency
// sets must not reuse the rows of another set.
TEST(RopeAngles, RowsKeptBetweenCallsFollowFrequencies) {
  const std::size_t seq = 40, heads = 2, dim = 16;
  const auto x = test_util::random_floats(seq * heads * dim, 80);
  const double bases[] = {10000.0, 500000.0, 10000.0, 10.0, 500000.0};
  for (const double base : bases) {
    for (const std::int64_t offset : {std::int64_t{33}, std::int64_t{37}}) {
      SCOPED_TRACE(testing::Message() << "base " << base << ", offset " << offset);
      attnkit::RopeOptions options;
      options.base = base;
      options.position_offset = offset;
      std::vector<float> out(x.size());
      ASSERT_TRUE(attnkit::apply_rope(x.data(), out.data(), {1, seq, heads, dim}, options).ok());
      const auto position = [&](std::size_t, std::size_t s) { return offset + static_cast<long long>(s); };
      test_util::expect_close(out, reference::rope_general(x, 1, seq, heads, dim, false, dim, true,
                                                           reference::rope_inv_freq(dim, base), 1.0,
                                                           position));
    }
  }
}

// Rotary widths that change between calls reallocate the rows.
TEST(RopeAngles, RowsKeptBetweenCallsFollowWidth) {
  for (const std::size_t rotary_dim : {std::size_t{4}, std::size_t{64}, std::size_t{4}, std::size_t{10}}) {
    SCOPED_TRACE(rotary_dim);
    const std::size_t seq = 35, heads = 1, dim = 64;
    const auto x = test_util::random_floats(seq * heads * dim, 81);
    attnkit::RopeOptions options;
    options.rotary_dim = rotary_dim;
    options.position_offset = 1000;
    std::vector<float> out(x.size());
    ASSERT_TRUE(attnkit::apply_rope(x.data(), out.data(), {1, seq, heads, dim}, options).ok());
    const auto position = [](std::size_t, std::size_t s) { return 1000 + static_cast<long long>(s); };
    test_util::expect_close(out, reference::rope_general(x, 1, seq, heads, dim, false, rotary_dim, true,
                                                         reference::rope_inv_freq(rotary_dim, 10000.0), 1.0,
                                                         position));
  }
}

}  // namespace

namespace {

// bhsd row blocks hold about 512 KiB of rows (1024 rows at rotary_dim 64),
// and heads run in groups of 4: 1100 positions and 5 heads cross a block
// boundary and leave a partial group.
TEST(RopeBlocks, BhsdAcrossRowBlocksAndHeadGroups) {
  const std::size_t batch = 2, seq = 1100, heads = 5, dim = 64;
  const auto x = test_util::random_floats(batch * seq * heads * dim, 82);
  for (bool interleaved : {true, false}) {
    SCOPED_TRACE(interleaved);
    attnkit::RopeShape shape{batch, seq, heads, dim, attnkit::RopeLayout::kBHSD};
    attnkit::RopeOptions options;
    options.interleaved = interleaved;
    options.position_offset = 3;
    std::vector<float> out(x.size());
    ASSERT_TRUE(attnkit::apply_rope(x.data(), out.data(), shape, options).ok());
    const auto position = [](std::size_t, std::size_t s) { return 3 + static_cast<long long>(s); };
    test_util::expect_close(out, reference::rope_general(x, batch, seq, heads, dim, true, dim, interleaved,
                                                         reference::rope_inv_freq(dim, 10000.0), 1.0,
                                                         position));
  }
}

// The same with position ids, whose rows differ between batch entries.
TEST(RopeBlocks, BhsdPositionIdsAcrossRowBlocks) {
  const std::size_t batch = 2, seq = 1100, heads = 5, dim = 64;
  std::vector<std::int32_t> ids(batch * seq);
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int32_t>((i * 37) % 3000);
  const auto x = test_util::random_floats(batch * seq * heads * dim, 83);
  attnkit::RopeShape shape{batch, seq, heads, dim, attnkit::RopeLayout::kBHSD};
  attnkit::RopeOptions options;
  options.position_ids = ids.data();
  std::vector<float> out(x.size());
  ASSERT_TRUE(attnkit::apply_rope(x.data(), out.data(), shape, options).ok());
  const auto position = [&](std::size_t b, std::size_t s) { return static_cast<long long>(ids[b * seq + s]); };
  test_util::expect_close(out, reference::rope_general(x, batch, seq, heads, dim, true, dim, true,
                                                       reference::rope_inv_freq(dim, 10000.0), 1.0, position));
}

}  // namespace
