// Float64 reference implementations for the native tests, written with plain
// loops straight from the formulas and sharing no code with src/.
#pragma once

#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <vector>

namespace reference {

// softmax(q·kᵀ·scale)·v for one head in double.
// q: [q_len, dim], k: [kv_len, dim], v: [kv_len, v_dim]; returns [q_len, v_dim].
// Rows without keys come back as zeros.
inline std::vector<double> attention_head(const float* q, const float* k, const float* v,
                                          std::size_t q_len, std::size_t kv_len,
                                          std::size_t dim, std::size_t v_dim, double scale,
                                          std::size_t q_stride, std::size_t kv_stride,
                                          std::size_t v_stride) {
  std::vector<double> out(q_len * v_dim, 0.0);
  std::vector<double> scores(kv_len);
  for (std::size_t i = 0; i < q_len; ++i) {
    double max_score = -std::numeric_limits<double>::infinity();
    for (std::size_t j = 0; j < kv_len; ++j) {
      double s = 0.0;
      for (std::size_t d = 0; d < dim; ++d) {
        s += static_cast<double>(q[i * q_stride + d]) * static_cast<double>(k[j * kv_stride + d]);
      }
      scores[j] = s * scale;
      max_score = std::max(max_score, scores[j]);
    }
    double total = 0.0;
    for (std::size_t j = 0; j < kv_len; ++j) {
      scores[j] = std::exp(scores[j] - max_score);
      total += scores[j];
    }
    for (std::size_t j = 0; j < kv_len; ++j) {
      for (std::size_t d = 0; d < v_dim; ++d) {
        out[i * v_dim + d] += scores[j] / total * static_cast<double>(v[j * v_stride + d]);
      }
    }
  }
  return out;
}

// Attention over [batch, heads, seq, dim] tensors; returns [batch, heads, q_len, v_dim].
inline std::vector<double> attention_bhsd(const std::vector<float>& q, const std::vector<float>& k,
                                          const std::vector<float>& v, std::size_t batch,
                                          std::size_t heads, std::size_t kv_heads,
                                          std::size_t q_len, std::size_t kv_len,
                                          std::size_t dim, std::size_t v_dim, double scale) {
  std::vector<double> out;
  out.reserve(batch * heads * q_len * v_dim);
  for (std::size_t b = 0; b < batch; ++b) {
    for (std::size_t h = 0; h < heads; ++h) {
      const std::size_t kvh = h / (heads / kv_heads);
      const std::vector<double> head = attention_head(
          q.data() + (b * heads + h) * q_len * dim, k.data() + (b * kv_heads + kvh) * kv_len * dim,
          v.data() + (b * kv_heads + kvh) * kv_len * v_dim, q_len, kv_len, dim, v_dim, scale, dim,
          dim, v_dim);
      out.insert(out.end(), head.begin(), head.end());
    }
  }
  return out;
}

// RoPE on x [batch, seq, heads, dim] in double, with θᵢ = base^(−2i/dim).
inline std::vector<double> rope(const std::vector<float>& x, std::size_t batch, std::size_t seq,
                                std::size_t heads, std::size_t dim, double base,
                                bool interleaved, long long offset) {
  std::vector<double> out(x.begin(), x.end());
  const std::size_t half = dim / 2;
  for (std::size_t b = 0; b < batch; ++b) {
    for (std::size_t s = 0; s < seq; ++s) {
      for (std::size_t h = 0; h < heads; ++h) {
        const std::size_t base_index = ((b * seq + s) * heads + h) * dim;
        for (std::size_t i = 0; i < half; ++i) {
          const double theta = std::pow(base, -2.0 * static_cast<double>(i) / dim);
          const double angle = static_cast<double>(offset + static_cast<long long>(s)) * theta;
          const std::size_t ia = interleaved ? 2 * i : i;
          const std::size_t ib = interleaved ? 2 * i + 1 : i + half;
          const double a = x[base_index + ia];
          const double c = x[base_index + ib];
          out[base_index + ia] = a * std::cos(angle) - c * std::sin(angle);
          out[base_index + ib] = a * std::sin(angle) + c * std::cos(angle);
        }
      }
    }
  }
  return out;
}

// RoPE over x in [batch, seq, heads, dim] (bhsd = false) or
// [batch, heads, seq, dim] (bhsd = true), written as Hugging Face's
// out = x·cos + rotate(x)·sin on the first rotary_dim channels. position(b, s)
// gives each token's position; inv_freq has rotary_dim/2 entries and
// attention_factor multiplies cos and sin.
template <class PositionFn>
std::vector<double> rope_general(const std::vector<float>& x, std::size_t batch, std::size_t seq,
                                 std::size_t heads, std::size_t dim, bool bhsd,
                                 std::size_t rotary_dim, bool interleaved,
                                 const std::vector<double>& inv_freq, double attention_factor,
                                 PositionFn position) {
  std::vector<double> out(x.begin(), x.end());
  const std::size_t half = rotary_dim / 2;
  for (std::size_t b = 0; b < batch; ++b) {
    for (std::size_t s = 0; s < seq; ++s) {
      const double p = static_cast<double>(position(b, s));
      for (std::size_t h = 0; h < heads; ++h) {
        const std::size_t at = bhsd ? ((b * heads + h) * seq + s) * dim : ((b * seq + s) * heads + h) * dim;
        for (std::size_t j = 0; j < rotary_dim; ++j) {
          const std::size_t pair = interleaved ? j / 2 : j % half;
          double rotated;
          if (interleaved) {
            rotated = j % 2 == 0 ? -static_cast<double>(x[at + j + 1]) : x[at + j - 1];
          } else {
            rotated = j < half ? -static_cast<double>(x[at + j + half]) : x[at + j - half];
          }
          const double angle = p * inv_freq[pair];
          out[at + j] = attention_factor * (x[at + j] * std::cos(angle) + rotated * std::sin(angle));
        }
      }
    }
  }
  return out;
}

// Unscaled inverse frequencies base^(−2i/rotary_dim).
inline std::vector<double> rope_inv_freq(std::size_t rotary_dim, double base) {
  std::vector<double> inv_freq(rotary_dim / 2);
  for (std::size_t i = 0; i < inv_freq.size(); ++i) {
    inv_freq[i] = 1.0 / std::pow(base, 2.0 * static_cast<double>(i) / static_cast<double>(rotary_dim));
  }
  return inv_freq;
}

// Bias of biased_attention(): blocked(b, h, i, j) masks a key out and
// added(b, h, i, j) is added to the score after the softcap. Either may be
// empty.
struct Bias {
  std::function<bool(std::size_t, std::size_t, std::size_t, std::size_t)> blocked;
  std::function<double(std::size_t, std::size_t, std::size_t, std::size_t)> added;
  double softcap = 0.0;  // > 0: score = softcap·tanh(score/softcap)
};

struct BiasedResult {
  std::vector<double> out;    // [batch, heads, q_len, v_dim]
  std::vector<double> probs;  // [batch, heads, q_len, kv_len]
};

// Attention with a bias over [batch, heads, seq, dim] tensors in double. A
// row whose keys are all blocked (or scores -inf) gets zero probabilities
// and a zero output.
inline BiasedResult biased_attention(const std::vector<float>& q, const std::vector<float>& k,
                                     const std::vector<float>& v, std::size_t batch,
                                     std::size_t heads, std::size_t kv_heads, std::size_t q_len,
                                     std::size_t kv_len, std::size_t dim, std::size_t v_dim,
                                     double scale, const Bias& bias) {
  BiasedResult r{std::vector<double>(batch * heads * q_len * v_dim, 0.0),
                 std::vector<double>(batch * heads * q_len * kv_len, 0.0)};
  std::vector<double> scores(kv_len);
  std::vector<bool> open(kv_len);
  for (std::size_t b = 0; b < batch; ++b) {
    for (std::size_t h = 0; h < heads; ++h) {
      const std::size_t kvh = h / (heads / kv_heads);
      const float* qh = q.data() + (b * heads + h) * q_len * dim;
      const float* kh = k.data() + (b * kv_heads + kvh) * kv_len * dim;
      const float* vh = v.data() + (b * kv_heads + kvh) * kv_len * v_dim;
      for (std::size_t i = 0; i < q_len; ++i) {
        double max_score = -std::numeric_limits<double>::infinity();
        for (std::size_t j = 0; j < kv_len; ++j) {
          open[j] = !(bias.blocked && bias.blocked(b, h, i, j));
          if (!open[j]) continue;
          double s = 0.0;
          for (std::size_t d = 0; d < dim; ++d) {
            s += static_cast<double>(qh[i * dim + d]) * static_cast<double>(kh[j * dim + d]);
          }
          s *= scale;
          if (bias.softcap > 0.0) s = bias.softcap * std::tanh(s / bias.softcap);
          if (bias.added) s += bias.added(b, h, i, j);
          if (s == -std::numeric_limits<double>::infinity()) open[j] = false;
          scores[j] = s;
          if (open[j]) max_score = std::max(max_score, s);
        }
        double total = 0.0;
        for (std::size_t j = 0; j < kv_len; ++j) {
          scores[j] = open[j] ? std::exp(scores[j] - max_score) : 0.0;
          total += scores[j];
        }
        const std::size_t row = (b * heads + h) * q_len + i;
        for (std::size_t j = 0; j < kv_len; ++j) {
          if (!open[j]) continue;
          const double w = scores[j] / total;
          r.probs[row * kv_len + j] = w;
          for (std::size_t d = 0; d < v_dim; ++d) {
            r.out[row * v_dim + d] += w * static_cast<double>(vh[j * v_dim + d]);
          }
        }
      }
    }
  }
  return r;
}

// Returns the value of IEEE half-precision bits, decoded from the format.
inline double half_to_double(unsigned bits) {
  const double sign = (bits & 0x8000u) ? -1.0 : 1.0;
  const unsigned exponent = (bits >> 10) & 0x1fu;
  const unsigned mantissa = bits & 0x3ffu;
  if (exponent == 0) return sign * std::ldexp(static_cast<double>(mantissa), -24);
  if (exponent == 31) {
    return mantissa ? std::numeric_limits<double>::quiet_NaN()
                    : sign * std::numeric_limits<double>::infinity();
  }
  return sign * std::ldexp(1.0 + mantissa / 1024.0, static_cast<int>(exponent) - 15);
}

}  // namespace reference
