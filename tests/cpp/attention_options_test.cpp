// Masks, causal alignment, GQA, KV cache, nonpad lengths, softcap, score
// outputs and float16 conversion against the float64 reference.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "attnkit/attnkit.h"
#include "cpp/test_util.h"
#include "reference/reference.h"

namespace {

using test_util::expect_close;
using test_util::random_floats;

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Random q, k, v in [batch, heads, seq, dim] order.
struct Problem {
  std::size_t batch, heads, kv_heads, q_len, kv_len, dim, v_dim;
  std::vector<float> q, k, v;

  Problem(std::size_t b, std::size_t h, std::size_t kvh, std::size_t l, std::size_t s,
          std::size_t d, std::size_t dv, std::uint32_t seed)
      : batch(b), heads(h), kv_heads(kvh), q_len(l), kv_len(s), dim(d), v_dim(dv) {
    q = random_floats(b * h * l * d, seed, -2.0f, 2.0f);
    k = random_floats(b * kvh * s * d, seed + 1, -2.0f, 2.0f);
    v = random_floats(b * kvh * s * dv, seed + 2);
  }

  attnkit::AttentionShape shape() const {
    return {batch, heads, kv_heads, q_len, kv_len, dim, v_dim};
  }
  double default_scale() const { return 1.0 / std::sqrt(static_cast<double>(dim)); }

  std::vector<float> run(const attnkit::AttentionOptions& options,
                         const attnkit::AttentionExtras& extras = {}) const {
    std::vector<float> out(batch * heads * q_len * v_dim, -7.0f);
    const attnkit::Status status = attnkit::scaled_dot_product_attention(
        q.data(), k.data(), v.data(), out.data(), shape(), options, extras);
    EXPECT_TRUE(status.ok()) << status.message;
    return out;
  }

  reference::BiasedResult reference(const reference::Bias& bias) const {
    return reference::biased_attention(q, k, v, batch, heads, kv_heads, q_len, kv_len, dim, v_dim,
                                       default_scale(), bias);
  }
};

attnkit::AttentionOptions causal_options(attnkit::CausalAlignment alignment) {
  attnkit::AttentionOptions options;
  options.causal = alignment;
  return options;
}

reference::Bias causal_bias(std::ptrdiff_t offset) {
  reference::Bias bias;
  bias.blocked = [offset](std::size_t, std::size_t, std::size_t i, std::size_t j) {
    return static_cast<std::ptrdiff_t>(j) > static_cast<std::ptrdiff_t>(i) + offset;
  };
  return bias;
}

TEST(AttentionGqa, OneGroupIsMultiQuery) {
  const Problem p(2, 8, 1, 5, 9, 16, 16, 1);
  expect_close(p.run({}), p.reference({}).out);
}

TEST(AttentionGqa, FourGroups) {
  const Problem p(2, 8, 4, 5, 9, 16, 12, 2);
  expect_close(p.run({}), p.reference({}).out);
}

TEST(AttentionCausal, TopLeftQueryShorterThanKeys) {
  const Problem p(1, 2, 2, 5, 150, 8, 8, 3);
  for (auto alignment : {attnkit::CausalAlignment::kOnnx, attnkit::CausalAlignment::kTopLeft}) {
    expect_close(p.run(causal_options(alignment)), p.reference(causal_bias(0)).out);
  }
}

TEST(AttentionCausal, BottomRightQueryShorterThanKeys) {
  const Problem p(1, 2, 2, 5, 150, 8, 8, 4);
  expect_close(p.run(causal_options(attnkit::CausalAlignment::kBottomRight)),
               p.reference(causal_bias(145)).out);
}

TEST(AttentionCausal, QueryLongerThanKeys) {
  const Problem p(1, 2, 1, 70, 9, 8, 8, 5);
  expect_close(p.run(causal_options(attnkit::CausalAlignment::kTopLeft)),
               p.reference(causal_bias(0)).out);
  // Bottom-right: offset 9 − 70, so the first 61 rows see no key.
  const std::vector<float> out = p.run(causal_options(attnkit::CausalAlignment::kBottomRight));
  expect_close(out, p.reference(causal_bias(-61)).out);
  for (std::size_t i = 0; i < 61 * 8; ++i) {
    ASSERT_EQ(out[i], 0.0f) << i;
  }
}

TEST(AttentionCausal, SquareAcrossKeyBlocks) {
  const Problem p(2, 3, 3, 131, 131, 16, 16, 6);
  expect_close(p.run(causal_options(attnkit::CausalAlignment::kOnnx)),
               p.reference(causal_bias(0)).out);
}

TEST(AttentionMask, FullyMaskedRowGivesZeros) {
  const Problem p(1, 1, 1, 2, 3, 4, 4, 7);
  const std::vector<std::uint8_t> bits = {1, 1, 0, 0, 0, 0};
  attnkit::AttentionOptions options;
  options.mask = bits.data();
  options.mask_type = attnkit::MaskType::kBool;
  options.mask_rank = 2;
  options.mask_dims[0] = 2;
  options.mask_dims[1] = 3;
  const std::vector<float> out = p.run(options);
  reference::Bias bias;
  bias.blocked = [&](std::size_t, std::size_t, std::size_t i, std::size_t j) {
    return bits[i * 3 + j] == 0;
  };
  expect_close(out, p.reference(bias).out);
  for (std::size_t d = 4; d < 8; ++d) {
    EXPECT_EQ(out[d], 0.0f);
  }

  const std::vector<float> additive = {0, 0, kNegInf, kNegInf, kNegInf, kNegInf};
  options.mask = additive.data();
  options.mask_type = attnkit::MaskType::kFloat;
  expect_close(p.run(options), p.reference(bias).out);
}

// Checks one mask rank with bool and float masks of the given dims.
void check_mask_dims(const std::vector<std::size_t>& dims, std::uint32_t seed) {
  SCOPED_TRACE(dims.size());
  const Problem p(2, 4, 2, 3, 70, 8, 8, seed);
  std::size_t n = 1;
  std::size_t full[4] = {1, 1, 1, 1};
  for (std::size_t i = 0; i < dims.size(); ++i) {
    n *= dims[i];
    full[4 - dims.size() + i] = dims[i];
  }
  const std::vector<float> noise = random_floats(n, seed + 3, -2.0f, 2.0f);
  std::vector<std::uint8_t> bits(n);
  for (std::size_t i = 0; i < n; ++i) {
    bits[i] = noise[i] > -1.2f ? 1 : 0;
  }
  const auto index = [full](std::size_t b, std::size_t h, std::size_t i, std::size_t j) {
    const std::size_t at[4] = {full[0] == 1 ? 0 : b, full[1] == 1 ? 0 : h, full[2] == 1 ? 0 : i,
                               full[3] == 1 ? 0 : j};
    return ((at[0] * full[1] + at[1]) * full[2] + at[2]) * full[3] + at[3];
  };

  attnkit::AttentionOptions options;
  options.mask_rank = dims.size();
  for (std::size_t i = 0; i < dims.size(); ++i) options.mask_dims[i] = dims[i];

  options.mask = bits.data();
  options.mask_type = attnkit::MaskType::kBool;
  reference::Bias bool_bias;
  bool_bias.blocked = [&](std::size_t b, std::size_t h, std::size_t i, std::size_t j) {
    return bits[index(b, h, i, j)] == 0;
  };
  expect_close(p.run(options), p.reference(bool_bias).out);

  options.mask = noise.data();
  options.mask_type = attnkit::MaskType::kFloat;
  reference::Bias float_bias;
  float_bias.added = [&](std::size_t b, std::size_t h, std::size_t i, std::size_t j) {
    return static_cast<double>(noise[index(b, h, i, j)]);
  };
  expect_close(p.run(options), p.reference(float_bias).out);
}

TEST(AttentionMask, EveryRankBroadcasts) {
  check_mask_dims({3, 70}, 10);
  check_mask_dims({4, 3, 70}, 11);
  check_mask_dims({1, 3, 70}, 12);
  check_mask_dims({2, 1, 3, 70}, 13);
  check_mask_dims({2, 4, 3, 70}, 14);
  check_mask_dims({2, 1, 1, 70}, 15);
  check_mask_dims({1, 4, 3, 1}, 16);
}

TEST(AttentionMask, ShortLastAxisBlocksTheRest) {
  const Problem p(1, 2, 2, 3, 100, 8, 8, 17);
  const std::vector<float> zeros(3 * 66, 0.0f);
  attnkit::AttentionOptions options;
  options.mask = zeros.data();
  options.mask_type = attnkit::MaskType::kFloat;
  options.mask_rank = 2;
  options.mask_dims[0] = 3;
  options.mask_dims[1] = 66;
  reference::Bias bias;
  bias.blocked = [](std::size_t, std::size_t, std::size_t, std::size_t j) { return j >= 66; };
  expect_close(p.run(options), p.reference(bias).out);
}

TEST(AttentionMask, RejectsMaskThatCannotBroadcast) {
  const Problem p(2, 4, 2, 3, 5, 8, 8, 18);
  const std::vector<float> mask(3 * 3 * 5, 0.0f);
  attnkit::AttentionOptions options;
  options.mask = mask.data();
  options.mask_type = attnkit::MaskType::kFloat;
  options.mask_rank = 3;
  options.mask_dims[0] = 3;
  options.mask_dims[1] = 3;
  options.mask_dims[2] = 5;
  std::vector<float> out(2 * 4 * 3 * 8);
  const attnkit::Status status = attnkit::scaled_dot_product_attention(
      p.q.data(), p.k.data(), p.v.data(), out.data(), p.shape(), options);
  EXPECT_EQ(status.code, attnkit::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message.find("mask dims [3, 3, 5] cannot broadcast to [batch, heads, qLen, "
                                "totalKvLen] = [2, 4, 3, 5]"),
            std::string::npos)
      << status.message;
}

TEST(AttentionSoftcap, CapsBeforeTheMask) {
  const Problem p(1, 2, 2, 4, 20, 8, 8, 19);
  std::vector<std::uint8_t> bits(4 * 20, 1);
  bits[5] = 0;
  bits[47] = 0;
  attnkit::AttentionOptions options;
  options.softcap = 0.7f;
  options.mask = bits.data();
  options.mask_type = attnkit::MaskType::kBool;
  options.mask_rank = 2;
  options.mask_dims[0] = 4;
  options.mask_dims[1] = 20;
  reference::Bias bias;
  bias.softcap = 0.7;
  bias.blocked = [&](std::size_t, std::size_t, std::size_t i, std::size_t j) {
    return bits[i * 20 + j] == 0;
  };
  expect_close(p.run(options), p.reference(bias).out);
}

TEST(AttentionSoftcap, RejectsNegativeAndNonFinite) {
  const Problem p(1, 1, 1, 1, 1, 4, 4, 20);
  std::vector<float> out(4);
  for (float cap : {-1.0f, std::numeric_limits<float>::infinity(),
                    std::numeric_limits<float>::quiet_NaN()}) {
    attnkit::AttentionOptions options;
    options.softcap = cap;
    const attnkit::Status status = attnkit::scaled_dot_product_attention(
        p.q.data(), p.k.data(), p.v.data(), out.data(), p.shape(), options);
    EXPECT_EQ(status.code, attnkit::StatusCode::kInvalidArgument);
    EXPECT_NE(status.message.find("softcap"), std::string::npos) << status.message;
  }
}

TEST(AttentionCache, PastIsPrependedAndOffsetsCausal) {
  // The full problem has 4 + 70 keys; the first 70 serve as the past.
  const Problem full(2, 4, 2, 6, 76, 8, 8, 21);
  const std::size_t past_len = 70;
  const std::size_t new_len = 6;
  std::vector<float> past_k, past_v, new_k, new_v;
  for (std::size_t bh = 0; bh < 2 * 2; ++bh) {
    const auto kh = full.k.begin() + bh * 76 * 8;
    const auto vh = full.v.begin() + bh * 76 * 8;
    past_k.insert(past_k.end(), kh, kh + past_len * 8);
    new_k.insert(new_k.end(), kh + past_len * 8, kh + 76 * 8);
    past_v.insert(past_v.end(), vh, vh + past_len * 8);
    new_v.insert(new_v.end(), vh + past_len * 8, vh + 76 * 8);
  }
  attnkit::AttentionShape shape{2, 4, 2, 6, new_len, 8, 8};
  attnkit::AttentionExtras extras;
  extras.past_key = past_k.data();
  extras.past_value = past_v.data();
  extras.past_seq_len = past_len;
  std::vector<float> present_k(full.k.size()), present_v(full.v.size());
  extras.present_key = present_k.data();
  extras.present_value = present_v.data();
  std::vector<float> out(2 * 4 * 6 * 8);
  const attnkit::Status status = attnkit::scaled_dot_product_attention(
      full.q.data(), new_k.data(), new_v.data(), out.data(), shape,
      causal_options(attnkit::CausalAlignment::kOnnx), extras);
  ASSERT_TRUE(status.ok()) << status.message;
  EXPECT_EQ(present_k, full.k);
  EXPECT_EQ(present_v, full.v);
  expect_close(out, full.reference(causal_bias(static_cast<std::ptrdiff_t>(past_len))).out);
}

TEST(AttentionCache, RejectsPastWithoutValue) {
  const Problem p(1, 1, 1, 1, 1, 4, 4, 22);
  std::vector<float> out(4);
  attnkit::AttentionExtras extras;
  extras.past_key = p.k.data();
  extras.past_seq_len = 1;
  const attnkit::Status status = attnkit::scaled_dot_product_attention(
      p.q.data(), p.k.data(), p.v.data(), out.data(), p.shape(), {}, extras);
  EXPECT_EQ(status.code, attnkit::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message.find("pastKey and pastValue"), std::string::npos) << status.message;
}

TEST(AttentionNonpad, BlocksPaddedKeysAndSetsCausalOffset) {
  const Problem p(3, 2, 2, 4, 100, 8, 8, 23);
  const std::vector<std::int64_t> nonpad = {100, 67, 2};
  attnkit::AttentionOptions options;
  options.nonpad_kv_seqlen = nonpad.data();
  reference::Bias pad_only;
  pad_only.blocked = [&](std::size_t b, std::size_t, std::size_t, std::size_t j) {
    return static_cast<std::int64_t>(j) >= nonpad[b];
  };
  expect_close(p.run(options), p.reference(pad_only).out);

  options.causal = attnkit::CausalAlignment::kOnnx;
  reference::Bias with_causal;
  with_causal.blocked = [&](std::size_t b, std::size_t, std::size_t i, std::size_t j) {
    const auto jj = static_cast<std::int64_t>(j);
    return jj >= nonpad[b] || jj > static_cast<std::int64_t>(i) + nonpad[b] - 4;
  };
  expect_close(p.run(options), p.reference(with_causal).out);
}

TEST(AttentionNonpad, RejectsOutOfRange) {
  const Problem p(2, 1, 1, 1, 5, 4, 4, 24);
  const std::vector<std::int64_t> nonpad = {5, 6};
  attnkit::AttentionOptions options;
  options.nonpad_kv_seqlen = nonpad.data();
  std::vector<float> out(8);
  const attnkit::Status status = attnkit::scaled_dot_product_attention(
      p.q.data(), p.k.data(), p.v.data(), out.data(), p.shape(), options);
  EXPECT_EQ(status.code, attnkit::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message.find("nonpadKvSeqlen[1] is 6, expected a value in [0, 5]"),
            std::string::npos)
      << status.message;
}

TEST(AttentionBlockedKeys, NanInBlockedRowsStaysOut) {
  Problem p(1, 1, 1, 3, 130, 4, 4, 25);
  const Problem clean = p;
  // Keys 100.. are padding and hold NaN.
  for (std::size_t j = 100; j < 130; ++j) {
    for (std::size_t d = 0; d < 4; ++d) {
      p.k[j * 4 + d] = std::numeric_limits<float>::quiet_NaN();
      p.v[j * 4 + d] = std::numeric_limits<float>::quiet_NaN();
    }
  }
  const std::vector<std::int64_t> nonpad = {100};
  attnkit::AttentionOptions options;
  options.nonpad_kv_seqlen = nonpad.data();
  reference::Bias bias;
  bias.blocked = [](std::size_t, std::size_t, std::size_t, std::size_t j) { return j >= 100; };
  expect_close(p.run(options), clean.reference(bias).out);
}

TEST(AttentionScores, EveryModeMatchesTheReference) {
  const Problem p(1, 2, 1, 5, 70, 8, 8, 26);
  const double scale = p.default_scale();
  for (int mode = 0; mode < 4; ++mode) {
    SCOPED_TRACE(mode);
    attnkit::AttentionOptions options = causal_options(attnkit::CausalAlignment::kBottomRight);
    options.softcap = 0.9f;
    std::vector<float> scores(2 * 5 * 70, 123.0f);
    attnkit::AttentionExtras extras;
    extras.scores = scores.data();
    extras.scores_mode = static_cast<attnkit::ScoreOutputMode>(mode);
    const std::vector<float> out = p.run(options, extras);

    reference::Bias bias = causal_bias(65);
    bias.softcap = 0.9;
    const reference::BiasedResult want = p.reference(bias);
    expect_close(out, want.out);

    std::vector<double> expected(scores.size());
    for (std::size_t h = 0; h < 2; ++h) {
      for (std::size_t i = 0; i < 5; ++i) {
        for (std::size_t j = 0; j < 70; ++j) {
          double s = 0.0;
          for (std::size_t d = 0; d < 8; ++d) {
            s += static_cast<double>(p.q[(h * 5 + i) * 8 + d]) * p.k[j * 8 + d];
          }
          s *= scale;
          if (mode >= 1) s = 0.9 * std::tanh(s / 0.9);
          if (mode == 2 && j > i + 65) s = -std::numeric_limits<double>::infinity();
          const std::size_t at = (h * 5 + i) * 70 + j;
          expected[at] = mode == 3 ? want.probs[at] : s;
        }
      }
    }
    expect_close(scores, expected);
  }
}

TEST(AttentionFloat16, ConversionRoundTripsEveryHalf) {
  std::vector<std::uint16_t> halves(65536);
  for (std::size_t i = 0; i < halves.size(); ++i) halves[i] = static_cast<std::uint16_t>(i);
  std::vector<float> widened(halves.size());
  attnkit::float16_to_float32(halves.data(), widened.data(), halves.size());
  std::vector<std::uint16_t> back(halves.size());
  attnkit::float32_to_float16(widened.data(), back.data(), widened.size());
  for (std::size_t i = 0; i < halves.size(); ++i) {
    const double want = reference::half_to_double(static_cast<unsigned>(i));
    if (std::isnan(want)) {
      ASSERT_TRUE(std::isnan(widened[i])) << i;
      continue;
    }
    ASSERT_EQ(static_cast<double>(widened[i]), want) << i;
    ASSERT_EQ(back[i], halves[i]) << i;
  }
}

TEST(AttentionFloat16, RoundsToNearestEven) {
  // 1 + 2^-11 lies halfway between 1 and the next half; ties go to even (1).
  const std::vector<float> values = {1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f, 65520.0f, 1e-8f};
  std::vector<std::uint16_t> bits(values.size());
  attnkit::float32_to_float16(values.data(), bits.data(), values.size());
  EXPECT_EQ(bits[0], 0x3c00);
  EXPECT_EQ(bits[1], 0x3c02);
  EXPECT_EQ(bits[2], 0x7c00);  // beyond 65504 rounds to inf
  EXPECT_EQ(bits[3], 0x0000);
}

TEST(AttentionFloat16, LargeProductsStayFinite) {
  // q·k0 = 65536 exceeds the half range; computed in float32 after widening.
  std::vector<std::uint16_t> q_bits(16), k_bits(32), v_bits = {0x3c00, 0, 0, 0x3c00};
  std::vector<float> q(16, 64.0f), k(32, 64.0f), v(4);
  k[31] = 63.9375f;
  attnkit::float32_to_float16(q.data(), q_bits.data(), q.size());
  attnkit::float32_to_float16(k.data(), k_bits.data(), k.size());
  attnkit::float16_to_float32(q_bits.data(), q.data(), q.size());
  attnkit::float16_to_float32(k_bits.data(), k.data(), k.size());
  attnkit::float16_to_float32(v_bits.data(), v.data(), v.size());
  std::vector<float> out(2);
  attnkit::AttentionShape shape{1, 1, 1, 1, 2, 16, 2};
  ASSERT_TRUE(
      attnkit::scaled_dot_product_attention(q.data(), k.data(), v.data(), out.data(), shape, {})
          .ok());
  std::vector<std::uint16_t> out_bits(2);
  attnkit::float32_to_float16(out.data(), out_bits.data(), 2);
  expect_close({static_cast<float>(reference::half_to_double(out_bits[0])),
                static_cast<float>(reference::half_to_double(out_bits[1]))},
               {0.731059, 0.268941}, 1e-3, 0.0);
}

}  // namespace
