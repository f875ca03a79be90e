// Multi-head attention with already projected inputs: attention per head
// written straight into the concatenated [batch, seq, E] layout, then the
// output projection as one packed matrix product.
#include <string>

#include "attnkit/attnkit.h"
#include "checks.h"
#include "kernels/gemm_kernels.h"

namespace attnkit {

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
  AttentionShape attention_shape;
  attention_shape.batch = shape.batch;
  attention_shape.num_heads = shape.num_heads;
  attention_shape.num_kv_heads = shape.num_heads;
  attention_shape.q_seq_len = shape.q_seq_len;
  attention_shape.kv_seq_len = shape.kv_seq_len;
  attention_shape.head_dim = shape.head_dim;
  attention_shape.v_head_dim = shape.head_dim;
  attention_shape.layout = AttentionLayout::kBHSD;
  attention_shape.out_layout = AttentionLayout::kBSHD;

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
  if (!concat || !packed) {
    return Status::ResourceExhausted("multiheadAttention: could not allocate " +
                                     std::to_string((concat_size + weight_size) * sizeof(float)) +
                                     " bytes");
  }

  status = scaled_dot_product_attention(q, k, v, concat.get(), attention_shape, options);
  if (!status.ok()) {
    status.message.replace(0, status.message.find(':'), "multiheadAttention");
    return status;
  }

  kernels::pack_transposed_panels(o_weight, embed, embed, packed.get());
  kernels::gemm_packed(concat.get(), shape.batch * shape.q_seq_len, embed, packed.get(), embed,
                       o_bias, out);
  return Status::Ok();
}

}  // namespace attnkit
