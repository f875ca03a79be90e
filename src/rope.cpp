// Entry point for rotary position embedding. It checks the shape and options
// and builds the cos/sin row of each position once, from the frequencies
// computed in double precision or from the caller's cache. Then it rotates
// every head in memory order with the SIMD kernels.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "attnkit/attnkit.h"
#include "checks.h"
#include "kernels/rope_kernels.h"
#include "rope_angles.h"

namespace attnkit {
namespace {

std::string size_text(std::size_t n) { return std::to_string(n); }

Status check_shape(const RopeShape& shape, std::size_t rotary_dim) {
  if (shape.head_dim == 0 || shape.head_dim % 2 != 0) {
    return Status::InvalidArgument("rope: headDim must be even and positive, got " +
                                   size_text(shape.head_dim));
  }
  if (rotary_dim % 2 != 0) {
    return Status::InvalidArgument("rope: rotaryDim must be even, got " + size_text(rotary_dim));
  }
  if (rotary_dim > shape.head_dim) {
    return Status::InvalidArgument("rope: rotaryDim (" + size_text(rotary_dim) +
                                   ") must not exceed headDim (" + size_text(shape.head_dim) + ")");
  }
  if (shape.layout != RopeLayout::kBSHD && shape.layout != RopeLayout::kBHSD) {
    return Status::InvalidArgument("rope: unknown layout " +
                                   std::to_string(static_cast<int>(shape.layout)));
  }
  return Status::Ok();
}

// Checks the cache against the shape and every position against its rows,
// so that no row outside the cache is ever read.
Status check_cache(const RopeShape& shape, const RopeOptions& options, std::size_t rotary_dim) {
  const RopeCache& cache = options.cache;
  if (!cache.cos && !cache.sin) return Status::Ok();
  if (!cache.cos || !cache.sin) {
    return Status::InvalidArgument("rope: cosCache and sinCache must be given together");
  }
  if (cache.width != rotary_dim / 2 && cache.width != rotary_dim) {
    return Status::InvalidArgument("rope: cache rows have " + size_text(cache.width) +
                                   " values, expected rotaryDim/2 = " + size_text(rotary_dim / 2) +
                                   " or rotaryDim = " + size_text(rotary_dim));
  }

  if (cache.per_token) {
    if (cache.rows != shape.batch * shape.seq_len) {
      return Status::InvalidArgument("rope: a per-token cache needs batch·seq = " +
                                     size_text(shape.batch * shape.seq_len) + " rows, got " +
                                     size_text(cache.rows));
    }
    if (options.position_ids || options.position_offset != 0) {
      return Status::InvalidArgument(
          "rope: a per-token cache (batch, seq, width) already fixes each token's angles, so "
          "positionIds and positionOffset must not be given with it");
    }
    return Status::Ok();
  }

  const std::int64_t rows = static_cast<std::int64_t>(cache.rows);
  if (options.position_ids) {
    for (std::size_t b = 0; b < shape.batch; ++b) {
      for (std::size_t s = 0; s < shape.seq_len; ++s) {
        const std::int64_t p = options.position_ids[b * shape.seq_len + s];
        if (p < 0 || p >= rows) {
          return Status::InvalidArgument("rope: positionIds[" + size_text(b) + ", " + size_text(s) +
                                         "] is " + std::to_string(p) + ", outside the cache rows 0 to " +
                                         std::to_string(rows - 1));
        }
      }
    }
    return Status::Ok();
  }
  if (shape.seq_len == 0) return Status::Ok();
  const std::int64_t first = options.position_offset;
  // apply_rope has checked that first + (seq_len − 1) fits int64.
  const std::int64_t last = first + static_cast<std::int64_t>(shape.seq_len - 1);
  if (first < 0 || last >= rows) {
    return Status::InvalidArgument("rope: positions " + std::to_string(first) + " to " +
                                   std::to_string(last) + " (positionOffset " + std::to_string(first) +
                                   ", seq " + size_text(shape.seq_len) +
                                   ") are outside the cache rows 0 to " + std::to_string(rows - 1));
  }
  return Status::Ok();
}

// Writes one table row in the form the kernel of the pair layout reads.
// Interleaved rows hold cos for both lanes of a pair and (−sin, +sin).
// Split-half rows hold cos and sin of channel j in entry j.
// The values come from scale·pair_cos and scale·pair_sin ([half], one per
// pair) when full_cos is null, else from full_cos/full_sin ([2·half], one per
// channel).
void write_row(bool interleaved, std::size_t half, double scale, const double* pair_cos,
               const double* pair_sin, const float* full_cos, const float* full_sin,
               float* cos_row, float* sin_row) {
  if (full_cos) {
    for (std::size_t j = 0; j < 2 * half; ++j) {
      cos_row[j] = full_cos[j];
      sin_row[j] = full_sin[j];
    }
    if (interleaved) {
      // The first lane of each interleaved pair subtracts b·sin.
      for (std::size_t j = 0; j < 2 * half; j += 2) sin_row[j] = -sin_row[j];
    }
    return;
  }
  for (std::size_t i = 0; i < half; ++i) {
    const float c = static_cast<float>(scale * pair_cos[i]);
    const float s = static_cast<float>(scale * pair_sin[i]);
    if (interleaved) {
      cos_row[2 * i] = c;
      cos_row[2 * i + 1] = c;
      sin_row[2 * i] = -s;
      sin_row[2 * i + 1] = s;
    } else {
      cos_row[i] = c;
      cos_row[half + i] = c;
      sin_row[i] = s;
      sin_row[half + i] = s;
    }
  }
}

// Position of token (b, s) when the angles are computed or a
// position-indexed cache is read.
std::int64_t position_of(const RopeOptions& options, std::size_t seq_len, std::size_t b, std::size_t s) {
  if (options.position_ids) return options.position_ids[b * seq_len + s];
  return options.position_offset + static_cast<std::int64_t>(s);
}

// Builds the cos/sin row of a token: [rotary_dim] cos values followed by
// [rotary_dim] sin values, in the form write_row describes.
class RowBuilder {
 public:
  RowBuilder(const RopeShape& shape, const RopeOptions& options, std::size_t rotary_dim)
      : shape_(shape), options_(options), rotary_dim_(rotary_dim), half_(rotary_dim / 2) {}
  ~RowBuilder() {
    std::free(pair_values_);
    std::free(inv_freq_);
  }
  RowBuilder(const RowBuilder&) = delete;
  RowBuilder& operator=(const RowBuilder&) = delete;

  // Allocates the scratch and computes the frequencies.
  Status init() {
    pair_values_ = static_cast<double*>(std::malloc(2 * half_ * sizeof(double)));
    inv_freq_ = static_cast<double*>(std::malloc(half_ * sizeof(double)));
    if (!pair_values_ || !inv_freq_) {
      return Status::ResourceExhausted("rope: could not allocate the frequency table");
    }
    if (options_.cache.cos) return Status::Ok();
    Status status =
        rope_frequencies(rotary_dim_, options_.base, options_.scaling, inv_freq_, &attention_factor_);
    if (!status.ok()) return status;
    if (!angles_.init(inv_freq_, half_)) {
      return Status::ResourceExhausted("rope: could not allocate the angle table");
    }
    return Status::Ok();
  }

  void fill(std::size_t b, std::size_t s, float* row) {
    float* cos_row = row;
    float* sin_row = row + rotary_dim_;
    const RopeCache& cache = options_.cache;

    if (cache.cos) {
      const std::size_t cache_row =
          cache.per_token ? b * shape_.seq_len + s
                          : static_cast<std::size_t>(position_of(options_, shape_.seq_len, b, s));
      const float* c = cache.cos + cache_row * cache.width;
      const float* sn = cache.sin + cache_row * cache.width;
      if (cache.width == rotary_dim_) {
        write_row(options_.interleaved, half_, 1.0, nullptr, nullptr, c, sn, cos_row, sin_row);
        return;
      }
      for (std::size_t i = 0; i < half_; ++i) {
        pair_values_[i] = c[i];
        pair_values_[half_ + i] = sn[i];
      }
      write_row(options_.interleaved, half_, 1.0, pair_values_, pair_values_ + half_, nullptr,
                nullptr, cos_row, sin_row);
      return;
    }
    angles_.compute(position_of(options_, shape_.seq_len, b, s));
    write_row(options_.interleaved, half_, attention_factor_, angles_.cos(), angles_.sin(), nullptr,
              nullptr, cos_row, sin_row);
  }

 private:
  const RopeShape& shape_;
  const RopeOptions& options_;
  const std::size_t rotary_dim_;
  const std::size_t half_;
  double* pair_values_ = nullptr;  // [half] cos then [half] sin of one cache row
  double* inv_freq_ = nullptr;     // [half]
  double attention_factor_ = 1.0;
  detail::RopeAngles& angles_ = detail::thread_rope_angles();
};

// Rotates the first rotary_dim channels of one head and copies the rest.
inline void rotate_head(const float* src, float* dst, const float* row, std::size_t rotary_dim,
                        std::size_t head_dim, bool interleaved) {
  if (interleaved) {
    kernels::rope_interleaved(src, dst, row, row + rotary_dim, rotary_dim);
  } else {
    kernels::rope_split_half(src, dst, row, row + rotary_dim, rotary_dim / 2);
  }
  if (dst != src && rotary_dim < head_dim) {
    std::memcpy(dst + rotary_dim, src + rotary_dim, (head_dim - rotary_dim) * sizeof(float));
  }
}

}  // namespace

Status check_rope(const RopeShape& shape, const RopeOptions& options) {
  const std::size_t rotary_dim = options.rotary_dim == 0 ? shape.head_dim : options.rotary_dim;
  Status status = check_shape(shape, rotary_dim);
  if (!status.ok()) return status;

  std::size_t total = 0;
  if (!detail::checked_product({shape.batch, shape.seq_len, shape.num_heads, shape.head_dim},
                               &total)) {
    return Status::OutOfRange("rope: tensor size exceeds 2^29 elements");
  }
  // Bad options fail even on empty input. The frequency table is not built
  // then, because its size grows with head_dim, which an empty x leaves
  // unbounded (and whose byte size could wrap a 32-bit size_t).
  if (total == 0) {
    if (options.cache.cos) return Status::Ok();
    return detail::check_rope_frequency_options(rotary_dim, options.base, options.scaling);
  }
  // Token s sits at position_offset + s, which must not overflow int64.
  const auto last_index = static_cast<std::int64_t>(shape.seq_len - 1);
  if (!options.position_ids &&
      options.position_offset > std::numeric_limits<std::int64_t>::max() - last_index) {
    return Status::InvalidArgument("rope: positionOffset " + std::to_string(options.position_offset) +
                                   " plus the sequence length " + size_text(shape.seq_len) +
                                   " overflows a 64-bit integer");
  }
  if (!options.cache.cos) {
    status = detail::check_rope_frequency_options(rotary_dim, options.base, options.scaling);
    if (!status.ok()) return status;
  }
  return check_cache(shape, options, rotary_dim);
}

Status apply_rope(const float* x, float* out, const RopeShape& shape, const RopeOptions& options) {
  Status status = check_rope(shape, options);
  if (!status.ok()) return status;
  const std::size_t rotary_dim = options.rotary_dim == 0 ? shape.head_dim : options.rotary_dim;
  if (shape.batch * shape.seq_len * shape.num_heads * shape.head_dim == 0) return Status::Ok();
  if (!x || !out) return Status::InvalidArgument("rope: null data pointer");

  RowBuilder rows(shape, options, rotary_dim);
  status = rows.init();
  if (!status.ok()) return status;

  const std::size_t head_dim = shape.head_dim;
  const std::size_t row_floats = 2 * rotary_dim;

  // Rows differ between batch entries when there are position ids or a
  // per-token cache. Otherwise one row per sequence index serves the batch.
  const bool row_per_token = options.position_ids != nullptr || options.cache.per_token;
  const std::size_t row_batches = row_per_token ? shape.batch : 1;

  // The rows of a block of consecutive sequence indices are built into a
  // table and then applied to every head of every batch entry that uses
  // them, so every row is built once and every element of x is read once.
  // bshd: x is walked in memory order, and each token's heads follow one
  // another, so 16 rows (16 KiB for rotary_dim 128) suffice and stay in L1
  // cache.
  // bhsd: each group of heads visits the whole block before the next group
  // starts, and a head's part of x is contiguous only within the block, so
  // larger blocks keep those runs long for the hardware prefetcher.
  // NOTE: 512 KiB was chosen on one machine (AMD EPYC, 1 MiB L2 per core):
  // natively, on x of 1×32×2048×128 and 4×32×512×128, 64 KiB tables took
  // 1.4 to 1.6 times as long, and 16-row blocks without head groups twice.
  constexpr std::size_t kBshdBlockRows = 16;
  constexpr std::size_t kBhsdTableBytes = 512 * 1024;
  const std::size_t layout_rows =
      shape.layout == RopeLayout::kBSHD
          ? kBshdBlockRows
          : std::max(kBshdBlockRows, kBhsdTableBytes / (row_floats * sizeof(float)));
  const std::size_t block_rows = std::min(layout_rows, shape.seq_len);
  detail::FloatBuffer table(block_rows * row_floats);
  if (!table) return Status::ResourceExhausted("rope: could not allocate the cos/sin rows");

  for (std::size_t row_batch = 0; row_batch < row_batches; ++row_batch) {
    const std::size_t b_first = row_per_token ? row_batch : 0;
    const std::size_t b_end = row_per_token ? row_batch + 1 : shape.batch;
    for (std::size_t s0 = 0; s0 < shape.seq_len; s0 += block_rows) {
      const std::size_t s_end = std::min(s0 + block_rows, shape.seq_len);
      for (std::size_t s = s0; s < s_end; ++s) {
        rows.fill(row_batch, s, table.get() + (s - s0) * row_floats);
      }

      for (std::size_t b = b_first; b < b_end; ++b) {
        if (shape.layout == RopeLayout::kBSHD) {
          for (std::size_t s = s0; s < s_end; ++s) {
            const float* row = table.get() + (s - s0) * row_floats;
            const std::size_t token = (b * shape.seq_len + s) * shape.num_heads * head_dim;
            for (std::size_t h = 0; h < shape.num_heads; ++h) {
              const std::size_t at = token + h * head_dim;
              rotate_head(x + at, out + at, row, rotary_dim, head_dim, options.interleaved);
            }
          }
        } else {
          // Groups of kHeadGroup heads share each row while it is in L1
          // cache, which divides the table reads by the group size.
          constexpr std::size_t kHeadGroup = 4;
          const std::size_t head_stride = shape.seq_len * head_dim;
          for (std::size_t h0 = 0; h0 < shape.num_heads; h0 += kHeadGroup) {
            const std::size_t h_end = std::min(h0 + kHeadGroup, shape.num_heads);
            for (std::size_t s = s0; s < s_end; ++s) {
              const float* row = table.get() + (s - s0) * row_floats;
              for (std::size_t h = h0; h < h_end; ++h) {
                const std::size_t at = (b * shape.num_heads + h) * head_stride + s * head_dim;
                rotate_head(x + at, out + at, row, rotary_dim, head_dim, options.interleaved);
              }
            }
          }
        }
      }
    }
  }
  return Status::Ok();
}

}  // namespace attnkit
