// Entry point for rotary position embedding: checks the shape, builds the
// cos/sin row of each position in double precision and rotates every head
// of that position with the SIMD kernels.
#include <cmath>
#include <string>

#include "attnkit/attnkit.h"
#include "checks.h"
#include "kernels/rope_kernels.h"

namespace attnkit {

Status apply_rope(const float* x, float* out, const RopeShape& shape, const RopeOptions& options) {
  if (shape.head_dim == 0 || shape.head_dim % 2 != 0) {
    return Status::InvalidArgument("rope: headDim must be even and positive, got " +
                                   std::to_string(shape.head_dim));
  }
  if (!(options.base > 0.0) || !std::isfinite(options.base)) {
    return Status::InvalidArgument("rope: base must be a positive finite number, got " +
                                   std::to_string(options.base));
  }
  std::size_t total = 0;
  if (!detail::checked_product({shape.batch, shape.seq_len, shape.num_heads, shape.head_dim},
                               &total)) {
    return Status::OutOfRange("rope: tensor size exceeds 2^29 elements");
  }
  if (total == 0) {
    return Status::Ok();
  }
  if (!x || !out) {
    return Status::InvalidArgument("rope: null data pointer");
  }

  const std::size_t head_dim = shape.head_dim;
  const std::size_t half = head_dim / 2;

  // inv_freq [half]: θᵢ = base^(−2i/head_dim), kept in double because
  // position·θᵢ reaches 1e5 and more, where float angles lose digits.
  // cos_row and sin_row hold [head_dim] floats for the current position,
  // laid out for the kernel of the chosen pair layout.
  detail::FloatBuffer table(2 * head_dim);
  double* inv_freq = static_cast<double*>(std::malloc(half * sizeof(double)));
  if (!table || !inv_freq) {
    std::free(inv_freq);
    return Status::ResourceExhausted("rope: could not allocate the angle tables");
  }
  for (std::size_t i = 0; i < half; ++i) {
    inv_freq[i] = std::pow(options.base, -2.0 * static_cast<double>(i) / head_dim);
  }
  float* cos_row = table.get();
  float* sin_row = table.get() + head_dim;

  const std::size_t token_stride = shape.num_heads * head_dim;
  for (std::size_t s = 0; s < shape.seq_len; ++s) {
    const double position = static_cast<double>(options.position_offset) + static_cast<double>(s);
    for (std::size_t i = 0; i < half; ++i) {
      const double angle = position * inv_freq[i];
      const float c = static_cast<float>(std::cos(angle));
      const float sn = static_cast<float>(std::sin(angle));
      if (options.interleaved) {
        cos_row[2 * i] = c;
        cos_row[2 * i + 1] = c;
        sin_row[2 * i] = -sn;
        sin_row[2 * i + 1] = sn;
      } else {
        cos_row[i] = c;
        sin_row[i] = sn;
      }
    }

    for (std::size_t b = 0; b < shape.batch; ++b) {
      const std::size_t token = (b * shape.seq_len + s) * token_stride;
      for (std::size_t h = 0; h < shape.num_heads; ++h) {
        const float* src = x + token + h * head_dim;
        float* dst = out + token + h * head_dim;
        if (options.interleaved) {
          kernels::rope_interleaved(src, dst, cos_row, sin_row, head_dim);
        } else {
          kernels::rope_split_half(src, dst, cos_row, sin_row, half);
        }
      }
    }
  }

  std::free(inv_freq);
  return Status::Ok();
}

}  // namespace attnkit
