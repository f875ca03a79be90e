// Vectorised exp() for the softmax, written once against xsimd::batch.
//
// exp(x) = 2^n · exp(r) with n = round(x·log2(e)) and r = x − n·ln(2), so
// |r| ≤ ln(2)/2 (plus rounding). ln(2) is split into a high part with 9
// significant bits, whose product with n is exact, and a low part. exp(r) is
// the degree-7 Taylor polynomial (exp_taylor7); its truncation error is
// below r^8/8! ≈ 5e-9 there, far under float rounding.
//
// n is read from the bits of x·log2(e) + 1.5·2^23 instead of converting
// float to int, because Emscripten 3.1.6 turns SSE's cvttps2dq into four
// scalar conversions in the WebAssembly build, while this form needs only
// SIMD128 integer adds and shifts. 2^n is applied as two power-of-two factors
// 2^(n>>1) · 2^(n−(n>>1)), so n = 128 (x up to ln(FLT_MAX)) needs no special
// case.
//
// Accuracy, enforced by tests/cpp/exp_test.cpp against double-precision
// std::exp: relative error at most 1.5e-7 (about 1.3 ulp at 1.0) for
// ln(FLT_MIN) ≤ x ≤ ln(FLT_MAX). Measured maxima: 9.8e-8 with FMA (AVX-512
// host) and 1.15e-7 with separate multiply and add (SSE4.1, as in the
// WebAssembly build). Below ln(FLT_MIN) ≈ −87.34 the result is 0
// (exact results there are subnormal, so the absolute error is below
// FLT_MIN ≈ 1.2e-38), exp(−inf) = 0, results above ln(FLT_MAX) and exp(+inf)
// are +inf, and NaN in gives NaN out.
#pragma once

#include <cstdint>
#include <limits>

#include "kernels/simd.h"

namespace attnkit {
namespace kernels {

using IntBatch = xsimd::batch<std::int32_t, Arch>;

// Returns Σ_{i=0..7} r^i / i! as 1 + r·q(r), with q evaluated by Estrin's
// scheme: q = (1 + r/2) + r²·(1/6 + r/24) + r⁴·((1/120 + r/720) + r²/5040).
// Its longest chain is 8 dependent operations instead of Horner's 14, so a
// loop of exps overlaps more of them. The last step is the same as Horner's,
// which keeps the rounding of the result at 1 + (small term).
inline Batch exp_taylor7(Batch r) {
  const Batch r2 = r * r;
  const Batch r4 = r2 * r2;
  const Batch c0 = xsimd::fma(r, Batch(0.5f), Batch(1.0f));
  const Batch c1 = xsimd::fma(r, Batch(1.0f / 24.0f), Batch(1.0f / 6.0f));
  const Batch c2 = xsimd::fma(r, Batch(1.0f / 720.0f), Batch(1.0f / 120.0f));
  const Batch d0 = xsimd::fma(c1, r2, c0);
  const Batch d1 = xsimd::fma(Batch(1.0f / 5040.0f), r2, c2);
  const Batch q = xsimd::fma(d1, r4, d0);
  return xsimd::fma(q, r, Batch(1.0f));
}

// Computes exp(x) per lane within the error bound above.
inline Batch exp_poly(Batch x) {
  const Batch log2e(1.44269504088896341f);
  const Batch ln2_hi(0.693359375f);           // 355/512, exact in 9 bits
  const Batch ln2_lo(-2.12194440054690583e-4f);  // ln(2) − ln2_hi
  const Batch shifter(12582912.0f);           // 1.5·2^23
  const Batch min_input(-87.3365447505530943f);  // ln(FLT_MIN)
  const Batch max_input(88.7228391116729996f);   // ln(FLT_MAX)

  // Clamping keeps n in [−126, 128]. The selects at the end replace the
  // lanes that were clamped.
  const Batch xc = xsimd::min(xsimd::max(x, min_input), max_input);

  // Adding 1.5·2^23 rounds x·log2(e) to an integer n held in the low
  // mantissa bits of t: bits(t) = bits(1.5·2^23) + n.
  const Batch t = xsimd::fma(xc, log2e, shifter);
  const Batch n = t - shifter;
  Batch r = xsimd::fnma(n, ln2_hi, xc);
  r = xsimd::fnma(n, ln2_lo, r);

  // exp(r) ≈ Σ_{i=0..7} r^i / i!
  const Batch p = exp_taylor7(r);

  const IntBatch n_int = xsimd::bitwise_cast<IntBatch>(t) - IntBatch(0x4B400000);
  const IntBatch n_half = n_int >> 1;
  const IntBatch bias(127);
  const Batch scale_a = xsimd::bitwise_cast<Batch>((n_half + bias) << 23);
  const Batch scale_b = xsimd::bitwise_cast<Batch>((n_int - n_half + bias) << 23);
  Batch result = p * scale_a * scale_b;

  result = xsimd::select(x < min_input, Batch(0.0f), result);
  result = xsimd::select(x > max_input, Batch(std::numeric_limits<float>::infinity()), result);
  return xsimd::select(xsimd::isnan(x), x + x, result);
}

// Computes exp(x) per lane for x <= 0, −inf or NaN, as the softmax needs
// after subtracting the row maximum. It uses the same reduction and
// polynomial as exp_poly, so the same error bound holds on [ln(FLT_MIN), 0].
// Because n <= 0 here, one power-of-two factor suffices and no input clamp is
// needed: lanes below ln(FLT_MIN) (and −inf) are replaced by 0 at the end,
// and NaN passes through the arithmetic. Positive inputs are outside its
// range (it returns wrong values above about 88).
inline Batch exp_nonpositive(Batch x) {
  const Batch log2e(1.44269504088896341f);
  const Batch ln2_hi(0.693359375f);
  const Batch ln2_lo(-2.12194440054690583e-4f);
  const Batch shifter(12582912.0f);              // 1.5·2^23
  const Batch min_input(-87.3365447505530943f);  // ln(FLT_MIN)

  const Batch t = xsimd::fma(x, log2e, shifter);
  const Batch n = t - shifter;
  Batch r = xsimd::fnma(n, ln2_hi, x);
  r = xsimd::fnma(n, ln2_lo, r);

  const Batch p = exp_taylor7(r);

  // bits(t) = bits(1.5·2^23) + n, so bits(2^n) = (bits(t) − bits(1.5·2^23) + 127) << 23.
  const IntBatch exponent = xsimd::bitwise_cast<IntBatch>(t) - IntBatch(0x4B400000 - 127);
  const Batch result = p * xsimd::bitwise_cast<Batch>(exponent << 23);
  return xsimd::select(x < min_input, Batch(0.0f), result);
}

// Returns 2^r for |r| <= 1/2 as 1 + r·q(r), where q is a degree-5
// polynomial fitted to (2^r − 1)/r for the smallest largest relative error
// over that interval: 2.0e-9 with exact arithmetic, far below float
// rounding. q is evaluated by Estrin's scheme and the last step is
// Horner's, as in exp_taylor7.
inline Batch exp2_reduced(Batch r) {
  const Batch r2 = r * r;
  const Batch q01 = xsimd::fma(r, Batch(2.402264774e-01f), Batch(6.931471825e-01f));
  const Batch q23 = xsimd::fma(r, Batch(9.618436918e-03f), Batch(5.550332367e-02f));
  const Batch q45 = xsimd::fma(r, Batch(1.535336050e-04f), Batch(1.339887502e-03f));
  const Batch q = xsimd::fma(xsimd::fma(q45, r2, q23), r2, q01);
  return xsimd::fma(q, r, Batch(1.0f));
}

// Computes 2^x per lane for x <= 0, −inf or NaN. The attention kernels keep
// their scores in units of log2(e), so the softmax needs 2^x, and this
// form saves the steps of exp_nonpositive that convert between the bases:
// with n = round(x), r = x − n is exact and lies in [−1/2, 1/2].
//
// Accuracy, enforced by tests/cpp/exp_test.cpp against double-precision
// std::exp2: relative error at most 1.5e-7 for −126 <= x <= 0 (measured
// maxima: 9.7e-8 with FMA, 1.15e-7 with separate multiply and add). Below −126
// the result is 0 or a subnormal, with absolute error below FLT_MIN;
// 2^(−inf) = 0, and NaN in gives NaN out. Positive inputs are outside its
// range.
inline Batch exp2_nonpositive(Batch x) {
  const Batch shifter(12582912.0f);  // 1.5·2^23
  // From −127 down, n = −127 gives a zero exponent field, so the result is
  // 0. max_lanes keeps NaN, which then passes through the arithmetic.
  const Batch xc = max_lanes(Batch(-127.0f), x);
  // Adding 1.5·2^23 rounds xc to an integer n held in the low mantissa bits
  // of t: bits(t) = bits(1.5·2^23) + n.
  const Batch t = xc + shifter;
  const Batch n = t - shifter;
  const Batch p = exp2_reduced(xc - n);
  const IntBatch exponent = xsimd::bitwise_cast<IntBatch>(t) - IntBatch(0x4B400000 - 127);
  return p * xsimd::bitwise_cast<Batch>(exponent << 23);
}

}  // namespace kernels
}  // namespace attnkit
