// Embind layer of the WebAssembly module. It only translates: JavaScript
// passes heap offsets and plain shape objects, and each function returns
// null on success or { code, message } with the C++ Status. No function
// throws or aborts, so the module stays usable after an error.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <cstdint>

#include "attnkit/attnkit.h"

namespace {

using emscripten::val;

// Shape and options of attention() as JavaScript passes them.
struct AttentionArgs {
  std::uint32_t batch = 0;
  std::uint32_t num_heads = 0;
  std::uint32_t num_kv_heads = 0;
  std::uint32_t q_seq_len = 0;
  std::uint32_t kv_seq_len = 0;
  std::uint32_t head_dim = 0;
  std::uint32_t v_head_dim = 0;
  int layout = 0;      // 0: [B, H, S, D], 1: [B, S, H·D]
  int out_layout = 0;  // same codes, for the output
  bool has_scale = false;
  float scale = 0.0f;
};

struct MultiheadArgs {
  std::uint32_t batch = 0;
  std::uint32_t num_heads = 0;
  std::uint32_t q_seq_len = 0;
  std::uint32_t kv_seq_len = 0;
  std::uint32_t head_dim = 0;
  bool has_scale = false;
  float scale = 0.0f;
};

struct RopeArgs {
  std::uint32_t batch = 0;
  std::uint32_t seq_len = 0;
  std::uint32_t num_heads = 0;
  std::uint32_t head_dim = 0;
  double base = 10000.0;
  bool interleaved = true;
  double position_offset = 0.0;
};

template <class T>
T* from_offset(std::uintptr_t offset) {
  return reinterpret_cast<T*>(offset);
}

val to_js(const attnkit::Status& status) {
  if (status.ok()) {
    return val::null();
  }
  val error = val::object();
  error.set("code", static_cast<int>(status.code));
  error.set("message", status.message);
  return error;
}

attnkit::AttentionLayout to_layout(int code) {
  return code == 1 ? attnkit::AttentionLayout::kBSHD : attnkit::AttentionLayout::kBHSD;
}

val attention(std::uintptr_t q, std::uintptr_t k, std::uintptr_t v, std::uintptr_t out,
              const AttentionArgs& args) {
  if ((args.layout != 0 && args.layout != 1) || (args.out_layout != 0 && args.out_layout != 1)) {
    return to_js(attnkit::Status::InvalidArgument("attention: layout code must be 0 or 1"));
  }
  attnkit::AttentionShape shape;
  shape.batch = args.batch;
  shape.num_heads = args.num_heads;
  shape.num_kv_heads = args.num_kv_heads;
  shape.q_seq_len = args.q_seq_len;
  shape.kv_seq_len = args.kv_seq_len;
  shape.head_dim = args.head_dim;
  shape.v_head_dim = args.v_head_dim;
  shape.layout = to_layout(args.layout);
  shape.out_layout = to_layout(args.out_layout);
  attnkit::AttentionOptions options;
  options.has_scale = args.has_scale;
  options.scale = args.scale;
  return to_js(attnkit::scaled_dot_product_attention(
      from_offset<const float>(q), from_offset<const float>(k), from_offset<const float>(v),
      from_offset<float>(out), shape, options));
}

val multihead_attention(std::uintptr_t q, std::uintptr_t k, std::uintptr_t v,
                        std::uintptr_t o_weight, std::uintptr_t o_bias, std::uintptr_t out,
                        const MultiheadArgs& args) {
  attnkit::MultiheadShape shape;
  shape.batch = args.batch;
  shape.num_heads = args.num_heads;
  shape.q_seq_len = args.q_seq_len;
  shape.kv_seq_len = args.kv_seq_len;
  shape.head_dim = args.head_dim;
  attnkit::AttentionOptions options;
  options.has_scale = args.has_scale;
  options.scale = args.scale;
  return to_js(attnkit::multihead_attention(
      from_offset<const float>(q), from_offset<const float>(k), from_offset<const float>(v),
      from_offset<const float>(o_weight), from_offset<const float>(o_bias),
      from_offset<float>(out), shape, options));
}

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

std::string version() { return attnkit::kVersion; }
std::string simd() { return attnkit::simd_name(); }

}  // namespace

EMSCRIPTEN_BINDINGS(attnkit) {
  emscripten::value_object<AttentionArgs>("AttentionArgs")
      .field("batch", &AttentionArgs::batch)
      .field("numHeads", &AttentionArgs::num_heads)
      .field("numKvHeads", &AttentionArgs::num_kv_heads)
      .field("qSeqLen", &AttentionArgs::q_seq_len)
      .field("kvSeqLen", &AttentionArgs::kv_seq_len)
      .field("headDim", &AttentionArgs::head_dim)
      .field("vHeadDim", &AttentionArgs::v_head_dim)
      .field("layout", &AttentionArgs::layout)
      .field("outLayout", &AttentionArgs::out_layout)
      .field("hasScale", &AttentionArgs::has_scale)
      .field("scale", &AttentionArgs::scale);
  emscripten::value_object<MultiheadArgs>("MultiheadArgs")
      .field("batch", &MultiheadArgs::batch)
      .field("numHeads", &MultiheadArgs::num_heads)
      .field("qSeqLen", &MultiheadArgs::q_seq_len)
      .field("kvSeqLen", &MultiheadArgs::kv_seq_len)
      .field("headDim", &MultiheadArgs::head_dim)
      .field("hasScale", &MultiheadArgs::has_scale)
      .field("scale", &MultiheadArgs::scale);
  emscripten::value_object<RopeArgs>("RopeArgs")
      .field("batch", &RopeArgs::batch)
      .field("seqLen", &RopeArgs::seq_len)
      .field("numHeads", &RopeArgs::num_heads)
      .field("headDim", &RopeArgs::head_dim)
      .field("base", &RopeArgs::base)
      .field("interleaved", &RopeArgs::interleaved)
      .field("positionOffset", &RopeArgs::position_offset);

  emscripten::function("attention", &attention);
  emscripten::function("multiheadAttention", &multihead_attention);
  emscripten::function("rope", &rope);
  emscripten::function("version", &version);
  emscripten::function("simd", &simd);
}
