import type { Graph, GraphNode } from './graph.js';

/**
 * Int8 weights with dynamic activation quantisation, in standard ONNX ops (what onnxruntime's quantize_dynamic
 * produces): every MatMul whose right operand is a frozen 2-D float weight [K, N] becomes
 *
 *   xq, xs, xz = DynamicQuantizeLinear(x)            uint8 activations, one scale per tensor, computed per call
 *   y = Cast(MatMulInteger(xq, Wq, xz)) * (xs * s)   Wq int8 [K, N] symmetric, s one scale per output column
 *
 * so the integer GEMM does the work and one multiply restores the float range. Forward-only (no rule
 * differentiates these ops); the graph's other nodes are untouched. Returns the number of MatMuls rewritten.
 */
export function quantizeLinearWeights(graph: Graph, minWeightElements = 1024): number {
  const rewritten: GraphNode[] = [];
  let count = 0;
  const quantized = new Map<string, { q: string; scale: string }>();
  for (const node of [...graph.nodes]) {
    const weight = node.op === 'MatMul' ? graph.initializers.get(node.inputs[1]!) : undefined;
    if (
      !weight ||
      !(weight.data instanceof Float32Array) ||
      weight.shape.length !== 2 ||
      weight.data.length < minWeightElements
    ) {
      rewritten.push(node);
      continue;
    }
    let w = quantized.get(weight.name);
    if (!w) {
      const { q, scale } = quantizeColumns(weight.data, weight.shape[0]!, weight.shape[1]!);
      w = {
        q: graph.addInitializer(`${weight.name}.int8`, q, weight.shape).name,
        scale: graph.addInitializer(`${weight.name}.scale`, scale, [weight.shape[1]!]).name,
      };
      quantized.set(weight.name, w);
    }
    const x = graph.value(node.inputs[0]!);
    const out = graph.value(node.outputs[0]!);
    const before = graph.nodes.length;
    const [xq, xs, xz] = graph.addNode('DynamicQuantizeLinear', [x.name], [x.shape, [], []]);
    const [acc] = graph.addNode('MatMulInteger', [xq!.name, w.q, xz!.name], [out.shape]);
    const [accF] = graph.addNode('Cast', [acc!.name], [out.shape], { to: { kind: 'int', value: 1 } });
    const [colScale] = graph.addNode('Mul', [xs!.name, w.scale], [[weight.shape[1]!]]);
    rewritten.push(...graph.nodes.slice(before));
    // The last multiply writes the MatMul's own output, so its readers need no change.
    rewritten.push({ op: 'Mul', inputs: [accF!.name, colScale!.name], outputs: [out.name], attributes: {} });
    count++;
  }
  graph.nodes.length = 0;
  graph.nodes.push(...rewritten);
  return count;
}

/** Symmetric per-column int8: s_n = max_k |W[k, n]| / 127, q = round(W / s_n). */
export function quantizeColumns(
  data: Float32Array,
  rows: number,
  cols: number,
): { q: Int8Array; scale: Float32Array } {
  const scale = new Float32Array(cols);
  for (let k = 0; k < rows; k++)
    for (let n = 0; n < cols; n++) scale[n] = Math.max(scale[n]!, Math.abs(data[k * cols + n]!));
  for (let n = 0; n < cols; n++) scale[n] = scale[n]! > 0 ? scale[n]! / 127 : 1;
  const q = new Int8Array(rows * cols);
  for (let k = 0; k < rows; k++)
    for (let n = 0; n < cols; n++)
      q[k * cols + n] = Math.max(-127, Math.min(127, Math.round(data[k * cols + n]! / scale[n]!)));
  return { q, scale };
}
