// Embind functions of attention and multi-head attention.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <cstdint>

#include "attnkit/attnkit.h"
#include "binding_utils.h"

namespace {

using bindings::from_offset;
using bindings::to_js;
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

}  // namespace

EMSCRIPTEN_BINDINGS(attnkit_attention) {
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
  emscripten::function("attention", &attention);
  emscripten::function("multiheadAttention", &multihead_attention);
}
