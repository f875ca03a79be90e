// Reads every tensor argument, and every tensor value of an object argument
// (options or weights), exactly once before an operation checks it. Tensors
// nested deeper are passed on as given.
//
// The operations read a tensor's `data` and `dims` several times: once to
// check them, again to size the WebAssembly buffers and to build the shape
// passed to C++. A getter, a Proxy or an own `length` property on a typed
// array could return different values on each read. A check would then
// pass on one value while the kernel uses another, and the kernel would
// read or write past a buffer. Pinning replaces each tensor with a frozen
// { data, dims } whose data is a fresh view of the same memory, built with
// the built-in typed array getters, so no user code runs after the pin.
import { isDetached } from './tensor.js';

const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype);
const intrinsicGetter = (name) => Object.getOwnPropertyDescriptor(TypedArrayPrototype, name).get;
const typedArrayTag = intrinsicGetter(Symbol.toStringTag);
const typedArrayBuffer = intrinsicGetter('buffer');
const typedArrayByteOffset = intrinsicGetter('byteOffset');
const typedArrayLength = intrinsicGetter('length');

// Element types an operation may accept: float32 and float16 data, bool
// masks (Uint8Array) and integer positions and lengths. Others stay as given
// so that the checks report their type.
const PINNED_TYPES = { Float32Array, Uint16Array, Uint8Array, Int32Array, BigInt64Array };

/**
 * Returns a plain view of the same memory as `data`, built with the built-in
 * typed array getters, or `data` itself when it is no typed array of an
 * accepted type or its buffer is detached (the checks then reject it).
 */
export function pinData(data) {
  // ArrayBuffer.isView is false for a Proxy, which the checks then reject.
  if (!ArrayBuffer.isView(data)) return data;
  const tag = typedArrayTag.call(data);
  const View = PINNED_TYPES[tag];
  if (!View) return data;
  const buffer = typedArrayBuffer.call(data);
  if (isDetached(buffer)) return data;
  return new View(buffer, typedArrayByteOffset.call(data), typedArrayLength.call(data));
}

/**
 * Copies array and typed array dims into a frozen array; other values stay
 * as given so that the checks report their type.
 */
export function pinDims(dims) {
  if (Array.isArray(dims) || (ArrayBuffer.isView(dims) && typedArrayTag.call(dims) !== undefined)) {
    return Object.freeze(Array.from(dims));
  }
  return dims;
}

function isTensorLike(value) {
  return (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    !ArrayBuffer.isView(value) &&
    ('data' in value || 'dims' in value)
  );
}

/**
 * Returns a copy of `args` in which every tensor-like argument, and every
 * tensor-like value of a trailing options object, is pinned. `originals`
 * maps each pinned tensor and view back to what the caller passed.
 */
export function pinArguments(args, originals) {
  const pinTensor = (value) => {
    if (!isTensorLike(value)) return value;
    const data = value.data;
    const pinned = Object.freeze({ data: pinData(data), dims: pinDims(value.dims) });
    originals.set(pinned, value);
    if (pinned.data !== data) originals.set(pinned.data, data);
    return pinned;
  };

  return args.map((arg) => {
    if (isTensorLike(arg)) return pinTensor(arg);
    if (arg === null || typeof arg !== 'object' || Array.isArray(arg) || ArrayBuffer.isView(arg)) return arg;
    // An options object: copy its own enumerable values once.
    const options = {};
    for (const key of Object.keys(arg)) options[key] = pinTensor(arg[key]);
    return options;
  });
}

/**
 * Maps a result back to the caller's objects: a pinned tensor returned as
 * the result (an in-place operation) becomes the tensor the caller passed,
 * and a result whose data is a pinned view gets the caller's array.
 */
export function unpinResult(result, originals, Tensor) {
  if (originals.has(result)) return originals.get(result);
  if (result instanceof Tensor && originals.has(result.data)) {
    return new Tensor(originals.get(result.data), result.dims);
  }
  return result;
}
