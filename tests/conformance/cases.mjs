// Reads conformance case files (one JSON object per ONNX backend test, the
// format of tests/data/onnx/README.md) and converts their tensors to typed
// arrays.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

// Returns every *.json file under the given folders, sorted by path.
export function findCaseFiles(dirs) {
  const files = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (entry.endsWith('.json')) files.push(path);
    }
  };
  for (const dir of dirs) walk(dir);
  return files.sort();
}

// JSON has no literal for non-finite numbers, so the files spell them as strings.
function toNumber(value) {
  if (value === 'NaN') return NaN;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  return value;
}

/** Returns the IEEE half-precision bits nearest to a float32 value. */
export function float32ToFloat16Bits(value) {
  const f32 = new Float32Array([value]);
  const bits = new Uint32Array(f32.buffer)[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  let e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    let half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (half & 1))) half += 1;
    return sign | half;
  }
  let half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1))) half += 1;
  return sign | half;
}

/** Returns the float value of IEEE half-precision bits. */
export function float16BitsToNumber(bits) {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/**
 * Converts a case tensor to { name, dtype, dims, data }: float32 as
 * Float32Array, float16 as Uint16Array of half bits, bool as Uint8Array
 * (1 = true) and int64 as BigInt64Array.
 */
export function decodeTensor(tensor) {
  if (tensor === null || tensor === undefined) return null;
  const values = tensor.data.map(toNumber);
  let data;
  switch (tensor.dtype) {
    case 'float32':
      data = Float32Array.from(values);
      break;
    case 'float16':
      data = Uint16Array.from(values, float32ToFloat16Bits);
      break;
    case 'bool':
      data = Uint8Array.from(values, (x) => (x ? 1 : 0));
      break;
    case 'int64':
      data = BigInt64Array.from(values, (x) => BigInt(x));
      break;
    default:
      throw new Error(`unsupported dtype ${tensor.dtype} in tensor ${tensor.name}`);
  }
  return { name: tensor.name, dtype: tensor.dtype, dims: tensor.dims, data };
}

/** Reads one case file and decodes its inputs and expected outputs. */
export function loadCase(path) {
  const raw = JSON.parse(readFileSync(path, 'utf8'));
  return {
    path,
    name: raw.name,
    op: raw.op,
    opset: raw.opset,
    attributes: raw.attributes ?? {},
    inputs: raw.inputs.map(decodeTensor),
    outputs: raw.outputs.map(decodeTensor),
  };
}
