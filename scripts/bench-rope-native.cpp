// Native timing harness for scripts/bench-rope.mjs. It times attnkit::apply_rope
// on x (batch, seq, heads, headDim) in place and into a separate output, and
// memcpy of the same size for the bandwidth reference. It prints one line per
// case: "name median_ms min_ms", the time of one call.
//
//   bench-rope-native BATCH SEQ HEADS HEAD_DIM OFFSET CYCLE REPEATS CALLS_PER_SAMPLE
//
// Call i of the RoPE cases uses position offset OFFSET + i mod CYCLE.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

#include "attnkit/attnkit.h"

namespace {

using Clock = std::chrono::steady_clock;

// Runs `body` twice to warm up, then `repeats` samples of `calls` calls,
// and prints the median and minimum of one call in milliseconds.
void time_case(const char* name, int repeats, int calls, const std::function<bool()>& body) {
  for (int i = 0; i < 2; ++i) {
    if (!body()) {
      std::printf("%s failed\n", name);
      std::exit(1);
    }
  }
  std::vector<double> ms;
  for (int i = 0; i < repeats; ++i) {
    const auto start = Clock::now();
    for (int j = 0; j < calls; ++j) body();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count() / calls);
  }
  std::sort(ms.begin(), ms.end());
  std::printf("%s %.4f %.4f\n", name, ms[ms.size() / 2], ms.front());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 9) {
    std::fprintf(stderr, "usage: %s BATCH SEQ HEADS HEAD_DIM OFFSET CYCLE REPEATS CALLS_PER_SAMPLE\n",
                 argv[0]);
    return 2;
  }
  attnkit::RopeShape shape;
  shape.batch = std::strtoul(argv[1], nullptr, 10);
  shape.seq_len = std::strtoul(argv[2], nullptr, 10);
  shape.num_heads = std::strtoul(argv[3], nullptr, 10);
  shape.head_dim = std::strtoul(argv[4], nullptr, 10);
  const std::int64_t offset = std::strtoll(argv[5], nullptr, 10);
  const std::int64_t cycle = std::max<std::int64_t>(1, std::strtoll(argv[6], nullptr, 10));
  const int repeats = std::atoi(argv[7]);
  const int calls = std::atoi(argv[8]);
  std::int64_t call_index = 0;
  const std::size_t size = shape.batch * shape.seq_len * shape.num_heads * shape.head_dim;

  std::vector<float> x(size);
  std::vector<float> out(size);
  for (std::size_t i = 0; i < size; ++i) x[i] = static_cast<float>(i % 1000) * 1e-3f - 0.5f;

  time_case("memcpy", repeats, calls, [&] {
    std::memcpy(out.data(), x.data(), size * sizeof(float));
    return true;
  });
  for (const bool interleaved : {true, false}) {
    attnkit::RopeOptions options;
    options.interleaved = interleaved;
    const char* in_place_name = interleaved ? "interleaved-in-place" : "split-half-in-place";
    const char* copy_name = interleaved ? "interleaved-to-out" : "split-half-to-out";
    time_case(in_place_name, repeats, calls, [&] {
      options.position_offset = offset + call_index++ % cycle;
      return attnkit::apply_rope(x.data(), x.data(), shape, options).ok();
    });
    time_case(copy_name, repeats, calls, [&] {
      options.position_offset = offset + call_index++ % cycle;
      return attnkit::apply_rope(x.data(), out.data(), shape, options).ok();
    });
  }
  return 0;
}
