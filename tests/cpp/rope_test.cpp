// Rotary position embedding against the float64 reference.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "attnkit/attnkit.h"
#include "cpp/test_util.h"
#include "reference/reference.h"

namespace {

using test_util::expect_close;
using test_util::random_floats;

void check_rope(std::size_t batch, std::size_t seq, std::size_t heads, std::size_t dim,
                bool interleaved, long long offset, std::uint32_t seed) {
  const auto x = random_floats(batch * seq * heads * dim, seed);
  std::vector<float> out(x.size(), -7.0f);
  attnkit::RopeShape shape{batch, seq, heads, dim};
  attnkit::RopeOptions options;
  options.interleaved = interleaved;
  options.position_offset = offset;
  const attnkit::Status status = attnkit::apply_rope(x.data(), out.data(), shape, options);
  ASSERT_TRUE(status.ok()) << status.message;
  expect_close(out, reference::rope(x, batch, seq, heads, dim, 10000.0, interleaved, offset));
}

TEST(Rope, ReferenceShape) { check_rope(32, 128, 3, 64, true, 0, 31); }

TEST(Rope, SplitHalfPairs) { check_rope(4, 33, 3, 64, false, 0, 32); }

TEST(Rope, HeadDimsAroundVectorWidth) {
  for (std::size_t dim : {2u, 4u, 6u, 8u, 10u, 14u, 16u, 18u, 30u, 32u, 34u, 66u, 130u}) {
    SCOPED_TRACE(dim);
    check_rope(2, 5, 3, dim, true, 0, 33);
    check_rope(2, 5, 3, dim, false, 0, 34);
  }
}

TEST(Rope, SequenceLengthOne) { check_rope(2, 1, 3, 64, true, 0, 35); }

TEST(Rope, PositionOffset) { check_rope(1, 4, 2, 64, true, 5000, 36); }

TEST(Rope, PositionZeroIsIdentity) {
  const auto x = random_floats(2 * 1 * 3 * 8, 37);
  std::vector<float> out(x.size());
  attnkit::RopeShape shape{2, 1, 3, 8};
  ASSERT_TRUE(attnkit::apply_rope(x.data(), out.data(), shape, {}).ok());
  EXPECT_EQ(out, x);
}

TEST(Rope, InPlaceMatchesCopy) {
  const auto x = random_floats(3 * 7 * 2 * 16, 38);
  std::vector<float> out(x.size());
  std::vector<float> in_place = x;
  attnkit::RopeShape shape{3, 7, 2, 16};
  ASSERT_TRUE(attnkit::apply_rope(x.data(), out.data(), shape, {}).ok());
  ASSERT_TRUE(attnkit::apply_rope(in_place.data(), in_place.data(), shape, {}).ok());
  EXPECT_EQ(out, in_place);
}

TEST(Rope, InterleavedAndSplitHalfDifferAtPositionOne) {
  // x = [1, 2, 3, 4] at position 1 with θ = [1, 0.01].
  const std::vector<float> x = {0, 0, 0, 0, 1, 2, 3, 4};
  std::vector<float> out(8);
  attnkit::RopeShape shape{1, 2, 1, 4};
  attnkit::RopeOptions options;
  ASSERT_TRUE(attnkit::apply_rope(x.data(), out.data(), shape, options).ok());
  expect_close(std::vector<float>(out.begin() + 4, out.end()),
               {-1.142640, 1.922076, 2.959851, 4.029800}, 1e-5, 0);
  options.interleaved = false;
  ASSERT_TRUE(attnkit::apply_rope(x.data(), out.data(), shape, options).ok());
  expect_close(std::vector<float>(out.begin() + 4, out.end()),
               {-1.984111, 1.959901, 2.462378, 4.019800}, 1e-5, 0);
}

TEST(Rope, RejectsOddHeadDim) {
  const std::vector<float> x(3, 1.0f);
  std::vector<float> out(3, 5.0f);
  attnkit::RopeShape shape{1, 1, 1, 3};
  const attnkit::Status status = attnkit::apply_rope(x.data(), out.data(), shape, {});
  EXPECT_EQ(status.code, attnkit::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message.find("got 3"), std::string::npos) << status.message;
  EXPECT_EQ(out[0], 5.0f);
}

// Runs apply_rope on seeded x and compares it with reference::rope_general.
void check_general(const attnkit::RopeShape& shape, const attnkit::RopeOptions& options,
                   std::uint32_t seed) {
  const std::size_t rotary_dim = options.rotary_dim ? options.rotary_dim : shape.head_dim;
  const auto x = random_floats(shape.batch * shape.seq_len * shape.num_heads * shape.head_dim, seed);
  std::vector<float> out(x.size(), -7.0f);
  const attnkit::Status status = attnkit::apply_rope(x.data(), out.data(), shape, options);
  ASSERT_TRUE(status.ok()) << status.message;
  const auto position = [&](std::size_t b, std::size_t s) -> long long {
    if (options.position_ids) return options.position_ids[b * shape.seq_len + s];
    return options.position_offset + static_cast<long long>(s);
  };
  expect_close(out, reference::rope_general(x, shape.batch, shape.seq_len, shape.num_heads,
                                            shape.head_dim, shape.layout == attnkit::RopeLayout::kBHSD,
                                            rotary_dim, options.interleaved,
                                            reference::rope_inv_freq(rotary_dim, options.base), 1.0,
                                            position));
  for (std::size_t at = 0; at < x.size(); at += shape.head_dim) {
    for (std::size_t j = rotary_dim; j < shape.head_dim; ++j) {
      ASSERT_EQ(out[at + j], x[at + j]) << "pass-through channel " << j;
    }
  }
}

TEST(Rope, LayoutsAndPartialRotation) {
  for (auto layout : {attnkit::RopeLayout::kBSHD, attnkit::RopeLayout::kBHSD}) {
    for (bool interleaved : {true, false}) {
      for (std::size_t dim : {4u, 8u, 10u, 34u, 64u, 130u}) {
        for (std::size_t rotary_dim : {dim, dim / 2 - dim / 2 % 2, std::size_t{2}}) {
          if (rotary_dim == 0) continue;
          SCOPED_TRACE(testing::Message() << "layout " << static_cast<int>(layout) << ", interleaved "
                                          << interleaved << ", dim " << dim << ", rotary " << rotary_dim);
          attnkit::RopeShape shape{2, 3, 3, dim, layout};
          attnkit::RopeOptions options;
          options.interleaved = interleaved;
          options.rotary_dim = rotary_dim;
          options.position_offset = 17;
          check_general(shape, options, static_cast<std::uint32_t>(dim + rotary_dim));
        }
      }
    }
  }
}

TEST(Rope, PositionIds) {
  const std::vector<std::int32_t> ids = {5, 0, 70000, 3, 3, -2};
  for (bool interleaved : {true, false}) {
    attnkit::RopeShape shape{2, 3, 2, 16, attnkit::RopeLayout::kBHSD};
    attnkit::RopeOptions options;
    options.interleaved = interleaved;
    options.position_ids = ids.data();
    check_general(shape, options, 40);
  }
}

TEST(Rope, InPlacePartialRotationMatchesCopy) {
  const auto x = random_floats(2 * 3 * 2 * 12, 41);
  std::vector<float> out(x.size());
  std::vector<float> in_place = x;
  attnkit::RopeShape shape{2, 3, 2, 12};
  attnkit::RopeOptions options;
  options.rotary_dim = 6;
  options.interleaved = false;
  ASSERT_TRUE(attnkit::apply_rope(x.data(), out.data(), shape, options).ok());
  ASSERT_TRUE(attnkit::apply_rope(in_place.data(), in_place.data(), shape, options).ok());
  EXPECT_EQ(out, in_place);
}

TEST(Rope, CacheFromBuildRopeCacheMatchesComputedAngles) {
  attnkit::RopeScaling scaling;
  scaling.type = attnkit::RopeScalingType::kYarn;
  scaling.factor = 4.0;
  scaling.original_max_positions = 32.0;
  std::vector<float> cos_cache(100 * 8), sin_cache(100 * 8);
  ASSERT_TRUE(attnkit::build_rope_cache(cos_cache.data(), sin_cache.data(), 100, 16, 10000.0, scaling).ok());

  const auto x = random_floats(1 * 5 * 2 * 16, 42);
  attnkit::RopeShape shape{1, 5, 2, 16};
  for (bool interleaved : {true, false}) {
    attnkit::RopeOptions computed;
    computed.interleaved = interleaved;
    computed.position_offset = 90;
    computed.scaling = scaling;
    attnkit::RopeOptions cached = computed;
    cached.scaling = {};
    cached.cache = {cos_cache.data(), sin_cache.data(), 100, 8, false};
    std::vector<float> a(x.size()), b(x.size());
    ASSERT_TRUE(attnkit::apply_rope(x.data(), a.data(), shape, computed).ok());
    ASSERT_TRUE(attnkit::apply_rope(x.data(), b.data(), shape, cached).ok());
    EXPECT_EQ(a, b);
  }
}

TEST(Rope, FullWidthCacheUsesBothHalves) {
  // Half-split, x = [1, 2, 3, 4], angles [0.5, 0.25, 1, 2] whose halves differ.
  const double angles[] = {0.5, 0.25, 1.0, 2.0};
  std::vector<float> cos_row, sin_row;
  for (double a : angles) {
    cos_row.push_back(static_cast<float>(std::cos(a)));
    sin_row.push_back(static_cast<float>(std::sin(a)));
  }
  const std::vector<float> x = {1, 2, 3, 4};
  std::vector<float> out(4);
  attnkit::RopeShape shape{1, 1, 1, 4};
  attnkit::RopeOptions options;
  options.interleaved = false;
  options.cache = {cos_row.data(), sin_row.data(), 1, 4, false};
  ASSERT_TRUE(attnkit::apply_rope(x.data(), out.data(), shape, options).ok());
  expect_close(out, {-0.560694, 0.948209, 2.462378, 0.154008}, 1e-5, 0);
}

TEST(Rope, PerTokenCache) {
  // Token (b, s) reads row b·seq + s; its angle is (b + 1)·(s + 1)/10 for every pair.
  const std::size_t batch = 2, seq = 3, half = 2;
  std::vector<float> cos_cache, sin_cache;
  for (std::size_t b = 0; b < batch; ++b) {
    for (std::size_t s = 0; s < seq; ++s) {
      for (std::size_t i = 0; i < half; ++i) {
        cos_cache.push_back(static_cast<float>(std::cos((b + 1) * (s + 1) / 10.0)));
        sin_cache.push_back(static_cast<float>(std::sin((b + 1) * (s + 1) / 10.0)));
      }
    }
  }
  const auto x = random_floats(batch * seq * 4, 43);
  std::vector<float> out(x.size());
  attnkit::RopeShape shape{batch, seq, 1, 4};
  attnkit::RopeOptions options;
  options.cache = {cos_cache.data(), sin_cache.data(), batch * seq, half, true};
  ASSERT_TRUE(attnkit::apply_rope(x.data(), out.data(), shape, options).ok());
  // inv_freq = [1, 1] and position (b + 1)(s + 1)/10 give the same angles.
  expect_close(out, reference::rope_general(x, batch, seq, 1, 4, false, 4, true, {1.0, 1.0}, 1.0,
                                            [](std::size_t b, std::size_t s) {
                                              return (b + 1) * (s + 1) / 10.0;
                                            }));
}

// Returns the scaled inverse frequencies and the attention factor.
std::pair<std::vector<double>, double> frequencies(std::size_t rotary_dim, const attnkit::RopeScaling& scaling) {
  std::vector<double> inv_freq(rotary_dim / 2);
  double factor = 0.0;
  const attnkit::Status status = attnkit::rope_frequencies(rotary_dim, 10000.0, scaling, inv_freq.data(), &factor);
  EXPECT_TRUE(status.ok()) << status.message;
  return {inv_freq, factor};
}

void expect_frequencies(const std::vector<double>& got, const std::vector<double>& want, double rel = 1e-6) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], want[i], rel * want[i]) << "frequency " << i;
  }
}

TEST(RopeFrequencies, Llama3Bands) {
  attnkit::RopeScaling scaling;
  scaling.type = attnkit::RopeScalingType::kLlama3;
  scaling.factor = 8.0;
  scaling.low_freq_factor = 1.0;
  scaling.high_freq_factor = 4.0;
  scaling.original_max_positions = 1024.0;
  const auto [inv_freq, attention_factor] = frequencies(8, scaling);
  const double smooth = (1024.0 / (2.0 * M_PI / 0.01) - 1.0) / 3.0;
  expect_frequencies(inv_freq, {1.0, 0.1, (1.0 - smooth) * 0.01 / 8.0 + smooth * 0.01, 0.001 / 8.0});
  EXPECT_EQ(attention_factor, 1.0);
}

TEST(RopeFrequencies, YarnRampAndAttentionFactor) {
  attnkit::RopeScaling scaling;
  scaling.type = attnkit::RopeScalingType::kYarn;
  scaling.factor = 4.0;
  scaling.original_max_positions = 64.0;
  auto [inv_freq, attention_factor] = frequencies(8, scaling);
  expect_frequencies(inv_freq, {1.0, 0.0625, 0.0025, 0.00025});
  EXPECT_NEAR(attention_factor, 0.1 * std::log(4.0) + 1.0, 1e-12);

  scaling.mscale = 1.0;
  scaling.mscale_all_dim = 1.0;
  EXPECT_NEAR(frequencies(8, scaling).second, 1.0, 1e-12);
  scaling.mscale_all_dim = 0.0;  // an absent key falls back to 0.1·ln(factor) + 1
  EXPECT_NEAR(frequencies(8, scaling).second, 0.1 * std::log(4.0) + 1.0, 1e-12);
  scaling.has_attention_factor = true;
  scaling.attention_factor = 1.25;
  EXPECT_EQ(frequencies(8, scaling).second, 1.25);

  scaling.truncate = false;
  expect_frequencies(frequencies(8, scaling).first, {1.0, 0.025595, 0.0025, 0.00025}, 1e-4);
}

TEST(RopeFrequencies, DynamicNtkUsesCurrentLength) {
  attnkit::RopeScaling scaling;
  scaling.type = attnkit::RopeScalingType::kDynamicNtk;
  scaling.factor = 2.0;
  scaling.original_max_positions = 8.0;
  const std::pair<double, double> cases[] = {{4.0, 10000.0}, {8.0, 10000.0}, {12.0, 40000.0}, {16.0, 90000.0}};
  for (const auto& [length, base] : cases) {
    SCOPED_TRACE(length);
    scaling.current_length = length;
    expect_frequencies(frequencies(4, scaling).first, {1.0, 1.0 / std::sqrt(base)});
  }
}

TEST(RopeFrequencies, LinearDividesByFactor) {
  attnkit::RopeScaling scaling;
  scaling.type = attnkit::RopeScalingType::kLinear;
  scaling.factor = 2.0;
  expect_frequencies(frequencies(4, scaling).first, {0.5, 0.005});
}

// Expects kInvalidArgument with `text` in the message and `out` untouched.
void expect_rejected(const attnkit::RopeShape& shape, const attnkit::RopeOptions& options,
                     const std::string& text) {
  const std::size_t n = shape.batch * shape.seq_len * shape.num_heads * shape.head_dim;
  const std::vector<float> x(n, 1.0f);
  std::vector<float> out(n, 5.0f);
  const attnkit::Status status = attnkit::apply_rope(x.data(), out.data(), shape, options);
  EXPECT_EQ(status.code, attnkit::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message.find(text), std::string::npos) << status.message;
  EXPECT_EQ(out, std::vector<float>(n, 5.0f));
}

TEST(RopeErrors, BadRotaryDim) {
  attnkit::RopeOptions options;
  options.rotary_dim = 3;
  expect_rejected({1, 2, 1, 8}, options, "rotaryDim must be even, got 3");
  options.rotary_dim = 10;
  expect_rejected({1, 2, 1, 8}, options, "rotaryDim (10) must not exceed headDim (8)");
}

TEST(RopeErrors, PositionsOutsideTheCache) {
  std::vector<float> table(4 * 4, 0.5f);
  attnkit::RopeOptions options;
  options.cache = {table.data(), table.data(), 4, 4, false};
  options.position_offset = 2;
  expect_rejected({1, 3, 1, 8}, options, "positions 2 to 4");
  const std::vector<std::int32_t> ids = {0, 4, 1};
  options.position_offset = 0;
  options.position_ids = ids.data();
  expect_rejected({1, 3, 1, 8}, options, "positionIds[0, 1] is 4, outside the cache rows 0 to 3");
}

TEST(RopeErrors, CacheShape) {
  std::vector<float> table(6 * 3, 0.5f);
  attnkit::RopeOptions options;
  options.cache = {table.data(), table.data(), 6, 3, false};
  expect_rejected({1, 3, 1, 8}, options, "cache rows have 3 values");
  options.cache = {table.data(), nullptr, 6, 4, false};
  expect_rejected({1, 3, 1, 8}, options, "cosCache and sinCache must be given together");
  options.cache = {table.data(), table.data(), 4, 4, true};
  expect_rejected({1, 3, 1, 8}, options, "per-token cache needs batch·seq = 3 rows, got 4");
}

TEST(RopeErrors, BadScaling) {
  attnkit::RopeOptions options;
  options.scaling.type = static_cast<attnkit::RopeScalingType>(9);
  expect_rejected({1, 2, 1, 8}, options, "unknown scaling type 9");
  options.scaling.type = attnkit::RopeScalingType::kDynamicNtk;
  options.scaling.factor = 2.0;
  options.scaling.original_max_positions = 8.0;
  expect_rejected({1, 2, 1, 8}, options, "scaling.currentLength must be a positive finite number, got 0");
  options.scaling.type = attnkit::RopeScalingType::kLinear;
  options.scaling.factor = -1.0;
  expect_rejected({1, 2, 1, 8}, options, "scaling.factor must be a positive finite number, got -1");
}

}  // namespace

namespace {

// A bad call of each kind for check_rope, each with x given.
struct BadRopeCall {
  const char* description;
  attnkit::RopeShape shape;
  attnkit::RopeOptions options;
};

}  // namespace

TEST(Rope, CheckRopeMatchesApplyRopeErrors) {
  static const std::int32_t ids[] = {0, 1, 2, 9};
  static const float table[20] = {};
  std::vector<BadRopeCall> calls;
  calls.push_back({"odd headDim", {1, 2, 1, 3}, {}});
  calls.push_back({"rotaryDim too wide", {1, 2, 1, 4}, {}});
  calls.back().options.rotary_dim = 6;
  calls.push_back({"zero base", {1, 2, 1, 4}, {}});
  calls.back().options.base = 0.0;
  calls.push_back({"bad scaling factor", {1, 2, 1, 4}, {}});
  calls.back().options.scaling.type = attnkit::RopeScalingType::kLinear;
  calls.back().options.scaling.factor = -1.0;
  calls.push_back({"offset overflow", {1, 2, 1, 4}, {}});
  calls.back().options.position_offset = std::numeric_limits<std::int64_t>::max();
  calls.push_back({"position id outside the cache", {2, 2, 1, 4}, {}});
  calls.back().options.position_ids = ids;
  calls.back().options.cache = {table, table, 4, 2, false};

  for (const BadRopeCall& call : calls) {
    SCOPED_TRACE(call.description);
    const std::size_t n = call.shape.batch * call.shape.seq_len * call.shape.num_heads * call.shape.head_dim;
    const auto x = random_floats(n, 40);
    std::vector<float> out(n, 5.0f);
    const attnkit::Status applied = attnkit::apply_rope(x.data(), out.data(), call.shape, call.options);
    const attnkit::Status checked = attnkit::check_rope(call.shape, call.options);
    EXPECT_FALSE(applied.ok());
    EXPECT_EQ(checked.code, applied.code);
    EXPECT_EQ(checked.message, applied.message);
    EXPECT_EQ(out, std::vector<float>(n, 5.0f));
  }

  attnkit::RopeShape good{2, 2, 1, 4};
  attnkit::RopeOptions options;
  options.position_ids = ids;
  options.cache = {table, table, 10, 2, false};
  EXPECT_TRUE(attnkit::check_rope(good, options).ok());
}
