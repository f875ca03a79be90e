// Scaled dot-product attention for one (batch, head) pair, as a tiled
// single pass with an online softmax.
//
// Queries are taken kQueryBlock rows at a time and keys kKeyBlock rows at a
// time. For each query row the kernel keeps the running maximum m, the running
// sum l of exp(score - m) and the running weighted sum acc of value rows. When
// a key block raises the maximum from m to m', the old l and acc are scaled by
// exp(m - m') before the block's terms are added, so after the last block
// acc / l equals softmax(scores)·V. No [q_len, kv_len] matrix is stored.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>

#include "kernels/simd.h"

namespace attnkit {
namespace kernels {

constexpr std::size_t kQueryBlock = 4;
constexpr std::size_t kKeyBlock = 64;
static_assert(kKeyBlock % (2 * kLanes) == 0, "key block must hold whole vector pairs");

// Pointers and row strides (in floats) of one attention head.
struct HeadView {
  const float* q = nullptr;  // [q_len, head_dim], row stride q_stride
  const float* k = nullptr;  // [kv_len, head_dim], row stride k_stride
  const float* v = nullptr;  // [kv_len, v_head_dim], row stride v_stride
  float* out = nullptr;      // [q_len, v_head_dim], row stride out_stride
  std::size_t q_stride = 0;
  std::size_t k_stride = 0;
  std::size_t v_stride = 0;
  std::size_t out_stride = 0;
  std::size_t q_len = 0;
  std::size_t kv_len = 0;
  std::size_t head_dim = 0;
  std::size_t v_head_dim = 0;
  float scale = 1.0f;
};

// Working memory of the kernel; its size depends on head sizes only.
struct AttentionScratch {
  float* q_block = nullptr;  // [kQueryBlock, head_dim], scaled queries
  float* k_t = nullptr;      // [head_dim, kKeyBlock], transposed key block
  float* scores = nullptr;   // [kQueryBlock, kKeyBlock]
  float* acc = nullptr;      // [kQueryBlock, v_head_dim]

  static std::size_t floats_needed(std::size_t head_dim, std::size_t v_head_dim) {
    return kQueryBlock * head_dim + head_dim * kKeyBlock + kQueryBlock * kKeyBlock +
           kQueryBlock * v_head_dim;
  }

  // Carves the four buffers out of `memory`, which has room for floats_needed() floats.
  static AttentionScratch carve(float* memory, std::size_t head_dim, std::size_t v_head_dim) {
    AttentionScratch s;
    s.q_block = memory;
    s.k_t = s.q_block + kQueryBlock * head_dim;
    s.scores = s.k_t + head_dim * kKeyBlock;
    s.acc = s.scores + kQueryBlock * kKeyBlock;
    (void)v_head_dim;
    return s;
  }
};

// Computes scores[r][c] = Σ_d q_block[r][d] · k_t[d][c] for 4 rows and all
// kKeyBlock columns, with 4 × 2 vector accumulators held in registers.
inline void score_tile_4_rows(const float* q_block, const float* k_t, std::size_t head_dim,
                              float* scores) {
  for (std::size_t c = 0; c < kKeyBlock; c += 2 * kLanes) {
    Batch acc00(0.0f), acc01(0.0f), acc10(0.0f), acc11(0.0f);
    Batch acc20(0.0f), acc21(0.0f), acc30(0.0f), acc31(0.0f);

    for (std::size_t d = 0; d < head_dim; ++d) {
      const Batch vk0 = Batch::load_unaligned(k_t + d * kKeyBlock + c);
      const Batch vk1 = Batch::load_unaligned(k_t + d * kKeyBlock + c + kLanes);
      const Batch vq0(q_block[d]);
      const Batch vq1(q_block[head_dim + d]);
      const Batch vq2(q_block[2 * head_dim + d]);
      const Batch vq3(q_block[3 * head_dim + d]);
      acc00 = xsimd::fma(vq0, vk0, acc00);
      acc01 = xsimd::fma(vq0, vk1, acc01);
      acc10 = xsimd::fma(vq1, vk0, acc10);
      acc11 = xsimd::fma(vq1, vk1, acc11);
      acc20 = xsimd::fma(vq2, vk0, acc20);
      acc21 = xsimd::fma(vq2, vk1, acc21);
      acc30 = xsimd::fma(vq3, vk0, acc30);
      acc31 = xsimd::fma(vq3, vk1, acc31);
    }

    acc00.store_unaligned(scores + c);
    acc01.store_unaligned(scores + c + kLanes);
    acc10.store_unaligned(scores + kKeyBlock + c);
    acc11.store_unaligned(scores + kKeyBlock + c + kLanes);
    acc20.store_unaligned(scores + 2 * kKeyBlock + c);
    acc21.store_unaligned(scores + 2 * kKeyBlock + c + kLanes);
    acc30.store_unaligned(scores + 3 * kKeyBlock + c);
    acc31.store_unaligned(scores + 3 * kKeyBlock + c + kLanes);
  }
}

// Returns the largest of x[0..n), or -inf when n == 0. NaN entries may or may
// not win; either way they reach the output through exp().
inline float max_of(const float* x, std::size_t n) {
  float m = -std::numeric_limits<float>::infinity();
  for (std::size_t i = 0; i < n; ++i) {
    m = x[i] > m ? x[i] : m;
  }
  return m;
}

// Replaces x[i] with exp(x[i] - shift) for i < n and returns their sum.
inline float exp_shifted_sum(float* x, std::size_t n, float shift) {
  const std::size_t n_vec = round_down_to_lanes(n);
  const Batch vshift(shift);

  Batch vsum(0.0f);
  for (std::size_t i = 0; i < n_vec; i += kLanes) {
    const Batch p = xsimd::exp(Batch::load_unaligned(x + i) - vshift);
    p.store_unaligned(x + i);
    vsum += p;
  }

  float sum = xsimd::hadd(vsum);
  for (std::size_t i = n_vec; i < n; ++i) {
    x[i] = std::exp(x[i] - shift);
    sum += x[i];
  }
  return sum;
}

// Folds one key block into the running state of one query row.
// scores: [n_keys] for this row, overwritten with the block's weights.
// v_rows: first value row of the block. acc: [v_head_dim].
inline void online_softmax_update(float* scores, std::size_t n_keys, const float* v_rows,
                                  std::size_t v_stride, std::size_t v_head_dim, float& row_max,
                                  float& row_sum, float* acc) {
  const float block_max = max_of(scores, n_keys);
  if (block_max == -std::numeric_limits<float>::infinity()) {
    return;  // every key of this block is blocked for this row
  }

  const float new_max = block_max > row_max ? block_max : row_max;
  const float block_sum = exp_shifted_sum(scores, n_keys, new_max);

  // Rescale what earlier blocks accumulated under the old maximum.
  if (row_max != new_max) {
    const float correction = row_max == -std::numeric_limits<float>::infinity()
                                 ? 0.0f
                                 : std::exp(row_max - new_max);
    row_sum *= correction;
    scale_in_place(correction, acc, v_head_dim);
  }
  row_sum += block_sum;
  row_max = new_max;

  // A weight of exactly zero adds nothing, so NaN in a blocked value row
  // cannot reach the output.
  for (std::size_t c = 0; c < n_keys; ++c) {
    if (scores[c] != 0.0f) {
      axpy(scores[c], v_rows + c * v_stride, acc, v_head_dim);
    }
  }
}

// Runs attention for one head. scratch must come from
// AttentionScratch::carve with the same head sizes.
inline void attention_head(const HeadView& h, const AttentionScratch& scratch) {
  const float neg_inf = -std::numeric_limits<float>::infinity();

  for (std::size_t i0 = 0; i0 < h.q_len; i0 += kQueryBlock) {
    const std::size_t rows = h.q_len - i0 < kQueryBlock ? h.q_len - i0 : kQueryBlock;
    float row_max[kQueryBlock];
    float row_sum[kQueryBlock];

    // Scale the queries once per block: scale·(q·k) = (scale·q)·k.
    for (std::size_t r = 0; r < rows; ++r) {
      const float* q_row = h.q + (i0 + r) * h.q_stride;
      float* dst = scratch.q_block + r * h.head_dim;
      for (std::size_t d = 0; d < h.head_dim; ++d) {
        dst[d] = q_row[d] * h.scale;
      }
      row_max[r] = neg_inf;
      row_sum[r] = 0.0f;
      for (std::size_t d = 0; d < h.v_head_dim; ++d) {
        scratch.acc[r * h.v_head_dim + d] = 0.0f;
      }
    }

    for (std::size_t j0 = 0; j0 < h.kv_len; j0 += kKeyBlock) {
      const std::size_t n_keys = h.kv_len - j0 < kKeyBlock ? h.kv_len - j0 : kKeyBlock;
      const float* k_block = h.k + j0 * h.k_stride;

      if (rows == kQueryBlock) {
        // Transpose the key block so the score tile broadcasts one query
        // element against kLanes keys; padded columns are zero.
        for (std::size_t d = 0; d < h.head_dim; ++d) {
          float* dst = scratch.k_t + d * kKeyBlock;
          for (std::size_t c = 0; c < n_keys; ++c) {
            dst[c] = k_block[c * h.k_stride + d];
          }
          for (std::size_t c = n_keys; c < kKeyBlock; ++c) {
            dst[c] = 0.0f;
          }
        }
        score_tile_4_rows(scratch.q_block, scratch.k_t, h.head_dim, scratch.scores);
      } else {
        for (std::size_t r = 0; r < rows; ++r) {
          for (std::size_t c = 0; c < n_keys; ++c) {
            scratch.scores[r * kKeyBlock + c] =
                dot(scratch.q_block + r * h.head_dim, k_block + c * h.k_stride, h.head_dim);
          }
        }
      }

      for (std::size_t r = 0; r < rows; ++r) {
        online_softmax_update(scratch.scores + r * kKeyBlock, n_keys, h.v + j0 * h.v_stride,
                              h.v_stride, h.v_head_dim, row_max[r], row_sum[r],
                              scratch.acc + r * h.v_head_dim);
      }
    }

    // A row that saw no key at all has row_max == -inf and returns zeros.
    for (std::size_t r = 0; r < rows; ++r) {
      float* out_row = h.out + (i0 + r) * h.out_stride;
      const float* acc_row = scratch.acc + r * h.v_head_dim;
      const float inv_sum = row_max[r] == neg_inf ? 0.0f : 1.0f / row_sum[r];
      for (std::size_t d = 0; d < h.v_head_dim; ++d) {
        out_row[d] = row_max[r] == neg_inf ? 0.0f : acc_row[d] * inv_sum;
      }
    }
  }
}

}  // namespace kernels
}  // namespace attnkit
