// Tests of the specialised attention kernel (no mask, no softcap, no score
// output) against the general kernel and the float64 reference. The cases
// cover sizes around its row, key and vector tiles, causal ranges, decoding
// with and without grouped key/value heads, and NaN handling.
//
// A bool mask with every entry set leaves the result unchanged but sends the
// call through the general kernel, which gives the second opinion.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "attnkit/attnkit.h"
#include "cpp/test_util.h"
#include "reference/reference.h"

namespace {

using attnkit::CausalAlignment;
using test_util::expect_close;
using test_util::random_floats;

// Random q, k, v in [batch, heads, seq, dim] order.
struct Case {
  std::size_t batch, heads, kv_heads, q_len, kv_len, dim, v_dim;
  std::vector<float> q, k, v;

  Case(std::size_t b, std::size_t h, std::size_t kvh, std::size_t l, std::size_t s,
       std::size_t d, std::size_t dv, std::uint32_t seed)
      : batch(b), heads(h), kv_heads(kvh), q_len(l), kv_len(s), dim(d), v_dim(dv) {
    q = random_floats(b * h * l * d, seed, -2.0f, 2.0f);
    k = random_floats(b * kvh * s * d, seed + 1, -2.0f, 2.0f);
    v = random_floats(b * kvh * s * dv, seed + 2);
  }

  attnkit::AttentionShape shape() const {
    return {batch, heads, kv_heads, q_len, kv_len, dim, v_dim};
  }

  // Runs the public entry point; with all_open_mask, a bool mask of ones
  // [q_len, kv_len] selects the general kernel.
  std::vector<float> run(attnkit::AttentionOptions options, bool all_open_mask) const {
    std::vector<unsigned char> ones(q_len * kv_len, 1);
    if (all_open_mask) {
      options.mask = ones.data();
      options.mask_type = attnkit::MaskType::kBool;
      options.mask_rank = 2;
      options.mask_dims[0] = q_len;
      options.mask_dims[1] = kv_len;
    }
    std::vector<float> out(batch * heads * q_len * v_dim, -7.0f);
    const attnkit::Status status = attnkit::scaled_dot_product_attention(
        q.data(), k.data(), v.data(), out.data(), shape(), options);
    EXPECT_TRUE(status.ok()) << status.message;
    return out;
  }

  std::vector<double> reference(std::ptrdiff_t causal_offset, bool causal) const {
    reference::Bias bias;
    if (causal) {
      bias.blocked = [causal_offset](std::size_t, std::size_t, std::size_t i, std::size_t j) {
        return static_cast<std::ptrdiff_t>(j) > static_cast<std::ptrdiff_t>(i) + causal_offset;
      };
    }
    return reference::biased_attention(q, k, v, batch, heads, kv_heads, q_len, kv_len, dim,
                                       v_dim, 1.0 / std::sqrt(static_cast<double>(dim)), bias)
        .out;
  }
};

std::vector<double> to_double(const std::vector<float>& x) {
  return std::vector<double>(x.begin(), x.end());
}

// Checks the specialised kernel against the reference and the general kernel.
void check_case(const Case& c, CausalAlignment causal, std::ptrdiff_t offset) {
  attnkit::AttentionOptions options;
  options.causal = causal;
  const std::vector<float> fast = c.run(options, false);
  const std::vector<float> general = c.run(options, true);
  const std::vector<double> want = c.reference(offset, causal != CausalAlignment::kNone);
  {
    SCOPED_TRACE("specialised kernel against the reference");
    expect_close(fast, want);
  }
  {
    SCOPED_TRACE("specialised kernel against the general kernel");
    expect_close(fast, to_double(general));
  }
}

TEST(AttentionFastPath, TailsOfRowsKeysAndHeadDims) {
  std::uint32_t seed = 100;
  // Last row blocks of 1 to 15 rows: with 16 lanes, blocks of up to 8 rows
  // take the key-major steps and blocks of 9 to 16 rows one row vector.
  for (std::size_t dim : {1, 3, 5, 8, 67, 127}) {
    for (std::size_t q_len : {1, 3, 12, 31, 33, 41, 47, 70}) {
      for (std::size_t kv_len : {1, 5, 63, 65, 131}) {
        SCOPED_TRACE(testing::Message() << "dim " << dim << ", q_len " << q_len << ", kv_len "
                                        << kv_len);
        check_case(Case(1, 2, 2, q_len, kv_len, dim, dim, seed++), CausalAlignment::kNone, 0);
      }
    }
  }
}

TEST(AttentionFastPath, ValueHeadSizeDiffersFromKeyHeadSize) {
  for (std::size_t v_dim : {1, 7, 16, 33, 67}) {
    SCOPED_TRACE(testing::Message() << "v_dim " << v_dim);
    check_case(Case(2, 2, 1, 37, 70, 12, v_dim, 300 + static_cast<std::uint32_t>(v_dim)),
               CausalAlignment::kNone, 0);
  }
}

TEST(AttentionFastPath, CausalQueryShorterThanKeys) {
  const Case c(1, 2, 2, 45, 140, 16, 16, 400);
  check_case(c, CausalAlignment::kTopLeft, 0);
  check_case(c, CausalAlignment::kBottomRight, 140 - 45);
}

TEST(AttentionFastPath, CausalQueryLongerThanKeys) {
  // Bottom-right alignment leaves the first 100 − 37 rows with no key.
  const Case c(1, 2, 2, 100, 37, 5, 9, 500);
  check_case(c, CausalAlignment::kTopLeft, 0);
  check_case(c, CausalAlignment::kBottomRight, 37 - 100);
  const std::vector<float> out = c.run([] {
    attnkit::AttentionOptions o;
    o.causal = CausalAlignment::kBottomRight;
    return o;
  }(), false);
  for (std::size_t i = 0; i < 100 - 37; ++i) {
    for (std::size_t d = 0; d < 9; ++d) {
      ASSERT_EQ(out[i * 9 + d], 0.0f) << "row " << i;
    }
  }
}

TEST(AttentionFastPath, CausalSquareAcrossBlocks) {
  for (std::size_t len : {31, 64, 97, 130}) {
    SCOPED_TRACE(testing::Message() << "len " << len);
    check_case(Case(1, 1, 1, len, len, 67, 67, 600 + static_cast<std::uint32_t>(len)),
               CausalAlignment::kOnnx, 0);
  }
}

TEST(AttentionFastPath, DecodeWithoutGroups) {
  for (std::size_t kv_len : {1, 3, 64, 65, 200}) {
    SCOPED_TRACE(testing::Message() << "kv_len " << kv_len);
    const Case c(2, 3, 3, 1, kv_len, 67, 67, 700 + static_cast<std::uint32_t>(kv_len));
    check_case(c, CausalAlignment::kNone, 0);
    check_case(c, CausalAlignment::kBottomRight, static_cast<std::ptrdiff_t>(kv_len) - 1);
  }
}

TEST(AttentionFastPath, DecodeWithGroups) {
  // Groups of 1 (multi-query), 3, 4 and 8 query heads per key/value head.
  const std::size_t shapes[][2] = {{8, 1}, {6, 2}, {8, 2}, {16, 2}};
  for (const auto& s : shapes) {
    for (std::size_t kv_len : {1, 63, 130}) {
      SCOPED_TRACE(testing::Message() << s[0] << " heads, " << s[1] << " kv heads, kv_len "
                                      << kv_len);
      const Case c(2, s[0], s[1], 1, kv_len, 64, 64, 800 + static_cast<std::uint32_t>(kv_len));
      check_case(c, CausalAlignment::kNone, 0);
      // Top-left: the single query row attends key 0 only.
      check_case(c, CausalAlignment::kTopLeft, 0);
      check_case(c, CausalAlignment::kBottomRight, static_cast<std::ptrdiff_t>(kv_len) - 1);
    }
  }
}

TEST(AttentionFastPath, DecodeWithGroupsAndNonpadLengths) {
  const Case c(2, 8, 2, 1, 90, 16, 16, 900);
  const std::int64_t nonpad[2] = {41, 90};
  attnkit::AttentionOptions options;
  options.nonpad_kv_seqlen = nonpad;
  const std::vector<float> fast = c.run(options, false);
  const std::vector<float> general = c.run(options, true);
  expect_close(fast, to_double(general));
  // Batch 0 attends keys 0..40 only: the output equals a call on those keys.
  Case trimmed(1, 8, 2, 1, 41, 16, 16, 0);
  trimmed.q.assign(c.q.begin(), c.q.begin() + 8 * 16);
  trimmed.k.clear();
  trimmed.v.clear();
  for (std::size_t h = 0; h < 2; ++h) {
    trimmed.k.insert(trimmed.k.end(), c.k.begin() + h * 90 * 16, c.k.begin() + (h * 90 + 41) * 16);
    trimmed.v.insert(trimmed.v.end(), c.v.begin() + h * 90 * 16, c.v.begin() + (h * 90 + 41) * 16);
  }
  const std::vector<double> want = trimmed.reference(0, false);
  expect_close(std::vector<float>(fast.begin(), fast.begin() + 8 * 16), want);
}

TEST(AttentionFastPath, NanInBlockedKeysDoesNotLeak) {
  // Causal top-left: row i attends keys 0..i. NaN in the key and value rows
  // past the diagonal must not reach earlier rows.
  Case c(1, 1, 1, 70, 70, 8, 8, 1000);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::size_t first_nan = 50;
  for (std::size_t j = first_nan; j < 70; ++j) {
    for (std::size_t d = 0; d < 8; ++d) {
      c.k[j * 8 + d] = nan;
      c.v[j * 8 + d] = nan;
    }
  }
  attnkit::AttentionOptions options;
  options.causal = CausalAlignment::kTopLeft;
  const std::vector<float> out = c.run(options, false);
  for (std::size_t i = 0; i < 70; ++i) {
    for (std::size_t d = 0; d < 8; ++d) {
      if (i < first_nan) {
        ASSERT_FALSE(std::isnan(out[i * 8 + d])) << "row " << i;
      } else {
        ASSERT_TRUE(std::isnan(out[i * 8 + d])) << "row " << i;
      }
    }
  }
}

TEST(AttentionFastPath, NanInAttendedKeyPropagates) {
  for (std::size_t q_len : {1, 40}) {
    Case c(1, 4, 2, q_len, 100, 8, 8, 1100);
    c.k[77 * 8 + 3] = std::numeric_limits<float>::quiet_NaN();  // key 77 of kv head 0
    const std::vector<float> out = c.run({}, false);
    for (std::size_t h = 0; h < 4; ++h) {
      for (std::size_t i = 0; i < q_len * 8; ++i) {
        const bool head_reads_nan = h < 2;
        ASSERT_EQ(std::isnan(out[h * q_len * 8 + i]), head_reads_nan)
            << "q_len " << q_len << ", head " << h << ", element " << i;
      }
    }
  }
}

TEST(AttentionFastPath, BshdLayoutsMatchTheGeneralKernel) {
  // Grouped decoding stacks heads by their stride, which differs per layout.
  for (std::size_t q_len : {1, 35}) {
    const Case c(2, 8, 2, q_len, 77, 12, 12, 1200);
    for (auto layout : {attnkit::AttentionLayout::kBSHD, attnkit::AttentionLayout::kBHSD}) {
      for (auto out_layout : {attnkit::AttentionLayout::kBSHD, attnkit::AttentionLayout::kBHSD}) {
        attnkit::AttentionShape shape = c.shape();
        shape.layout = layout;
        shape.out_layout = out_layout;
        std::vector<unsigned char> ones(q_len * 77, 1);
        attnkit::AttentionOptions general_options;
        general_options.mask = ones.data();
        general_options.mask_type = attnkit::MaskType::kBool;
        general_options.mask_rank = 2;
        general_options.mask_dims[0] = q_len;
        general_options.mask_dims[1] = 77;
        std::vector<float> fast(c.q.size(), -7.0f), general(c.q.size(), -7.0f);
        ASSERT_TRUE(attnkit::scaled_dot_product_attention(c.q.data(), c.k.data(), c.v.data(),
                                                          fast.data(), shape, {})
                        .ok());
        ASSERT_TRUE(attnkit::scaled_dot_product_attention(c.q.data(), c.k.data(), c.v.data(),
                                                          general.data(), shape, general_options)
                        .ok());
        expect_close(fast, to_double(general));
      }
    }
  }
}

}  // namespace
