// Bad calls to the C++ entry points: each returns an error status, leaves
// the output untouched and never reads a pointer it was not given.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "attnkit/attnkit.h"

namespace {

constexpr std::size_t kSizeMax = std::numeric_limits<std::size_t>::max();
constexpr float kUntouched = -7.0f;

attnkit::AttentionShape attention_shape(std::size_t batch, std::size_t heads, std::size_t q_len,
                                        std::size_t kv_len, std::size_t dim) {
  attnkit::AttentionShape shape;
  shape.batch = batch;
  shape.num_heads = heads;
  shape.num_kv_heads = heads;
  shape.q_seq_len = q_len;
  shape.kv_seq_len = kv_len;
  shape.head_dim = dim;
  shape.v_head_dim = dim;
  return shape;
}

void expect_untouched(const std::vector<float>& out) {
  for (float x : out) {
    ASSERT_EQ(x, kUntouched);
  }
}

TEST(AttentionBadInput, ZeroSizes) {
  std::vector<float> data(64, 0.5f);
  std::vector<float> out(64, kUntouched);
  for (const auto& shape : {attention_shape(0, 1, 2, 2, 4), attention_shape(1, 0, 2, 2, 4),
                            attention_shape(1, 1, 2, 2, 0)}) {
    const attnkit::Status status = attnkit::scaled_dot_product_attention(
        data.data(), data.data(), data.data(), out.data(), shape, {});
    EXPECT_EQ(status.code, attnkit::StatusCode::kInvalidArgument) << status.message;
  }
  expect_untouched(out);
}

TEST(AttentionBadInput, HeadsNotMultipleOfKvHeads) {
  std::vector<float> data(64, 0.5f);
  std::vector<float> out(64, kUntouched);
  attnkit::AttentionShape shape = attention_shape(1, 3, 2, 2, 4);
  shape.num_kv_heads = 2;
  const attnkit::Status status = attnkit::scaled_dot_product_attention(
      data.data(), data.data(), data.data(), out.data(), shape, {});
  EXPECT_EQ(status.code, attnkit::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message, "attention: numHeads (3) must be a multiple of numKvHeads (2)");
  expect_untouched(out);
}

TEST(AttentionBadInput, OverflowingSizes) {
  // Null pointers: the size check must come before any pointer is read.
  for (const auto& shape :
       {attention_shape(std::size_t{1} << 20, std::size_t{1} << 20, 1, 1, 1),
        attention_shape(kSizeMax, 1, 1, 1, 1), attention_shape(1, 1, kSizeMax, 1, kSizeMax),
        attention_shape(1, 1, 1, std::size_t{1} << 30, 1)}) {
    const attnkit::Status status =
        attnkit::scaled_dot_product_attention(nullptr, nullptr, nullptr, nullptr, shape, {});
    EXPECT_EQ(status.code, attnkit::StatusCode::kOutOfRange) << status.message;
  }
}

TEST(AttentionBadInput, ScratchAboveLimit) {
  // q and k would hold 2^23 floats each (32 MiB), but the kernel's scratch
  // needs tens of floats per head_dim, more than 2^29 in all.
  const attnkit::AttentionShape shape = attention_shape(1, 1, 1, 1, std::size_t{1} << 23);
  const attnkit::Status status =
      attnkit::scaled_dot_product_attention(nullptr, nullptr, nullptr, nullptr, shape, {});
  EXPECT_EQ(status.code, attnkit::StatusCode::kOutOfRange);
  EXPECT_NE(status.message.find("scratch memory"), std::string::npos) << status.message;
}

TEST(AttentionBadInput, NullPointers) {
  std::vector<float> data(8, 0.5f);
  const attnkit::AttentionShape shape = attention_shape(1, 1, 2, 2, 4);
  std::vector<float> out(8, kUntouched);
  EXPECT_EQ(attnkit::scaled_dot_product_attention(nullptr, data.data(), data.data(), out.data(),
                                                  shape, {})
                .code,
            attnkit::StatusCode::kInvalidArgument);
  EXPECT_EQ(attnkit::scaled_dot_product_attention(data.data(), nullptr, data.data(), out.data(),
                                                  shape, {})
                .code,
            attnkit::StatusCode::kInvalidArgument);
  EXPECT_EQ(attnkit::scaled_dot_product_attention(data.data(), data.data(), data.data(), nullptr,
                                                  shape, {})
                .code,
            attnkit::StatusCode::kInvalidArgument);
  expect_untouched(out);
}

TEST(AttentionBadInput, NonFiniteScale) {
  std::vector<float> data(8, 0.5f);
  std::vector<float> out(8, kUntouched);
  for (float scale : {std::nanf(""), std::numeric_limits<float>::infinity()}) {
    attnkit::AttentionOptions options;
    options.has_scale = true;
    options.scale = scale;
    const attnkit::Status status = attnkit::scaled_dot_product_attention(
        data.data(), data.data(), data.data(), out.data(), attention_shape(1, 1, 2, 2, 4), options);
    EXPECT_EQ(status.code, attnkit::StatusCode::kInvalidArgument) << status.message;
  }
  expect_untouched(out);
}

TEST(AttentionBadInput, EmptyQueryNeedsNoQueryPointers) {
  // k and v are still read when there are keys, because a KV cache output
  // may be requested, but q and out are not.
  std::vector<float> kv(2 * 3 * 5 * 8, 0.5f);
  attnkit::Status status = attnkit::scaled_dot_product_attention(
      nullptr, kv.data(), kv.data(), nullptr, attention_shape(2, 3, 0, 5, 8), {});
  EXPECT_TRUE(status.ok()) << status.message;
  status = attnkit::scaled_dot_product_attention(nullptr, nullptr, nullptr, nullptr,
                                                 attention_shape(2, 3, 0, 5, 8), {});
  EXPECT_EQ(status.code, attnkit::StatusCode::kInvalidArgument);
}

TEST(AttentionBadInput, MaskRankAboveFour) {
  // The message must not read mask_dims past its four entries.
  std::vector<float> data(8, 0.5f);
  std::vector<float> mask(16, 0.0f);
  std::vector<float> out(8, kUntouched);
  attnkit::AttentionOptions options;
  options.mask = mask.data();
  options.mask_type = attnkit::MaskType::kFloat;
  options.mask_rank = 5;
  for (std::size_t& dim : options.mask_dims) dim = 1;
  const attnkit::Status status = attnkit::scaled_dot_product_attention(
      data.data(), data.data(), data.data(), out.data(), attention_shape(1, 1, 2, 2, 4), options);
  EXPECT_EQ(status.code, attnkit::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message, "attention: mask must have rank 2, 3 or 4, got rank 5 (dims [1, 1, 1, 1])");
  expect_untouched(out);
}

TEST(MultiheadBadInput, NullPointersBeforeAllocation) {
  // The concat buffer of this shape would be 2^28 floats (1 GiB); the call
  // must reject the null q before allocating it.
  attnkit::MultiheadShape shape;
  shape.batch = std::size_t{1} << 10;
  shape.num_heads = 4;
  shape.q_seq_len = std::size_t{1} << 10;
  shape.kv_seq_len = 1;
  shape.head_dim = 64;
  std::vector<float> weight(256 * 256, 0.0f);
  const attnkit::Status status = attnkit::multihead_attention(
      nullptr, nullptr, nullptr, weight.data(), nullptr, nullptr, shape, {});
  EXPECT_EQ(status.code, attnkit::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message, "multiheadAttention: null data pointer");
}

TEST(MultiheadBadInput, ZeroSizesAndOverflow) {
  attnkit::MultiheadShape shape;
  shape.batch = 1;
  shape.num_heads = 0;
  shape.q_seq_len = 2;
  shape.kv_seq_len = 2;
  shape.head_dim = 4;
  std::vector<float> data(64, 0.5f);
  std::vector<float> out(64, kUntouched);
  attnkit::Status status = attnkit::multihead_attention(data.data(), data.data(), data.data(),
                                                        data.data(), nullptr, out.data(), shape, {});
  EXPECT_EQ(status.code, attnkit::StatusCode::kInvalidArgument) << status.message;
  expect_untouched(out);

  shape.num_heads = std::size_t{1} << 16;
  shape.head_dim = std::size_t{1} << 16;
  status = attnkit::multihead_attention(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                        shape, {});
  EXPECT_EQ(status.code, attnkit::StatusCode::kOutOfRange) << status.message;
}

TEST(RopeBadInput, HeadDimBaseAndSizes) {
  std::vector<float> x(16, 0.5f);
  std::vector<float> out(16, kUntouched);
  attnkit::RopeShape shape{1, 2, 2, 4};
  for (std::size_t head_dim : {std::size_t{0}, std::size_t{3}, kSizeMax}) {
    shape.head_dim = head_dim;
    EXPECT_EQ(attnkit::apply_rope(x.data(), out.data(), shape, {}).code,
              attnkit::StatusCode::kInvalidArgument);
  }
  shape.head_dim = 4;
  for (double base : {0.0, -1.0, std::nan(""), std::numeric_limits<double>::infinity()}) {
    attnkit::RopeOptions options;
    options.base = base;
    EXPECT_EQ(attnkit::apply_rope(x.data(), out.data(), shape, options).code,
              attnkit::StatusCode::kInvalidArgument);
  }
  expect_untouched(out);

  const attnkit::RopeShape huge{std::size_t{1} << 20, std::size_t{1} << 20, 1, 2};
  EXPECT_EQ(attnkit::apply_rope(nullptr, nullptr, huge, {}).code, attnkit::StatusCode::kOutOfRange);
  EXPECT_EQ(attnkit::apply_rope(nullptr, nullptr, shape, {}).code,
            attnkit::StatusCode::kInvalidArgument);
}

TEST(RopeBadInput, EmptyInputAllocatesNoTable) {
  // An empty x leaves head_dim unbounded. Building the frequency table
  // anyway would ask for 2^40 doubles, which AddressSanitizer reports and
  // which wraps a 32-bit size_t in the WebAssembly build.
  const attnkit::RopeShape shape{1, 0, 1, std::size_t{1} << 41};
  EXPECT_TRUE(attnkit::apply_rope(nullptr, nullptr, shape, {}).ok());

  attnkit::RopeOptions bad_base;
  bad_base.base = -1.0;
  const attnkit::Status status = attnkit::apply_rope(nullptr, nullptr, shape, bad_base);
  EXPECT_EQ(status.code, attnkit::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message, "rope: base must be a positive finite number, got -1");
}

TEST(RopeBadInput, EmptyCacheAllocatesNoTable) {
  const std::size_t rotary_dim = std::size_t{1} << 41;
  EXPECT_TRUE(attnkit::build_rope_cache(nullptr, nullptr, 0, rotary_dim, 10000.0, {}).ok());
  EXPECT_EQ(attnkit::build_rope_cache(nullptr, nullptr, 0, 3, 10000.0, {}).code,
            attnkit::StatusCode::kInvalidArgument);
}

TEST(RopeBadInput, CacheNullTablesBeforeAllocation) {
  // Found by the fuzzer: null tables of a 2^28-float cache allocated the
  // 2 GiB frequency table before the null check.
  const attnkit::Status status =
      attnkit::build_rope_cache(nullptr, nullptr, 1, std::size_t{1} << 29, 10000.0, {});
  EXPECT_EQ(status.code, attnkit::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message, "rope: null cache pointer");
}

TEST(RopeBadInput, PositionOffsetOverflow) {
  // Found by the fuzzer: position_offset + s overflowed int64 (undefined
  // behaviour) for the largest offsets.
  std::vector<float> x(8, 0.5f);
  std::vector<float> out(8, kUntouched);
  attnkit::RopeOptions options;
  options.position_offset = std::numeric_limits<std::int64_t>::max();
  const attnkit::Status status = attnkit::apply_rope(x.data(), out.data(), {1, 2, 1, 4}, options);
  EXPECT_EQ(status.code, attnkit::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message,
            "rope: positionOffset 9223372036854775807 plus the sequence length 2 overflows a 64-bit "
            "integer");
  expect_untouched(out);

  options.position_offset = std::numeric_limits<std::int64_t>::max() - 1;
  EXPECT_TRUE(attnkit::apply_rope(x.data(), out.data(), {1, 2, 1, 4}, options).ok());

  // The cache check computed the last position as (offset + seq) − 1.
  std::vector<float> cache(4 * 2, 0.5f);
  options.position_offset = std::numeric_limits<std::int64_t>::max();
  options.cache.cos = cache.data();
  options.cache.sin = cache.data();
  options.cache.rows = 4;
  options.cache.width = 2;
  const attnkit::Status cached = attnkit::apply_rope(x.data(), out.data(), {1, 1, 2, 4}, options);
  EXPECT_EQ(cached.code, attnkit::StatusCode::kInvalidArgument);
  EXPECT_NE(cached.message.find("outside the cache rows 0 to 3"), std::string::npos) << cached.message;
}

TEST(RopeBadInput, ExtremePositionOffsetStaysFinite) {
  std::vector<float> x(8, 0.5f);
  std::vector<float> out(8, kUntouched);
  attnkit::RopeOptions options;
  options.position_offset = std::numeric_limits<std::int64_t>::min();
  const attnkit::Status status = attnkit::apply_rope(x.data(), out.data(), {1, 2, 1, 4}, options);
  ASSERT_TRUE(status.ok()) << status.message;
  for (float value : out) {
    EXPECT_TRUE(std::isfinite(value));
  }
}

}  // namespace
