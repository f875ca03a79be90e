// Multi-head attention with output projection against the float64 reference.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "attnkit/attnkit.h"
#include "cpp/test_util.h"
#include "reference/reference.h"

namespace {

using test_util::expect_close;
using test_util::random_floats;

// Reference: per-head attention, concatenation to [batch, seq, E], then
// out[n][e] = Σ_j concat[n][j]·o[e][j] + bias[e], all in double.
std::vector<double> reference_mha(const std::vector<float>& q, const std::vector<float>& k,
                                  const std::vector<float>& v, const std::vector<float>& o,
                                  const std::vector<float>* bias, std::size_t batch,
                                  std::size_t heads, std::size_t q_len, std::size_t kv_len,
                                  std::size_t dim) {
  const std::size_t embed = heads * dim;
  const std::vector<double> per_head = reference::attention_bhsd(
      q, k, v, batch, heads, heads, q_len, kv_len, dim, dim, 1.0 / std::sqrt(double(dim)));
  std::vector<double> concat(batch * q_len * embed);
  for (std::size_t b = 0; b < batch; ++b)
    for (std::size_t h = 0; h < heads; ++h)
      for (std::size_t i = 0; i < q_len; ++i)
        for (std::size_t d = 0; d < dim; ++d)
          concat[(b * q_len + i) * embed + h * dim + d] =
              per_head[((b * heads + h) * q_len + i) * dim + d];

  std::vector<double> out(batch * q_len * embed);
  for (std::size_t n = 0; n < batch * q_len; ++n) {
    for (std::size_t e = 0; e < embed; ++e) {
      double sum = bias ? (*bias)[e] : 0.0;
      for (std::size_t j = 0; j < embed; ++j) sum += concat[n * embed + j] * o[e * embed + j];
      out[n * embed + e] = sum;
    }
  }
  return out;
}

void check_mha(std::size_t batch, std::size_t heads, std::size_t q_len, std::size_t kv_len,
               std::size_t dim, bool with_bias, std::uint32_t seed) {
  const std::size_t embed = heads * dim;
  const auto q = random_floats(batch * heads * q_len * dim, seed);
  const auto k = random_floats(batch * heads * kv_len * dim, seed + 1);
  const auto v = random_floats(batch * heads * kv_len * dim, seed + 2);
  const auto o = random_floats(embed * embed, seed + 3, -0.1f, 0.1f);
  const auto bias = random_floats(embed, seed + 4);
  std::vector<float> out(batch * q_len * embed);

  attnkit::MultiheadShape shape{batch, heads, q_len, kv_len, dim};
  const attnkit::Status status = attnkit::multihead_attention(
      q.data(), k.data(), v.data(), o.data(), with_bias ? bias.data() : nullptr, out.data(), shape,
      {});
  ASSERT_TRUE(status.ok()) << status.message;
  expect_close(out, reference_mha(q, k, v, o, with_bias ? &bias : nullptr, batch, heads, q_len,
                                  kv_len, dim));
}

TEST(MultiheadAttention, ReferenceShape) { check_mha(32, 3, 128, 128, 64, false, 21); }

TEST(MultiheadAttention, WithOutputBias) { check_mha(2, 3, 9, 9, 64, true, 22); }

TEST(MultiheadAttention, SequenceLengthOne) { check_mha(2, 3, 1, 1, 64, false, 23); }

TEST(MultiheadAttention, QueryLengthDiffersFromKeys) { check_mha(2, 3, 5, 17, 16, false, 24); }

TEST(MultiheadAttention, OddEmbedSizes) {
  for (std::size_t dim : {1u, 3u, 5u, 67u}) {
    SCOPED_TRACE(dim);
    check_mha(2, 3, 6, 7, dim, true, 25);
  }
}

TEST(MultiheadAttention, OneHead) { check_mha(2, 1, 6, 6, 64, false, 26); }

}  // namespace
