import { ProtoMessage } from './protobuf.js';
import { OPSET, type AttributeValue, type ElementType, type Graph, type GraphValue } from './graph.js';

/** ONNX ModelProto field numbers (onnx.proto, IR version 8). */
const ONNX_FLOAT = 1;
const ONNX_INT64 = 7;
const ONNX_INT8 = 3;
const IR_VERSION = 8;

function elemType(t: ElementType): number {
  return t === 'float32' ? ONNX_FLOAT : t === 'int8' ? ONNX_INT8 : ONNX_INT64;
}

function valueInfo(v: GraphValue): ProtoMessage {
  const shape = new ProtoMessage();
  for (const d of v.shape) shape.message(1, new ProtoMessage().varint(1, d));
  const tensorType = new ProtoMessage().varint(1, elemType(v.type)).message(2, shape);
  return new ProtoMessage().string(1, v.name).message(2, new ProtoMessage().message(1, tensorType));
}

function attribute(name: string, a: AttributeValue): ProtoMessage {
  const m = new ProtoMessage().string(1, name);
  switch (a.kind) {
    case 'float':
      return m.float(2, a.value).varint(20, 1);
    case 'int':
      return m.varint(3, a.value).varint(20, 2);
    case 'string':
      return m.string(4, a.value).varint(20, 3);
    case 'ints':
      for (const i of a.value) m.varint(8, i);
      return m.varint(20, 7);
  }
}

/** Serialises a graph; initializers no node reads are left out. */
export function toOnnxModel(graph: Graph, name = 'vetbench'): Uint8Array {
  const used = new Set<string>();
  for (const n of graph.nodes) for (const i of n.inputs) used.add(i);
  for (const o of graph.outputs) used.add(o.name);

  const g = new ProtoMessage();
  graph.nodes.forEach((n, idx) => {
    const node = new ProtoMessage();
    for (const i of n.inputs) node.string(1, i);
    for (const o of n.outputs) node.string(2, o);
    node.string(3, `${n.op}_${idx}`).string(4, n.op);
    for (const [k, a] of Object.entries(n.attributes)) node.message(5, attribute(k, a));
    g.message(1, node);
  });
  g.string(2, name);
  for (const init of graph.initializers.values()) {
    if (!used.has(init.name)) continue;
    const t = new ProtoMessage();
    for (const d of init.shape) t.varint(1, d);
    t.varint(2, elemType(init.type)).string(8, init.name);
    t.bytes(9, new Uint8Array(init.data.buffer, init.data.byteOffset, init.data.byteLength));
    g.message(5, t);
  }
  for (const i of graph.inputs) g.message(11, valueInfo(i));
  for (const o of graph.outputs) g.message(12, valueInfo(o));

  const model = new ProtoMessage()
    .varint(1, IR_VERSION)
    .string(2, 'vetbench')
    .string(3, '0.1')
    .message(7, g)
    .message(8, new ProtoMessage().string(1, '').varint(2, OPSET));
  return model.toBytes();
}
