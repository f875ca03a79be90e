// Embind functions of attention and multi-head attention.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <cstdint>
#include <string>
#include <vector>

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
  float softcap = 0.0f;
  int causal = 0;       // attnkit::CausalAlignment code
  int mask_type = 0;    // attnkit::MaskType code
  std::uint32_t past_seq_len = 0;
  int scores_mode = 0;  // attnkit::ScoreOutputMode code
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

// Copies a JavaScript array of integers (exact in a double) into int64s.
std::vector<std::int64_t> int64_vector(const val& array) {
  std::vector<std::int64_t> out;
  if (array.isNull() || array.isUndefined()) {
    return out;
  }
  const std::size_t n = array["length"].as<std::size_t>();
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(static_cast<std::int64_t>(array[i].as<double>()));
  }
  return out;
}

// Pointers of attention_with_cache(); 0 marks an absent tensor.
struct AttentionBuffers {
  std::uintptr_t q = 0, k = 0, v = 0, out = 0, mask = 0;
  std::uintptr_t past_key = 0, past_value = 0, present_key = 0, present_value = 0, scores = 0;
};

val attention_with_cache(const AttentionBuffers& p, const AttentionArgs& args,
                         const val& mask_dims, const val& nonpad) {
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
  options.softcap = args.softcap;
  options.causal = static_cast<attnkit::CausalAlignment>(args.causal);
  options.mask_type = static_cast<attnkit::MaskType>(args.mask_type);
  options.mask = from_offset<const void>(p.mask);
  const std::vector<std::int64_t> dims = int64_vector(mask_dims);
  if (dims.size() > 4) {
    return to_js(attnkit::Status::InvalidArgument("attention: mask must have rank 2, 3 or 4, got rank " +
                                                  std::to_string(dims.size())));
  }
  options.mask_rank = dims.size();
  for (std::size_t i = 0; i < dims.size(); ++i) {
    options.mask_dims[i] = static_cast<std::size_t>(dims[i]);
  }
  const std::vector<std::int64_t> nonpad_values = int64_vector(nonpad);
  if (!nonpad.isNull() && !nonpad.isUndefined()) {
    if (nonpad_values.size() != shape.batch) {
      return to_js(attnkit::Status::InvalidArgument(
          "attention: nonpadKvSeqlen has " + std::to_string(nonpad_values.size()) +
          " values, expected batch = " + std::to_string(shape.batch)));
    }
    options.nonpad_kv_seqlen = nonpad_values.data();
  }

  attnkit::AttentionExtras extras;
  extras.past_key = from_offset<const float>(p.past_key);
  extras.past_value = from_offset<const float>(p.past_value);
  extras.past_seq_len = args.past_seq_len;
  extras.present_key = from_offset<float>(p.present_key);
  extras.present_value = from_offset<float>(p.present_value);
  extras.scores = from_offset<float>(p.scores);
  extras.scores_mode = static_cast<attnkit::ScoreOutputMode>(args.scores_mode);
  return to_js(attnkit::scaled_dot_product_attention(
      from_offset<const float>(p.q), from_offset<const float>(p.k), from_offset<const float>(p.v),
      from_offset<float>(p.out), shape, options, extras));
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

// Pointers and sizes of multihead_attention_forward(); 0 marks an absent tensor.
struct MultiheadForwardArgs {
  std::uintptr_t query = 0, key = 0, value = 0, mask = 0;
  std::uintptr_t in_proj_weight = 0, in_proj_bias = 0, out_proj_weight = 0, out_proj_bias = 0;
  std::uintptr_t out = 0, weights_out = 0;
  std::uint32_t batch = 0;
  std::uint32_t num_heads = 0;
  std::uint32_t q_seq_len = 0;
  std::uint32_t kv_seq_len = 0;
  std::uint32_t embed_dim = 0;
  bool has_scale = false;
  float scale = 0.0f;
  int causal = 0;  // attnkit::CausalAlignment code
};

val multihead_attention_forward(const MultiheadForwardArgs& args, const val& mask_dims) {
  attnkit::MultiheadForwardShape shape;
  shape.batch = args.batch;
  shape.num_heads = args.num_heads;
  shape.q_seq_len = args.q_seq_len;
  shape.kv_seq_len = args.kv_seq_len;
  shape.embed_dim = args.embed_dim;
  attnkit::MultiheadForwardWeights weights;
  weights.in_proj_weight = from_offset<const float>(args.in_proj_weight);
  weights.in_proj_bias = from_offset<const float>(args.in_proj_bias);
  weights.out_proj_weight = from_offset<const float>(args.out_proj_weight);
  weights.out_proj_bias = from_offset<const float>(args.out_proj_bias);
  attnkit::AttentionOptions options;
  options.has_scale = args.has_scale;
  options.scale = args.scale;
  options.causal = static_cast<attnkit::CausalAlignment>(args.causal);
  if (args.mask) {
    const std::vector<std::int64_t> dims = int64_vector(mask_dims);
    if (dims.size() > 4) {
      return to_js(attnkit::Status::InvalidArgument(
          "multiheadAttentionForward: mask must have rank 2, 3 or 4"));
    }
    options.mask = from_offset<const void>(args.mask);
    options.mask_type = attnkit::MaskType::kFloat;
    options.mask_rank = dims.size();
    for (std::size_t i = 0; i < dims.size(); ++i) {
      options.mask_dims[i] = static_cast<std::size_t>(dims[i]);
    }
  }
  return to_js(attnkit::multihead_attention_forward(
      from_offset<const float>(args.query), from_offset<const float>(args.key),
      from_offset<const float>(args.value), weights, from_offset<float>(args.out),
      from_offset<float>(args.weights_out), shape, options));
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
      .field("scale", &AttentionArgs::scale)
      .field("softcap", &AttentionArgs::softcap)
      .field("causal", &AttentionArgs::causal)
      .field("maskType", &AttentionArgs::mask_type)
      .field("pastSeqLen", &AttentionArgs::past_seq_len)
      .field("scoresMode", &AttentionArgs::scores_mode);
  emscripten::value_object<AttentionBuffers>("AttentionBuffers")
      .field("q", &AttentionBuffers::q)
      .field("k", &AttentionBuffers::k)
      .field("v", &AttentionBuffers::v)
      .field("out", &AttentionBuffers::out)
      .field("mask", &AttentionBuffers::mask)
      .field("pastKey", &AttentionBuffers::past_key)
      .field("pastValue", &AttentionBuffers::past_value)
      .field("presentKey", &AttentionBuffers::present_key)
      .field("presentValue", &AttentionBuffers::present_value)
      .field("scores", &AttentionBuffers::scores);
  emscripten::value_object<MultiheadArgs>("MultiheadArgs")
      .field("batch", &MultiheadArgs::batch)
      .field("numHeads", &MultiheadArgs::num_heads)
      .field("qSeqLen", &MultiheadArgs::q_seq_len)
      .field("kvSeqLen", &MultiheadArgs::kv_seq_len)
      .field("headDim", &MultiheadArgs::head_dim)
      .field("hasScale", &MultiheadArgs::has_scale)
      .field("scale", &MultiheadArgs::scale);
  emscripten::value_object<MultiheadForwardArgs>("MultiheadForwardArgs")
      .field("query", &MultiheadForwardArgs::query)
      .field("key", &MultiheadForwardArgs::key)
      .field("value", &MultiheadForwardArgs::value)
      .field("mask", &MultiheadForwardArgs::mask)
      .field("inProjWeight", &MultiheadForwardArgs::in_proj_weight)
      .field("inProjBias", &MultiheadForwardArgs::in_proj_bias)
      .field("outProjWeight", &MultiheadForwardArgs::out_proj_weight)
      .field("outProjBias", &MultiheadForwardArgs::out_proj_bias)
      .field("out", &MultiheadForwardArgs::out)
      .field("weightsOut", &MultiheadForwardArgs::weights_out)
      .field("batch", &MultiheadForwardArgs::batch)
      .field("numHeads", &MultiheadForwardArgs::num_heads)
      .field("qSeqLen", &MultiheadForwardArgs::q_seq_len)
      .field("kvSeqLen", &MultiheadForwardArgs::kv_seq_len)
      .field("embedDim", &MultiheadForwardArgs::embed_dim)
      .field("hasScale", &MultiheadForwardArgs::has_scale)
      .field("scale", &MultiheadForwardArgs::scale)
      .field("causal", &MultiheadForwardArgs::causal);
  emscripten::function("multiheadAttentionForward", &multihead_attention_forward);
  emscripten::function("attention", &attention);
  emscripten::function("attentionWithCache", &attention_with_cache);
  emscripten::function("multiheadAttention", &multihead_attention);
}
