// The Tensor class and the shape checks shared by every operation.

/**
 * A row-major float32 tensor. Any object with `data` and `dims` works as
 * an input; the class only adds the length check at construction.
 */
export class Tensor {
  /**
   * @param {Float32Array | Uint16Array} data values in row-major order (Uint16Array: float16 bits)
   * @param {readonly number[]} dims non-negative integer sizes
   */
  constructor(data, dims) {
    checkTensor('Tensor', 'tensor', { data, dims }, { allowFloat16: true });
    this.data = data;
    this.dims = Object.freeze([...dims]);
  }

  /** Number of elements, the product of dims. */
  get size() {
    return this.data.length;
  }
}

// Largest dim accepted: the bindings pass sizes as unsigned 32-bit integers.
export const MAX_DIM = 2 ** 32 - 1;

// True when `buffer` was transferred (for example by postMessage or
// structuredClone with `transfer`). Node 20 has no ArrayBuffer.prototype.detached,
// so the fallback relies on the view constructor throwing on a detached buffer.
export function isDetached(buffer) {
  if (typeof buffer.detached === 'boolean') return buffer.detached;
  try {
    new Uint8Array(buffer, 0, 0);
    return false;
  } catch {
    return true;
  }
}

/** Formats dims as "[2, 3, 4]" for messages. */
export function formatDims(dims) {
  return Array.isArray(dims) || ArrayBuffer.isView(dims) ? `[${Array.from(dims).join(', ')}]` : String(dims);
}

/** Describes a value for an error message: its type and, for arrays, length. */
export function describe(value) {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${value.length})`;
  if (Array.isArray(value)) return `Array(${value.length})`;
  if (typeof value === 'object') return value.constructor ? value.constructor.name : 'object';
  return `${typeof value} ${String(value)}`;
}

/**
 * Checks that `tensor` is { data: Float32Array, dims } with data.length
 * equal to the product of dims. Throws TypeError for wrong types and
 * RangeError for wrong sizes; messages start with "op: name".
 */
export function checkTensor(op, name, tensor, { allowFloat16 = false } = {}) {
  if (tensor === null || typeof tensor !== 'object') {
    throw new TypeError(`${op}: ${name} must be a tensor { data: Float32Array, dims: number[] }, got ${describe(tensor)}`);
  }
  const { data, dims } = tensor;
  if (!ArrayBuffer.isView(data) && (data instanceof Float32Array || data instanceof Uint16Array)) {
    throw new TypeError(
      `${op}: ${name}.data imitates a typed array but is not one (for example a Proxy); pass the typed array itself`,
    );
  }
  const float16 = allowFloat16 && data instanceof Uint16Array;
  if (!(data instanceof Float32Array) && !float16) {
    const expected = allowFloat16 ? 'a Float32Array or a Uint16Array of float16 bits' : 'a Float32Array';
    throw new TypeError(`${op}: ${name}.data must be ${expected}, got ${describe(data)}`);
  }
  if (isDetached(data.buffer)) {
    throw new TypeError(
      `${op}: ${name}.data is a view of a detached ArrayBuffer (it was transferred, for example to a Worker); pass an array whose buffer is still attached`,
    );
  }
  if (!Array.isArray(dims) && !(ArrayBuffer.isView(dims) && !(dims instanceof DataView))) {
    throw new TypeError(`${op}: ${name}.dims must be an array of integers, got ${describe(dims)}`);
  }
  let size = 1;
  for (let i = 0; i < dims.length; i += 1) {
    const d = dims[i];
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      throw new RangeError(
        `${op}: ${name}.dims[${i}] must be a non-negative integer, got ${typeof d === 'number' ? d : describe(d)} in dims ${formatDims(dims)}`,
      );
    }
    if (d > MAX_DIM) {
      throw new RangeError(`${op}: ${name}.dims[${i}] must be at most ${MAX_DIM}, got ${d} in dims ${formatDims(dims)}`);
    }
    size *= d;
  }
  if (size !== data.length) {
    throw new RangeError(
      `${op}: ${name} has ${data.length} elements, but dims ${formatDims(dims)} need ${size}`,
    );
  }
}
