// libFuzzer target for the C++ entry points. The first input byte picks an
// operation from kOperations; the rest supplies its shape, options and data.
//
// Each operation runs in one of two modes:
// - bounded: every buffer has exactly the size the shape needs (at most
//   kMaxFloats floats), so AddressSanitizer reports any read or write past
//   its end. A call that succeeds on finite, moderate data must also satisfy
//   a property of the operation (see the check_* functions).
// - extreme: sizes come from kExtremeSizes and every pointer is null, so the
//   call must return an error (or succeed on an empty output) without
//   touching memory or allocating more than the scratch of a valid call.
//
// Build with -DATTNKIT_FUZZ=ON (see CMakeLists.txt) and run
// scripts/fuzz-long.sh, or build/sanitize/attnkit_fuzz -max_total_time=60.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

#include "attnkit/attnkit.h"

namespace {

// Upper bound of one buffer in bounded mode, to keep each run fast.
constexpr std::size_t kMaxFloats = std::size_t{1} << 16;

// Magnitude below which data counts as moderate: products of such values
// summed over a head stay far from float overflow.
constexpr float kModerate = 1000.0f;

constexpr std::size_t kExtremeSizes[] = {
    0, 1, 2, 3, 64, 65, std::size_t{1} << 15, std::size_t{1} << 29, (std::size_t{1} << 31) - 1,
    std::size_t{1} << 32, std::numeric_limits<std::size_t>::max() / 2,
    std::numeric_limits<std::size_t>::max()};

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "attnkit_fuzz: %s\n", what);
  std::abort();
}

std::size_t extreme_size(FuzzedDataProvider& in) {
  return in.PickValueInArray(kExtremeSizes);
}

// Returns n floats: raw bit patterns from the input (NaN, infinities and
// subnormals included) or, chosen by one input bit, values in [-1, 1) so
// that the property checks run often.
std::vector<float> take_floats(FuzzedDataProvider& in, std::size_t n) {
  std::vector<float> out(n);
  const bool raw_bits = in.ConsumeBool();
  for (std::size_t i = 0; i < n; ++i) {
    if (raw_bits) {
      const std::uint32_t bits = in.ConsumeIntegral<std::uint32_t>();
      std::memcpy(&out[i], &bits, sizeof(float));
    } else {
      out[i] = in.ConsumeFloatingPointInRange(-1.0f, 1.0f);
    }
  }
  return out;
}

bool all_moderate(const std::vector<float>& values) {
  return std::all_of(values.begin(), values.end(),
                     [](float x) { return std::isfinite(x) && std::fabs(x) <= kModerate; });
}

float max_abs(const std::vector<float>& values) {
  float m = 0.0f;
  for (float x : values) {
    m = std::max(m, std::fabs(x));
  }
  return m;
}

// Returns the product of the factors, or kMaxFloats + 1 when a product exceeds kMaxFloats.
std::size_t bounded_product(std::initializer_list<std::size_t> factors) {
  std::size_t p = 1;
  for (std::size_t f : factors) {
    if (f != 0 && p > kMaxFloats / f) {
      return kMaxFloats + 1;
    }
    p *= f;
  }
  return p;
}

const float* data_or_null(const std::vector<float>& v) { return v.empty() ? nullptr : v.data(); }

// Attention output rows are convex combinations of value rows, so no output
// element can exceed the largest |v| (plus rounding).
void check_attention_output(const std::vector<float>& out, const std::vector<float>& v) {
  const float bound = max_abs(v) * (1.0f + 1e-4f) + 1e-30f;
  for (float x : out) {
    if (!(std::fabs(x) <= bound)) {
      fail("attention output outside the range of the values");
    }
  }
}

// Buffers behind the pointers of AttentionOptions and AttentionExtras.
struct AttentionInputs {
  std::vector<std::uint8_t> bool_mask;
  std::vector<float> float_mask;
  std::vector<std::int64_t> nonpad;
  std::vector<float> past_key, past_value, present_key, present_value, scores;
  attnkit::AttentionExtras extras;
  bool plain = true;          // no option or extra was set
  bool mask_moderate = true;  // float mask values are moderate or −∞
};

// Fills softcap, causal alignment, a mask, valid key counts, a past cache
// and the optional outputs, each from the input and some of them invalid on
// purpose. Every buffer has exactly the size its dims give, so a read or
// write outside it is an AddressSanitizer report. Returns false when a
// buffer would exceed kMaxFloats.
bool take_attention_extras(FuzzedDataProvider& in, const attnkit::AttentionShape& shape,
                           attnkit::AttentionOptions* options, AttentionInputs* inputs) {
  if (!in.ConsumeBool()) {
    return true;
  }
  inputs->plain = false;
  options->softcap = in.ConsumeBool() ? in.ConsumeFloatingPointInRange(0.0f, 4.0f)
                                      : in.ConsumeFloatingPoint<float>();
  options->causal = static_cast<attnkit::CausalAlignment>(in.ConsumeIntegralInRange<int>(0, 4));

  attnkit::AttentionExtras& extras = inputs->extras;
  if (in.ConsumeBool()) {
    extras.past_seq_len = in.ConsumeIntegralInRange<std::size_t>(0, 6);
    const std::size_t key_size = bounded_product({shape.batch, shape.num_kv_heads, extras.past_seq_len, shape.head_dim});
    const std::size_t value_size = bounded_product({shape.batch, shape.num_kv_heads, extras.past_seq_len, shape.v_head_dim});
    if (std::max(key_size, value_size) > kMaxFloats) {
      return false;
    }
    inputs->past_key = take_floats(in, key_size);
    inputs->past_value = take_floats(in, value_size);
    static const float kEmpty[1] = {0.0f};
    extras.past_key = inputs->past_key.empty() ? kEmpty : inputs->past_key.data();
    extras.past_value = inputs->past_value.empty() ? kEmpty : inputs->past_value.data();
    if (in.ConsumeBool()) {
      extras.past_value = nullptr;  // one without the other must be rejected
    }
  }
  const std::size_t total = shape.kv_seq_len + (extras.past_key ? extras.past_seq_len : 0);

  if (in.ConsumeBool()) {
    inputs->nonpad.resize(shape.batch);
    for (std::int64_t& n : inputs->nonpad) {
      n = in.ConsumeIntegralInRange<std::int64_t>(-1, static_cast<std::int64_t>(total) + 1);
    }
    options->nonpad_kv_seqlen = inputs->nonpad.empty() ? nullptr : inputs->nonpad.data();
  }

  if (in.ConsumeBool()) {
    options->mask_type = static_cast<attnkit::MaskType>(in.ConsumeIntegralInRange<int>(1, 3));
    options->mask_rank = in.ConsumeIntegralInRange<std::size_t>(1, 5);
    const std::size_t target[4] = {shape.batch, shape.num_heads, shape.q_seq_len, total};
    std::size_t size = 1;
    for (std::size_t i = 0; i < std::min<std::size_t>(options->mask_rank, 4); ++i) {
      // Mostly the target dim or 1, sometimes any small size.
      const std::size_t axis = 4 - std::min<std::size_t>(options->mask_rank, 4) + i;
      std::size_t dim = 1;
      switch (in.ConsumeIntegralInRange<int>(0, 2)) {
        case 0:
          dim = target[axis];
          break;
        case 1:
          break;
        default:
          dim = in.ConsumeIntegralInRange<std::size_t>(0, 9);
      }
      options->mask_dims[i] = dim;
      size = bounded_product({size, dim});
    }
    if (size > kMaxFloats) {
      return false;
    }
    if (options->mask_type == attnkit::MaskType::kBool) {
      inputs->bool_mask.resize(size);
      for (std::uint8_t& bit : inputs->bool_mask) {
        bit = in.ConsumeIntegral<std::uint8_t>();
      }
      options->mask = inputs->bool_mask.empty() ? nullptr : inputs->bool_mask.data();
    } else {
      inputs->float_mask = take_floats(in, size);
      for (float value : inputs->float_mask) {
        if (!(value == -std::numeric_limits<float>::infinity() || std::fabs(value) <= kModerate)) {
          inputs->mask_moderate = false;
        }
      }
      options->mask = inputs->float_mask.empty() ? nullptr : inputs->float_mask.data();
    }
  }

  // Optional outputs of exactly the documented sizes.
  const std::size_t present_key_size = bounded_product({shape.batch, shape.num_kv_heads, total, shape.head_dim});
  const std::size_t present_value_size = bounded_product({shape.batch, shape.num_kv_heads, total, shape.v_head_dim});
  const std::size_t scores_size = bounded_product({shape.batch, shape.num_heads, shape.q_seq_len, total});
  if (std::max({present_key_size, present_value_size, scores_size}) > kMaxFloats) {
    return false;
  }
  if (in.ConsumeBool() && present_key_size > 0) {
    inputs->present_key.resize(present_key_size);
    extras.present_key = inputs->present_key.data();
  }
  if (in.ConsumeBool() && present_value_size > 0) {
    inputs->present_value.resize(present_value_size);
    extras.present_value = inputs->present_value.data();
  }
  if (in.ConsumeBool() && scores_size > 0) {
    inputs->scores.resize(scores_size);
    extras.scores = inputs->scores.data();
    extras.scores_mode = static_cast<attnkit::ScoreOutputMode>(in.ConsumeIntegralInRange<int>(0, 4));
  }
  return true;
}

void fuzz_attention(FuzzedDataProvider& in) {
  attnkit::AttentionShape shape;
  attnkit::AttentionOptions options;
  const bool extreme = in.ConsumeBool();
  if (extreme) {
    shape.batch = extreme_size(in);
    shape.num_heads = extreme_size(in);
    shape.num_kv_heads = extreme_size(in);
    shape.q_seq_len = extreme_size(in);
    shape.kv_seq_len = extreme_size(in);
    shape.head_dim = extreme_size(in);
    shape.v_head_dim = extreme_size(in);
  } else {
    shape.batch = in.ConsumeIntegralInRange<std::size_t>(0, 3);
    shape.num_kv_heads = in.ConsumeIntegralInRange<std::size_t>(0, 3);
    shape.num_heads = shape.num_kv_heads * in.ConsumeIntegralInRange<std::size_t>(0, 3);
    if (in.ConsumeBool()) {
      shape.num_heads += 1;  // often not a multiple of num_kv_heads
    }
    shape.q_seq_len = in.ConsumeIntegralInRange<std::size_t>(0, 9);
    shape.kv_seq_len = in.ConsumeIntegralInRange<std::size_t>(0, 140);
    shape.head_dim = in.ConsumeIntegralInRange<std::size_t>(0, 70);
    shape.v_head_dim = in.ConsumeIntegralInRange<std::size_t>(0, 70);
  }
  shape.layout = in.ConsumeBool() ? attnkit::AttentionLayout::kBSHD : attnkit::AttentionLayout::kBHSD;
  shape.out_layout =
      in.ConsumeBool() ? attnkit::AttentionLayout::kBSHD : attnkit::AttentionLayout::kBHSD;
  options.has_scale = in.ConsumeBool();
  if (options.has_scale) {
    options.scale = in.ConsumeBool() ? in.ConsumeFloatingPoint<float>()
                                     : in.ConsumeFloatingPointInRange(-4.0f, 4.0f);
  }

  if (extreme) {
    const attnkit::Status status =
        attnkit::scaled_dot_product_attention(nullptr, nullptr, nullptr, nullptr, shape, options);
    if (status.ok() && shape.q_seq_len != 0) {
      fail("attention accepted null pointers for a non-empty output");
    }
    return;
  }

  const std::size_t q_size =
      bounded_product({shape.batch, shape.num_heads, shape.q_seq_len, shape.head_dim});
  const std::size_t k_size =
      bounded_product({shape.batch, shape.num_kv_heads, shape.kv_seq_len, shape.head_dim});
  const std::size_t v_size =
      bounded_product({shape.batch, shape.num_kv_heads, shape.kv_seq_len, shape.v_head_dim});
  const std::size_t out_size =
      bounded_product({shape.batch, shape.num_heads, shape.q_seq_len, shape.v_head_dim});
  if (std::max({q_size, k_size, v_size, out_size}) > kMaxFloats) {
    return;
  }
  const std::vector<float> q = take_floats(in, q_size);
  const std::vector<float> k = take_floats(in, k_size);
  const std::vector<float> v = take_floats(in, v_size);
  std::vector<float> out(out_size, 0.0f);

  // Options and extras with exactly sized buffers (see take_attention_extras).
  AttentionInputs extra;
  if (!take_attention_extras(in, shape, &options, &extra)) {
    return;
  }

  const attnkit::Status status = attnkit::scaled_dot_product_attention(
      data_or_null(q), data_or_null(k), data_or_null(v), out.empty() ? nullptr : out.data(), shape,
      options, extra.extras);
  const bool valid_shape = shape.batch > 0 && shape.num_kv_heads > 0 && shape.head_dim > 0 &&
                           shape.v_head_dim > 0 && shape.num_heads > 0 &&
                           shape.num_heads % shape.num_kv_heads == 0;
  const bool valid_scale = !options.has_scale || std::isfinite(options.scale);
  if (status.ok() && !(valid_shape && valid_scale)) {
    fail("attention accepted an invalid call");
  }
  if (!status.ok() && valid_shape && valid_scale && extra.plain) {
    fail("attention rejected a valid call without options");
  }
  // Masks and causal rules only remove keys, so every output row stays a
  // convex combination of value rows (or zeros) while the added mask values
  // are moderate.
  if (status.ok() && all_moderate(q) && all_moderate(k) && all_moderate(v) &&
      all_moderate(extra.past_key) && all_moderate(extra.past_value) && extra.mask_moderate &&
      std::fabs(options.scale) <= kModerate && options.softcap <= kModerate) {
    std::vector<float> values = v;
    values.insert(values.end(), extra.past_value.begin(), extra.past_value.end());
    check_attention_output(out, values);
  }
}

void fuzz_multihead(FuzzedDataProvider& in) {
  attnkit::MultiheadShape shape;
  attnkit::AttentionOptions options;
  const bool extreme = in.ConsumeBool();
  if (extreme) {
    shape.batch = extreme_size(in);
    shape.num_heads = extreme_size(in);
    shape.q_seq_len = extreme_size(in);
    shape.kv_seq_len = extreme_size(in);
    shape.head_dim = extreme_size(in);
  } else {
    shape.batch = in.ConsumeIntegralInRange<std::size_t>(0, 3);
    shape.num_heads = in.ConsumeIntegralInRange<std::size_t>(0, 4);
    shape.q_seq_len = in.ConsumeIntegralInRange<std::size_t>(0, 9);
    shape.kv_seq_len = in.ConsumeIntegralInRange<std::size_t>(0, 70);
    shape.head_dim = in.ConsumeIntegralInRange<std::size_t>(0, 20);
  }
  options.has_scale = in.ConsumeBool();
  if (options.has_scale) {
    options.scale = in.ConsumeFloatingPoint<float>();
  }
  const bool with_bias = in.ConsumeBool();

  if (extreme) {
    const attnkit::Status status = attnkit::multihead_attention(
        nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, shape, options);
    if (status.ok() && shape.batch != 0 && shape.q_seq_len != 0 && shape.num_heads != 0 &&
        shape.head_dim != 0) {
      fail("multiheadAttention accepted null pointers for a non-empty output");
    }
    return;
  }

  const std::size_t embed = shape.num_heads * shape.head_dim;
  const std::size_t q_size =
      bounded_product({shape.batch, shape.num_heads, shape.q_seq_len, shape.head_dim});
  const std::size_t kv_size =
      bounded_product({shape.batch, shape.num_heads, shape.kv_seq_len, shape.head_dim});
  const std::size_t weight_size = bounded_product({embed, embed});
  const std::size_t out_size = bounded_product({shape.batch, shape.q_seq_len, embed});
  if (std::max({q_size, kv_size, weight_size, out_size}) > kMaxFloats) {
    return;
  }
  const std::vector<float> q = take_floats(in, q_size);
  const std::vector<float> k = take_floats(in, kv_size);
  const std::vector<float> v = take_floats(in, kv_size);
  const std::vector<float> weight = take_floats(in, weight_size);
  const std::vector<float> bias = take_floats(in, with_bias ? embed : 0);
  std::vector<float> out(out_size, 0.0f);

  const attnkit::Status status = attnkit::multihead_attention(
      data_or_null(q), data_or_null(k), data_or_null(v), data_or_null(weight),
      data_or_null(bias), out.empty() ? nullptr : out.data(), shape, options);
  const bool valid = shape.batch > 0 && shape.num_heads > 0 && shape.head_dim > 0 &&
                     (!options.has_scale || std::isfinite(options.scale));
  if (status.ok() != valid) {
    fail(status.ok() ? "multiheadAttention accepted an invalid call"
                     : "multiheadAttention rejected a valid call");
  }
  // With moderate data every output is a finite sum of bounded products.
  if (status.ok() && all_moderate(q) && all_moderate(k) && all_moderate(v) &&
      all_moderate(weight) && all_moderate(bias) && std::fabs(options.scale) <= kModerate) {
    for (float x : out) {
      if (!std::isfinite(x)) {
        fail("multiheadAttention returned a non-finite value for moderate inputs");
      }
    }
  }
}

// A rotation keeps the length of each (a, b) pair, so the sum of squares of
// each head is preserved up to rounding.
void check_rope_norms(const std::vector<float>& x, const std::vector<float>& out,
                      std::size_t head_dim) {
  for (std::size_t start = 0; start < x.size(); start += head_dim) {
    double in_norm = 0.0;
    double out_norm = 0.0;
    for (std::size_t i = start; i < start + head_dim; ++i) {
      in_norm += static_cast<double>(x[i]) * x[i];
      out_norm += static_cast<double>(out[i]) * out[i];
    }
    if (!(std::fabs(in_norm - out_norm) <= 1e-5 * in_norm + 1e-30)) {
      fail("rope changed the norm of a head");
    }
  }
}

// Fills the scaling fields of one random type; the values may be invalid,
// because the entry points must reject those themselves.
attnkit::RopeScaling take_scaling(FuzzedDataProvider& in) {
  attnkit::RopeScaling scaling;
  scaling.type = static_cast<attnkit::RopeScalingType>(in.ConsumeIntegralInRange<int>(0, 5));
  const bool sane = in.ConsumeBool();
  auto value = [&](double lo, double hi) {
    return sane ? in.ConsumeFloatingPointInRange(lo, hi) : in.ConsumeFloatingPoint<double>();
  };
  scaling.factor = value(1.0, 16.0);
  scaling.original_max_positions = value(16.0, 8192.0);
  scaling.current_length = value(1.0, 16384.0);
  scaling.beta_fast = value(8.0, 64.0);
  scaling.beta_slow = value(0.5, 4.0);
  scaling.truncate = in.ConsumeBool();
  scaling.has_attention_factor = in.ConsumeBool();
  scaling.attention_factor = value(0.5, 2.0);
  scaling.mscale = value(0.0, 2.0);
  scaling.mscale_all_dim = value(0.0, 2.0);
  scaling.low_freq_factor = value(1.0, 2.0);
  scaling.high_freq_factor = value(2.5, 8.0);
  return scaling;
}

void fuzz_rope(FuzzedDataProvider& in) {
  attnkit::RopeShape shape;
  attnkit::RopeOptions options;
  const bool extreme = in.ConsumeBool();
  if (extreme) {
    shape.batch = extreme_size(in);
    shape.seq_len = extreme_size(in);
    shape.num_heads = extreme_size(in);
    shape.head_dim = extreme_size(in);
    options.rotary_dim = in.ConsumeBool() ? 0 : extreme_size(in);
  } else {
    shape.batch = in.ConsumeIntegralInRange<std::size_t>(0, 3);
    shape.seq_len = in.ConsumeIntegralInRange<std::size_t>(0, 9);
    shape.num_heads = in.ConsumeIntegralInRange<std::size_t>(0, 3);
    shape.head_dim = in.ConsumeIntegralInRange<std::size_t>(0, 70);
    options.rotary_dim = in.ConsumeBool() ? 0 : in.ConsumeIntegralInRange<std::size_t>(0, 72);
  }
  shape.layout = static_cast<attnkit::RopeLayout>(in.ConsumeIntegralInRange<int>(0, 2));
  options.base = in.ConsumeBool() ? in.ConsumeFloatingPoint<double>()
                                  : in.ConsumeFloatingPointInRange(1.0, 1e6);
  options.interleaved = in.ConsumeBool();
  options.position_offset = in.ConsumeBool() ? in.ConsumeIntegral<std::int64_t>()
                                             : in.ConsumeIntegralInRange<std::int64_t>(-64, 4096);
  if (in.ConsumeBool()) {
    options.scaling = take_scaling(in);
  }
  const bool in_place = in.ConsumeBool();

  const std::size_t rotary_dim = options.rotary_dim == 0 ? shape.head_dim : options.rotary_dim;
  // Conditions that must make every call fail; other options may fail too.
  // The base counts only without a cache, which replaces the angles.
  const bool bad_shape = shape.head_dim == 0 || shape.head_dim % 2 != 0 ||
                         rotary_dim % 2 != 0 || rotary_dim > shape.head_dim ||
                         static_cast<int>(shape.layout) > 1;
  const bool bad_base = !(options.base > 0.0) || !std::isfinite(options.base);
  if (extreme) {
    const attnkit::Status status = attnkit::apply_rope(nullptr, nullptr, shape, options);
    if (status.ok() && (bad_shape || bad_base ||
                        (shape.batch != 0 && shape.seq_len != 0 && shape.num_heads != 0))) {
      fail("rope accepted an invalid call with null pointers");
    }
    return;
  }

  const std::size_t size =
      bounded_product({shape.batch, shape.seq_len, shape.num_heads, shape.head_dim});
  if (size > kMaxFloats) {
    return;
  }

  // Positions from ids (sometimes outside a cache's rows) or the offset.
  std::vector<std::int32_t> ids;
  if (in.ConsumeBool()) {
    ids.resize(shape.batch * shape.seq_len);
    for (std::int32_t& id : ids) {
      id = in.ConsumeBool() ? in.ConsumeIntegral<std::int32_t>()
                            : in.ConsumeIntegralInRange<std::int32_t>(-2, 40);
    }
    options.position_ids = ids.empty() ? nullptr : ids.data();
  }

  // A cache of exactly the size its rows and width name, so that any read
  // outside it is an AddressSanitizer report.
  std::vector<float> cos_cache;
  std::vector<float> sin_cache;
  if (in.ConsumeBool()) {
    options.cache.per_token = in.ConsumeBool();
    options.cache.width = in.ConsumeBool() ? rotary_dim / 2 : in.ConsumeIntegralInRange<std::size_t>(0, 72);
    options.cache.rows = options.cache.per_token && in.ConsumeBool()
                             ? shape.batch * shape.seq_len
                             : in.ConsumeIntegralInRange<std::size_t>(0, 48);
    const std::size_t cache_size = bounded_product({options.cache.rows, options.cache.width});
    if (cache_size > kMaxFloats) {
      return;
    }
    cos_cache = take_floats(in, cache_size);
    sin_cache = take_floats(in, cache_size);
    // An empty cache still needs non-null pointers; reading past this
    // one-element array is an AddressSanitizer report too.
    static const float kEmptyCache[1] = {0.0f};
    options.cache.cos = cos_cache.empty() ? kEmptyCache : cos_cache.data();
    options.cache.sin = sin_cache.empty() ? kEmptyCache : sin_cache.data();
    if (in.ConsumeBool()) {
      options.cache.sin = nullptr;  // cos without sin must be rejected
    }
  }

  const std::vector<float> x = take_floats(in, size);
  std::vector<float> out = in_place ? x : std::vector<float>(size, 0.0f);
  const float* source = in_place ? data_or_null(out) : data_or_null(x);

  const attnkit::Status status =
      attnkit::apply_rope(source, out.empty() ? nullptr : out.data(), shape, options);
  if (status.ok() && (bad_shape || (bad_base && !options.cache.cos))) {
    fail("rope accepted an invalid call");
  }
  if (status.ok() && size > 0 && options.cache.cos && !options.cache.sin) {
    fail("rope accepted cosCache without sinCache");
  }
  // Without a cache or scaling every pair turns by an angle, so the norm of
  // each head stays. A base far below 1 makes base^(-2i/rotary_dim)
  // overflow to infinity and the angles NaN, so the check skips it.
  const bool plain_rotation = !options.cache.cos && options.scaling.type == attnkit::RopeScalingType::kNone;
  if (status.ok() && plain_rotation && all_moderate(x) && options.base >= 1e-3) {
    check_rope_norms(x, out, shape.head_dim);
  }
}

// build_rope_cache with exactly sized tables: every value must be finite
// and, without scaling, cos² + sin² = 1 up to rounding.
void fuzz_rope_cache(FuzzedDataProvider& in) {
  const bool extreme = in.ConsumeBool();
  const std::size_t max_positions =
      extreme ? extreme_size(in) : in.ConsumeIntegralInRange<std::size_t>(0, 64);
  const std::size_t rotary_dim =
      extreme ? extreme_size(in) : in.ConsumeIntegralInRange<std::size_t>(0, 40);
  const double base = in.ConsumeBool() ? in.ConsumeFloatingPoint<double>()
                                       : in.ConsumeFloatingPointInRange(1.0, 1e6);
  const attnkit::RopeScaling scaling = in.ConsumeBool() ? take_scaling(in) : attnkit::RopeScaling{};

  if (extreme) {
    const attnkit::Status status =
        attnkit::build_rope_cache(nullptr, nullptr, max_positions, rotary_dim, base, scaling);
    if (status.ok() && max_positions != 0 && rotary_dim / 2 != 0) {
      fail("build_rope_cache accepted null tables for a non-empty cache");
    }
    return;
  }

  const std::size_t size = max_positions * (rotary_dim / 2);
  std::vector<float> cos_cache(size, -7.0f);
  std::vector<float> sin_cache(size, -7.0f);
  const attnkit::Status status = attnkit::build_rope_cache(
      cos_cache.empty() ? nullptr : cos_cache.data(), sin_cache.empty() ? nullptr : sin_cache.data(),
      max_positions, rotary_dim, base, scaling);
  if (status.ok() && (rotary_dim == 0 || rotary_dim % 2 != 0)) {
    fail("build_rope_cache accepted an odd or zero rotary_dim");
  }
  if (!status.ok() || scaling.type != attnkit::RopeScalingType::kNone || base < 1e-3) {
    return;
  }
  for (std::size_t i = 0; i < size; ++i) {
    const double norm = static_cast<double>(cos_cache[i]) * cos_cache[i] +
                        static_cast<double>(sin_cache[i]) * sin_cache[i];
    if (!(std::fabs(norm - 1.0) <= 1e-5)) {
      fail("build_rope_cache wrote cos² + sin² far from 1");
    }
  }
}

// One entry per C++ entry point; a new entry point gets a row here.
constexpr void (*kOperations[])(FuzzedDataProvider&) = {
    fuzz_attention,
    fuzz_multihead,
    fuzz_rope,
    fuzz_rope_cache,
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const std::size_t op = in.ConsumeIntegralInRange<std::size_t>(0, std::size(kOperations) - 1);
  kOperations[op](in);
  return 0;
}
