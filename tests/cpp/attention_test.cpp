// Scaled dot-product attention against the float64 reference.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "attnkit/attnkit.h"
#include "cpp/test_util.h"
#include "reference/reference.h"

namespace {

using test_util::expect_close;
using test_util::random_floats;

struct Case {
  std::size_t batch, heads, kv_heads, q_len, kv_len, dim, v_dim;
};

void check_against_reference(const Case& c, std::uint32_t seed) {
  const auto q = random_floats(c.batch * c.heads * c.q_len * c.dim, seed);
  const auto k = random_floats(c.batch * c.kv_heads * c.kv_len * c.dim, seed + 1);
  const auto v = random_floats(c.batch * c.kv_heads * c.kv_len * c.v_dim, seed + 2);
  std::vector<float> out(c.batch * c.heads * c.q_len * c.v_dim, -7.0f);

  attnkit::AttentionShape shape{c.batch, c.heads, c.kv_heads, c.q_len, c.kv_len, c.dim, c.v_dim};
  const attnkit::Status status =
      attnkit::scaled_dot_product_attention(q.data(), k.data(), v.data(), out.data(), shape, {});
  ASSERT_TRUE(status.ok()) << status.message;

  const double scale = 1.0 / std::sqrt(static_cast<double>(c.dim));
  expect_close(out, reference::attention_bhsd(q, k, v, c.batch, c.heads, c.kv_heads, c.q_len,
                                              c.kv_len, c.dim, c.v_dim, scale));
}

TEST(Attention, SingleHeadReferenceShape) {
  // Rank-3 (batch 32, seq 128, dim 192) is one head of the rank-4 form.
  check_against_reference({32, 1, 1, 128, 128, 192, 192}, 1);
}

TEST(Attention, MultiHeadReferenceShape) {
  check_against_reference({32, 3, 3, 128, 128, 64, 64}, 2);
}

TEST(Attention, SequenceLengthOne) {
  check_against_reference({2, 3, 3, 1, 1, 64, 64}, 3);
}

TEST(Attention, QueryShorterThanKeys) {
  check_against_reference({2, 3, 3, 5, 130, 64, 64}, 4);
}

TEST(Attention, QueryLongerThanKeys) {
  check_against_reference({2, 3, 3, 67, 9, 64, 64}, 5);
}

TEST(Attention, HeadDimsAroundVectorWidth) {
  for (std::size_t dim : {1u, 3u, 4u, 5u, 8u, 15u, 16u, 17u, 67u}) {
    SCOPED_TRACE(dim);
    check_against_reference({2, 2, 2, 7, 70, dim, dim}, 6);
  }
}

TEST(Attention, OneHead) {
  check_against_reference({3, 1, 1, 13, 13, 64, 64}, 7);
}

TEST(Attention, KeyLengthsAroundBlockSize) {
  for (std::size_t kv_len : {1u, 63u, 64u, 65u, 127u, 128u, 129u}) {
    SCOPED_TRACE(kv_len);
    check_against_reference({1, 2, 2, 9, kv_len, 16, 16}, 8);
  }
}

TEST(Attention, GroupedQueryMatchesRepeatedKeys) {
  check_against_reference({2, 4, 2, 6, 11, 8, 8}, 9);
  check_against_reference({2, 4, 1, 6, 11, 8, 8}, 10);
}

TEST(Attention, ValueHeadDimDiffers) {
  check_against_reference({2, 2, 2, 6, 11, 8, 10}, 11);
}

TEST(Attention, ExplicitScaleReplacesDefault) {
  const std::vector<float> q = {1, 0, 0, 1};
  const std::vector<float> k = {2, 0, 0, 2};
  const std::vector<float> v = {1, 3, 2, 4};
  std::vector<float> out(4);
  attnkit::AttentionShape shape{1, 1, 1, 2, 2, 2, 2};
  attnkit::AttentionOptions options;
  options.has_scale = true;
  options.scale = 1.0f;
  ASSERT_TRUE(
      attnkit::scaled_dot_product_attention(q.data(), k.data(), v.data(), out.data(), shape, options)
          .ok());
  expect_close(out, reference::attention_bhsd(q, k, v, 1, 1, 1, 2, 2, 2, 2, 1.0));
}

TEST(Attention, LargeLogitsNeedMaxSubtraction) {
  // Scores of 2000 overflow float32 exp without the row maximum subtracted.
  const std::vector<float> q = {10, 10, 10, 10};
  const std::vector<float> k = {100, 100, 100, 100, 99.9375f, 99.9375f, 99.9375f, 99.9375f};
  const std::vector<float> v = {1, 0, 0, 0, 0, 1, 0, 0};
  std::vector<float> out(4);
  attnkit::AttentionShape shape{1, 1, 1, 1, 2, 4, 4};
  ASSERT_TRUE(
      attnkit::scaled_dot_product_attention(q.data(), k.data(), v.data(), out.data(), shape, {})
          .ok());
  expect_close(out, {0.7773, 0.2227, 0, 0}, 1e-4, 0);
}

TEST(Attention, LargerScoreInLaterBlock) {
  // The winning key sits in the second key block, so the running sum from
  // the first block must be rescaled rather than overflow.
  const std::size_t kv_len = 130;
  std::vector<float> q = {1.0f};
  std::vector<float> k(kv_len, 1.0f);
  std::vector<float> v(kv_len, 0.0f);
  k[100] = 3000.0f;
  v[100] = 5.0f;
  std::vector<float> out(1);
  attnkit::AttentionShape shape{1, 1, 1, 1, kv_len, 1, 1};
  ASSERT_TRUE(
      attnkit::scaled_dot_product_attention(q.data(), k.data(), v.data(), out.data(), shape, {})
          .ok());
  EXPECT_FLOAT_EQ(out[0], 5.0f);
}

TEST(Attention, EmptyQueryIsNoOp) {
  const std::vector<float> k(12, 1.0f), v(12, 1.0f);
  attnkit::AttentionShape shape{1, 1, 1, 0, 3, 4, 4};
  EXPECT_TRUE(
      attnkit::scaled_dot_product_attention(nullptr, k.data(), v.data(), nullptr, shape, {}).ok());
}

TEST(Attention, NoKeysGivesZeros) {
  const std::vector<float> q(8, 1.0f);
  std::vector<float> out(8, 3.0f);
  attnkit::AttentionShape shape{1, 1, 1, 2, 0, 4, 4};
  ASSERT_TRUE(
      attnkit::scaled_dot_product_attention(q.data(), nullptr, nullptr, out.data(), shape, {}).ok());
  for (float x : out) {
    EXPECT_EQ(x, 0.0f);
  }
}

TEST(Attention, NanInValuePropagates) {
  const std::vector<float> q = {1, 0};
  const std::vector<float> k = {1, 0, 0, 1};
  std::vector<float> v = {1, 2, 3, 4};
  v[3] = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> out(2);
  attnkit::AttentionShape shape{1, 1, 1, 1, 2, 2, 2};
  ASSERT_TRUE(
      attnkit::scaled_dot_product_attention(q.data(), k.data(), v.data(), out.data(), shape, {})
          .ok());
  EXPECT_FALSE(std::isnan(out[0]));
  EXPECT_TRUE(std::isnan(out[1]));
}

TEST(Attention, RejectsHeadsNotMultipleOfKvHeads) {
  const std::vector<float> data(64, 1.0f);
  std::vector<float> out(64);
  attnkit::AttentionShape shape{1, 3, 2, 1, 1, 4, 4};
  const attnkit::Status status = attnkit::scaled_dot_product_attention(
      data.data(), data.data(), data.data(), out.data(), shape, {});
  EXPECT_EQ(status.code, attnkit::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message.find("numKvHeads (2)"), std::string::npos) << status.message;
}

TEST(Attention, RejectsZeroHeadDim) {
  const std::vector<float> data(4, 1.0f);
  std::vector<float> out(4);
  attnkit::AttentionShape shape{1, 1, 1, 1, 1, 0, 4};
  EXPECT_EQ(attnkit::scaled_dot_product_attention(data.data(), data.data(), data.data(),
                                                  out.data(), shape, {})
                .code,
            attnkit::StatusCode::kInvalidArgument);
}

TEST(Attention, RejectsOverflowingSizes) {
  attnkit::AttentionShape shape{1u << 16, 1u << 16, 1u << 16, 1, 1, 4, 4};
  const float x = 0.0f;
  float out = 0.0f;
  EXPECT_EQ(attnkit::scaled_dot_product_attention(&x, &x, &x, &out, shape, {}).code,
            attnkit::StatusCode::kOutOfRange);
}

}  // namespace
