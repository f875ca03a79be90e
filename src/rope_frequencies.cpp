// Inverse frequencies of RoPE and their scaling for long contexts, following
// the rope utilities of Hugging Face transformers
// (src/transformers/modeling_rope_utils.py: _compute_linear_scaling_rope_parameters,
// _compute_dynamic_ntk_parameters, _compute_yarn_parameters and
// _compute_llama3_parameters). r is the rotary width and i = 0 … r/2 − 1.
#include <algorithm>
#include <cmath>
#include <string>

#include "attnkit/attnkit.h"
#include "checks.h"
#include "rope_angles.h"

namespace attnkit {
namespace {

constexpr double kTwoPi = 6.283185307179586476925286766559;

std::string number(double value) {
  std::string text = std::to_string(value);
  // std::to_string prints six decimals; drop the trailing zeros.
  if (text.find('.') != std::string::npos) {
    text.erase(text.find_last_not_of('0') + 1);
    if (text.back() == '.') text.pop_back();
  }
  return text;
}

bool positive_finite(double value) { return value > 0.0 && std::isfinite(value); }

Status check_positive(const char* name, double value) {
  if (!positive_finite(value)) {
    return Status::InvalidArgument(std::string("rope: ") + name +
                                   " must be a positive finite number, got " + number(value));
  }
  return Status::Ok();
}

// YaRN's magnitude correction: 1 for scale ≤ 1, else 0.1·m·ln(scale) + 1.
double yarn_mscale(double scale, double m) {
  return scale <= 1.0 ? 1.0 : 0.1 * m * std::log(scale) + 1.0;
}

// Channel index d at which frequency θ_d completes `rotations` turns over
// `max_positions` positions: d = r·ln(max_positions / (rotations·2π)) / (2·ln base).
double yarn_correction_dim(double rotations, double r, double base, double max_positions) {
  return r * std::log(max_positions / (rotations * kTwoPi)) / (2.0 * std::log(base));
}

Status check_scaling(const RopeScaling& scaling, std::size_t rotary_dim) {
  switch (scaling.type) {
    case RopeScalingType::kNone:
      return Status::Ok();
    case RopeScalingType::kLinear:
      return check_positive("scaling.factor", scaling.factor);
    case RopeScalingType::kDynamicNtk: {
      Status status = check_positive("scaling.factor", scaling.factor);
      if (status.ok()) status = check_positive("scaling.originalMaxPositions", scaling.original_max_positions);
      if (status.ok()) status = check_positive("scaling.currentLength", scaling.current_length);
      if (status.ok() && rotary_dim < 4) {
        // The exponent r/(r − 2) is undefined for r = 2.
        return Status::InvalidArgument("rope: scaling type 'ntk' needs rotaryDim >= 4, got " +
                                       std::to_string(rotary_dim));
      }
      return status;
    }
    case RopeScalingType::kYarn: {
      Status status = check_positive("scaling.factor", scaling.factor);
      if (status.ok()) status = check_positive("scaling.originalMaxPositions", scaling.original_max_positions);
      if (status.ok()) status = check_positive("scaling.betaFast", scaling.beta_fast);
      if (status.ok()) status = check_positive("scaling.betaSlow", scaling.beta_slow);
      if (status.ok() && scaling.has_attention_factor) {
        status = check_positive("scaling.attentionFactor", scaling.attention_factor);
      }
      if (status.ok() && !(std::isfinite(scaling.mscale) && std::isfinite(scaling.mscale_all_dim))) {
        return Status::InvalidArgument("rope: scaling.mscale and scaling.mscaleAllDim must be finite");
      }
      return status;
    }
    case RopeScalingType::kLlama3: {
      Status status = check_positive("scaling.factor", scaling.factor);
      if (status.ok()) status = check_positive("scaling.originalMaxPositions", scaling.original_max_positions);
      if (status.ok()) status = check_positive("scaling.lowFreqFactor", scaling.low_freq_factor);
      if (status.ok()) status = check_positive("scaling.highFreqFactor", scaling.high_freq_factor);
      if (status.ok() && !(scaling.high_freq_factor > scaling.low_freq_factor)) {
        return Status::InvalidArgument("rope: scaling.highFreqFactor (" + number(scaling.high_freq_factor) +
                                       ") must be greater than scaling.lowFreqFactor (" +
                                       number(scaling.low_freq_factor) + ")");
      }
      return status;
    }
  }
  return Status::InvalidArgument("rope: unknown scaling type " +
                                 std::to_string(static_cast<int>(scaling.type)));
}

}  // namespace

namespace detail {

Status check_rope_frequency_options(std::size_t rotary_dim, double base,
                                    const RopeScaling& scaling) {
  if (rotary_dim == 0 || rotary_dim % 2 != 0) {
    return Status::InvalidArgument("rope: rotaryDim must be even and positive, got " +
                                   std::to_string(rotary_dim));
  }
  if (!positive_finite(base)) {
    return Status::InvalidArgument("rope: base must be a positive finite number, got " + number(base));
  }
  return check_scaling(scaling, rotary_dim);
}

}  // namespace detail

Status rope_frequencies(std::size_t rotary_dim, double base, const RopeScaling& scaling,
                        double* inv_freq, double* attention_factor) {
  Status status = detail::check_rope_frequency_options(rotary_dim, base, scaling);
  if (!status.ok()) return status;
  if (!inv_freq || !attention_factor) {
    return Status::InvalidArgument("rope: null output pointer");
  }

  const std::size_t half = rotary_dim / 2;
  const double r = static_cast<double>(rotary_dim);
  double effective_base = base;

  if (scaling.type == RopeScalingType::kDynamicNtk) {
    // Dynamic NTK: with L = max(currentLength, originalMaxPositions),
    // base' = base · (factor·L / originalMaxPositions − (factor − 1))^(r / (r − 2)).
    // L ≤ originalMaxPositions gives base' = base.
    const double length = std::max(scaling.current_length, scaling.original_max_positions);
    const double stretch = scaling.factor * length / scaling.original_max_positions - (scaling.factor - 1.0);
    effective_base = base * std::pow(stretch, r / (r - 2.0));
  }

  // Unscaled frequencies θᵢ = base^(−2i/r).
  for (std::size_t i = 0; i < half; ++i) {
    inv_freq[i] = std::pow(effective_base, -2.0 * static_cast<double>(i) / r);
  }
  *attention_factor = 1.0;

  switch (scaling.type) {
    case RopeScalingType::kNone:
    case RopeScalingType::kDynamicNtk:
      break;

    case RopeScalingType::kLinear:
      // Linear (position interpolation): θᵢ / factor, the same as dividing
      // every position by factor.
      for (std::size_t i = 0; i < half; ++i) inv_freq[i] /= scaling.factor;
      break;

    case RopeScalingType::kYarn: {
      // YaRN: the ramp bounds are the channels where θ completes betaFast and
      // betaSlow turns over originalMaxPositions:
      //   low = max(floor(d(betaFast)), 0), high = min(ceil(d(betaSlow)), r − 1),
      // without floor/ceil when truncate is false (d as in yarn_correction_dim).
      double low = yarn_correction_dim(scaling.beta_fast, r, base, scaling.original_max_positions);
      double high = yarn_correction_dim(scaling.beta_slow, r, base, scaling.original_max_positions);
      if (scaling.truncate) {
        low = std::floor(low);
        high = std::ceil(high);
      }
      low = std::max(low, 0.0);
      high = std::min(high, r - 1.0);
      if (low == high) high += 0.001;  // keeps the ramp finite, as transformers does
      // ramp(i) = clamp((i − low) / (high − low), 0, 1) over i < r/2, and
      // θᵢ' = (θᵢ / factor)·ramp(i) + θᵢ·(1 − ramp(i)): fast channels keep
      // θᵢ (extrapolation), slow ones are interpolated.
      for (std::size_t i = 0; i < half; ++i) {
        const double ramp = std::clamp((static_cast<double>(i) - low) / (high - low), 0.0, 1.0);
        inv_freq[i] = inv_freq[i] / scaling.factor * ramp + inv_freq[i] * (1.0 - ramp);
      }
      // Attention factor: the explicit value when given; otherwise, as
      // transformers derives it, mscale(factor, mscale) / mscale(factor,
      // mscaleAllDim) when both keys are non-zero, else mscale(factor, 1) =
      // 0.1·ln(factor) + 1 (1 for factor ≤ 1). It multiplies cos and sin, so
      // q·k logits scale by its square.
      if (scaling.has_attention_factor) {
        *attention_factor = scaling.attention_factor;
      } else if (scaling.mscale != 0.0 && scaling.mscale_all_dim != 0.0) {
        *attention_factor = yarn_mscale(scaling.factor, scaling.mscale) /
                            yarn_mscale(scaling.factor, scaling.mscale_all_dim);
      } else {
        *attention_factor = yarn_mscale(scaling.factor, 1.0);
      }
      break;
    }

    case RopeScalingType::kLlama3: {
      // Llama 3: with wavelength λᵢ = 2π/θᵢ, low = originalMaxPositions /
      // lowFreqFactor and high = originalMaxPositions / highFreqFactor:
      //   λᵢ < high           → θᵢ (unchanged)
      //   λᵢ > low            → θᵢ / factor
      //   otherwise           → (1 − s)·θᵢ/factor + s·θᵢ,
      //   s = (originalMaxPositions/λᵢ − lowFreqFactor) / (highFreqFactor − lowFreqFactor).
      const double low_freq_wavelen = scaling.original_max_positions / scaling.low_freq_factor;
      const double high_freq_wavelen = scaling.original_max_positions / scaling.high_freq_factor;
      for (std::size_t i = 0; i < half; ++i) {
        const double wavelen = kTwoPi / inv_freq[i];
        if (wavelen < high_freq_wavelen) continue;
        if (wavelen > low_freq_wavelen) {
          inv_freq[i] /= scaling.factor;
          continue;
        }
        const double smooth = (scaling.original_max_positions / wavelen - scaling.low_freq_factor) /
                              (scaling.high_freq_factor - scaling.low_freq_factor);
        inv_freq[i] = (1.0 - smooth) * inv_freq[i] / scaling.factor + smooth * inv_freq[i];
      }
      break;
    }
  }
  return Status::Ok();
}

Status build_rope_cache(float* cos_cache, float* sin_cache, std::size_t max_positions,
                        std::size_t rotary_dim, double base, const RopeScaling& scaling) {
  std::size_t total = 0;
  if (!detail::checked_product({max_positions, rotary_dim / 2}, &total)) {
    return Status::OutOfRange("rope: a cache of " + std::to_string(max_positions) + " x " +
                              std::to_string(rotary_dim / 2) + " floats exceeds 2^29 elements");
  }
  // Every check runs before the frequency table is allocated. An empty cache
  // needs no table, which also keeps half·8 bytes, unbounded by
  // max_positions == 0, from wrapping a 32-bit size_t.
  Status status = detail::check_rope_frequency_options(rotary_dim, base, scaling);
  if (!status.ok() || total == 0) return status;
  if (!cos_cache || !sin_cache) return Status::InvalidArgument("rope: null cache pointer");
  const std::size_t half = rotary_dim / 2;
  double* inv_freq = static_cast<double*>(std::malloc(half * sizeof(double)));
  if (!inv_freq) return Status::ResourceExhausted("rope: could not allocate the frequency table");
  double attention_factor = 1.0;
  status = rope_frequencies(rotary_dim, base, scaling, inv_freq, &attention_factor);
  if (status.ok()) {
    detail::RopeAngles& angles = detail::thread_rope_angles();
    if (!angles.init(inv_freq, half)) {
      status = Status::ResourceExhausted("rope: could not allocate the angle table");
    }
    for (std::size_t p = 0; status.ok() && p < max_positions; ++p) {
      angles.compute(static_cast<std::int64_t>(p));
      for (std::size_t i = 0; i < half; ++i) {
        cos_cache[p * half + i] = static_cast<float>(attention_factor * angles.cos()[i]);
        sin_cache[p * half + i] = static_cast<float>(attention_factor * angles.sin()[i]);
      }
    }
  }
  std::free(inv_freq);
  return status;
}

}  // namespace attnkit
