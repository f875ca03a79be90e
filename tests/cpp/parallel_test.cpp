// The thread pool: every item runs once, and results are bit-identical for
// every thread count.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <vector>

#include "attnkit/attnkit.h"
#include "cpp/test_util.h"
#include "parallel.h"

namespace {

using test_util::random_floats;

// Restores the default of one thread when a test ends.
class ThreadCountTest : public ::testing::Test {
 protected:
  void TearDown() override { ASSERT_TRUE(attnkit::set_num_threads(1).ok()); }
};

TEST_F(ThreadCountTest, RejectsZero) {
  const attnkit::Status status = attnkit::set_num_threads(0);
  EXPECT_EQ(status.code, attnkit::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message.find("got 0"), std::string::npos) << status.message;
  EXPECT_EQ(attnkit::num_threads(), 1u);
}

TEST_F(ThreadCountTest, ParallelForRunsEachItemOnce) {
  for (std::size_t threads : {1u, 2u, 3u}) {
    ASSERT_TRUE(attnkit::set_num_threads(threads).ok());
    EXPECT_EQ(attnkit::num_threads(), threads);
    std::vector<std::atomic<int>> hits(1000);
    std::atomic<std::size_t> max_index{0};
    attnkit::detail::parallel_for(hits.size(), [&](std::size_t thread_index, std::size_t item) {
      hits[item].fetch_add(1);
      std::size_t seen = max_index.load();
      while (thread_index > seen && !max_index.compare_exchange_weak(seen, thread_index)) {
      }
    });
    for (std::size_t i = 0; i < hits.size(); ++i) {
      ASSERT_EQ(hits[i].load(), 1) << "item " << i << " with " << threads << " threads";
    }
    EXPECT_LT(max_index.load(), threads);
  }
}

TEST_F(ThreadCountTest, AttentionIdenticalForAnyThreadCount) {
  attnkit::AttentionShape shape{2, 8, 2, 150, 200, 32, 24};
  const auto q = random_floats(2 * 8 * 150 * 32, 11);
  const auto k = random_floats(2 * 2 * 200 * 32, 12);
  const auto v = random_floats(2 * 2 * 200 * 24, 13);
  std::vector<float> first(2 * 8 * 150 * 24);
  ASSERT_TRUE(attnkit::scaled_dot_product_attention(q.data(), k.data(), v.data(), first.data(), shape, {}).ok());

  for (std::size_t threads : {2u, 3u, 4u}) {
    ASSERT_TRUE(attnkit::set_num_threads(threads).ok());
    std::vector<float> out(first.size(), -1.0f);
    ASSERT_TRUE(attnkit::scaled_dot_product_attention(q.data(), k.data(), v.data(), out.data(), shape, {}).ok());
    EXPECT_EQ(std::memcmp(out.data(), first.data(), out.size() * sizeof(float)), 0) << threads << " threads";
  }
}

TEST_F(ThreadCountTest, CausalMaskAndScoresIdenticalForAnyThreadCount) {
  // 150 query rows span three work items of 64 rows, so the causal limit,
  // the mask rows and the score rows of the later items must be offset.
  attnkit::AttentionShape shape{1, 4, 2, 150, 150, 16, 16};
  const auto q = random_floats(4 * 150 * 16, 31);
  const auto k = random_floats(2 * 150 * 16, 32);
  const auto v = random_floats(2 * 150 * 16, 33);
  const auto mask = random_floats(150 * 150, 34);
  attnkit::AttentionOptions options;
  options.causal = attnkit::CausalAlignment::kTopLeft;
  options.mask = mask.data();
  options.mask_type = attnkit::MaskType::kFloat;
  options.mask_rank = 2;
  options.mask_dims[0] = 150;
  options.mask_dims[1] = 150;

  std::vector<float> first(4 * 150 * 16);
  std::vector<float> first_scores(4 * 150 * 150);
  attnkit::AttentionExtras extras;
  extras.scores = first_scores.data();
  extras.scores_mode = attnkit::ScoreOutputMode::kSoftmax;
  ASSERT_TRUE(attnkit::scaled_dot_product_attention(q.data(), k.data(), v.data(), first.data(), shape,
                                                    options, extras).ok());
  // Row 100 (item 2) attends to keys 0..100 only.
  EXPECT_EQ(first_scores[100 * 150 + 101], 0.0f);
  EXPECT_GT(first_scores[100 * 150 + 100], 0.0f);

  for (std::size_t threads : {2u, 3u}) {
    ASSERT_TRUE(attnkit::set_num_threads(threads).ok());
    std::vector<float> out(first.size(), -1.0f);
    std::vector<float> scores(first_scores.size(), -1.0f);
    extras.scores = scores.data();
    ASSERT_TRUE(attnkit::scaled_dot_product_attention(q.data(), k.data(), v.data(), out.data(), shape,
                                                      options, extras).ok());
    EXPECT_EQ(std::memcmp(out.data(), first.data(), out.size() * sizeof(float)), 0) << threads << " threads";
    EXPECT_EQ(std::memcmp(scores.data(), first_scores.data(), scores.size() * sizeof(float)), 0)
        << threads << " threads";
  }
}

TEST(AttentionLongSequence, ScoreCountAboveLimitRuns) {
  // batch·heads·q·kv = 2^29 scores, more than one tensor may hold, but no
  // score matrix is stored, so the call must run. Head 0 must equal the same
  // head computed alone.
  attnkit::AttentionShape shape{1, 8192, 8192, 256, 256, 1, 1};
  const auto q = random_floats(8192 * 256, 41);
  const auto k = random_floats(8192 * 256, 42);
  const auto v = random_floats(8192 * 256, 43);
  std::vector<float> out(8192 * 256);
  const attnkit::Status status =
      attnkit::scaled_dot_product_attention(q.data(), k.data(), v.data(), out.data(), shape, {});
  ASSERT_TRUE(status.ok()) << status.message;

  attnkit::AttentionShape one_head{1, 1, 1, 256, 256, 1, 1};
  std::vector<float> head0(256);
  ASSERT_TRUE(attnkit::scaled_dot_product_attention(q.data(), k.data(), v.data(), head0.data(), one_head, {}).ok());
  EXPECT_EQ(std::memcmp(out.data(), head0.data(), head0.size() * sizeof(float)), 0);
}

TEST_F(ThreadCountTest, MultiheadIdenticalForAnyThreadCount) {
  attnkit::MultiheadShape shape{1, 4, 100, 100, 16};
  const std::size_t embed = 64;
  const auto q = random_floats(4 * 100 * 16, 21);
  const auto k = random_floats(4 * 100 * 16, 22);
  const auto v = random_floats(4 * 100 * 16, 23);
  const auto w = random_floats(embed * embed, 24);
  const auto bias = random_floats(embed, 25);
  std::vector<float> first(100 * embed);
  ASSERT_TRUE(attnkit::multihead_attention(q.data(), k.data(), v.data(), w.data(), bias.data(), first.data(), shape, {}).ok());

  for (std::size_t threads : {2u, 3u}) {
    ASSERT_TRUE(attnkit::set_num_threads(threads).ok());
    std::vector<float> out(first.size(), -1.0f);
    ASSERT_TRUE(attnkit::multihead_attention(q.data(), k.data(), v.data(), w.data(), bias.data(), out.data(), shape, {}).ok());
    EXPECT_EQ(std::memcmp(out.data(), first.data(), out.size() * sizeof(float)), 0) << threads << " threads";
  }
}

}  // namespace
