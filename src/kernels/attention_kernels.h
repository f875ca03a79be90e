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

#include "kernels/exp_kernels.h"
#include "kernels/simd.h"

namespace attnkit {
namespace kernels {

constexpr std::size_t kQueryBlock = 4;
constexpr std::size_t kKeyBlock = 64;
static_assert(kKeyBlock % (2 * kLanes) == 0, "key block must hold whole vector pairs");
// Query rows per block of the specialised kernel (attention_fast_kernels.h):
// a multiple of two vectors, and at least 32.
constexpr std::size_t kRowBlock = 2 * kLanes > 32 ? 2 * kLanes : 32;
static_assert(kRowBlock % (2 * kLanes) == 0, "row block must hold whole vector pairs");

// Bias of one head. A key j is blocked for query row i
// (0-based within this call) when j >= key_limit, when causal is set and
// j > i + causal_offset, or when the mask entry is false (bool) or −inf
// (float). Blocked keys never contribute to the output.
struct HeadBias {
  const void* mask = nullptr;       // bool (uint8, 1 = attend) or float (added)
  bool mask_is_bool = false;
  std::size_t mask_row_stride = 0;  // elements between query rows, 0 = broadcast
  std::size_t mask_col_stride = 0;  // elements between keys, 0 = broadcast
  std::size_t mask_cols = 0;        // keys >= mask_cols are blocked
  bool causal = false;
  std::ptrdiff_t causal_offset = 0;
  std::size_t key_limit = 0;        // keys >= key_limit are blocked
  float softcap = 0.0f;             // > 0: score = softcap·tanh(score/softcap)
};

// Contents of the optional score output, in the order they are computed.
enum class ScoreStage : int {
  kScaled = 0,     // scale·Q·Kᵀ
  kSoftcapped = 1, // after the softcap
  kBiased = 2,     // after the softcap and the bias, −inf where blocked
  kSoftmax = 3,    // the softmax probabilities, zero rows where every key is blocked
};

// Pointers and row strides (in floats) of one attention head.
struct HeadView {
  const float* q = nullptr;  // [q_len, head_dim], row stride q_stride
  const float* k = nullptr;  // [kv_len, head_dim], row stride k_stride
  const float* v = nullptr;  // [kv_len, v_head_dim], row stride v_stride
  float* out = nullptr;      // [q_len, v_head_dim], row stride out_stride
  float* scores_out = nullptr;  // [q_len, kv_len] or null, row stride kv_len
  ScoreStage scores_stage = ScoreStage::kScaled;
  std::size_t q_stride = 0;
  std::size_t k_stride = 0;
  std::size_t v_stride = 0;
  std::size_t out_stride = 0;
  std::size_t q_len = 0;
  std::size_t kv_len = 0;
  std::size_t head_dim = 0;
  std::size_t v_head_dim = 0;
  float scale = 1.0f;
  HeadBias bias;
};

// Working memory of the general and the specialised kernel; its size
// depends on head sizes only.
struct AttentionScratch {
  // General kernel.
  float* q_block = nullptr;  // [kQueryBlock, head_dim], scaled queries
  float* k_t = nullptr;      // [head_dim, kKeyBlock], transposed key block
  float* scores = nullptr;   // [kQueryBlock, kKeyBlock]
  float* acc = nullptr;      // [kQueryBlock, v_head_dim]
  float* blocked = nullptr;  // [kQueryBlock, kKeyBlock], 1 where a key is blocked
  // Specialised kernel.
  float* qt = nullptr;        // [head_dim, kRowBlock], scaled queries, transposed
  float* st = nullptr;        // [kKeyBlock, kRowBlock], scores, then weights
  float* row_acc = nullptr;   // [kRowBlock, v_head_dim]
  float* q_rows = nullptr;    // [kRowBlock, head_dim], scaled queries for the key-major steps
                              // or, for score_keys_by_rows, kLanes rows in slices

  // Each buffer starts on a 64-byte boundary (16 floats) when `memory` does.
  static constexpr std::size_t kAlignFloats = 16;
  static std::size_t aligned(std::size_t floats) {
    return (floats + kAlignFloats - 1) / kAlignFloats * kAlignFloats;
  }

  // A multiple of kAlignFloats, so consecutive scratch areas stay aligned.
  static std::size_t floats_needed(std::size_t head_dim, std::size_t v_head_dim) {
    return aligned(kQueryBlock * head_dim) + aligned(head_dim * kKeyBlock) +
           2 * aligned(kQueryBlock * kKeyBlock) + aligned(kQueryBlock * v_head_dim) +
           aligned(head_dim * kRowBlock) + aligned(kKeyBlock * kRowBlock) +
           aligned(kRowBlock * v_head_dim) + aligned(kRowBlock * head_dim);
  }

  // Carves the buffers out of `memory`, which has room for floats_needed() floats.
  static AttentionScratch carve(float* memory, std::size_t head_dim, std::size_t v_head_dim) {
    AttentionScratch s;
    s.q_block = memory;
    s.k_t = s.q_block + aligned(kQueryBlock * head_dim);
    s.scores = s.k_t + aligned(head_dim * kKeyBlock);
    s.blocked = s.scores + aligned(kQueryBlock * kKeyBlock);
    s.acc = s.blocked + aligned(kQueryBlock * kKeyBlock);
    s.qt = s.acc + aligned(kQueryBlock * v_head_dim);
    s.st = s.qt + aligned(head_dim * kRowBlock);
    s.row_acc = s.st + aligned(kKeyBlock * kRowBlock);
    s.q_rows = s.row_acc + aligned(kRowBlock * v_head_dim);
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

// Returns the largest of x[0..n), NaN if any entry is NaN, or -inf when
// n == 0. Blocked keys hold -inf, so they never win.
inline float max_of(const float* x, std::size_t n) {
  float m = -std::numeric_limits<float>::infinity();
  for (std::size_t i = 0; i < n; ++i) {
    m = (x[i] > m || x[i] != x[i]) ? x[i] : m;
  }
  return m;
}

// Replaces x[i] with cap·tanh(x[i]/cap) for i < n.
inline void softcap_in_place(float* x, std::size_t n, float cap) {
  const std::size_t n_vec = round_down_to_lanes(n);
  const Batch vcap(cap);
  const Batch vinv(1.0f / cap);
  for (std::size_t i = 0; i < n_vec; i += kLanes) {
    const Batch capped = vcap * xsimd::tanh(Batch::load_unaligned(x + i) * vinv);
    capped.store_unaligned(x + i);
  }
  for (std::size_t i = n_vec; i < n; ++i) {
    x[i] = cap * std::tanh(x[i] / cap);
  }
}

// Replaces x[i] with exp(x[i] - shift) for i < n and returns their sum.
inline float exp_shifted_sum(float* x, std::size_t n, float shift) {
  const std::size_t n_vec = round_down_to_lanes(n);
  const Batch vshift(shift);

  Batch vsum(0.0f);
  for (std::size_t i = 0; i < n_vec; i += kLanes) {
    const Batch p = exp_poly(Batch::load_unaligned(x + i) - vshift);
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
// blocked: [n_keys] flags (1 = blocked), or null when no key is blocked.
// v_rows: first value row of the block. acc: [v_head_dim].
inline void online_softmax_update(float* scores, const float* blocked, std::size_t n_keys,
                                  const float* v_rows, std::size_t v_stride,
                                  std::size_t v_head_dim, float& row_max, float& row_sum,
                                  float* acc) {
  const float block_max = max_of(scores, n_keys);
  if (block_max == -std::numeric_limits<float>::infinity()) {
    return;  // every key of this block is blocked (or scores -inf) for this row
  }

  const float new_max = (block_max > row_max || block_max != block_max) ? block_max : row_max;
  const float block_sum = exp_shifted_sum(scores, n_keys, new_max);

  // Rescale what earlier blocks accumulated under the old maximum.
  if (!(row_max == new_max)) {
    const float correction = row_max == -std::numeric_limits<float>::infinity()
                                 ? 0.0f
                                 : std::exp(row_max - new_max);
    row_sum *= correction;
    scale_in_place(correction, acc, v_head_dim);
  }
  row_sum += block_sum;
  row_max = new_max;

  // Blocked keys are skipped by their flag, not by their weight, so NaN in a
  // blocked value row never reaches acc, while NaN in an attended row does.
  for (std::size_t c = 0; c < n_keys; ++c) {
    if (!blocked || blocked[c] == 0.0f) {
      axpy(scores[c], v_rows + c * v_stride, acc, v_head_dim);
    }
  }
}

// Returns true when the bias can block any key of this head.
inline bool has_bias(const HeadView& h) {
  return h.bias.mask != nullptr || h.bias.causal || h.bias.key_limit < h.kv_len;
}

// Returns one past the last key that any of rows [i0, i0 + rows) may
// attend, so key blocks at or beyond it can be skipped.
inline std::size_t key_end_for_rows(const HeadView& h, std::size_t i0, std::size_t rows) {
  std::size_t end = h.bias.key_limit < h.kv_len ? h.bias.key_limit : h.kv_len;
  if (h.bias.mask && h.bias.mask_cols < end) {
    end = h.bias.mask_cols;
  }
  if (h.bias.causal) {
    const std::ptrdiff_t last = static_cast<std::ptrdiff_t>(i0 + rows - 1) + h.bias.causal_offset;
    const std::size_t causal_end = last < 0 ? 0 : static_cast<std::size_t>(last) + 1;
    end = causal_end < end ? causal_end : end;
  }
  return end;
}

// Adds the bias of query row i to scores [n_keys] of the key block that
// starts at key j0; blocked keys get -inf and blocked[c] = 1. Returns the
// number of keys left unblocked.
inline std::size_t apply_bias(const HeadView& h, std::size_t i, std::size_t j0,
                              std::size_t n_keys, float* scores, float* blocked) {
  const float neg_inf = -std::numeric_limits<float>::infinity();
  const HeadBias& b = h.bias;
  std::size_t allowed = 0;
  for (std::size_t c = 0; c < n_keys; ++c) {
    const std::size_t j = j0 + c;
    bool is_blocked = j >= b.key_limit;
    if (b.causal && static_cast<std::ptrdiff_t>(j) >
                        static_cast<std::ptrdiff_t>(i) + b.causal_offset) {
      is_blocked = true;
    }
    if (!is_blocked && b.mask) {
      if (j >= b.mask_cols) {
        is_blocked = true;
      } else {
        const std::size_t at = i * b.mask_row_stride + j * b.mask_col_stride;
        if (b.mask_is_bool) {
          is_blocked = static_cast<const unsigned char*>(b.mask)[at] == 0;
        } else {
          const float m = static_cast<const float*>(b.mask)[at];
          is_blocked = m == neg_inf;
          scores[c] += m;
        }
      }
    }
    if (is_blocked) {
      scores[c] = neg_inf;  // also hides NaN in the key row
    } else {
      ++allowed;
    }
    blocked[c] = is_blocked ? 1.0f : 0.0f;
  }
  return allowed;
}

// Computes the scaled scores of `rows` query rows against the key block at j0.
inline void compute_scores(const HeadView& h, const AttentionScratch& scratch, std::size_t rows,
                           std::size_t j0, std::size_t n_keys) {
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
}

inline void copy_floats(const float* src, std::size_t n, float* dst) {
  for (std::size_t i = 0; i < n; ++i) {
    dst[i] = src[i];
  }
}

// Turns a row of the score output that contains biased scores into softmax
// probabilities, given the row's final maximum and sum.
inline void normalize_score_row(float* row, std::size_t n, bool any_allowed, float row_max,
                                float row_sum) {
  const float neg_inf = -std::numeric_limits<float>::infinity();
  const float inv_sum = 1.0f / row_sum;
  for (std::size_t j = 0; j < n; ++j) {
    row[j] = (!any_allowed || row[j] == neg_inf) ? 0.0f : std::exp(row[j] - row_max) * inv_sum;
  }
}

// Runs attention for one head with any options. scratch must come from
// AttentionScratch::carve with the same head sizes.
ATTNKIT_NOINLINE inline void attention_head_general(const HeadView& h, const AttentionScratch& scratch) {
  const float neg_inf = -std::numeric_limits<float>::infinity();
  const bool biased = has_bias(h);

  for (std::size_t i0 = 0; i0 < h.q_len; i0 += kQueryBlock) {
    const std::size_t rows = h.q_len - i0 < kQueryBlock ? h.q_len - i0 : kQueryBlock;
    float row_max[kQueryBlock];
    float row_sum[kQueryBlock];
    bool any_allowed[kQueryBlock];

    // Scale the queries once per block: scale·(q·k) = (scale·q)·k.
    for (std::size_t r = 0; r < rows; ++r) {
      const float* q_row = h.q + (i0 + r) * h.q_stride;
      float* dst = scratch.q_block + r * h.head_dim;
      for (std::size_t d = 0; d < h.head_dim; ++d) {
        dst[d] = q_row[d] * h.scale;
      }
      row_max[r] = neg_inf;
      row_sum[r] = 0.0f;
      any_allowed[r] = false;
      for (std::size_t d = 0; d < h.v_head_dim; ++d) {
        scratch.acc[r * h.v_head_dim + d] = 0.0f;
      }
    }

    // Key blocks past the last key any row of this block may attend hold
    // nothing but blocked keys. They are skipped unless the caller asked
    // for the scores, which cover every key.
    const std::size_t key_end = h.scores_out ? h.kv_len : key_end_for_rows(h, i0, rows);

    for (std::size_t j0 = 0; j0 < key_end; j0 += kKeyBlock) {
      const std::size_t n_keys = key_end - j0 < kKeyBlock ? key_end - j0 : kKeyBlock;
      compute_scores(h, scratch, rows, j0, n_keys);

      for (std::size_t r = 0; r < rows; ++r) {
        float* scores = scratch.scores + r * kKeyBlock;
        float* blocked = scratch.blocked + r * kKeyBlock;
        float* score_row = h.scores_out ? h.scores_out + (i0 + r) * h.kv_len + j0 : nullptr;
        if (score_row && h.scores_stage == ScoreStage::kScaled) {
          copy_floats(scores, n_keys, score_row);
        }
        if (h.bias.softcap > 0.0f) {
          softcap_in_place(scores, n_keys, h.bias.softcap);
        }
        if (score_row && h.scores_stage == ScoreStage::kSoftcapped) {
          copy_floats(scores, n_keys, score_row);
        }
        if (biased) {
          any_allowed[r] |= apply_bias(h, i0 + r, j0, n_keys, scores, blocked) > 0;
        } else {
          any_allowed[r] = true;
        }
        // The softmax stage stores the biased scores here and converts them
        // once the row's final maximum and sum are known.
        if (score_row && (h.scores_stage == ScoreStage::kBiased ||
                          h.scores_stage == ScoreStage::kSoftmax)) {
          copy_floats(scores, n_keys, score_row);
        }
        online_softmax_update(scores, biased ? blocked : nullptr, n_keys,
                              h.v + j0 * h.v_stride, h.v_stride, h.v_head_dim, row_max[r],
                              row_sum[r], scratch.acc + r * h.v_head_dim);
      }
    }

    // The fully-masked test comes from the bias: a row with no attended key
    // returns zeros. A row with attended keys whose sum is zero (all scores
    // -inf) returns NaN, as softmax does.
    for (std::size_t r = 0; r < rows; ++r) {
      float* out_row = h.out + (i0 + r) * h.out_stride;
      const float* acc_row = scratch.acc + r * h.v_head_dim;
      const float inv_sum = 1.0f / row_sum[r];
      for (std::size_t d = 0; d < h.v_head_dim; ++d) {
        out_row[d] = any_allowed[r] ? acc_row[d] * inv_sum : 0.0f;
      }
      if (h.scores_out && h.scores_stage == ScoreStage::kSoftmax) {
        normalize_score_row(h.scores_out + (i0 + r) * h.kv_len, h.kv_len, any_allowed[r],
                            row_max[r], row_sum[r]);
      }
    }
  }
}

}  // namespace kernels
}  // namespace attnkit
