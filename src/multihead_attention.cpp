// Multi-head attention with already projected inputs: attention per head
// written straight into the concatenated [batch, seq, E] layout, then the
// output projection as one packed matrix product.
#include <string>

#include "attnkit/attnkit.h"
#include "checks.h"
#include "kernels/gemm_kernels.h"
#include "parallel.h"

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

  // The heads land side by side in concat [batch, q_seq_len, E].
  detail::FloatBuffer concat(concat_size);
  detail::FloatBuffer packed(kernels::packed_panels_floats(embed, embed));
  if (!concat || !packed) {
    return Status::ResourceExhausted("multiheadAttention: could not allocate " +
                                     std::to_string((concat_size + weight_size) * sizeof(float)) +
                                     " bytes");
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
  Status status =
      scaled_dot_product_attention(q, k, v, concat.get(), attention_shape, options);
  if (!status.ok()) {
    status.message.replace(0, status.message.find(':'), "multiheadAttention");
    return status;
  }

  kernels::pack_transposed_panels(o_weight, embed, embed, packed.get());

  // Blocks of output rows go to the threads; every element of out is
  // computed the same way whichever thread takes its block.
  constexpr std::size_t kRowsPerItem = 32;
  const std::size_t rows = shape.batch * shape.q_seq_len;
  detail::parallel_for((rows + kRowsPerItem - 1) / kRowsPerItem, [&](std::size_t, std::size_t item) {
    const std::size_t row0 = item * kRowsPerItem;
    const std::size_t count = rows - row0 < kRowsPerItem ? rows - row0 : kRowsPerItem;
    kernels::gemm_packed(concat.get() + row0 * embed, count, embed, packed.get(), embed, o_bias,
                         out + row0 * embed);
  });
  return Status::Ok();
}

}  // namespace attnkit
