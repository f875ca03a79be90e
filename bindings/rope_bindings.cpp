// Embind functions of rotary position embedding.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <cstdint>

#include "attnkit/attnkit.h"
#include "binding_utils.h"

namespace {

using bindings::from_offset;
using bindings::to_js;
using emscripten::val;

struct RopeArgs {
  std::uint32_t batch = 0;
  std::uint32_t seq_len = 0;
  std::uint32_t num_heads = 0;
  std::uint32_t head_dim = 0;
  double base = 10000.0;
  bool interleaved = true;
  double position_offset = 0.0;
};

val rope(std::uintptr_t x, std::uintptr_t out, const RopeArgs& args) {
  attnkit::RopeShape shape;
  shape.batch = args.batch;
  shape.seq_len = args.seq_len;
  shape.num_heads = args.num_heads;
  shape.head_dim = args.head_dim;
  attnkit::RopeOptions options;
  options.base = args.base;
  options.interleaved = args.interleaved;
  options.position_offset = static_cast<std::int64_t>(args.position_offset);
  return to_js(attnkit::apply_rope(from_offset<const float>(x), from_offset<float>(out), shape,
                                   options));
}

}  // namespace

EMSCRIPTEN_BINDINGS(attnkit_rope) {
  emscripten::value_object<RopeArgs>("RopeArgs")
      .field("batch", &RopeArgs::batch)
      .field("seqLen", &RopeArgs::seq_len)
      .field("numHeads", &RopeArgs::num_heads)
      .field("headDim", &RopeArgs::head_dim)
      .field("base", &RopeArgs::base)
      .field("interleaved", &RopeArgs::interleaved)
      .field("positionOffset", &RopeArgs::position_offset);

  emscripten::function("rope", &rope);
}
