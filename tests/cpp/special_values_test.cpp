// NaN and infinity in the data are computed, not rejected: each case must
// match the float64 reference, NaN for NaN and infinity for infinity.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "attnkit/attnkit.h"
#include "cpp/test_util.h"
#include "reference/reference.h"

namespace {

using test_util::random_floats;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// Like test_util::expect_close, but a NaN or infinite reference value must be
// matched exactly (any NaN matches NaN).
void expect_same_special(const std::vector<float>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      ASSERT_TRUE(std::isnan(got[i])) << "element " << i << ": got " << got[i] << ", want NaN";
    } else if (std::isinf(want[i])) {
      ASSERT_EQ(static_cast<double>(got[i]), want[i]) << "element " << i;
    } else {
      const double err = std::fabs(static_cast<double>(got[i]) - want[i]);
      ASSERT_LE(err, test_util::kAbsTol + test_util::kRelTol * std::fabs(want[i]))
          << "element " << i << ": got " << got[i] << ", want " << want[i];
    }
  }
}

struct SpecialCase {
  const char* name;
  char tensor;  // 'q', 'k' or 'v'
  std::size_t index;
  float value;
};

// q_len 6 and kv_len 130 run both the 4-row tile and the single-row path and
// three key blocks, so a special value meets every stage of the kernel.
void run_attention_case(const SpecialCase& c) {
  const std::size_t q_len = 6, kv_len = 130, dim = 8;
  auto q = random_floats(q_len * dim, 11);
  auto k = random_floats(kv_len * dim, 12);
  auto v = random_floats(kv_len * dim, 13);
  if (c.tensor == 'q') {
    q[c.index] = c.value;
  } else if (c.tensor == 'k') {
    k[c.index] = c.value;
  } else {
    v[c.index] = c.value;
  }

  std::vector<float> out(q_len * dim, -7.0f);
  const attnkit::AttentionShape shape{1, 1, 1, q_len, kv_len, dim, dim};
  const attnkit::Status status =
      attnkit::scaled_dot_product_attention(q.data(), k.data(), v.data(), out.data(), shape, {});
  ASSERT_TRUE(status.ok()) << status.message;
  const double scale = 1.0 / std::sqrt(static_cast<double>(dim));
  expect_same_special(
      out, reference::attention_bhsd(q, k, v, 1, 1, 1, q_len, kv_len, dim, dim, scale));
}

TEST(AttentionSpecialValues, MatchReference) {
  const SpecialCase cases[] = {
      {"NaN in a query row of the tile", 'q', 1 * 8 + 3, kNaN},
      {"NaN in a query row past the tile", 'q', 5 * 8 + 0, kNaN},
      {"infinity in a query", 'q', 2 * 8 + 1, kInf},
      {"NaN in a key", 'k', 100 * 8 + 2, kNaN},
      {"minus infinity in a key", 'k', 70 * 8 + 5, -kInf},
      {"infinity in a key", 'k', 3 * 8 + 5, kInf},
      {"NaN in a value", 'v', 129 * 8 + 7, kNaN},
      {"infinity in a value", 'v', 64 * 8 + 0, kInf},
  };
  for (const SpecialCase& c : cases) {
    SCOPED_TRACE(c.name);
    run_attention_case(c);
  }
}

TEST(AttentionSpecialValues, NaNQueryRowDoesNotLeak) {
  const std::size_t q_len = 5, kv_len = 3, dim = 4;
  auto q = random_floats(q_len * dim, 21);
  const auto k = random_floats(kv_len * dim, 22);
  const auto v = random_floats(kv_len * dim, 23);
  for (std::size_t d = 0; d < dim; ++d) {
    q[2 * dim + d] = kNaN;  // the whole row is NaN
  }
  std::vector<float> out(q_len * dim);
  const attnkit::AttentionShape shape{1, 1, 1, q_len, kv_len, dim, dim};
  ASSERT_TRUE(
      attnkit::scaled_dot_product_attention(q.data(), k.data(), v.data(), out.data(), shape, {})
          .ok());
  for (std::size_t i = 0; i < q_len; ++i) {
    for (std::size_t d = 0; d < dim; ++d) {
      EXPECT_EQ(std::isnan(out[i * dim + d]), i == 2) << "row " << i << ", column " << d;
    }
  }
}

TEST(RopeSpecialValues, StayInTheirPair) {
  // NaN or infinity in one element affects only its own pair.
  std::vector<float> x = random_floats(2 * 8, 31);
  x[2] = kNaN;       // pair (2, 3) of position 0 when interleaved
  x[8 + 4] = kInf;   // pair (4, 5) of position 1
  std::vector<float> out(x.size());
  ASSERT_TRUE(attnkit::apply_rope(x.data(), out.data(), {1, 2, 1, 8}, {}).ok());
  for (std::size_t i = 0; i < out.size(); ++i) {
    const bool special_pair = i == 2 || i == 3 || i == 12 || i == 13;
    EXPECT_EQ(std::isfinite(out[i]), !special_pair) << "element " << i;
  }
}

}  // namespace
