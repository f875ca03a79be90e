// Multi-head attention with already projected inputs: attention per head
// written straight into the concatenated [batch, seq, E] layout, then the
// output projection as one packed matrix product.
#include <string>

#include "attnkit/attnkit.h"
#include "checks.h"
#include "kernels/gemm_kernels.h"
#include "parallel.h"

namespace attnkit {
namespace {

// Shape of the per-head attention inside multi-head attention: as many key/value
// heads as query heads, one head size for q, k and v, and the output written
// as [batch, q_seq_len, heads, head_dim], which is the concatenated layout.
AttentionShape per_head_shape(std::size_t batch, std::size_t num_heads, std::size_t q_seq_len,
                              std::size_t kv_seq_len, std::size_t head_dim,
                              AttentionLayout input_layout) {
  AttentionShape shape;
  shape.batch = batch;
  shape.num_heads = num_heads;
  shape.num_kv_heads = num_heads;
  shape.q_seq_len = q_seq_len;
  shape.kv_seq_len = kv_seq_len;
  shape.head_dim = head_dim;
  shape.v_head_dim = head_dim;
  shape.layout = input_layout;
  shape.out_layout = AttentionLayout::kBSHD;
  return shape;
}

}  // namespace

Status multihead_attention(const float* q, const float* k, const float* v,
                           const float* o_weight, const float* o_bias, float* out,
                           const MultiheadShape& shape, const AttentionOptions& options) {
  const std::size_t embed = shape.num_heads * shape.head_dim;
  std::size_t concat_size = 0;
  std::size_t weight_size = 0;
  if (!detail::checked_product({shape.batch, shape.q_seq_len, shape.num_heads, shape.head_dim},
                               &concat_size) ||
      !detail::checked_product({shape.num_heads, shape.head_dim, shape.num_heads, shape.head_dim},
                               &weight_size)) {
    return Status::OutOfRange("multiheadAttention: tensor sizes exceed 2^29 elements");
  }
  if (!o_weight && weight_size > 0) {
    return Status::InvalidArgument("multiheadAttention: null output projection");
  }

  // Attention reads q, k, v as [batch, heads, seq, head_dim] and writes the
  // output as [batch, seq, heads, head_dim], which is concat's layout.
  const AttentionShape attention_shape =
      per_head_shape(shape.batch, shape.num_heads, shape.q_seq_len, shape.kv_seq_len,
                     shape.head_dim, AttentionLayout::kBHSD);

  // Everything is checked before the first allocation, so a bad call never
  // allocates the concat and packed buffers.
  Status status = detail::check_attention_call("multiheadAttention", q, k, v, out,
                                               attention_shape, options);
  if (!status.ok() || concat_size == 0) {
    return status;
  }

  // The heads land side by side in concat [batch, q_seq_len, E].
  detail::FloatBuffer concat(concat_size);
  detail::FloatBuffer packed(kernels::packed_panels_floats(embed, embed));
  const std::size_t scratch_floats = kernels::gemm_scratch_floats(embed);
  detail::FloatBuffer scratch(num_threads() * scratch_floats);
  if (!concat || !packed || !scratch) {
    return Status::ResourceExhausted("multiheadAttention: could not allocate " +
                                     std::to_string((concat_size + weight_size) * sizeof(float)) +
                                     " bytes");
  }

  status = scaled_dot_product_attention(q, k, v, concat.get(), attention_shape, options);
  if (!status.ok()) {
    status.message.replace(0, status.message.find(':'), "multiheadAttention");
    return status;
  }

  // The panels of Oᵀ are packed in parallel too. On one thread, packing a
  // 768 × 768 O took about 0.3 ms of a 19 ms call (12 heads of 512 tokens)
  // with 2 threads.
  detail::parallel_for(kernels::packed_panel_count(embed), [&](std::size_t, std::size_t panel) {
    kernels::pack_transposed_panel(o_weight, embed, embed, panel, packed.get());
  });

  // Blocks of output rows go to the threads; every element of out is
  // computed the same way whichever thread takes its block.
  constexpr std::size_t kRowsPerItem = 32;
  const std::size_t rows = shape.batch * shape.q_seq_len;
  detail::parallel_for((rows + kRowsPerItem - 1) / kRowsPerItem, [&](std::size_t thread_index,
                                                                    std::size_t item) {
    const std::size_t row0 = item * kRowsPerItem;
    const std::size_t count = rows - row0 < kRowsPerItem ? rows - row0 : kRowsPerItem;
    kernels::gemm_packed(concat.get() + row0 * embed, count, embed, packed.get(), embed, o_bias,
                         out + row0 * embed, scratch.get() + thread_index * scratch_floats);
  });
  return Status::Ok();
}

}  // namespace attnkit

namespace attnkit {
namespace {

// Computes y [rows, n] = x [rows, k] · wᵀ + bias for w [n, k].
bool linear(const float* x, std::size_t rows, std::size_t k, const float* w, std::size_t n,
            const float* bias, float* y) {
  detail::FloatBuffer packed(kernels::packed_panels_floats(n, k));
  detail::FloatBuffer scratch(kernels::gemm_scratch_floats(k));
  if (!packed || !scratch) {
    return false;
  }
  kernels::pack_transposed_panels(w, n, k, packed.get());
  kernels::gemm_packed(x, rows, k, packed.get(), n, bias, y, scratch.get());
  return true;
}

}  // namespace

Status multihead_attention_forward(const float* query, const float* key, const float* value,
                                   const MultiheadForwardWeights& weights, float* out,
                                   float* weights_out, const MultiheadForwardShape& shape,
                                   const AttentionOptions& options) {
  const std::string prefix = "multiheadAttentionForward: ";
  const std::size_t embed = shape.embed_dim;
  if (shape.batch == 0 || shape.num_heads == 0 || embed == 0) {
    return Status::InvalidArgument(prefix + "batch, numHeads and embedDim must be positive");
  }
  if (embed % shape.num_heads != 0) {
    return Status::InvalidArgument(prefix + "embedDim (" + std::to_string(embed) +
                                   ") must be divisible by numHeads (" +
                                   std::to_string(shape.num_heads) + ")");
  }
  std::size_t q_size = 0;
  std::size_t kv_size = 0;
  std::size_t weight_size = 0;
  if (!detail::checked_product({shape.batch, shape.q_seq_len, embed}, &q_size) ||
      !detail::checked_product({shape.batch, shape.kv_seq_len, embed}, &kv_size) ||
      !detail::checked_product({3, embed, embed}, &weight_size)) {
    return Status::OutOfRange(prefix + "tensor sizes exceed 2^29 elements");
  }
  if (!weights.in_proj_weight || !weights.out_proj_weight) {
    return Status::InvalidArgument(prefix + "inProjWeight and outProjWeight are required");
  }
  if ((q_size > 0 && (!query || !out)) || (kv_size > 0 && (!key || !value))) {
    return Status::InvalidArgument(prefix + "null data pointer");
  }

  detail::FloatBuffer q_proj(q_size);
  detail::FloatBuffer k_proj(kv_size);
  detail::FloatBuffer v_proj(kv_size);
  detail::FloatBuffer concat(q_size);
  if (!q_proj || !k_proj || !v_proj || !concat) {
    return Status::ResourceExhausted(prefix + "could not allocate " +
                                     std::to_string((3 * q_size + 2 * kv_size) * sizeof(float)) +
                                     " bytes");
  }

  // The packed rows [0, E), [E, 2E) and [2E, 3E) project q, k and v.
  const float* w = weights.in_proj_weight;
  const float* b = weights.in_proj_bias;
  const std::size_t block = embed * embed;
  if (!linear(query, shape.batch * shape.q_seq_len, embed, w, embed, b, q_proj.get()) ||
      !linear(key, shape.batch * shape.kv_seq_len, embed, w + block, embed, b ? b + embed : nullptr,
              k_proj.get()) ||
      !linear(value, shape.batch * shape.kv_seq_len, embed, w + 2 * block, embed,
              b ? b + 2 * embed : nullptr, v_proj.get())) {
    return Status::ResourceExhausted(prefix + "could not allocate the packed weights");
  }

  // The projections are [batch, seq, heads, head_dim], the kBSHD layout, and
  // the heads land side by side in concat [batch, q_seq_len, E].
  const AttentionShape attention_shape =
      per_head_shape(shape.batch, shape.num_heads, shape.q_seq_len, shape.kv_seq_len,
                     embed / shape.num_heads, AttentionLayout::kBSHD);
  AttentionExtras extras;
  extras.scores = weights_out;
  extras.scores_mode = ScoreOutputMode::kSoftmax;
  Status status = scaled_dot_product_attention(q_proj.get(), k_proj.get(), v_proj.get(),
                                               concat.get(), attention_shape, options, extras);
  if (!status.ok()) {
    status.message.replace(0, status.message.find(':'), "multiheadAttentionForward");
    return status;
  }

  if (!linear(concat.get(), shape.batch * shape.q_seq_len, embed, weights.out_proj_weight, embed,
              weights.out_proj_bias, out)) {
    return Status::ResourceExhausted(prefix + "could not allocate the packed weights");
  }
  return Status::Ok();
}

}  // namespace attnkit
