// Specialised attention kernel for the common case: no mask, no softcap and
// no score output. Keys may still be limited by key_limit and by the causal
// rule, which this kernel handles with per-row key ranges, so its inner loops
// carry no per-element checks.
//
// The kernel works on blocks of kRowBlock query rows. The block's queries
// are stored transposed and pre-scaled (qt[d][r] = scale·log2(e)·q[r][d]),
// so the scores of a key block come out transposed too (st[c][r]) and in
// units of log2(e), and every step of the online softmax runs on vectors of
// query rows:
// - Q·Kᵀ: a tile of keys × vectors of rows keeps 8 accumulators in
//   registers. Each step broadcasts one element of each key row and loads
//   vectors of qt, so key rows are read in place, without a copy.
// - softmax: the running maximum, sum and rescale factor of kLanes rows at
//   a time, with the polynomial 2^x (exp2_nonpositive), which needs fewer
//   steps than exp.
// - P·V: a tile of rows × vectors of value columns (8 accumulators) stays
//   in registers while the value rows of the block stream past.
// Working memory (in AttentionScratch) is O(kRowBlock·(head_dim + v_head_dim + kKeyBlock)).
#pragma once

#include <array>
#include <cstddef>
#include <limits>
#include <utility>

#include "kernels/attention_kernels.h"
#include "kernels/exp_kernels.h"
#include "kernels/simd.h"

namespace attnkit {
namespace kernels {

// Register tiles of kTileAccumulators vectors. Q·Kᵀ: kTileAccumulators /
// kScoreVecs keys × kScoreVecs vectors of query rows. P·V: kPvRows rows ×
// kTileAccumulators / kPvRows vectors of value columns. With 4 lanes
// (SIMD128) the tiles read 64 bytes, a whole cache line, of each qt row and
// value row at a time. In the WebAssembly build this took about two thirds
// of the time of tiles that read 32 bytes (4 keys × 2 vectors and 4 rows ×
// 2 vectors). Wider vectors read whole lines with two vectors. With AVX-512
// the tiles hold 16 accumulators (8 keys or 8 rows × 2 vectors). With 8,
// GCC 12 folded the vector loads into the FMAs, so each vector was loaded
// once per key or row and the loads limited the FMA rate.
constexpr std::size_t kScoreVecs = kLanes == 4 ? 4 : 2;
constexpr std::size_t kPvRows = kLanes == 4 ? 2 : kTileAccumulators / 2;
static_assert(kRowBlock % (kScoreVecs * kLanes) == 0, "row block must hold whole score tiles");

// Returns true when attention_head_fast computes this head.
inline bool fast_path_applies(const HeadView& h) {
  return h.bias.mask == nullptr && !(h.bias.softcap > 0.0f) && h.scores_out == nullptr;
}

// st[kk][v] (kk < NK keys, v < NV row vectors) = Σ_d k[kk][d] · qt[d][v].
// qt and st point at the first row vector of the tile; both have row
// stride kRowBlock.
template <std::size_t NK, std::size_t NV>
ATTNKIT_ALWAYS_INLINE inline void score_tile(const float* qt, const float* k,
                                             std::size_t k_stride, std::size_t head_dim,
                                             float* st) {
  Batch acc[NK][NV];
  for (std::size_t kk = 0; kk < NK; ++kk) {
    for (std::size_t v = 0; v < NV; ++v) {
      acc[kk][v] = Batch(0.0f);
    }
  }
  // The pointers advance by one element of head_dim, so the WebAssembly
  // build needs no multiply per element to find the operands.
  const float* q_col = qt;
  const float* k_col = k;
  for (std::size_t d = 0; d < head_dim; ++d) {
    Batch q[NV];
    for (std::size_t v = 0; v < NV; ++v) {
      q[v] = Batch::load_unaligned(q_col + v * kLanes);
    }
    for (std::size_t kk = 0; kk < NK; ++kk) {
      const Batch kd(k_col[kk * k_stride]);
      for (std::size_t v = 0; v < NV; ++v) {
        acc[kk][v] = xsimd::fma(kd, q[v], acc[kk][v]);
      }
    }
    q_col += kRowBlock;
    k_col += 1;
  }
  for (std::size_t kk = 0; kk < NK; ++kk) {
    for (std::size_t v = 0; v < NV; ++v) {
      acc[kk][v].store_unaligned(st + kk * kRowBlock + v * kLanes);
    }
  }
}

// Scores of n_keys keys (rows of k) against n_vec row vectors of qt.
// score_keys, and pv_rows for blocks of many rows, are called through
// function pointers (see the calls for the WebAssembly build), so they are
// not inlined into attention_head_fast. Inlined there, GCC 12 ran out of
// general registers, kept integers in vector registers and then spilled the
// tiles' vectors to the stack. On an AMD EPYC (Zen 4) host that made
// attention (b) about 1.4 times slower natively (measured with
// bench/native/bench_native.cpp mha-parts).
template <std::size_t NV>
ATTNKIT_NOINLINE inline void score_keys(const float* qt, const float* k, std::size_t k_stride,
                                        std::size_t head_dim, std::size_t n_keys, float* st) {
  std::size_t c = 0;
  // A narrow tile takes more keys.
  constexpr std::size_t kKeys = kTileAccumulators / NV;
  for (; c + kKeys <= n_keys; c += kKeys) {
    score_tile<kKeys, NV>(qt, k + c * k_stride, k_stride, head_dim, st + c * kRowBlock);
  }
  for (; c < n_keys; ++c) {
    score_tile<1, NV>(qt, k + c * k_stride, k_stride, head_dim, st + c * kRowBlock);
  }
}

// Writes qt[d][r] = scale·q[r][d] for d < head_dim and r < rows (row
// stride kRowBlock), and 0 for rows from `rows` to `padded`. With 4 lanes,
// blocks of 4 rows × 4 columns are loaded as rows, transposed with zips and
// stored as columns. The remaining elements, and all of them with wider
// vectors, are copied one at a time.
// In the WebAssembly build the element loop had about 2.5 % of the samples
// of attention (a), whose head size is 192, and the 4 × 4 form made (a)
// about 1 % faster.
inline void transpose_scaled(const float* q, std::size_t q_stride, std::size_t rows,
                             std::size_t padded, std::size_t head_dim, float scale, float* qt) {
  std::size_t r0 = 0;
  std::size_t d_vec = 0;
  if constexpr (kLanes == 4) {
    using DoubleBatch = xsimd::batch<double, Arch>;
    d_vec = round_down_to_lanes(head_dim);
    const Batch vscale(scale);
    for (; r0 + 4 <= rows; r0 += 4) {
      const float* src = q + r0 * q_stride;
      float* dst = qt + r0;
      for (std::size_t d = 0; d < d_vec; d += 4) {
        const Batch a = Batch::load_unaligned(src + d) * vscale;
        const Batch b = Batch::load_unaligned(src + q_stride + d) * vscale;
        const Batch c = Batch::load_unaligned(src + 2 * q_stride + d) * vscale;
        const Batch e = Batch::load_unaligned(src + 3 * q_stride + d) * vscale;
        // ab_lo = a0 b0 a1 b1, ab_hi = a2 b2 a3 b3, and the same for c, e.
        const auto ab_lo = xsimd::bitwise_cast<DoubleBatch>(xsimd::zip_lo(a, b));
        const auto ab_hi = xsimd::bitwise_cast<DoubleBatch>(xsimd::zip_hi(a, b));
        const auto ce_lo = xsimd::bitwise_cast<DoubleBatch>(xsimd::zip_lo(c, e));
        const auto ce_hi = xsimd::bitwise_cast<DoubleBatch>(xsimd::zip_hi(c, e));
        xsimd::bitwise_cast<Batch>(xsimd::zip_lo(ab_lo, ce_lo)).store_unaligned(dst);
        xsimd::bitwise_cast<Batch>(xsimd::zip_hi(ab_lo, ce_lo)).store_unaligned(dst + kRowBlock);
        xsimd::bitwise_cast<Batch>(xsimd::zip_lo(ab_hi, ce_hi)).store_unaligned(dst + 2 * kRowBlock);
        xsimd::bitwise_cast<Batch>(xsimd::zip_hi(ab_hi, ce_hi)).store_unaligned(dst + 3 * kRowBlock);
        dst += 4 * kRowBlock;
      }
    }
  }
  // Columns past d_vec of the transposed rows, then the other rows whole.
  for (std::size_t r = 0; r < padded; ++r) {
    const std::size_t d_first = r < r0 ? d_vec : 0;
    const float* src = q + r * q_stride;
    float* dst = qt + d_first * kRowBlock + r;
    for (std::size_t d = d_first; d < head_dim; ++d) {
      *dst = r < rows ? src[d] * scale : 0.0f;
      dst += kRowBlock;
    }
  }
}

// Whether blocks of at most kLanes rows compute their scores as dot
// products along head_dim (score_keys_by_rows) rather than with broadcast
// key elements (score_keys<1>). With 4 lanes the tile keeps 8 accumulators,
// and each step loads two key vectors and four query vectors, where
// score_keys<1> broadcasts 8 key elements, each at its own address. Wider
// vectors would need 2·kLanes accumulators, more than the registers.
constexpr bool kScoresByRows = kLanes == 4;

// Fills qb, the layout score_keys_by_rows reads: for each kLanes-wide slice
// j of head_dim, the slices of the kLanes rows follow one another, so that
// qb[(j·kLanes + r)·kLanes + i] = scale·q[r][j·kLanes + i]. Rows from `rows`
// on and columns from head_dim on are zero. Whole slices are copied as
// vectors, because in the WebAssembly build the element loop took about
// 0.1 µs per key/value head of a decoding step.
inline void pack_query_slices(const float* q, std::size_t q_stride, std::size_t rows,
                              std::size_t head_dim, float scale, float* qb) {
  const std::size_t slices = (head_dim + kLanes - 1) / kLanes;
  const std::size_t whole_slices = head_dim / kLanes;
  const Batch vscale(scale);
  for (std::size_t j = 0; j < whole_slices; ++j) {
    for (std::size_t r = 0; r < kLanes; ++r) {
      const Batch scaled = r < rows ? Batch::load_unaligned(q + r * q_stride + j * kLanes) * vscale
                                    : Batch(0.0f);
      scaled.store_unaligned(qb + (j * kLanes + r) * kLanes);
    }
  }
  for (std::size_t j = whole_slices; j < slices; ++j) {
    for (std::size_t r = 0; r < kLanes; ++r) {
      for (std::size_t i = 0; i < kLanes; ++i) {
        const std::size_t d = j * kLanes + i;
        qb[(j * kLanes + r) * kLanes + i] = r < rows && d < head_dim ? q[r * q_stride + d] * scale : 0.0f;
      }
    }
  }
}

// st[c][r] = Σ_d qb(r, d) · k[c][d] for c < n_keys and r < kLanes, with qb
// from pack_query_slices. Two keys at a time: one accumulator per row and
// key over the vector part of head_dim, summed across lanes with haddp,
// which leaves the kLanes rows of a key in one vector.
inline void score_keys_by_rows(const float* qb, const float* k, std::size_t k_stride,
                               std::size_t head_dim, std::size_t n_keys, float* st) {
  const std::size_t d_vec = round_down_to_lanes(head_dim);
  alignas(64) float tail[2][kLanes];
  std::size_t c = 0;
  while (c < n_keys) {
    const std::size_t keys = n_keys - c >= 2 ? 2 : 1;
    const float* k0 = k + c * k_stride;
    const float* k1 = keys == 2 ? k0 + k_stride : k0;
    Batch acc0[kLanes];
    Batch acc1[kLanes];
    for (std::size_t r = 0; r < kLanes; ++r) {
      acc0[r] = Batch(0.0f);
      acc1[r] = Batch(0.0f);
    }
    const float* q_slice = qb;
    for (std::size_t d = 0; d < d_vec; d += kLanes) {
      const Batch kv0 = Batch::load_unaligned(k0 + d);
      const Batch kv1 = Batch::load_unaligned(k1 + d);
      for (std::size_t r = 0; r < kLanes; ++r) {
        const Batch q = Batch::load_unaligned(q_slice + r * kLanes);
        acc0[r] = xsimd::fma(q, kv0, acc0[r]);
        acc1[r] = xsimd::fma(q, kv1, acc1[r]);
      }
      q_slice += kLanes * kLanes;
    }
    Batch s0 = xsimd::haddp(acc0);
    Batch s1 = xsimd::haddp(acc1);
    if (d_vec < head_dim) {
      for (std::size_t r = 0; r < kLanes; ++r) {
        tail[0][r] = 0.0f;
        tail[1][r] = 0.0f;
        for (std::size_t d = d_vec; d < head_dim; ++d) {
          const float q = q_slice[r * kLanes + (d - d_vec)];
          tail[0][r] += q * k0[d];
          tail[1][r] += q * k1[d];
        }
      }
      s0 += Batch::load_aligned(tail[0]);
      s1 += Batch::load_aligned(tail[1]);
    }
    s0.store_unaligned(st + c * kRowBlock);
    if (keys == 2) {
      s1.store_unaligned(st + (c + 1) * kRowBlock);
    }
    c += keys;
  }
}

// s[c] = Σ_d q[d] · k[c][d] for c < n_keys, one key row after the other,
// so K streams in memory order. Decoding benchmarks, where K comes from main
// memory, ran slower with several key rows side by side: about 1.5 times
// with 16 rows natively (AVX-512), and also with 4 rows in WebAssembly.
inline void score_row_by_keys(const float* q, const float* k, std::size_t k_stride,
                              std::size_t head_dim, std::size_t n_keys, float* s) {
  for (std::size_t c = 0; c < n_keys; ++c) {
    s[c] = dot(q, k + c * k_stride, head_dim);
  }
}

// Weight layouts of the P·V steps. Blocks of many rows store the weights
// w[c][r] (row stride kRowBlock), key-major steps store w[r][c] (row stride
// kKeyBlock). Knowing the layout at compile time puts every weight of a
// tile at a constant offset from one pointer.
template <bool KeyMajor>
struct WeightLayout {
  static constexpr std::size_t kKeyStep = KeyMajor ? 1 : kRowBlock;
  static constexpr std::size_t kRowStep = KeyMajor ? kKeyBlock : 1;
};

// acc[r][j·kLanes ..] = corr[r]·acc[r][..] + Σ_{c in [c0, c1)} w(r, c)·v[c][..]
// for NR rows and NC column vectors, where the weight w(r, c) of row r and
// key c is w[c·kKeyStep + r·kRowStep] of WeightLayout<KeyMajor>. w and corr
// point at the first row, acc at the tile's first element (row stride
// acc_stride), v at the tile's first column of key row 0.
template <std::size_t NR, std::size_t NC, bool KeyMajor>
ATTNKIT_ALWAYS_INLINE inline void pv_tile(const float* w, const float* corr, std::size_t c0,
                                          std::size_t c1, const float* v, std::size_t v_stride,
                                          float* acc, std::size_t acc_stride) {
  using Layout = WeightLayout<KeyMajor>;
  Batch a[NR][NC];
  for (std::size_t r = 0; r < NR; ++r) {
    const Batch cr(corr[r]);
    for (std::size_t j = 0; j < NC; ++j) {
      a[r][j] = Batch::load_unaligned(acc + r * acc_stride + j * kLanes) * cr;
    }
  }
  // The weight and value pointers advance by one key, so the WebAssembly
  // build needs no multiply per key to find them.
  const float* w_key = w + c0 * Layout::kKeyStep;
  const float* v_row = v + c0 * v_stride;
  for (std::size_t c = c0; c < c1; ++c) {
    if constexpr (NR == 1) {
      // Each value vector is loaded next to its only use, because 8
      // accumulators and 8 loaded vectors would not fit the 16 x86-64
      // vector registers that V8 allocates from.
      const Batch p(*w_key);
      for (std::size_t j = 0; j < NC; ++j) {
        a[0][j] = xsimd::fma(p, Batch::load_unaligned(v_row + j * kLanes), a[0][j]);
      }
    } else {
      Batch vv[NC];
      for (std::size_t j = 0; j < NC; ++j) {
        vv[j] = Batch::load_unaligned(v_row + j * kLanes);
      }
      for (std::size_t r = 0; r < NR; ++r) {
        const Batch p(w_key[r * Layout::kRowStep]);
        for (std::size_t j = 0; j < NC; ++j) {
          a[r][j] = xsimd::fma(p, vv[j], a[r][j]);
        }
      }
    }
    w_key += Layout::kKeyStep;
    v_row += v_stride;
  }
  for (std::size_t r = 0; r < NR; ++r) {
    for (std::size_t j = 0; j < NC; ++j) {
      a[r][j].store_unaligned(acc + r * acc_stride + j * kLanes);
    }
  }
}

// Runs pv_tile over the value columns [d, v_head_dim) of NR rows: tiles of
// NC vectors while they fit, then NC / 2 vectors and so on down to one
// vector. Returns the first column of the scalar tail.
template <std::size_t NR, std::size_t NC, bool KeyMajor>
ATTNKIT_ALWAYS_INLINE inline std::size_t pv_columns(const float* w, const float* factor,
                                                    std::size_t c0, std::size_t c1, const float* v,
                                                    std::size_t v_stride, std::size_t v_head_dim,
                                                    float* acc, std::size_t d) {
  for (; d + NC * kLanes <= v_head_dim; d += NC * kLanes) {
    pv_tile<NR, NC, KeyMajor>(w, factor, c0, c1, v + d, v_stride, acc + d, v_head_dim);
  }
  if constexpr (NC > 1) {
    return pv_columns<NR, NC / 2, KeyMajor>(w, factor, c0, c1, v, v_stride, v_head_dim, acc, d);
  } else {
    return d;
  }
}

// Runs pv_tile over the value columns from first_column on of NR rows,
// then the scalar columns. Fewer rows take wider tiles (kTileAccumulators /
// NR vectors), so each value row is read in fewer, longer pieces. Keys are
// taken key_chunk at a time, so a chunk's value rows are read whole before
// the next chunk starts.
template <std::size_t NR, bool KeyMajor>
void pv_rows(const float* w, const float* corr, std::size_t c1, std::size_t key_chunk,
             const float* v, std::size_t v_stride, std::size_t v_head_dim, float* acc,
             std::size_t first_column) {
  using Layout = WeightLayout<KeyMajor>;
  constexpr std::size_t kWidestTile = kTileAccumulators / NR > 0 ? kTileAccumulators / NR : 1;
  // The rescale factors apply once, with the first chunk.
  float ones[NR];
  for (std::size_t r = 0; r < NR; ++r) {
    ones[r] = 1.0f;
  }
  const float* factor = corr;
  std::size_t start = 0;
  do {
    const std::size_t end = c1 - start < key_chunk ? c1 : start + key_chunk;
    std::size_t d = pv_columns<NR, kWidestTile, KeyMajor>(w, factor, start, end, v, v_stride,
                                                          v_head_dim, acc, first_column);
    for (; d < v_head_dim; ++d) {
      for (std::size_t r = 0; r < NR; ++r) {
        float sum = acc[r * v_head_dim + d] * factor[r];
        for (std::size_t c = start; c < end; ++c) {
          sum += w[c * Layout::kKeyStep + r * Layout::kRowStep] * v[c * v_stride + d];
        }
        acc[r * v_head_dim + d] = sum;
      }
    }
    factor = ones;
    start = end;
  } while (start < c1);
}

// The pv_rows instances for 1 to kPvRows rows, indexed by rows − 1.
using PvRowsFn = void (*)(const float*, const float*, std::size_t, std::size_t, const float*,
                          std::size_t, std::size_t, float*, std::size_t);
template <bool KeyMajor, std::size_t... RowsMinusOne>
constexpr std::array<PvRowsFn, sizeof...(RowsMinusOne)> pv_rows_table(
    std::index_sequence<RowsMinusOne...>) {
  return {&pv_rows<RowsMinusOne + 1, KeyMajor>...};
}

// P·V for the first `groups` groups of kPvRows rows of a block of many rows
// (weights w[c][r], row stride kRowBlock), over the value columns that the
// widest tile covers. Group g takes keys [0, common[g]). Returns the first
// column left to pv_rows. The column slices are the outer loop, so one
// slice of the value block (a cache line per key with 4 lanes) serves every
// group while it is in the L1 cache. With the groups outer, each group read
// the whole value block, which with the scores and the accumulators did not
// fit the L1 cache. Attention (a) then took 1.06 times and causal (c1024)
// 1.03 times as long in the WebAssembly build. There binaryen inlines this
// function into its caller anyway, which was as fast as a call through a
// pointer. Natively, GCC 12 inlining it made attention (b) 1.12 times as
// slow, hence ATTNKIT_NOINLINE.
ATTNKIT_NOINLINE inline std::size_t pv_groups(const float* w, const float* corr,
                                              const std::size_t* common, std::size_t groups,
                                              const float* v, std::size_t v_stride,
                                              std::size_t v_head_dim, float* acc) {
  constexpr std::size_t kCols = kTileAccumulators / kPvRows;
  std::size_t d = 0;
  for (; d + kCols * kLanes <= v_head_dim; d += kCols * kLanes) {
    for (std::size_t g = 0; g < groups; ++g) {
      const std::size_t r0 = g * kPvRows;
      pv_tile<kPvRows, kCols, false>(w + r0, corr + r0, 0, common[g], v + d, v_stride,
                                     acc + r0 * v_head_dim + d, v_head_dim);
    }
  }
  return d;
}

// Computes the weights w[r][c] (row stride kKeyBlock, in scratch.st) of the
// key block at j0 for rows < kLanes / 2, and updates each row's maximum, sum
// and rescale factor, all in units of log2(e) as scratch.q_rows is scaled.
// Keys at or past row_end[r] get weight 0.
inline void softmax_block_key_major(const HeadView& h, const AttentionScratch& scratch,
                                    std::size_t rows, std::size_t j0, std::size_t n_keys,
                                    const std::size_t* row_end, float* row_max, float* row_sum,
                                    float* corr) {
  const float neg_inf = -std::numeric_limits<float>::infinity();
  const float* k_block = h.k + j0 * h.k_stride;
  for (std::size_t r = 0; r < rows; ++r) {
    float* w = scratch.st + r * kKeyBlock;
    std::size_t n = row_end[r] > j0 ? row_end[r] - j0 : 0;
    if (n > n_keys) {
      n = n_keys;
    }
    score_row_by_keys(scratch.q_rows + r * h.head_dim, k_block, h.k_stride, h.head_dim, n, w);

    // Blocked keys up to the next whole vector get −inf, so the vector
    // loops below need no tail. kKeyBlock is a multiple of kLanes.
    const std::size_t n_padded = (n + kLanes - 1) / kLanes * kLanes;
    for (std::size_t c = n; c < n_padded; ++c) {
      w[c] = neg_inf;
    }

    Batch vmax(row_max[r]);
    for (std::size_t c = 0; c < n_padded; c += kLanes) {
      vmax = max_lanes(Batch::load_unaligned(w + c), vmax);
    }
    // NaN in vmax (from a NaN score on engines whose max propagates it)
    // makes every weight NaN, which is the right result for that row.
    alignas(64) float lanes[kLanes];
    vmax.store_aligned(lanes);
    const float new_max = max_of(lanes, kLanes);
    const float shift = new_max == neg_inf ? 0.0f : new_max;
    const Batch vshift(shift);
    Batch vsum(0.0f);
    for (std::size_t c = 0; c < n_padded; c += kLanes) {
      const Batch p = exp2_nonpositive(Batch::load_unaligned(w + c) - vshift);
      p.store_unaligned(w + c);
      vsum += p;
    }
    const float rescale = row_max[r] == neg_inf ? 0.0f : std::exp2(row_max[r] - shift);
    row_sum[r] = row_sum[r] * rescale + xsimd::hadd(vsum);
    row_max[r] = new_max;
    corr[r] = rescale;
  }
}

// Runs attention for one head without mask, softcap or score output
// (fast_path_applies(h) must hold). scratch must come from
// AttentionScratch::carve with the same head sizes.
ATTNKIT_NOINLINE inline void attention_head_fast(const HeadView& h, const AttentionScratch& scratch) {
  const float neg_inf = -std::numeric_limits<float>::infinity();
  const std::size_t key_limit = h.bias.key_limit < h.kv_len ? h.bias.key_limit : h.kv_len;
  // Scores in units of log2(e): 2^(scale·log2(e)·q·k) = exp(scale·q·k).
  const float score_scale = h.scale * 1.44269504088896341f;

  for (std::size_t i0 = 0; i0 < h.q_len; i0 += kRowBlock) {
    const std::size_t rows = h.q_len - i0 < kRowBlock ? h.q_len - i0 : kRowBlock;
    const std::size_t n_vec = (rows + kLanes - 1) / kLanes;
    const std::size_t padded = n_vec * kLanes;

    // Keys [0, row_end[r]) are attended by row r.
    alignas(64) float row_max[kRowBlock];
    alignas(64) float row_sum[kRowBlock];
    alignas(64) float corr[kRowBlock];
    std::size_t row_end[kRowBlock];
    std::size_t block_end = 0;
    for (std::size_t r = 0; r < padded; ++r) {
      std::size_t end = key_limit;
      if (h.bias.causal) {
        // Padded rows take the last real row's range; their results are unused.
        const std::size_t i = i0 + (r < rows ? r : rows - 1);
        const std::ptrdiff_t last = static_cast<std::ptrdiff_t>(i) + h.bias.causal_offset;
        const std::size_t causal_end = last < 0 ? 0 : static_cast<std::size_t>(last) + 1;
        end = causal_end < end ? causal_end : end;
      }
      row_end[r] = end;
      block_end = end > block_end ? end : block_end;
      row_max[r] = neg_inf;
      row_sum[r] = 0.0f;
    }

    // Blocks that would fill less than half a vector of rows (decoding) run
    // the key-major steps, where weights are stored w[r][c], not w[c][r].
    const bool key_major = 2 * rows <= kLanes;
    const std::size_t key_step = key_major ? 1 : kRowBlock;
    const std::size_t row_step = key_major ? kKeyBlock : 1;
    // Decoding streams V from main memory, where reading each value row
    // whole (in chunks of a few keys) keeps the hardware prefetch effective.
    // Blocks of many rows reuse the value block from cache instead.
    const std::size_t chunk = key_major ? 8 : kKeyBlock;
    if (key_major) {
      for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t d = 0; d < h.head_dim; ++d) {
          scratch.q_rows[r * h.head_dim + d] = h.q[(i0 + r) * h.q_stride + d] * score_scale;
        }
      }
    }

    // A block of at most kLanes rows takes its scores from
    // score_keys_by_rows, which reads the query slices in scratch.q_rows.
    const bool by_rows = kScoresByRows && !key_major && n_vec == 1;
    if (by_rows) {
      // Called through a volatile pointer, which binaryen cannot inline.
      // Inlined, it changed V8's register choices in the decode steps below
      // and slowed single-row decoding by about a tenth.
      using PackFn = void (*)(const float*, std::size_t, std::size_t, std::size_t, float, float*);
      static PackFn volatile pack = &pack_query_slices;
      pack(h.q + i0 * h.q_stride, h.q_stride, rows, h.head_dim, score_scale, scratch.q_rows);
    }

    // qt[d][r] = scale·log2(e)·q[r][d]; padded rows are zero.
    if (!key_major && !by_rows) {
      transpose_scaled(h.q + i0 * h.q_stride, h.q_stride, rows, padded, h.head_dim, score_scale,
                       scratch.qt);
    }
    for (std::size_t r = 0; r < rows; ++r) {
      float* acc_row = scratch.row_acc + r * h.v_head_dim;
      for (std::size_t d = 0; d < h.v_head_dim; ++d) {
        acc_row[d] = 0.0f;
      }
    }

    for (std::size_t j0 = 0; j0 < block_end; j0 += kKeyBlock) {
      const std::size_t n_keys = block_end - j0 < kKeyBlock ? block_end - j0 : kKeyBlock;
      const float* k_block = h.k + j0 * h.k_stride;
      const float* v_block = h.v + j0 * h.v_stride;

      if (key_major) {
        softmax_block_key_major(h, scratch, rows, j0, n_keys, row_end, row_max, row_sum, corr);
      } else {
        // Q·Kᵀ for every row vector of the block. This call and the P·V call
        // below go through function pointers, so binaryen cannot inline them
        // into this function. As functions of their own, V8 keeps their
        // accumulators in registers. Inlined here, the same loops spilled
        // them and took up to twice as long in Node 20.
        using ScoreKeysFn = void (*)(const float*, const float*, std::size_t, std::size_t,
                                     std::size_t, float*);
        static ScoreKeysFn const kScoreKeys[3] = {&score_keys<1>, &score_keys<kScoreVecs>,
                                                  &score_keys_by_rows};
        std::size_t v = 0;
        while (v < n_vec) {
          // by_rows implies a single row vector.
          std::size_t form = v + kScoreVecs <= n_vec ? 1 : 0;
          if (by_rows) {
            form = 2;
          }
          const float* q_arg = by_rows ? scratch.q_rows : scratch.qt + v * kLanes;
          kScoreKeys[form](q_arg, k_block, h.k_stride, h.head_dim, n_keys,
                           scratch.st + v * kLanes);
          v += form == 1 ? kScoreVecs : 1;
        }

        // Keys a row may not attend get −inf (this also hides NaN in them).
        for (std::size_t r = 0; r < padded; ++r) {
          const std::size_t first = row_end[r] > j0 ? row_end[r] - j0 : 0;
          for (std::size_t c = first; c < n_keys; ++c) {
            scratch.st[c * kRowBlock + r] = neg_inf;
          }
        }

        // Online softmax, kLanes rows at a time. While a row has seen only
        // blocked keys its maximum is −inf; the shift then is 0 so that
        // exp(−inf − shift) = 0 rather than NaN.
        // The loops step a pointer by one key, again to spare the
        // WebAssembly build a multiply per key, and the maximum runs in two
        // independent chains.
        const float* const st_end = scratch.st + n_keys * kRowBlock;
        for (std::size_t vi = 0; vi < n_vec; ++vi) {
          float* const col = scratch.st + vi * kLanes;
          const Batch old_max = Batch::load_unaligned(row_max + vi * kLanes);
          Batch max_even = old_max;
          Batch max_odd = old_max;
          const float* s_key = col;
          for (; s_key + kRowBlock < st_end; s_key += 2 * kRowBlock) {
            max_even = max_lanes(Batch::load_unaligned(s_key), max_even);
            max_odd = max_lanes(Batch::load_unaligned(s_key + kRowBlock), max_odd);
          }
          if (s_key < st_end) {
            max_even = max_lanes(Batch::load_unaligned(s_key), max_even);
          }
          const Batch new_max = max_lanes(max_odd, max_even);
          const Batch shift = xsimd::select(new_max == Batch(neg_inf), Batch(0.0f), new_max);
          const Batch rescale = exp2_nonpositive(old_max - shift);
          Batch sum(0.0f);
          for (float* w_key = col; w_key < st_end; w_key += kRowBlock) {
            const Batch p = exp2_nonpositive(Batch::load_unaligned(w_key) - shift);
            p.store_unaligned(w_key);
            sum += p;
          }
          new_max.store_unaligned(row_max + vi * kLanes);
          (xsimd::fma(Batch::load_unaligned(row_sum + vi * kLanes), rescale, sum))
              .store_unaligned(row_sum + vi * kLanes);
          rescale.store_unaligned(corr + vi * kLanes);
        }
      }

      // P·V, kPvRows rows at a time. Keys that every row of the group
      // attends go through the register tile. A row's other keys (on the
      // causal diagonal) are added one by one, so blocked value rows are
      // never read.
      std::size_t group_common[kRowBlock / kPvRows];
      for (std::size_t r0 = 0; r0 < rows; r0 += kPvRows) {
        const std::size_t nr = rows - r0 < kPvRows ? rows - r0 : kPvRows;
        std::size_t common = n_keys;
        for (std::size_t r = r0; r < r0 + nr; ++r) {
          const std::size_t e = row_end[r] > j0 ? row_end[r] - j0 : 0;
          common = e < common ? e : common;
        }
        group_common[r0 / kPvRows] = common;
      }
      // Whole groups of many-row blocks run their widest tiles in pv_groups.
      const std::size_t whole_groups = key_major ? 0 : rows / kPvRows;
      const std::size_t done_columns =
          whole_groups > 0 ? pv_groups(scratch.st, corr, group_common, whole_groups, v_block,
                                       h.v_stride, h.v_head_dim, scratch.row_acc)
                           : 0;
      for (std::size_t r0 = 0; r0 < rows; r0 += kPvRows) {
        const std::size_t nr = rows - r0 < kPvRows ? rows - r0 : kPvRows;
        const std::size_t common = group_common[r0 / kPvRows];
        const float* w = scratch.st + r0 * row_step;
        float* acc = scratch.row_acc + r0 * h.v_head_dim;
        const float* c_r = corr + r0;
        const std::size_t vs = h.v_stride;
        const std::size_t dv = h.v_head_dim;
        const std::size_t first_column = r0 / kPvRows < whole_groups ? done_columns : 0;
        static constexpr std::array<PvRowsFn, kPvRows> kPvRowsFns[2] = {
            pv_rows_table<false>(std::make_index_sequence<kPvRows>()),
            pv_rows_table<true>(std::make_index_sequence<kPvRows>())};
        if (key_major && nr == 1) {
          // Decoding one row: the direct call, inlined, read K and V about
          // 1.1 times as fast as the call through the table.
          pv_rows<1, true>(w, c_r, common, chunk, v_block, vs, dv, acc, 0);
        } else if (first_column < dv) {
          kPvRowsFns[key_major][nr - 1](w, c_r, common, chunk, v_block, vs, dv, acc,
                                        first_column);
        }
        for (std::size_t r = r0; r < r0 + nr; ++r) {
          std::size_t e = row_end[r] > j0 ? row_end[r] - j0 : 0;
          if (e > n_keys) {
            e = n_keys;
          }
          for (std::size_t c = common; c < e; ++c) {
            axpy(scratch.st[c * key_step + r * row_step], v_block + c * h.v_stride,
                 scratch.row_acc + r * h.v_head_dim, h.v_head_dim);
          }
        }
      }
    }

    // A row with no attended key returns zeros; a row whose attended keys
    // all score −inf has sum 0 and returns NaN, as softmax does.
    for (std::size_t r = 0; r < rows; ++r) {
      float* out_row = h.out + (i0 + r) * h.out_stride;
      const float* acc_row = scratch.row_acc + r * h.v_head_dim;
      const float inv_sum = 1.0f / row_sum[r];
      const bool any = row_end[r] > 0;
      for (std::size_t d = 0; d < h.v_head_dim; ++d) {
        out_row[d] = any ? acc_row[d] * inv_sum : 0.0f;
      }
    }
  }
}

// Runs attention for one head with the specialised kernel when it applies,
// otherwise with the general one. scratch must come from
// AttentionScratch::carve with the same head sizes.
// The call goes through a function pointer so that neither kernel is inlined
// into the caller. binaryen inlines a function with a single caller whatever
// its size, and V8 ran the one function holding both kernels about 1.5x
// slower in the WebAssembly build.
inline void attention_head(const HeadView& h, const AttentionScratch& scratch) {
  using HeadKernel = void (*)(const HeadView&, const AttentionScratch&);
  const HeadKernel kernel = fast_path_applies(h) ? &attention_head_fast : &attention_head_general;
  kernel(h, scratch);
}

// Stacks the query heads h0 .. h0 + group − 1 of a one-row query, which
// share one key/value head, into one view of `group` rows, so the key and
// value rows are read once for the group. head_stride and out_head_stride
// are the element distances between consecutive heads in q and out. With a
// single query row the causal rule is a key limit, which lets the rows share
// one range.
inline HeadView stack_decode_heads(HeadView first, std::size_t group, std::size_t head_stride,
                                   std::size_t out_head_stride) {
  if (first.bias.causal) {
    const std::ptrdiff_t last = first.bias.causal_offset;
    const std::size_t causal_end = last < 0 ? 0 : static_cast<std::size_t>(last) + 1;
    if (causal_end < first.bias.key_limit) {
      first.bias.key_limit = causal_end;
    }
    first.bias.causal = false;
  }
  first.q_len = group;
  first.q_stride = head_stride;
  first.out_stride = out_head_stride;
  return first;
}

}  // namespace kernels
}  // namespace attnkit
