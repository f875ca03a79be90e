// Entry point for scaled dot-product attention: checks the shape and the
// options, builds the KV cache, then builds one head view per (batch, query
// head) and runs the tiled kernel.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "attnkit/attnkit.h"
#include "checks.h"
#include "kernels/attention_kernels.h"
#include "parallel.h"
#include "kernels/attention_fast_kernels.h"

namespace attnkit {
namespace {

const char kPrefix[] = "attention: ";

// Element strides of the batch, head and sequence axes of a tensor with
// `heads` heads, `seq` rows and `dim` features per head.
struct AxisStrides {
  std::size_t batch;
  std::size_t head;
  std::size_t row;
};

AxisStrides strides_for(AttentionLayout layout, std::size_t heads, std::size_t seq,
                        std::size_t dim) {
  if (layout == AttentionLayout::kBSHD) {
    return {seq * heads * dim, dim, heads * dim};
  }
  return {heads * seq * dim, seq * dim, dim};
}

std::string dims_string(const std::size_t* dims, std::size_t rank) {
  std::string s = "[";
  for (std::size_t i = 0; i < rank; ++i) {
    s += (i ? ", " : "") + std::to_string(dims[i]);
  }
  return s + "]";
}

// The [batch, heads, q_seq_len, total] product bounds the score output and
// the mask, so it is checked only when one of them is given: plain attention
// never stores that matrix.
Status check_shape(const AttentionShape& s, std::size_t past_len, bool has_score_matrix) {
  if (s.batch == 0 || s.num_heads == 0 || s.num_kv_heads == 0 || s.head_dim == 0 ||
      s.v_head_dim == 0) {
    return Status::InvalidArgument(std::string(kPrefix) +
                                   "batch, heads and head sizes must be positive");
  }
  if (s.num_heads % s.num_kv_heads != 0) {
    return Status::InvalidArgument(std::string(kPrefix) + "numHeads (" +
                                   std::to_string(s.num_heads) +
                                   ") must be a multiple of numKvHeads (" +
                                   std::to_string(s.num_kv_heads) + ")");
  }
  const std::size_t total = s.kv_seq_len + past_len;
  std::size_t n = 0;
  if (total < s.kv_seq_len ||
      !detail::checked_product({s.batch, s.num_heads, s.q_seq_len, s.head_dim}, &n) ||
      !detail::checked_product({s.batch, s.num_heads, s.q_seq_len, s.v_head_dim}, &n) ||
      (has_score_matrix && !detail::checked_product({s.batch, s.num_heads, s.q_seq_len, total}, &n)) ||
      !detail::checked_product({s.batch, s.num_kv_heads, total, s.head_dim}, &n) ||
      !detail::checked_product({s.batch, s.num_kv_heads, total, s.v_head_dim}, &n)) {
    return Status::OutOfRange(std::string(kPrefix) + "tensor sizes exceed 2^29 elements");
  }
  return Status::Ok();
}

// The kernel's scratch buffer needs AttentionScratch::floats_needed() floats,
// an affine function of the two head sizes. It is evaluated here in 64 bits
// from its coefficients, because the size_t result can wrap in the 32-bit
// WebAssembly build and would then allocate a buffer too short for the
// kernel.
Status check_scratch_size(const AttentionShape& s) {
  using Scratch = kernels::AttentionScratch;
  const std::uint64_t constant = Scratch::floats_needed(0, 0);
  const std::uint64_t per_head_dim = Scratch::floats_needed(1, 0) - constant;
  const std::uint64_t per_v_head_dim = Scratch::floats_needed(0, 1) - constant;
  const std::uint64_t floats = constant + per_head_dim * s.head_dim + per_v_head_dim * s.v_head_dim;
  if (floats > detail::kMaxElements) {
    return Status::OutOfRange(std::string(kPrefix) + "head sizes " + std::to_string(s.head_dim) +
                              " and " + std::to_string(s.v_head_dim) + " need " +
                              std::to_string(floats) +
                              " floats of scratch memory, more than the limit of " +
                              std::to_string(detail::kMaxElements));
  }
  return Status::Ok();
}

// Resolved mask broadcast: element (b, h, i, j) sits at
// b·batch + h·head + i·row + j·col, and keys j >= cols are blocked.
struct MaskLayout {
  std::size_t batch = 0;
  std::size_t head = 0;
  std::size_t row = 0;
  std::size_t col = 0;
  std::size_t cols = 0;
};

Status resolve_mask(const AttentionShape& s, const AttentionOptions& o, std::size_t total,
                    MaskLayout* layout) {
  if (o.mask_type != MaskType::kBool && o.mask_type != MaskType::kFloat) {
    return Status::InvalidArgument(std::string(kPrefix) + "mask type code " +
                                   std::to_string(static_cast<int>(o.mask_type)) +
                                   " is invalid; expected 1 (bool) or 2 (float)");
  }
  // mask_dims has four entries, so a larger rank prints only those.
  const std::string given_dims = dims_string(o.mask_dims, std::min<std::size_t>(o.mask_rank, 4));
  const std::size_t target[4] = {s.batch, s.num_heads, s.q_seq_len, total};
  const std::string target_text = dims_string(target, 4);
  if (o.mask_rank < 2 || o.mask_rank > 4) {
    return Status::InvalidArgument(std::string(kPrefix) + "mask must have rank 2, 3 or 4, got rank " +
                                   std::to_string(o.mask_rank) + " (dims " + given_dims + ")");
  }
  // Align from the right: missing leading axes have size 1.
  std::size_t dims[4] = {1, 1, 1, 1};
  for (std::size_t i = 0; i < o.mask_rank; ++i) {
    dims[4 - o.mask_rank + i] = o.mask_dims[i];
  }
  for (std::size_t a = 0; a < 3; ++a) {
    if (dims[a] != 1 && dims[a] != target[a]) {
      return Status::InvalidArgument(std::string(kPrefix) + "mask dims " + given_dims +
                                     " cannot broadcast to [batch, heads, qLen, totalKvLen] = " +
                                     target_text);
    }
  }
  if (dims[3] > total || (dims[3] == 0 && total > 0)) {
    return Status::InvalidArgument(std::string(kPrefix) + "mask dims " + given_dims +
                                   " cannot broadcast to [batch, heads, qLen, totalKvLen] = " +
                                   target_text + "; the last dim must be 1 or at most " +
                                   std::to_string(total));
  }
  const std::size_t stride_row = dims[3];
  const std::size_t stride_head = dims[2] * stride_row;
  const std::size_t stride_batch = dims[1] * stride_head;
  layout->batch = dims[0] == 1 ? 0 : stride_batch;
  layout->head = dims[1] == 1 ? 0 : stride_head;
  layout->row = dims[2] == 1 ? 0 : stride_row;
  // NOTE: a last axis of 1 broadcasts over every key, as in numpy and
  // PyTorch. ONNX opset 24 pads a short last axis with −inf, which would
  // instead block every key but the first; no ONNX case covers this.
  if (dims[3] == 1 && total > 1) {
    layout->col = 0;  // one column broadcast over every key
    layout->cols = total;
  } else {
    layout->col = 1;
    layout->cols = dims[3];
  }
  return Status::Ok();
}

Status check_options(const AttentionShape& s, const AttentionOptions& o,
                     const AttentionExtras& e, std::size_t total) {
  const std::string prefix = kPrefix;
  if (o.has_scale && !std::isfinite(o.scale)) {
    return Status::InvalidArgument(prefix + "scale must be finite, got " + std::to_string(o.scale));
  }
  if (!std::isfinite(o.softcap) || o.softcap < 0.0f) {
    return Status::InvalidArgument(prefix + "softcap must be a finite number >= 0 (0 = off), got " +
                                   std::to_string(o.softcap));
  }
  const int causal = static_cast<int>(o.causal);
  if (causal < 0 || causal > 3) {
    return Status::InvalidArgument(prefix + "causal alignment code " + std::to_string(causal) +
                                   " is invalid; expected 0 to 3");
  }
  const int mode = static_cast<int>(e.scores_mode);
  if (mode < 0 || mode > 3) {
    return Status::InvalidArgument(prefix + "qkMatmulOutputMode must be 0, 1, 2 or 3, got " +
                                   std::to_string(mode));
  }
  if ((e.past_key == nullptr) != (e.past_value == nullptr)) {
    return Status::InvalidArgument(prefix + "pastKey and pastValue must be given together");
  }
  if (e.past_seq_len > 0 && e.past_key == nullptr) {
    return Status::InvalidArgument(prefix + "pastSeqLen is " + std::to_string(e.past_seq_len) +
                                   " but pastKey and pastValue are null");
  }
  if (o.nonpad_kv_seqlen && e.past_key) {
    return Status::InvalidArgument(prefix +
                                   "nonpadKvSeqlen cannot be combined with pastKey/pastValue");
  }
  if (o.nonpad_kv_seqlen) {
    for (std::size_t b = 0; b < s.batch; ++b) {
      const std::int64_t n = o.nonpad_kv_seqlen[b];
      if (n < 0 || static_cast<std::uint64_t>(n) > total) {
        return Status::InvalidArgument(prefix + "nonpadKvSeqlen[" + std::to_string(b) + "] is " +
                                       std::to_string(n) + ", expected a value in [0, " +
                                       std::to_string(total) + "]");
      }
    }
  }
  return Status::Ok();
}

// Writes concat(past, new) for one of K or V into present [batch, kv_heads,
// total, dim]. The new rows are read in `layout` order.
void build_present(const float* past, const float* fresh, float* present,
                   const AttentionShape& s, std::size_t past_len, std::size_t dim) {
  const std::size_t total = past_len + s.kv_seq_len;
  const AxisStrides fs = strides_for(s.layout, s.num_kv_heads, s.kv_seq_len, dim);
  for (std::size_t b = 0; b < s.batch; ++b) {
    for (std::size_t h = 0; h < s.num_kv_heads; ++h) {
      float* dst = present + (b * s.num_kv_heads + h) * total * dim;
      if (past_len > 0) {
        std::memcpy(dst, past + (b * s.num_kv_heads + h) * past_len * dim,
                    past_len * dim * sizeof(float));
      }
      for (std::size_t r = 0; r < s.kv_seq_len; ++r) {
        std::memcpy(dst + (past_len + r) * dim, fresh + b * fs.batch + h * fs.head + r * fs.row,
                    dim * sizeof(float));
      }
    }
  }
}

// Returns the causal offset for batch b; see CausalAlignment.
std::ptrdiff_t causal_offset(const AttentionOptions& o, const AttentionExtras& e,
                             std::size_t b, std::size_t q_len, std::size_t total) {
  const auto signed_len = [](std::size_t n) { return static_cast<std::ptrdiff_t>(n); };
  const std::ptrdiff_t valid =
      o.nonpad_kv_seqlen ? static_cast<std::ptrdiff_t>(o.nonpad_kv_seqlen[b]) : signed_len(total);
  switch (o.causal) {
    case CausalAlignment::kOnnx:
      if (e.past_key) return signed_len(e.past_seq_len);
      if (o.nonpad_kv_seqlen) return valid - signed_len(q_len);
      return 0;
    case CausalAlignment::kBottomRight:
      return valid - signed_len(q_len);
    default:
      return 0;
  }
}

// Everything head_view() needs to build the view of one (batch, head) pair.
struct HeadCall {
  const AttentionShape& shape;
  const AttentionOptions& options;
  const AttentionExtras& extras;
  const MaskLayout& mask_layout;
  std::size_t total = 0;  // past + new keys
  float scale = 1.0f;
  const float* q = nullptr;
  const float* keys = nullptr;    // k, or present_key with a past cache
  const float* values = nullptr;  // v, or present_value with a past cache
  float* out = nullptr;
  AxisStrides qs{}, ks{}, vs{}, os{};
};

// Returns the kernel's view of batch b and query head h.
kernels::HeadView head_view(const HeadCall& c, std::size_t b, std::size_t h) {
  const AttentionShape& shape = c.shape;
  // Each key/value head serves a consecutive group of query heads.
  const std::size_t kv_head = h / (shape.num_heads / shape.num_kv_heads);
  kernels::HeadView view;
  view.q = c.q + b * c.qs.batch + h * c.qs.head;
  view.k = c.keys ? c.keys + b * c.ks.batch + kv_head * c.ks.head : nullptr;
  view.v = c.values ? c.values + b * c.vs.batch + kv_head * c.vs.head : nullptr;
  view.out = c.out + b * c.os.batch + h * c.os.head;
  view.q_stride = c.qs.row;
  view.k_stride = c.ks.row;
  view.v_stride = c.vs.row;
  view.out_stride = c.os.row;
  view.q_len = shape.q_seq_len;
  view.kv_len = c.total;
  view.head_dim = shape.head_dim;
  view.v_head_dim = shape.v_head_dim;
  view.scale = c.scale;
  if (c.extras.scores) {
    view.scores_out = c.extras.scores + (b * shape.num_heads + h) * shape.q_seq_len * c.total;
    view.scores_stage = static_cast<kernels::ScoreStage>(c.extras.scores_mode);
  }

  const AttentionOptions& o = c.options;
  kernels::HeadBias& bias = view.bias;
  bias.softcap = o.softcap;
  bias.key_limit = o.nonpad_kv_seqlen ? static_cast<std::size_t>(o.nonpad_kv_seqlen[b]) : c.total;
  bias.causal = o.causal != CausalAlignment::kNone;
  bias.causal_offset = causal_offset(o, c.extras, b, shape.q_seq_len, c.total);
  if (o.mask_type != MaskType::kNone) {
    const std::size_t element = o.mask_type == MaskType::kBool ? 1 : sizeof(float);
    bias.mask = static_cast<const char*>(o.mask) +
                (b * c.mask_layout.batch + h * c.mask_layout.head) * element;
    bias.mask_is_bool = o.mask_type == MaskType::kBool;
    bias.mask_row_stride = c.mask_layout.row;
    bias.mask_col_stride = c.mask_layout.col;
    bias.mask_cols = c.mask_layout.cols;
  }
  return view;
}

// Narrows a head view to query rows [row0, row0 + rows), keeping each row's
// absolute position for the causal limit, the mask and the score output.
kernels::HeadView query_rows(kernels::HeadView view, std::size_t row0, std::size_t rows) {
  view.q += row0 * view.q_stride;
  view.out += row0 * view.out_stride;
  if (view.scores_out) view.scores_out += row0 * view.kv_len;
  view.q_len = rows;
  kernels::HeadBias& bias = view.bias;
  bias.causal_offset += static_cast<std::ptrdiff_t>(row0);
  if (bias.mask) {
    const std::size_t element = bias.mask_is_bool ? 1 : sizeof(float);
    bias.mask = static_cast<const char*>(bias.mask) + row0 * bias.mask_row_stride * element;
  }
  return view;
}

}  // namespace

Status scaled_dot_product_attention(const float* q, const float* k, const float* v, float* out,
                                    const AttentionShape& shape,
                                    const AttentionOptions& options) {
  return scaled_dot_product_attention(q, k, v, out, shape, options, AttentionExtras{});
}

namespace {

// Checks a call before anything is allocated: shape, options, mask, the
// kernel's scratch size and the pointers. Messages start with "attention: ".
Status check_call(const float* q, const float* k, const float* v, const float* out,
                  const AttentionShape& shape, const AttentionOptions& options,
                  const AttentionExtras& extras, MaskLayout* mask_layout) {
  const std::size_t past_len = extras.past_key ? extras.past_seq_len : 0;
  Status status = check_shape(shape, past_len,
                              extras.scores != nullptr || options.mask_type != MaskType::kNone);
  if (!status.ok()) {
    return status;
  }
  const std::size_t total = past_len + shape.kv_seq_len;
  status = check_options(shape, options, extras, total);
  if (!status.ok()) {
    return status;
  }
  if (options.mask_type != MaskType::kNone) {
    status = resolve_mask(shape, options, total, mask_layout);
    if (!status.ok()) {
      return status;
    }
  }
  if (shape.q_seq_len > 0) {
    status = check_scratch_size(shape);
    if (!status.ok()) {
      return status;
    }
  }
  if ((shape.q_seq_len > 0 && (!q || !out)) || (shape.kv_seq_len > 0 && (!k || !v)) ||
      (options.mask_type != MaskType::kNone && !options.mask && shape.q_seq_len > 0 && total > 0)) {
    return Status::InvalidArgument("attention: null data pointer");
  }
  return Status::Ok();
}

}  // namespace

namespace detail {

Status check_attention_call(const char* op, const float* q, const float* k, const float* v,
                            const float* out, const AttentionShape& shape,
                            const AttentionOptions& options) {
  MaskLayout mask_layout;
  Status status = check_call(q, k, v, out, shape, options, AttentionExtras{}, &mask_layout);
  if (!status.ok()) {
    status.message.replace(0, status.message.find(':'), op);
  }
  return status;
}

}  // namespace detail

Status scaled_dot_product_attention(const float* q, const float* k, const float* v, float* out,
                                    const AttentionShape& shape, const AttentionOptions& options,
                                    const AttentionExtras& extras) {
  MaskLayout mask_layout;
  Status status = check_call(q, k, v, out, shape, options, extras, &mask_layout);
  if (!status.ok()) {
    return status;
  }
  const std::size_t past_len = extras.past_key ? extras.past_seq_len : 0;
  const std::size_t total = past_len + shape.kv_seq_len;

  // With a past cache the kernel reads keys and values from present, which
  // then has to exist even when the caller did not request it.
  const bool need_present = past_len > 0 || extras.past_key != nullptr;
  std::size_t present_k_size = 0;
  std::size_t present_v_size = 0;
  detail::checked_product({shape.batch, shape.num_kv_heads, total, shape.head_dim}, &present_k_size);
  detail::checked_product({shape.batch, shape.num_kv_heads, total, shape.v_head_dim},
                          &present_v_size);
  detail::FloatBuffer own_present_k(need_present && !extras.present_key ? present_k_size : 0);
  detail::FloatBuffer own_present_v(need_present && !extras.present_value ? present_v_size : 0);
  if (!own_present_k || !own_present_v) {
    return Status::ResourceExhausted("attention: could not allocate the KV cache");
  }
  float* present_k = extras.present_key ? extras.present_key : own_present_k.get();
  float* present_v = extras.present_value ? extras.present_value : own_present_v.get();
  if (extras.present_key || need_present) {
    build_present(extras.past_key, k, present_k, shape, past_len, shape.head_dim);
  }
  if (extras.present_value || need_present) {
    build_present(extras.past_value, v, present_v, shape, past_len, shape.v_head_dim);
  }

  if (shape.q_seq_len == 0) {
    return Status::Ok();  // empty output
  }

  const AttentionLayout kv_layout = need_present ? AttentionLayout::kBHSD : shape.layout;
  HeadCall call{shape, options, extras, mask_layout, total};
  call.scale =
      options.has_scale ? options.scale : 1.0f / std::sqrt(static_cast<float>(shape.head_dim));
  call.q = q;
  call.keys = need_present ? present_k : k;
  call.values = need_present ? present_v : v;
  call.out = out;
  call.qs = strides_for(shape.layout, shape.num_heads, shape.q_seq_len, shape.head_dim);
  call.ks = strides_for(kv_layout, shape.num_kv_heads, total, shape.head_dim);
  call.vs = strides_for(kv_layout, shape.num_kv_heads, total, shape.v_head_dim);
  call.os = strides_for(shape.out_layout, shape.num_heads, shape.q_seq_len, shape.v_head_dim);

  // One scratch area per thread, carved on this thread: workers must not
  // allocate (see detail::parallel_for).
  const std::size_t threads = num_threads();
  const std::size_t scratch_floats =
      kernels::AttentionScratch::floats_needed(shape.head_dim, shape.v_head_dim);
  detail::FloatBuffer scratch_memory(threads * scratch_floats);
  if (!scratch_memory) {
    return Status::ResourceExhausted("attention: could not allocate scratch memory");
  }

  // Work items are (batch, view, block of kRowsPerItem query rows), each
  // computed by one thread, so the result does not depend on the thread count.
  // Decoding one row with grouped key/value heads: the query heads of a group
  // become the rows of one view, so each key/value head is read once.
  const std::size_t group = shape.num_heads / shape.num_kv_heads;
  const bool stack_groups = shape.q_seq_len == 1 && group > 1 &&
                            kernels::fast_path_applies(head_view(call, 0, 0));
  const std::size_t heads_per_view = stack_groups ? group : 1;
  const std::size_t views = shape.num_heads / heads_per_view;
  constexpr std::size_t kRowsPerItem = 64;
  const std::size_t row_blocks = (shape.q_seq_len + kRowsPerItem - 1) / kRowsPerItem;
  detail::parallel_for(shape.batch * views * row_blocks, [&](std::size_t thread_index,
                                                             std::size_t item) {
    const std::size_t b = item / (views * row_blocks);
    const std::size_t h = item / row_blocks % views * heads_per_view;
    // Later query rows attend more keys under the causal rule, so each
    // head's row blocks are handed out last to first. The items with the
    // most keys then start first, and the pool's threads finish together.
    const std::size_t block = item % row_blocks;
    const std::size_t row0 = (options.causal != CausalAlignment::kNone ? row_blocks - 1 - block : block) *
                             kRowsPerItem;
    const kernels::AttentionScratch scratch = kernels::AttentionScratch::carve(
        scratch_memory.get() + thread_index * scratch_floats, shape.head_dim, shape.v_head_dim);
    kernels::HeadView view = head_view(call, b, h);
    if (stack_groups) {
      view = kernels::stack_decode_heads(view, group, call.qs.head, call.os.head);
    } else {
      view = query_rows(view, row0, std::min(kRowsPerItem, shape.q_seq_len - row0));
    }
    kernels::attention_head(view, scratch);
  });
  return Status::Ok();
}

const char* simd_name() {
#if defined(__wasm_simd128__)
  return "wasm-simd128";
#else
  return kernels::Arch::name();
#endif
}

}  // namespace attnkit
