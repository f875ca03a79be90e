// Native harness of the benchmark: runs one workload through the attnkit
// C++ API (or the FMA peak loop) and prints one JSON line with the timings
// and the sampled output rows, which bench/runners/attnkit-native.mjs
// checks against the JavaScript reference.
//
//   attnkit_bench_native attention BATCH HEADS KV_HEADS Q_LEN KV_LEN DIM CAUSAL REPS ROWS
//   attnkit_bench_native mha BATCH HEADS SEQ DIM REPS ROWS
//   attnkit_bench_native mha-parts BATCH HEADS SEQ DIM REPS
//   attnkit_bench_native rope BATCH SEQ HEADS DIM REPS ROWS
//   attnkit_bench_native fma-peak
// ROWS is a comma-separated list of output row indices. mha-parts times the
// attention inside multi-head attention on its own and the whole call, in
// alternating runs, and prints both medians. Their difference is the time of
// the output projection, with its weight packing and buffers.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <malloc.h>

#include <xsimd/xsimd.hpp>

#include "attnkit/attnkit.h"

// glibc's allocator entry points, which the replacements below forward to.
extern "C" void* __libc_malloc(std::size_t size);
extern "C" void __libc_free(void* ptr);
extern "C" void* __libc_calloc(std::size_t count, std::size_t size);
extern "C" void* __libc_realloc(void* ptr, std::size_t size);

namespace {

// Bytes currently allocated through malloc and their maximum since the
// last reset, so the harness can report the extra memory an entry point
// allocates (its scratch) on top of the inputs and outputs.
std::size_t g_live_bytes = 0;
std::size_t g_peak_bytes = 0;

void count_allocation(void* ptr) {
  if (!ptr) return;
  g_live_bytes += malloc_usable_size(ptr);
  g_peak_bytes = std::max(g_peak_bytes, g_live_bytes);
}

void count_release(void* ptr) {
  if (ptr) g_live_bytes -= malloc_usable_size(ptr);
}

}  // namespace

// The harness is single-threaded, so the counters need no atomics.
extern "C" void* malloc(std::size_t size) {
  void* ptr = __libc_malloc(size);
  count_allocation(ptr);
  return ptr;
}

extern "C" void free(void* ptr) {
  count_release(ptr);
  __libc_free(ptr);
}

extern "C" void* calloc(std::size_t count, std::size_t size) {
  void* ptr = __libc_calloc(count, size);
  count_allocation(ptr);
  return ptr;
}

extern "C" void* realloc(void* ptr, std::size_t size) {
  count_release(ptr);
  void* result = __libc_realloc(ptr, size);
  count_allocation(result ? result : ptr);
  return result;
}

namespace {

// Same generator and mapping as seededFloats() in bench/lib/workloads.mjs,
// so both sides see identical inputs.
std::vector<float> seeded_floats(std::size_t n, std::uint32_t seed) {
  std::vector<float> out(n);
  std::uint32_t state = seed;
  for (std::size_t i = 0; i < n; ++i) {
    state += 0x6d2b79f5u;
    std::uint32_t t = state;
    t = (t ^ (t >> 15)) * (t | 1u);
    t ^= t + (t ^ (t >> 7)) * (t | 61u);
    const double r = static_cast<double>(t ^ (t >> 14)) / 4294967296.0;
    out[i] = static_cast<float>(r * 2.0 - 1.0);
  }
  return out;
}

std::vector<std::size_t> parse_rows(const std::string& text) {
  std::vector<std::size_t> rows;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) rows.push_back(std::stoul(item));
  return rows;
}

std::size_t arg(char** argv, int index) { return std::stoul(argv[index]); }

// Times `run` after two warm-up calls and prints the JSON line; `run`
// returns false when the library rejected the call.
int time_and_print(const std::function<bool()>& run, int reps, const std::vector<float>& out,
                   std::size_t row_length, const std::vector<std::size_t>& rows) {
  // The first call also measures the peak extra heap memory of one call.
  g_peak_bytes = g_live_bytes;
  const std::size_t live_before = g_live_bytes;
  if (!run()) return 1;
  const std::size_t peak_extra = g_peak_bytes - live_before;
  if (!run()) return 1;
  std::vector<double> times;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    run();
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  const double median = times.size() % 2 ? times[times.size() / 2]
                                         : (times[times.size() / 2 - 1] + times[times.size() / 2]) / 2;
  std::printf("{\"medianMs\":%.6f,\"minMs\":%.6f,\"runs\":%zu,\"peakExtraBytes\":%zu,\"simd\":\"%s\",\"rows\":{",
              median, times.front(), times.size(), peak_extra, attnkit::simd_name());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::printf("%s\"%zu\":[", r ? "," : "", rows[r]);
    for (std::size_t d = 0; d < row_length; ++d) {
      std::printf("%s%.9g", d ? "," : "", out[rows[r] * row_length + d]);
    }
    std::printf("]");
  }
  std::printf("}}\n");
  return 0;
}

// Times 12 independent FMA chains per round and prints the best GFLOP/s.
int fma_peak() {
  using Batch = xsimd::batch<float>;
  constexpr int kChains = 12;
  const Batch m(0.999999f);
  const Batch c(1e-7f);
  Batch acc[kChains];
  double best_gflops = 0.0;
  for (int trial = 0; trial < 5; ++trial) {
    for (int i = 0; i < kChains; ++i) acc[i] = Batch(static_cast<float>(i + trial));
    const long rounds = 20'000'000;
    const auto t0 = std::chrono::steady_clock::now();
    for (long r = 0; r < rounds; ++r) {
      for (int i = 0; i < kChains; ++i) acc[i] = xsimd::fma(acc[i], m, c);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    float sum = 0.0f;
    for (int i = 0; i < kChains; ++i) sum += xsimd::hadd(acc[i]);
    if (std::isnan(sum)) return 1;  // keeps the loop's result live
    best_gflops = std::max(best_gflops, rounds * kChains * 2.0 * Batch::size / seconds / 1e9);
  }
  std::printf("{\"fmaGflops\":%.3f,\"lanes\":%zu,\"arch\":\"%s\"}\n", best_gflops, Batch::size,
              xsimd::default_arch::name());
  return 0;
}

double median_of(std::vector<double> times) {
  std::sort(times.begin(), times.end());
  const std::size_t n = times.size();
  return n % 2 ? times[n / 2] : (times[n / 2 - 1] + times[n / 2]) / 2;
}

double time_once_ms(const std::function<void()>& run) {
  const auto t0 = std::chrono::steady_clock::now();
  run();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// Times scaled_dot_product_attention with the per-head shape that
// multihead_attention uses (q, k, v as [batch, heads, seq, dim], output as
// [batch, seq, heads, dim]) and the whole multihead_attention call.
int mha_parts(const attnkit::MultiheadShape& shape, int reps) {
  const std::size_t embed = shape.num_heads * shape.head_dim;
  const std::size_t n = shape.batch * shape.num_heads * shape.q_seq_len * shape.head_dim;
  const auto q = seeded_floats(n, 1);
  const auto k = seeded_floats(n, 2);
  const auto v = seeded_floats(n, 3);
  auto o = seeded_floats(embed * embed, 4);
  for (float& x : o) x = static_cast<float>(static_cast<double>(x) / std::sqrt(static_cast<double>(embed)));
  std::vector<float> concat(n);
  std::vector<float> out(shape.batch * shape.q_seq_len * embed);

  attnkit::AttentionShape per_head;
  per_head.batch = shape.batch;
  per_head.num_heads = per_head.num_kv_heads = shape.num_heads;
  per_head.q_seq_len = shape.q_seq_len;
  per_head.kv_seq_len = shape.kv_seq_len;
  per_head.head_dim = per_head.v_head_dim = shape.head_dim;
  per_head.layout = attnkit::AttentionLayout::kBHSD;
  per_head.out_layout = attnkit::AttentionLayout::kBSHD;

  bool ok = true;
  const auto attention = [&] {
    ok = ok && attnkit::scaled_dot_product_attention(q.data(), k.data(), v.data(), concat.data(),
                                                     per_head, {}).ok();
  };
  const auto whole = [&] {
    ok = ok && attnkit::multihead_attention(q.data(), k.data(), v.data(), o.data(), nullptr,
                                            out.data(), shape, {}).ok();
  };
  attention();
  whole();
  std::vector<double> attention_times;
  std::vector<double> whole_times;
  for (int i = 0; i < reps; ++i) {
    attention_times.push_back(time_once_ms(attention));
    whole_times.push_back(time_once_ms(whole));
  }
  if (!ok) {
    std::printf("{\"error\":\"a call was rejected\"}\n");
    return 1;
  }
  const double attention_ms = median_of(attention_times);
  const double whole_ms = median_of(whole_times);
  std::printf("{\"attentionMedianMs\":%.6f,\"mhaMedianMs\":%.6f,\"projectionMs\":%.6f,\"runs\":%d,"
              "\"simd\":\"%s\"}\n",
              attention_ms, whole_ms, whole_ms - attention_ms, reps, attnkit::simd_name());
  return 0;
}

void usage_error(const char* message) {
  std::fprintf(stderr, "attnkit_bench_native: %s\n", message);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) usage_error("missing the workload kind (attention, mha, mha-parts, rope or fma-peak)");
  const std::string kind = argv[1];
  if (kind == "fma-peak") return fma_peak();

  if (kind == "attention") {
    if (argc != 11) usage_error("attention needs BATCH HEADS KV_HEADS Q_LEN KV_LEN DIM CAUSAL REPS ROWS");
    attnkit::AttentionShape shape;
    shape.batch = arg(argv, 2);
    shape.num_heads = arg(argv, 3);
    shape.num_kv_heads = arg(argv, 4);
    shape.q_seq_len = arg(argv, 5);
    shape.kv_seq_len = arg(argv, 6);
    shape.head_dim = shape.v_head_dim = arg(argv, 7);
    attnkit::AttentionOptions options;
    // Causal prefill: query i attends to keys 0..i (q_seq_len == kv_seq_len).
    if (arg(argv, 8) != 0) options.causal = attnkit::CausalAlignment::kTopLeft;
    const auto q = seeded_floats(shape.batch * shape.num_heads * shape.q_seq_len * shape.head_dim, 1);
    const auto k = seeded_floats(shape.batch * shape.num_kv_heads * shape.kv_seq_len * shape.head_dim, 2);
    const auto v = seeded_floats(shape.batch * shape.num_kv_heads * shape.kv_seq_len * shape.head_dim, 3);
    std::vector<float> out(shape.batch * shape.num_heads * shape.q_seq_len * shape.head_dim);
    const auto run = [&] {
      const attnkit::Status status =
          attnkit::scaled_dot_product_attention(q.data(), k.data(), v.data(), out.data(), shape, options);
      if (!status.ok()) std::printf("{\"error\":\"%s\"}\n", status.message.c_str());
      return status.ok();
    };
    return time_and_print(run, static_cast<int>(arg(argv, 9)), out, shape.head_dim, parse_rows(argv[10]));
  }

  if (kind == "mha") {
    if (argc != 8) usage_error("mha needs BATCH HEADS SEQ DIM REPS ROWS");
    attnkit::MultiheadShape shape;
    shape.batch = arg(argv, 2);
    shape.num_heads = arg(argv, 3);
    shape.q_seq_len = shape.kv_seq_len = arg(argv, 4);
    shape.head_dim = arg(argv, 5);
    const std::size_t embed = shape.num_heads * shape.head_dim;
    const std::size_t n = shape.batch * shape.num_heads * shape.q_seq_len * shape.head_dim;
    const auto q = seeded_floats(n, 1);
    const auto k = seeded_floats(n, 2);
    const auto v = seeded_floats(n, 3);
    auto o = seeded_floats(embed * embed, 4);
    for (float& x : o) x = static_cast<float>(static_cast<double>(x) / std::sqrt(static_cast<double>(embed)));
    std::vector<float> out(shape.batch * shape.q_seq_len * embed);
    const auto run = [&] {
      const attnkit::Status status = attnkit::multihead_attention(
          q.data(), k.data(), v.data(), o.data(), nullptr, out.data(), shape, {});
      if (!status.ok()) std::printf("{\"error\":\"%s\"}\n", status.message.c_str());
      return status.ok();
    };
    return time_and_print(run, static_cast<int>(arg(argv, 6)), out, embed, parse_rows(argv[7]));
  }

  if (kind == "mha-parts") {
    if (argc != 7) usage_error("mha-parts needs BATCH HEADS SEQ DIM REPS");
    attnkit::MultiheadShape shape;
    shape.batch = arg(argv, 2);
    shape.num_heads = arg(argv, 3);
    shape.q_seq_len = shape.kv_seq_len = arg(argv, 4);
    shape.head_dim = arg(argv, 5);
    return mha_parts(shape, static_cast<int>(arg(argv, 6)));
  }

  if (kind == "rope") {
    if (argc != 8) usage_error("rope needs BATCH SEQ HEADS DIM REPS ROWS");
    attnkit::RopeShape shape;
    shape.batch = arg(argv, 2);
    shape.seq_len = arg(argv, 3);
    shape.num_heads = arg(argv, 4);
    shape.head_dim = arg(argv, 5);
    const auto x = seeded_floats(shape.batch * shape.seq_len * shape.num_heads * shape.head_dim, 11);
    std::vector<float> out(x.size());
    const auto run = [&] {
      const attnkit::Status status = attnkit::apply_rope(x.data(), out.data(), shape, {});
      if (!status.ok()) std::printf("{\"error\":\"%s\"}\n", status.message.c_str());
      return status.ok();
    };
    return time_and_print(run, static_cast<int>(arg(argv, 6)), out, shape.head_dim, parse_rows(argv[7]));
  }

  usage_error("unknown workload kind; expected attention, mha, mha-parts, rope or fma-peak");
}
