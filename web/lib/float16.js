// Conversions between IEEE 754 half-precision bits (stored in a Uint16Array)
// and float32 values. Every half is exact in float32, so widening never
// rounds; narrowing rounds to nearest, ties to even.

let halfTable = null;

// Returns the 65536 float32 values of all half bit patterns, built once.
function halfValues() {
  if (halfTable) return halfTable;
  halfTable = new Float32Array(65536);
  for (let bits = 0; bits < 65536; bits += 1) {
    const sign = bits & 0x8000 ? -1 : 1;
    const exponent = (bits >>> 10) & 0x1f;
    const mantissa = bits & 0x3ff;
    let value;
    if (exponent === 0) value = sign * mantissa * 2 ** -24;
    else if (exponent === 0x1f) value = mantissa ? NaN : sign * Infinity;
    else value = sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
    halfTable[bits] = value;
  }
  return halfTable;
}

/** Returns a Float32Array with the values of the half bits in `bits`. */
export function float16ToFloat32(bits) {
  const table = halfValues();
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i += 1) out[i] = table[bits[i]];
  return out;
}

const scratchFloat = new Float32Array(1);
const scratchBits = new Uint32Array(scratchFloat.buffer);

// Returns the half bits nearest to one float32 value.
function toHalfBits(value) {
  scratchFloat[0] = value;
  const bits = scratchBits[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half: shift the implicit leading one in and round.
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    let half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && half & 1)) half += 1;
    return sign | half;
  }
  // A carry out of the mantissa rounds up into the exponent, as it should.
  let half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half += 1;
  return sign | half;
}

/** Returns a Uint16Array with the half bits nearest to each value of `values`. */
export function float32ToFloat16(values) {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i += 1) out[i] = toHalfBits(values[i]);
  return out;
}
