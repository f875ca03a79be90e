// Entry point for scaled dot-product attention: checks the shape, builds
// one head view per (batch, query head) and runs the tiled kernel.
#include <cmath>
#include <cstdint>
#include <string>

#include "attnkit/attnkit.h"
#include "checks.h"
#include "kernels/attention_kernels.h"

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

Status check_shape(const std::string& prefix, const AttentionShape& s) {
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

// The scratch buffer holds about (kKeyBlock + kQueryBlock) floats per
// head_dim. Computed in 64 bits because the product can exceed a 32-bit
// size_t, which would allocate a buffer too short for the kernel.
Status check_scratch_size(const std::string& prefix, const AttentionShape& s) {
  const std::uint64_t head_dim = s.head_dim;
  const std::uint64_t v_head_dim = s.v_head_dim;
  const std::uint64_t floats = kernels::kQueryBlock * head_dim + head_dim * kernels::kKeyBlock +
                               kernels::kQueryBlock * kernels::kKeyBlock +
                               kernels::kQueryBlock * v_head_dim;
  if (floats > detail::kMaxElements) {
    return Status::OutOfRange(prefix + "head sizes " + std::to_string(s.head_dim) + " and " +
                              std::to_string(s.v_head_dim) + " need " + std::to_string(floats) +
                              " floats of scratch memory, more than the limit of " +
                              std::to_string(detail::kMaxElements));
  }
  return Status::Ok();
}

}  // namespace

namespace detail {

Status check_attention_call(const char* op, const float* q, const float* k, const float* v,
                            const float* out, const AttentionShape& shape,
                            const AttentionOptions& options) {
  const std::string prefix = std::string(op) + ": ";
  Status status = check_shape(prefix, shape);
  if (!status.ok()) {
    return status;
  }
  if (options.has_scale && !std::isfinite(options.scale)) {
    return Status::InvalidArgument(prefix + "scale must be finite, got " +
                                   std::to_string(options.scale));
  }
  if (shape.q_seq_len == 0) {
    return Status::Ok();  // empty output: no pointer is read
  }
  status = check_scratch_size(prefix, shape);
  if (!status.ok()) {
    return status;
  }
  if (!q || !out || (shape.kv_seq_len > 0 && (!k || !v))) {
    return Status::InvalidArgument(prefix + "null data pointer");
  }
  return Status::Ok();
}

}  // namespace detail

Status scaled_dot_product_attention(const float* q, const float* k, const float* v, float* out,
                                    const AttentionShape& shape,
                                    const AttentionOptions& options) {
  Status status = detail::check_attention_call("attention", q, k, v, out, shape, options);
  if (!status.ok() || shape.q_seq_len == 0) {
    return status;
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

  detail::FloatBuffer scratch_memory(
      kernels::AttentionScratch::floats_needed(shape.head_dim, shape.v_head_dim));
  if (!scratch_memory) {
    return Status::ResourceExhausted("attention: could not allocate scratch memory");
  }
  const kernels::AttentionScratch scratch =
      kernels::AttentionScratch::carve(scratch_memory.get(), shape.head_dim, shape.v_head_dim);

  for (std::size_t b = 0; b < shape.batch; ++b) {
    for (std::size_t h = 0; h < shape.num_heads; ++h) {
      // Query head h reads key/value head h / group (consecutive groups).
      const std::size_t kv_head = h / group;
      kernels::HeadView view;
      view.q = q + b * qs.batch + h * qs.head;
      view.k = k ? k + b * ks.batch + kv_head * ks.head : nullptr;
      view.v = v ? v + b * vs.batch + kv_head * vs.head : nullptr;
      view.out = out + b * os.batch + h * os.head;
      view.q_stride = qs.row;
      view.k_stride = ks.row;
      view.v_stride = vs.row;
      view.out_stride = os.row;
      view.q_len = shape.q_seq_len;
      view.kv_len = shape.kv_seq_len;
      view.head_dim = shape.head_dim;
      view.v_head_dim = shape.v_head_dim;
      view.scale = scale;
      kernels::attention_head(view, scratch);
    }
  }
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
