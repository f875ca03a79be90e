// attnkit: attention and rotary position embedding kernels.
//
// This header is the portable C++ API. It uses plain pointers and shape
// structs and includes no SIMD headers, so the Embind layer and the test
// references can include it without xsimd.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace attnkit {

/// Library version, kept equal to the npm package version.
inline constexpr const char* kVersion = "0.1.0";

/// Outcome of an entry point: kOk, or a code and a message that names the
/// argument, the value given and what was expected.
enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument = 1,  // wrong shape, option value or pointer
  kOutOfRange = 2,       // sizes that overflow or exceed the memory limit
  kResourceExhausted = 3,  // scratch allocation failed
};

struct Status {
  StatusCode code = StatusCode::kOk;
  std::string message;

  bool ok() const { return code == StatusCode::kOk; }
  static Status Ok() { return {}; }
  static Status InvalidArgument(std::string msg) {
    return {StatusCode::kInvalidArgument, std::move(msg)};
  }
  static Status OutOfRange(std::string msg) {
    return {StatusCode::kOutOfRange, std::move(msg)};
  }
  static Status ResourceExhausted(std::string msg) {
    return {StatusCode::kResourceExhausted, std::move(msg)};
  }
};

/// Memory order of the [batch, heads, seq, dim] axes of an attention tensor.
enum class AttentionLayout : int {
  kBHSD = 0,  // [batch, num_heads, seq_len, head_dim]
  kBSHD = 1,  // [batch, seq_len, num_heads, head_dim], i.e. [batch, seq_len, hidden]
};

/// Shape of one scaled dot-product attention call.
///
/// q is [batch, num_heads, q_seq_len, head_dim], k is
/// [batch, num_kv_heads, kv_seq_len, head_dim], v is
/// [batch, num_kv_heads, kv_seq_len, v_head_dim] and the output is
/// [batch, num_heads, q_seq_len, v_head_dim]. q, k and v are stored in
/// `layout` order and the output in `out_layout` order, so a caller can read
/// [batch, heads, seq, dim] and write the heads side by side as
/// [batch, seq, heads·dim] without a transpose.
struct AttentionShape {
  std::size_t batch = 0;
  std::size_t num_heads = 0;
  std::size_t num_kv_heads = 0;
  std::size_t q_seq_len = 0;
  std::size_t kv_seq_len = 0;
  std::size_t head_dim = 0;
  std::size_t v_head_dim = 0;
  AttentionLayout layout = AttentionLayout::kBHSD;
  AttentionLayout out_layout = AttentionLayout::kBHSD;
};

struct AttentionOptions {
  /// Multiplier of Q·Kᵀ; used only when has_scale is set, otherwise the
  /// scale is 1/sqrt(head_dim).
  float scale = 0.0f;
  bool has_scale = false;
};

/// Computes softmax(Q·Kᵀ·scale)·V for each batch and head.
///
/// Query head h reads key/value head h / (num_heads / num_kv_heads), so
/// num_kv_heads must divide num_heads. The softmax subtracts the row maximum
/// and runs as an online softmax over key blocks, so no [q_seq_len,
/// kv_seq_len] score matrix is stored. A query row with no keys
/// (kv_seq_len == 0) returns zeros. A key whose weight is exactly zero adds
/// nothing, even when its value row contains NaN.
/// Agrees with a float64 reference within 1e-6 + 1e-5·|ref| per element on
/// the shapes in tests/cpp/attention_test.cpp.
/// Returns kInvalidArgument and leaves `out` untouched on a bad shape.
Status scaled_dot_product_attention(const float* q, const float* k,
                                    const float* v, float* out,
                                    const AttentionShape& shape,
                                    const AttentionOptions& options);

/// Shape of a multi-head attention call with already projected inputs.
/// q, k and v are [batch, num_heads, seq, head_dim] (q_seq_len for q,
/// kv_seq_len for k and v), and E = num_heads·head_dim.
struct MultiheadShape {
  std::size_t batch = 0;
  std::size_t num_heads = 0;
  std::size_t q_seq_len = 0;
  std::size_t kv_seq_len = 0;
  std::size_t head_dim = 0;
};

/// Runs attention per head, concatenates the heads to [batch, q_seq_len, E]
/// and applies the output projection o_weight [E, E] as PyTorch's
/// nn.MultiheadAttention applies out_proj.weight: out = concat · o_weightᵀ
/// (+ o_bias [E] when it is not null). out is [batch, q_seq_len, E].
Status multihead_attention(const float* q, const float* k, const float* v,
                           const float* o_weight, const float* o_bias,
                           float* out, const MultiheadShape& shape,
                           const AttentionOptions& options);

/// Shape of a RoPE call: x is [batch, seq_len, num_heads, head_dim].
struct RopeShape {
  std::size_t batch = 0;
  std::size_t seq_len = 0;
  std::size_t num_heads = 0;
  std::size_t head_dim = 0;
};

struct RopeOptions {
  /// θ of the RoFormer paper (arXiv 2104.09864): pair i turns by
  /// position · base^(−2i/head_dim).
  double base = 10000.0;
  /// Pairs are (x[2i], x[2i+1]) when set, (x[i], x[i + head_dim/2]) when not.
  bool interleaved = true;
  /// Position of the first token; token s sits at position_offset + s.
  std::int64_t position_offset = 0;
};

/// Applies rotary position embedding: each pair (a, b) at position m becomes
/// (a·cos(mθᵢ) − b·sin(mθᵢ), a·sin(mθᵢ) + b·cos(mθᵢ)). Angles are computed
/// in double and rounded to float once. x and out may be the same buffer.
/// Returns kInvalidArgument if head_dim is odd or zero.
Status apply_rope(const float* x, float* out, const RopeShape& shape,
                  const RopeOptions& options);

/// Name of the instruction set the kernels were compiled for, for example
/// "avx512bw", "avx2" or "wasm-simd128".
const char* simd_name();

}  // namespace attnkit
