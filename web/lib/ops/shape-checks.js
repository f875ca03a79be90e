// Shape checks shared by the operations; each throws a RangeError whose
// message names the operation, the argument and the dims.
import { formatDims } from '../tensor.js';

export function requirePositive(op, name, dims, axis, axisName) {
  if (dims[axis] === 0) {
    throw new RangeError(`${op}: ${name} ${axisName} (dims[${axis}]) must be positive, got 0 in dims ${formatDims(dims)}`);
  }
}

export function requireRank(op, name, tensor, ranks) {
  if (!ranks.includes(tensor.dims.length)) {
    throw new RangeError(
      `${op}: ${name} must have rank ${ranks.join(' or ')}, got rank ${tensor.dims.length} (dims ${formatDims(tensor.dims)})`,
    );
  }
}

export function requireEqual(op, what, a, aName, b, bName) {
  if (a !== b) {
    throw new RangeError(`${op}: ${what} of ${aName} (${a}) and ${bName} (${b}) must be equal`);
  }
}
