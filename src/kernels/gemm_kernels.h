// Matrix product with a transposed right-hand side, C = A · Bᵀ (+ bias), as
// nn.Linear applies its weight. B is packed once into column panels so the
// micro-kernel broadcasts one element of A against a vector of B.
#pragma once

#include <cstddef>

#include "kernels/simd.h"

namespace attnkit {
namespace kernels {

// A micro-tile of kGemmRows × 2 vectors of C uses kTileAccumulators
// registers, so with AVX-512 it has 8 rows. With 4 rows GCC 12 folded the B
// loads into the FMAs and so loaded each B vector once per row. On an AMD
// EPYC (Zen 4) host gemm_packed ran the 512 × 768 × 768 product of
// multi-head attention at 112 GFLOP/s with 8 rows and at 58 GFLOP/s with 4.
constexpr std::size_t kGemmRows = kTileAccumulators / 2;  // rows of A per micro-tile
constexpr std::size_t kGemmCols = 2 * kLanes;             // columns of C per panel

// Number of panels pack_transposed_panels() writes for B [n, k].
inline std::size_t packed_panel_count(std::size_t n) { return (n + kGemmCols - 1) / kGemmCols; }

// Number of floats pack_transposed_panels() writes for B [n, k].
inline std::size_t packed_panels_floats(std::size_t n, std::size_t k) {
  return packed_panel_count(n) * kGemmCols * k;
}

// Packs panel p of B [n, k] (row-major): packed[p][kk][j] = B[p·kGemmCols + j][kk],
// zero beyond row n. Panels are independent, so threads may pack different
// panels of one buffer at the same time.
inline void pack_transposed_panel(const float* b, std::size_t n, std::size_t k, std::size_t p,
                                  float* packed) {
  // The copy takes kSteps columns of B at a time. It reads whole cache lines
  // of each row of B and writes a few kilobytes of the panel. Copying one
  // column at a time read one float from each of kGemmCols lines and took
  // twice as long for a 768 × 768 B that was not in the L2 cache.
  constexpr std::size_t kSteps = 16;
  const std::size_t n0 = p * kGemmCols;
  float* panel = packed + p * kGemmCols * k;
  const std::size_t rows = n - n0 < kGemmCols ? n - n0 : kGemmCols;
  for (std::size_t k0 = 0; k0 < k; k0 += kSteps) {
    const std::size_t k1 = k - k0 < kSteps ? k : k0 + kSteps;
    for (std::size_t j = 0; j < rows; ++j) {
      const float* b_row = b + (n0 + j) * k;
      for (std::size_t kk = k0; kk < k1; ++kk) {
        panel[kk * kGemmCols + j] = b_row[kk];
      }
    }
    for (std::size_t j = rows; j < kGemmCols; ++j) {
      for (std::size_t kk = k0; kk < k1; ++kk) {
        panel[kk * kGemmCols + j] = 0.0f;
      }
    }
  }
}

// Packs every panel of B [n, k] (see pack_transposed_panel).
inline void pack_transposed_panels(const float* b, std::size_t n, std::size_t k, float* packed) {
  for (std::size_t p = 0; p < packed_panel_count(n); ++p) {
    pack_transposed_panel(b, n, k, p, packed);
  }
}

// Rows of A that gemm_packed packs at a time, and the floats of scratch it
// needs for k columns.
constexpr std::size_t kGemmPackRows = 32;
inline std::size_t gemm_scratch_floats(std::size_t k) { return kGemmPackRows * k; }
static_assert(kGemmPackRows % kGemmRows == 0, "packed rows must fill whole micro-tiles");

// Packs rows [rows] of A [., k] (row stride a_stride) into blocks of
// kGemmRows rows: block i contains packed[i][kk][r] = A[i·kGemmRows + r][kk],
// zero beyond `rows`.
inline void pack_row_blocks(const float* a, std::size_t a_stride, std::size_t rows, std::size_t k,
                            float* packed) {
  for (std::size_t r0 = 0; r0 < rows; r0 += kGemmRows) {
    float* block = packed + r0 * k;
    for (std::size_t r = 0; r < kGemmRows; ++r) {
      const float* a_row = a + (r0 + r) * a_stride;
      const bool in_range = r0 + r < rows;
      for (std::size_t kk = 0; kk < k; ++kk) {
        block[kk * kGemmRows + r] = in_range ? a_row[kk] : 0.0f;
      }
    }
  }
}

// Computes kGemmRows × kGemmCols of C from one packed block of A and one
// panel of B. tile receives the result with row stride kGemmCols.
// Both operands advance by one step of k, and everything a step reads sits
// at a constant offset from the two pointers, so the WebAssembly build
// spends two additions per step on addresses.
inline void gemm_micro_tile(const float* a_block, const float* panel, std::size_t k, float* tile) {
  Batch acc0[kGemmRows];
  Batch acc1[kGemmRows];
  for (std::size_t r = 0; r < kGemmRows; ++r) {
    acc0[r] = Batch(0.0f);
    acc1[r] = Batch(0.0f);
  }

  const float* a_col = a_block;
  const float* b_row = panel;
  for (std::size_t kk = 0; kk < k; ++kk) {
    const Batch vb0 = Batch::load_unaligned(b_row);
    const Batch vb1 = Batch::load_unaligned(b_row + kLanes);
    for (std::size_t r = 0; r < kGemmRows; ++r) {
      const Batch va(a_col[r]);
      acc0[r] = xsimd::fma(va, vb0, acc0[r]);
      acc1[r] = xsimd::fma(va, vb1, acc1[r]);
    }
    a_col += kGemmRows;
    b_row += kGemmCols;
  }

  for (std::size_t r = 0; r < kGemmRows; ++r) {
    acc0[r].store_unaligned(tile + r * kGemmCols);
    acc1[r].store_unaligned(tile + r * kGemmCols + kLanes);
  }
}

// Computes C [m, n] = A [m, k] · Bᵀ + bias, with B given as packed panels and
// bias [n] or null. C may not alias A. scratch has gemm_scratch_floats(k)
// floats.
inline void gemm_packed(const float* a, std::size_t m, std::size_t k, const float* packed,
                        std::size_t n, const float* bias, float* c, float* scratch) {
  float tile[kGemmRows * kGemmCols];

  for (std::size_t m_first = 0; m_first < m; m_first += kGemmPackRows) {
    const std::size_t m_count = m - m_first < kGemmPackRows ? m - m_first : kGemmPackRows;
    pack_row_blocks(a + m_first * k, k, m_count, k, scratch);

    for (std::size_t n0 = 0; n0 < n; n0 += kGemmCols) {
      const float* panel = packed + (n0 / kGemmCols) * kGemmCols * k;
      const std::size_t cols = n - n0 < kGemmCols ? n - n0 : kGemmCols;

      for (std::size_t m0 = 0; m0 < m_count; m0 += kGemmRows) {
        const std::size_t rows = m_count - m0 < kGemmRows ? m_count - m0 : kGemmRows;
        gemm_micro_tile(scratch + m0 * k, panel, k, tile);

        // Only the valid rows and columns are written, so C may end right
        // after row m.
        for (std::size_t r = 0; r < rows; ++r) {
          float* c_row = c + (m_first + m0 + r) * n + n0;
          for (std::size_t j = 0; j < cols; ++j) {
            c_row[j] = tile[r * kGemmCols + j] + (bias ? bias[n0 + j] : 0.0f);
          }
        }
      }
    }
  }
}

}  // namespace kernels
}  // namespace attnkit
