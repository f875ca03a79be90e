// Embind functions of rotary position embedding. They only translate the
// JavaScript argument objects into attnkit's shape and option structs. The
// JavaScript wrapper has checked the types, and attnkit checks the values.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <cstdint>

#include "attnkit/attnkit.h"
#include "binding_utils.h"

namespace {

using bindings::from_offset;
using bindings::to_js;
using emscripten::val;

// Fields of the `scaling` option, with `type` as a RopeScalingType value.
struct RopeScalingArgs {
  int type = 0;
  double factor = 1.0;
  double original_max_positions = 0.0;
  double current_length = 0.0;
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  bool truncate = true;
  double attention_factor = 1.0;
  bool has_attention_factor = false;
  double mscale = 0.0;
  double mscale_all_dim = 0.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
};

// Heap offsets of the optional inputs are 0 when the input is absent.
struct RopeArgs {
  std::uint32_t batch = 0;
  std::uint32_t seq_len = 0;
  std::uint32_t num_heads = 0;
  std::uint32_t head_dim = 0;
  int layout = 0;
  std::uint32_t rotary_dim = 0;
  double base = 10000.0;
  bool interleaved = true;
  double position_offset = 0.0;
  std::uint32_t position_ids = 0;  // Int32 [batch, seq]
  std::uint32_t cos_cache = 0;
  std::uint32_t sin_cache = 0;
  std::uint32_t cache_rows = 0;
  std::uint32_t cache_width = 0;
  bool cache_per_token = false;
  RopeScalingArgs scaling;
};

struct RopeCacheArgs {
  std::uint32_t max_positions = 0;
  std::uint32_t rotary_dim = 0;
  double base = 10000.0;
  RopeScalingArgs scaling;
};

attnkit::RopeScaling to_scaling(const RopeScalingArgs& args) {
  attnkit::RopeScaling scaling;
  scaling.type = static_cast<attnkit::RopeScalingType>(args.type);
  scaling.factor = args.factor;
  scaling.original_max_positions = args.original_max_positions;
  scaling.current_length = args.current_length;
  scaling.beta_fast = args.beta_fast;
  scaling.beta_slow = args.beta_slow;
  scaling.truncate = args.truncate;
  scaling.attention_factor = args.attention_factor;
  scaling.has_attention_factor = args.has_attention_factor;
  scaling.mscale = args.mscale;
  scaling.mscale_all_dim = args.mscale_all_dim;
  scaling.low_freq_factor = args.low_freq_factor;
  scaling.high_freq_factor = args.high_freq_factor;
  return scaling;
}

struct RopeCall {
  attnkit::RopeShape shape;
  attnkit::RopeOptions options;
};

RopeCall to_rope_call(const RopeArgs& args) {
  RopeCall call;
  call.shape.batch = args.batch;
  call.shape.seq_len = args.seq_len;
  call.shape.num_heads = args.num_heads;
  call.shape.head_dim = args.head_dim;
  call.shape.layout = static_cast<attnkit::RopeLayout>(args.layout);
  attnkit::RopeOptions& options = call.options;
  options.base = args.base;
  options.interleaved = args.interleaved;
  options.position_offset = static_cast<std::int64_t>(args.position_offset);
  options.rotary_dim = args.rotary_dim;
  options.position_ids = from_offset<const std::int32_t>(args.position_ids);
  options.cache.cos = from_offset<const float>(args.cos_cache);
  options.cache.sin = from_offset<const float>(args.sin_cache);
  options.cache.rows = args.cache_rows;
  options.cache.width = args.cache_width;
  options.cache.per_token = args.cache_per_token;
  options.scaling = to_scaling(args.scaling);
  return call;
}

// x and out may be the same offset (in place).
val rope(std::uintptr_t x, std::uintptr_t out, const RopeArgs& args) {
  const RopeCall call = to_rope_call(args);
  return to_js(attnkit::apply_rope(from_offset<const float>(x), from_offset<float>(out), call.shape,
                                   call.options));
}

// Checks a call without reading x; the pointers in args are read.
val rope_check(const RopeArgs& args) {
  const RopeCall call = to_rope_call(args);
  return to_js(attnkit::check_rope(call.shape, call.options));
}

val rope_cache(std::uintptr_t cos_cache, std::uintptr_t sin_cache, const RopeCacheArgs& args) {
  return to_js(attnkit::build_rope_cache(from_offset<float>(cos_cache), from_offset<float>(sin_cache),
                                         args.max_positions, args.rotary_dim, args.base,
                                         to_scaling(args.scaling)));
}

}  // namespace

EMSCRIPTEN_BINDINGS(attnkit_rope) {
  emscripten::value_object<RopeScalingArgs>("RopeScalingArgs")
      .field("type", &RopeScalingArgs::type)
      .field("factor", &RopeScalingArgs::factor)
      .field("originalMaxPositions", &RopeScalingArgs::original_max_positions)
      .field("currentLength", &RopeScalingArgs::current_length)
      .field("betaFast", &RopeScalingArgs::beta_fast)
      .field("betaSlow", &RopeScalingArgs::beta_slow)
      .field("truncate", &RopeScalingArgs::truncate)
      .field("attentionFactor", &RopeScalingArgs::attention_factor)
      .field("hasAttentionFactor", &RopeScalingArgs::has_attention_factor)
      .field("mscale", &RopeScalingArgs::mscale)
      .field("mscaleAllDim", &RopeScalingArgs::mscale_all_dim)
      .field("lowFreqFactor", &RopeScalingArgs::low_freq_factor)
      .field("highFreqFactor", &RopeScalingArgs::high_freq_factor);

  emscripten::value_object<RopeArgs>("RopeArgs")
      .field("batch", &RopeArgs::batch)
      .field("seqLen", &RopeArgs::seq_len)
      .field("numHeads", &RopeArgs::num_heads)
      .field("headDim", &RopeArgs::head_dim)
      .field("layout", &RopeArgs::layout)
      .field("rotaryDim", &RopeArgs::rotary_dim)
      .field("base", &RopeArgs::base)
      .field("interleaved", &RopeArgs::interleaved)
      .field("positionOffset", &RopeArgs::position_offset)
      .field("positionIds", &RopeArgs::position_ids)
      .field("cosCache", &RopeArgs::cos_cache)
      .field("sinCache", &RopeArgs::sin_cache)
      .field("cacheRows", &RopeArgs::cache_rows)
      .field("cacheWidth", &RopeArgs::cache_width)
      .field("cachePerToken", &RopeArgs::cache_per_token)
      .field("scaling", &RopeArgs::scaling);

  emscripten::value_object<RopeCacheArgs>("RopeCacheArgs")
      .field("maxPositions", &RopeCacheArgs::max_positions)
      .field("rotaryDim", &RopeCacheArgs::rotary_dim)
      .field("base", &RopeCacheArgs::base)
      .field("scaling", &RopeCacheArgs::scaling);

  emscripten::function("rope", &rope);
  emscripten::function("ropeCheck", &rope_check);
  emscripten::function("ropeCache", &rope_cache);
}
