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

/// Alignment of the causal mask: query row i (0-based within the call) may
/// attend key j (0-based over past and new keys) when j <= i + offset.
enum class CausalAlignment : int {
  kNone = 0,
  /// The ONNX Attention rule: offset = past_seq_len when a past cache is
  /// given, else nonpad_kv_seqlen[b] − q_seq_len when that is given, else 0.
  kOnnx = 1,
  /// offset = 0, PyTorch's is_causal: query i attends to keys 0..i.
  kTopLeft = 2,
  /// offset = T − q_seq_len, where T is nonpad_kv_seqlen[b] when given and
  /// past_seq_len + kv_seq_len otherwise, so the last query attends to every key.
  kBottomRight = 3,
};

/// Element type of AttentionOptions::mask.
enum class MaskType : int {
  kNone = 0,
  kBool = 1,   // uint8: nonzero = attend, 0 = blocked
  kFloat = 2,  // float added to the scores; −inf blocks the key
};

/// Stage of the scores that AttentionExtras::scores receives.
enum class ScoreOutputMode : int {
  kScaled = 0,      // scale·Q·Kᵀ
  kSoftcapped = 1,  // after the softcap (equal to kScaled without one)
  kBiased = 2,      // after the softcap and the mask, −inf at blocked keys
  kSoftmax = 3,     // the softmax probabilities; zero rows where every key is blocked
};

struct AttentionOptions {
  /// Multiplier of Q·Kᵀ; used only when has_scale is set, otherwise the
  /// scale is 1/sqrt(head_dim).
  float scale = 0.0f;
  bool has_scale = false;
  /// When > 0, scores become softcap·tanh(scores/softcap) before the mask is
  /// added. 0 turns it off; negative or non-finite values are rejected.
  float softcap = 0.0f;
  CausalAlignment causal = CausalAlignment::kNone;
  /// Mask of rank 2 to 4, broadcast numpy-style (aligned from the right)
  /// against [batch, num_heads, q_seq_len, T], T = past_seq_len + kv_seq_len.
  /// Each dim equals the target dim or 1. The last dim may also lie between
  /// 2 and T − 1; keys past its end are then blocked (ONNX opset 24).
  const void* mask = nullptr;
  MaskType mask_type = MaskType::kNone;
  std::size_t mask_rank = 0;
  std::size_t mask_dims[4] = {0, 0, 0, 0};
  /// [batch] valid key counts or null: in batch b, keys j >= nonpad[b] are
  /// blocked. Each value lies in [0, T]. Cannot be combined with a past cache.
  const std::int64_t* nonpad_kv_seqlen = nullptr;
};

/// KV-cache inputs and the optional outputs of scaled_dot_product_attention.
/// Every tensor here is [batch, heads, seq, dim] whatever the shape's layout.
struct AttentionExtras {
  /// [batch, num_kv_heads, past_seq_len, head_dim] and
  /// [batch, num_kv_heads, past_seq_len, v_head_dim]; both or neither.
  const float* past_key = nullptr;
  const float* past_value = nullptr;
  std::size_t past_seq_len = 0;
  /// Receive concat(past, new) along the sequence axis:
  /// [batch, num_kv_heads, T, head_dim] and [batch, num_kv_heads, T, v_head_dim].
  /// Either may be null; a past cache then uses scratch memory.
  float* present_key = nullptr;
  float* present_value = nullptr;
  /// Receives [batch, num_heads, q_seq_len, T] at the stage scores_mode names,
  /// or null.
  float* scores = nullptr;
  ScoreOutputMode scores_mode = ScoreOutputMode::kScaled;
};

/// Computes softmax(Q·Kᵀ·scale + bias)·V for each batch and head.
///
/// Query head h reads key/value head h / (num_heads / num_kv_heads), so
/// num_kv_heads must divide num_heads. The softmax subtracts the row maximum
/// and runs as an online softmax over key blocks, so no [q_seq_len,
/// kv_seq_len] score matrix is stored (unless extras.scores requests one),
/// and key blocks that the causal frontier, nonpad_kv_seqlen or a short mask
/// block for every row are skipped. A query row whose keys are all blocked,
/// or with no keys at all, returns zeros. Blocked keys never contribute, even
/// when their rows contain NaN; NaN in an attended key or value propagates.
/// Agrees with a float64 reference within 1e-6 + 1e-5·|ref| per element on
/// the shapes in tests/cpp/attention_test.cpp.
/// Returns kInvalidArgument and leaves `out` untouched on a bad shape or
/// option.
Status scaled_dot_product_attention(const float* q, const float* k,
                                    const float* v, float* out,
                                    const AttentionShape& shape,
                                    const AttentionOptions& options);

/// Same, with a KV cache and the optional present and score outputs.
Status scaled_dot_product_attention(const float* q, const float* k,
                                    const float* v, float* out,
                                    const AttentionShape& shape,
                                    const AttentionOptions& options,
                                    const AttentionExtras& extras);

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

/// Shape of multihead_attention_forward: query is [batch, q_seq_len,
/// embed_dim], key and value are [batch, kv_seq_len, embed_dim], and
/// num_heads divides embed_dim.
struct MultiheadForwardShape {
  std::size_t batch = 0;
  std::size_t num_heads = 0;
  std::size_t q_seq_len = 0;
  std::size_t kv_seq_len = 0;
  std::size_t embed_dim = 0;
};

/// Packed weights as torch.nn.MultiheadAttention stores them.
struct MultiheadForwardWeights {
  const float* in_proj_weight = nullptr;   // [3·E, E]: rows for q, then k, then v
  const float* in_proj_bias = nullptr;     // [3·E] or null
  const float* out_proj_weight = nullptr;  // [E, E]
  const float* out_proj_bias = nullptr;    // [E] or null
};

/// Computes what torch.nn.functional.multi_head_attention_forward computes
/// for batch-first inputs without dropout: q = query·W_qᵀ + b_q (likewise k
/// and v), attention per head with `options` (mask, causal, scale, softcap,
/// nonpad), the heads concatenated and out = concat·W_oᵀ + b_o, [batch,
/// q_seq_len, E]. When `weights_out` is not null it receives the softmax
/// probabilities per head, [batch, num_heads, q_seq_len, kv_seq_len].
/// Unlike PyTorch, a query row whose keys are all masked returns zeros, not
/// NaN.
Status multihead_attention_forward(const float* query, const float* key,
                                   const float* value,
                                   const MultiheadForwardWeights& weights,
                                   float* out, float* weights_out,
                                   const MultiheadForwardShape& shape,
                                   const AttentionOptions& options);

/// Memory order of a RoPE input. A rank-3 tensor [batch, seq_len,
/// num_heads·head_dim] is kBSHD with its last axis split into heads.
enum class RopeLayout : int {
  kBSHD = 0,  // [batch, seq_len, num_heads, head_dim]
  kBHSD = 1,  // [batch, num_heads, seq_len, head_dim], the ONNX 4-D order
};

/// Shape of a RoPE call.
struct RopeShape {
  std::size_t batch = 0;
  std::size_t seq_len = 0;
  std::size_t num_heads = 0;
  std::size_t head_dim = 0;
  RopeLayout layout = RopeLayout::kBSHD;
};

/// Frequency scaling of the Hugging Face transformers rope utilities
/// (rope_type "linear", "dynamic", "yarn" and "llama3").
enum class RopeScalingType : int {
  kNone = 0,
  kLinear = 1,      // inv_freq / factor
  kDynamicNtk = 2,  // base stretched by the current length
  kYarn = 3,        // per-frequency blend and an attention factor on cos/sin
  kLlama3 = 4,      // three wavelength bands
};

/// Parameters of the frequency scaling. Each type reads only its own fields.
/// The formulas are written in src/rope_frequencies.cpp where they are applied.
struct RopeScaling {
  RopeScalingType type = RopeScalingType::kNone;
  /// Context extension factor (all types), > 0.
  double factor = 1.0;
  /// Context length the model was trained with (kDynamicNtk, kYarn, kLlama3).
  double original_max_positions = 0.0;
  /// kDynamicNtk: current sequence length L. The base grows only when
  /// L > original_max_positions.
  double current_length = 0.0;
  /// kYarn: rotation counts that bound the blend ramp.
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  /// kYarn: round the ramp bounds outward to integers (the transformers
  /// default) when set.
  bool truncate = true;
  /// kYarn: multiplier of cos and sin. Used when has_attention_factor is set,
  /// else derived from factor, mscale and mscale_all_dim.
  double attention_factor = 1.0;
  bool has_attention_factor = false;
  /// kYarn: DeepSeek-style mscale keys, where 0 means the key is absent.
  double mscale = 0.0;
  double mscale_all_dim = 0.0;
  /// kLlama3: wavelength band limits, original_max_positions / factor.
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
};

/// Precomputed cos and sin tables that replace the computed angles.
///
/// Each row has `width` values: width = rotary_dim / 2 (the ONNX
/// RotaryEmbedding form, entry k for pair k) or width = rotary_dim (the
/// full-width form of Hugging Face's apply_rotary_pos_emb, entry j for output
/// channel j, so both halves of a row are used as given). When per_token is
/// false the table has `rows` positions and token (b, s) reads row
/// position_ids[b, s] or position_offset + s. When it is set, rows must
/// equal batch·seq_len and token (b, s) reads row b·seq_len + s.
struct RopeCache {
  const float* cos = nullptr;
  const float* sin = nullptr;
  std::size_t rows = 0;
  std::size_t width = 0;
  bool per_token = false;
};

struct RopeOptions {
  /// θ base of the RoFormer paper (arXiv 2104.09864): pair i turns by
  /// position · base^(−2i/rotary_dim). Ignored when cache.cos is set.
  double base = 10000.0;
  /// Pairs are (x[2i], x[2i+1]) when set, (x[i], x[i + rotary_dim/2]) when not.
  bool interleaved = true;
  /// Position of the first token; token s sits at position_offset + s.
  std::int64_t position_offset = 0;
  /// Number of leading channels of each head that are rotated (even). The
  /// rest are copied unchanged, and 0 means head_dim.
  std::size_t rotary_dim = 0;
  /// Optional [batch, seq_len] positions that replace position_offset + s.
  const std::int32_t* position_ids = nullptr;
  /// Optional precomputed tables, with cache.cos and cache.sin set together.
  RopeCache cache;
  /// Frequency scaling, ignored when cache.cos is set.
  RopeScaling scaling;
};

/// Applies rotary position embedding: each pair (a, b) at position m becomes
/// (a·cos(mθᵢ) − b·sin(mθᵢ), a·sin(mθᵢ) + b·cos(mθᵢ)), times the YaRN
/// attention factor when there is one. The cos/sin table of each distinct
/// position is built once per call in double and rounded to float once.
/// x and out may be the same buffer (in place), or else must not overlap.
/// Returns kInvalidArgument and leaves `out` untouched on a bad shape or
/// option, including a position outside the rows of a given cache.
Status apply_rope(const float* x, float* out, const RopeShape& shape,
                  const RopeOptions& options);

/// Makes every check apply_rope makes on the shape and options, including
/// each position against the rows of a cache, and reads no tensor data.
/// A caller that rotates a large tensor in pieces calls it once for the
/// whole shape first, so that no piece fails after others were written.
Status check_rope(const RopeShape& shape, const RopeOptions& options);

/// Widens n IEEE 754 half-precision values (given as bits) to float; every
/// half is exact in float. The attention kernels compute float16 tensors in
/// float32 after this conversion.
void float16_to_float32(const std::uint16_t* in, float* out, std::size_t n);

/// Narrows n floats to half-precision bits, rounding to nearest with ties to
/// even; values beyond the half range become ±inf and NaN stays NaN.
void float32_to_float16(const float* in, std::uint16_t* out, std::size_t n);

/// Computes the rotary_dim/2 inverse frequencies θᵢ (after scaling) and the
/// factor that multiplies cos and sin (1 unless the scaling is kYarn).
Status rope_frequencies(std::size_t rotary_dim, double base, const RopeScaling& scaling,
                        double* inv_freq, double* attention_factor);

/// Fills cos_cache and sin_cache, each [max_positions, rotary_dim/2], with
/// attention_factor·cos(p·θᵢ) and attention_factor·sin(p·θᵢ) for positions
/// p = 0 … max_positions − 1, for use as RopeOptions::cache.
Status build_rope_cache(float* cos_cache, float* sin_cache, std::size_t max_positions,
                        std::size_t rotary_dim, double base, const RopeScaling& scaling);

/// Sets the number of threads the entry points use, the calling thread
/// included; 1 (the default) runs everything on the calling thread. Results
/// are bit-identical for every count. Not safe to call while another thread
/// runs an entry point. Returns kInvalidArgument for 0, or for more than 1
/// in a WebAssembly build without pthreads.
Status set_num_threads(std::size_t n);

/// Number of threads the entry points use.
std::size_t num_threads();

/// Name of the instruction set the kernels were compiled for, for example
/// "avx512bw", "avx2" or "wasm-simd128".
const char* simd_name();

}  // namespace attnkit
