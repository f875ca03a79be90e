// A minimal protobuf writer for ONNX models: just the ModelProto, GraphProto,
// NodeProto, AttributeProto, TensorProto and ValueInfoProto fields the
// benchmark graphs use. Field numbers follow onnx/onnx.proto (ONNX 1.17).

const WIRE_VARINT = 0;
const WIRE_BYTES = 2;
const WIRE_FIXED32 = 5;

export const ElemType = Object.freeze({ FLOAT: 1, INT64: 7 });
const AttributeType = Object.freeze({ FLOAT: 1, INT: 2, INTS: 7 });

class Writer {
  constructor() {
    this.chunks = [];
  }

  varint(value) {
    let v = BigInt(value);
    if (v < 0n) v += 1n << 64n; // int64 fields encode negatives as ten bytes
    const bytes = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      bytes.push(byte);
    } while (v !== 0n);
    this.chunks.push(Uint8Array.from(bytes));
    return this;
  }

  tag(field, wire) {
    return this.varint((field << 3) | wire);
  }

  int(field, value) {
    return this.tag(field, WIRE_VARINT).varint(value);
  }

  float(field, value) {
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.tag(field, WIRE_FIXED32);
    this.chunks.push(bytes);
    return this;
  }

  bytes(field, data) {
    this.tag(field, WIRE_BYTES).varint(data.length);
    this.chunks.push(data);
    return this;
  }

  string(field, text) {
    return this.bytes(field, new TextEncoder().encode(text));
  }

  message(field, writer) {
    return this.bytes(field, writer.finish());
  }

  finish() {
    const length = this.chunks.reduce((n, c) => n + c.length, 0);
    const out = new Uint8Array(length);
    let offset = 0;
    for (const c of this.chunks) {
      out.set(c, offset);
      offset += c.length;
    }
    return out;
  }
}

// AttributeProto: name = 1, f = 2, i = 3, ints = 8, type = 20.
function attribute(name, value) {
  const w = new Writer().string(1, name);
  if (Array.isArray(value)) {
    for (const v of value) w.int(8, v);
    return w.int(20, AttributeType.INTS);
  }
  if (Number.isInteger(value)) return w.int(3, value).int(20, AttributeType.INT);
  return w.float(2, value).int(20, AttributeType.FLOAT);
}

// ValueInfoProto { name = 1, type = 2 { tensor_type = 1 { elem_type = 1,
// shape = 2 { dim = 1 { dim_value = 1 } } } } }.
function valueInfo(name, elemType, dims) {
  const shape = new Writer();
  for (const d of dims) shape.message(1, new Writer().int(1, d));
  const tensorType = new Writer().int(1, elemType).message(2, shape);
  return new Writer().string(1, name).message(2, new Writer().message(1, tensorType));
}

// TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9 (little-endian).
function tensor(name, elemType, dims, data) {
  const w = new Writer();
  for (const d of dims) w.int(1, d);
  w.int(2, elemType).string(8, name);
  return w.bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

/**
 * Encodes an ONNX model. nodes: [{ op, inputs, outputs, attributes?, domain? }];
 * inputs and outputs: [{ name, type, dims }]; initializers: [{ name, type,
 * dims, data }]. opset: version of the default domain.
 */
export function buildModel({ nodes, inputs, outputs, initializers = [], opset }) {
  const graph = new Writer();
  nodes.forEach((node, index) => {
    const n = new Writer();
    for (const name of node.inputs) n.string(1, name);
    for (const name of node.outputs) n.string(2, name);
    n.string(3, `${node.op}_${index}`).string(4, node.op);
    for (const [key, value] of Object.entries(node.attributes ?? {})) n.message(5, attribute(key, value));
    if (node.domain) n.string(7, node.domain);
    graph.message(1, n);
  });
  graph.string(2, 'bench');
  for (const t of initializers) graph.message(5, tensor(t.name, t.type, t.dims, t.data));
  for (const v of inputs) graph.message(11, valueInfo(v.name, v.type, v.dims));
  for (const v of outputs) graph.message(12, valueInfo(v.name, v.type, v.dims));

  // ModelProto: ir_version = 1, producer_name = 2, graph = 7, opset_import = 8.
  return new Writer()
    .int(1, 10) // IR version 10 goes with opset 23
    .string(2, 'attnkit-bench')
    .message(7, graph)
    .message(8, new Writer().string(1, '').int(2, opset))
    .finish();
}
