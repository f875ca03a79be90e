// Entry point for scaled dot-product attention: checks the shape, builds
// one head view per (batch, query head) and runs the tiled kernel.
#include <algorithm>
#include <cmath>
#include <string>

#include "attnkit/attnkit.h"
#include "checks.h"
#include "kernels/attention_kernels.h"
#include "parallel.h"

namespace attnkit {
namespace {

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

Status check_shape(const AttentionShape& s) {
  const std::string prefix = "attention: ";
  if (s.batch == 0 || s.num_heads == 0 || s.num_kv_heads == 0 || s.head_dim == 0 ||
      s.v_head_dim == 0) {
    return Status::InvalidArgument(prefix + "batch, heads and head sizes must be positive");
  }
  if (s.num_heads % s.num_kv_heads != 0) {
    return Status::InvalidArgument(prefix + "numHeads (" + std::to_string(s.num_heads) +
                                   ") must be a multiple of numKvHeads (" +
                                   std::to_string(s.num_kv_heads) + ")");
  }
  std::size_t n = 0;
  if (!detail::checked_product({s.batch, s.num_heads, s.q_seq_len, s.head_dim}, &n) ||
      !detail::checked_product({s.batch, s.num_heads, s.q_seq_len, s.v_head_dim}, &n) ||
      !detail::checked_product({s.batch, s.num_kv_heads, s.kv_seq_len, s.head_dim}, &n) ||
      !detail::checked_product({s.batch, s.num_kv_heads, s.kv_seq_len, s.v_head_dim}, &n)) {
    return Status::OutOfRange(prefix + "tensor sizes exceed 2^29 elements");
  }
  return Status::Ok();
}

}  // namespace

Status scaled_dot_product_attention(const float* q, const float* k, const float* v, float* out,
                                    const AttentionShape& shape,
                                    const AttentionOptions& options) {
  Status status = check_shape(shape);
  if (!status.ok()) {
    return status;
  }
  if (shape.q_seq_len == 0) {
    return Status::Ok();  // empty output
  }
  if (!q || !out || (shape.kv_seq_len > 0 && (!k || !v))) {
    return Status::InvalidArgument("attention: null data pointer");
  }
  if (options.has_scale && !std::isfinite(options.scale)) {
    return Status::InvalidArgument("attention: scale must be finite, got " +
                                   std::to_string(options.scale));
  }

  const float scale =
      options.has_scale ? options.scale : 1.0f / std::sqrt(static_cast<float>(shape.head_dim));
  const AxisStrides qs = strides_for(shape.layout, shape.num_heads, shape.q_seq_len, shape.head_dim);
  const AxisStrides ks =
      strides_for(shape.layout, shape.num_kv_heads, shape.kv_seq_len, shape.head_dim);
  const AxisStrides vs =
      strides_for(shape.layout, shape.num_kv_heads, shape.kv_seq_len, shape.v_head_dim);
  const AxisStrides os =
      strides_for(shape.out_layout, shape.num_heads, shape.q_seq_len, shape.v_head_dim);
  const std::size_t group = shape.num_heads / shape.num_kv_heads;

  // One scratch area per thread, carved on this thread: workers must not
  // allocate (see detail::parallel_for).
  const std::size_t threads = num_threads();
  const std::size_t scratch_floats =
      kernels::AttentionScratch::floats_needed(shape.head_dim, shape.v_head_dim);
  detail::FloatBuffer scratch_memory(threads * scratch_floats);
  if (!scratch_memory) {
    return Status::ResourceExhausted("attention: could not allocate scratch memory");
  }

  // Work items are (batch, head, block of kRowsPerItem query rows), each
  // computed by one thread, so the result does not depend on the thread count.
  constexpr std::size_t kRowsPerItem = 64;
  const std::size_t row_blocks = (shape.q_seq_len + kRowsPerItem - 1) / kRowsPerItem;
  detail::parallel_for(shape.batch * shape.num_heads * row_blocks, [&](std::size_t thread_index,
                                                                       std::size_t item) {
    const std::size_t b = item / (shape.num_heads * row_blocks);
    const std::size_t h = item / row_blocks % shape.num_heads;
    const std::size_t row0 = item % row_blocks * kRowsPerItem;
    const kernels::AttentionScratch scratch = kernels::AttentionScratch::carve(
        scratch_memory.get() + thread_index * scratch_floats, shape.head_dim, shape.v_head_dim);

    // Query head h reads key/value head h / group (consecutive groups).
    const std::size_t kv_head = h / group;
    kernels::HeadView view;
    view.q = q + b * qs.batch + h * qs.head + row0 * qs.row;
    view.k = k ? k + b * ks.batch + kv_head * ks.head : nullptr;
    view.v = v ? v + b * vs.batch + kv_head * vs.head : nullptr;
    view.out = out + b * os.batch + h * os.head + row0 * os.row;
    view.q_stride = qs.row;
    view.k_stride = ks.row;
    view.v_stride = vs.row;
    view.out_stride = os.row;
    view.q_len = std::min(kRowsPerItem, shape.q_seq_len - row0);
    view.kv_len = shape.kv_seq_len;
    view.head_dim = shape.head_dim;
    view.v_head_dim = shape.v_head_dim;
    view.scale = scale;
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
