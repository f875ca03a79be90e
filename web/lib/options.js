// Checks of option objects: unknown keys and values of the wrong type are
// rejected with a message that names the option.
import { describe } from './tensor.js';

/**
 * Returns `options` (or {} when undefined) after checking that every key is
 * one of `allowed` (an array of names).
 */
export function checkOptionKeys(op, options, allowed) {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${op}: options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw new TypeError(`${op}: unknown option '${key}'; expected one of ${allowed.join(', ')}`);
    }
  }
  return options;
}

// Largest finite float32, for options the kernels take as float.
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Checks an optional finite number option; returns it or `fallback`. With
 * float32 set, the value must also stay finite when rounded to float32.
 */
export function numberOption(op, options, name, fallback, { positive = false, integer = false, float32 = false } = {}) {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number') {
    throw new TypeError(`${op}: ${name} must be a number, got ${describe(value)}`);
  }
  if (!Number.isFinite(value) || (positive && !(value > 0)) || (integer && !Number.isInteger(value))) {
    const expected = [positive ? 'positive' : null, 'finite', integer ? 'integer' : 'number'].filter(Boolean).join(' ');
    throw new RangeError(`${op}: ${name} must be a ${expected}, got ${value}`);
  }
  if (float32 && Math.abs(value) > FLOAT32_MAX) {
    throw new RangeError(`${op}: ${name} must be within the float32 range ±${FLOAT32_MAX}, got ${value}`);
  }
  return value;
}

/** Checks an optional boolean option; returns it or `fallback`. */
export function booleanOption(op, options, name, fallback) {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new TypeError(`${op}: ${name} must be a boolean, got ${describe(value)}`);
  }
  return value;
}
