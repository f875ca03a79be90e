// Rotary position embedding against the float64 reference.
#include <gtest/gtest.h>

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

}  // namespace
