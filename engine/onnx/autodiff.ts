import type { AttributeValue, Graph, GraphNode, GraphValue } from './graph.js';

/**
 * Reverse-mode differentiation of a traced graph. The backward pass is appended to the same graph using
 * standard ONNX operators only, so the ordinary onnxruntime package runs a whole training step: one session
 * computes loss, metrics and gradients.
 */

type Shape = readonly number[];

class BackwardBuilder {
  private consts = 0;
  constructor(private readonly g: Graph) {}

  node(
    op: string,
    inputs: readonly string[],
    shape: Shape,
    attrs: Record<string, AttributeValue> = {},
  ): string {
    return this.g.addNode(op, inputs, [shape], attrs)[0]!.name;
  }
  int64s(values: readonly number[]): string {
    return this.g.addInitializer(`grad_i64_${this.consts++}`, BigInt64Array.from(values.map(BigInt)), [
      values.length,
    ]).name;
  }
  scalar(v: number): string {
    return this.g.addInitializer(`grad_f32_${this.consts++}`, Float32Array.of(v), []).name;
  }
  shape(name: string): Shape {
    return this.g.value(name).shape;
  }
  add(a: string, b: string): string {
    return this.node('Add', [a, b], broadcastShape(this.shape(a), this.shape(b)));
  }
  mul(a: string, b: string): string {
    return this.node('Mul', [a, b], broadcastShape(this.shape(a), this.shape(b)));
  }
  sub(a: string, b: string): string {
    return this.node('Sub', [a, b], broadcastShape(this.shape(a), this.shape(b)));
  }
  div(a: string, b: string): string {
    return this.node('Div', [a, b], broadcastShape(this.shape(a), this.shape(b)));
  }
  neg(a: string): string {
    return this.node('Neg', [a], this.shape(a));
  }
  reshape(a: string, shape: Shape): string {
    return this.node('Reshape', [a, this.int64s(shape)], shape);
  }
  transpose(a: string, perm: readonly number[]): string {
    const s = this.shape(a);
    return this.node(
      'Transpose',
      [a],
      perm.map((p) => s[p] as number),
      { perm: { kind: 'ints', value: perm } },
    );
  }
  reduceSum(a: string, axes: readonly number[], keep: boolean): string {
    const s = this.shape(a);
    const out = s.flatMap((d, i) => (axes.includes(i) ? (keep ? [1] : []) : [d]));
    return this.node('ReduceSum', [a, this.int64s(axes)], out, {
      keepdims: { kind: 'int', value: keep ? 1 : 0 },
    });
  }
  expand(a: string, shape: Shape): string {
    return this.node('Expand', [a, this.int64s(shape)], shape);
  }
  matMul(a: string, b: string): string {
    const sa = this.shape(a);
    const sb = this.shape(b);
    const batch = broadcastShape(sa.slice(0, -2), sb.slice(0, -2));
    return this.node('MatMul', [a, b], [...batch, sa[sa.length - 2] as number, sb[sb.length - 1] as number]);
  }
  swapLast(a: string): string {
    const r = this.shape(a).length;
    const perm = Array.from({ length: r }, (_, i) => i);
    perm[r - 1] = r - 2;
    perm[r - 2] = r - 1;
    return this.transpose(a, perm);
  }
  /** Comparison results are bool in ONNX; cast to float 0/1 masks. */
  castToFloat(boolValue: string, shape: Shape): string {
    return this.node('Cast', [boolValue], shape, { to: { kind: 'int', value: 1 } });
  }
  zeros(shape: Shape): string {
    return this.expand(this.scalar(0), shape);
  }
  /** Sums a gradient over broadcast axes so it has the shape of the input it flows to. */
  unbroadcast(grad: string, target: Shape): string {
    const gs = this.shape(grad);
    if (sameShape(gs, target)) return grad;
    const lead = gs.length - target.length;
    const axes: number[] = [];
    for (let i = 0; i < gs.length; i++) {
      if (i < lead || (target[i - lead] === 1 && gs[i] !== 1)) axes.push(i);
    }
    const summed = axes.length ? this.reduceSum(grad, axes, true) : grad;
    return this.reshape(summed, target);
  }
}

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function broadcastShape(a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  return Array.from({ length: rank }, (_, i) => {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    return da === 1 ? db : da;
  });
}

function intAttr(node: GraphNode, name: string, fallback: number): number {
  const a = node.attributes[name];
  return a && a.kind === 'int' ? a.value : fallback;
}
function floatAttr(node: GraphNode, name: string, fallback: number): number {
  const a = node.attributes[name];
  return a && a.kind === 'float' ? a.value : fallback;
}

function int64Values(g: Graph, name: string): number[] {
  const init = g.initializers.get(name);
  if (!init || !(init.data instanceof BigInt64Array))
    throw new Error(`autodiff: '${name}' must be a constant int64 list`);
  return Array.from(init.data, Number);
}

type Rule = (
  b: BackwardBuilder,
  g: Graph,
  node: GraphNode,
  dy: readonly (string | null)[],
  needs: readonly boolean[],
) => (string | null)[];

const elementwiseUnary =
  (f: (b: BackwardBuilder, x: string, y: string, dy: string) => string): Rule =>
  (b, _g, node, dy) => [f(b, node.inputs[0]!, node.outputs[0]!, dy[0]!)];

const RULES: Record<string, Rule> = {
  Identity: (_b, _g, _n, dy) => [dy[0]!],
  Add: (b, g, n, dy, needs) => [
    needs[0] ? b.unbroadcast(dy[0]!, g.value(n.inputs[0]!).shape) : null,
    needs[1] ? b.unbroadcast(dy[0]!, g.value(n.inputs[1]!).shape) : null,
  ],
  Sub: (b, g, n, dy, needs) => [
    needs[0] ? b.unbroadcast(dy[0]!, g.value(n.inputs[0]!).shape) : null,
    needs[1] ? b.unbroadcast(b.neg(dy[0]!), g.value(n.inputs[1]!).shape) : null,
  ],
  Mul: (b, g, n, dy, needs) => [
    needs[0] ? b.unbroadcast(b.mul(dy[0]!, n.inputs[1]!), g.value(n.inputs[0]!).shape) : null,
    needs[1] ? b.unbroadcast(b.mul(dy[0]!, n.inputs[0]!), g.value(n.inputs[1]!).shape) : null,
  ],
  Div: (b, g, n, dy, needs) => [
    needs[0] ? b.unbroadcast(b.div(dy[0]!, n.inputs[1]!), g.value(n.inputs[0]!).shape) : null,
    needs[1]
      ? b.unbroadcast(b.neg(b.div(b.mul(dy[0]!, n.outputs[0]!), n.inputs[1]!)), g.value(n.inputs[1]!).shape)
      : null,
  ],
  Neg: elementwiseUnary((b, _x, _y, dy) => b.neg(dy)),
  Exp: elementwiseUnary((b, _x, y, dy) => b.mul(dy, y)),
  Log: elementwiseUnary((b, x, _y, dy) => b.div(dy, x)),
  Sqrt: elementwiseUnary((b, _x, y, dy) => b.div(b.mul(dy, b.scalar(0.5)), y)),
  Sigmoid: elementwiseUnary((b, _x, y, dy) => b.mul(dy, b.mul(y, b.sub(b.scalar(1), y)))),
  Relu: elementwiseUnary((b, x, _y, dy) => {
    const positive = b.castToFloat(b.node('Greater', [x, b.scalar(0)], b.shape(x)), b.shape(x));
    return b.mul(dy, positive);
  }),
  Clip: (b, g, n, dy) => {
    const x = n.inputs[0]!;
    const s = g.value(x).shape;
    const lo = b.castToFloat(b.node('GreaterOrEqual', [x, n.inputs[1]!], s), s);
    const hi = b.castToFloat(b.node('LessOrEqual', [x, n.inputs[2]!], s), s);
    return [b.mul(dy[0]!, b.mul(lo, hi)), null, null];
  },
  Reshape: (b, g, n, dy) => [b.reshape(dy[0]!, g.value(n.inputs[0]!).shape), null],
  Transpose: (b, _g, n, dy) => {
    const perm = (n.attributes.perm as { value: readonly number[] }).value;
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [b.transpose(dy[0]!, inverse)];
  },
  Slice: (b, g, n, dy) => {
    const inShape = g.value(n.inputs[0]!).shape;
    const starts = int64Values(g, n.inputs[1]!);
    const ends = int64Values(g, n.inputs[2]!);
    const axes = int64Values(g, n.inputs[3]!);
    const before = inShape.map(() => 0);
    const after = inShape.map(() => 0);
    axes.forEach((a, i) => {
      before[a] = starts[i]!;
      after[a] = (inShape[a] as number) - ends[i]!;
    });
    return [
      b.node('Pad', [dy[0]!, b.int64s([...before, ...after]), b.scalar(0)], inShape, {
        mode: { kind: 'string', value: 'constant' },
      }),
      null,
      null,
      null,
    ];
  },
  Concat: (b, g, n, dy, needs) => {
    const axis = intAttr(n, 'axis', 0);
    const sizes = n.inputs.map((i) => g.value(i).shape[axis] as number);
    const shapes = n.inputs.map((i) => g.value(i).shape);
    const parts = g.addNode('Split', [dy[0]!, b.int64s(sizes)], shapes, {
      axis: { kind: 'int', value: axis },
    });
    return parts.map((p, i) => (needs[i] ? p.name : null));
  },
  Split: (b, g, n, dy) => {
    const axis = intAttr(n, 'axis', 0);
    const pieces = n.outputs.map((o, i) => dy[i] ?? b.zeros(g.value(o).shape));
    return [
      b.node('Concat', pieces, g.value(n.inputs[0]!).shape, { axis: { kind: 'int', value: axis } }),
      null,
    ];
  },
  ReduceSum: (b, g, n, dy) => {
    const inShape = g.value(n.inputs[0]!).shape;
    const axes = int64Values(g, n.inputs[1]!);
    const kept = inShape.map((d, i) => (axes.includes(i) ? 1 : d));
    return [b.expand(b.reshape(dy[0]!, kept), inShape), null];
  },
  ReduceMean: (b, g, n, dy) => {
    const inShape = g.value(n.inputs[0]!).shape;
    const axes = int64Values(g, n.inputs[1]!);
    const count = axes.reduce((acc, a) => acc * (inShape[a] as number), 1);
    const kept = inShape.map((d, i) => (axes.includes(i) ? 1 : d));
    return [b.expand(b.reshape(b.mul(dy[0]!, b.scalar(1 / count)), kept), inShape), null];
  },
  ReduceMax: (b, g, n, dy) => {
    const x = n.inputs[0]!;
    const inShape = g.value(x).shape;
    const axes = int64Values(g, n.inputs[1]!);
    const kept = inShape.map((d, i) => (axes.includes(i) ? 1 : d));
    const maxKept = b.reshape(n.outputs[0]!, kept);
    const mask = b.castToFloat(b.node('Equal', [x, maxKept], inShape), inShape);
    // Ties share the gradient equally, so the sum over the reduced axes is preserved.
    const share = b.div(mask, b.reduceSum(mask, axes, true));
    return [b.mul(share, b.reshape(dy[0]!, kept)), null];
  },
  MatMul: (b, g, n, dy, needs) => {
    const [a, w] = [n.inputs[0]!, n.inputs[1]!];
    const sa = g.value(a).shape;
    const sw = g.value(w).shape;
    const d = dy[0]!;
    let ga: string | null = null;
    let gw: string | null = null;
    if (needs[0]) {
      // dA = dY @ W^T; for a frozen transposed weight, W^T is the original initializer.
      const original = g.transposeOf.get(w);
      const wT = original ?? b.swapLast(w);
      ga = b.unbroadcast(b.matMul(d, wT), sa);
    }
    if (needs[1]) {
      if (sw.length === 2 && sa.length > 2) {
        // x [..., in] @ W [in, out]: dW sums over every leading position, as one 2-D product.
        const rows = sa.slice(0, -1).reduce((x, y) => x * y, 1);
        const a2 = b.reshape(a, [rows, sa[sa.length - 1] as number]);
        const d2 = b.reshape(d, [rows, sw[1] as number]);
        gw = b.matMul(b.swapLast(a2), d2);
      } else {
        gw = b.unbroadcast(b.matMul(b.swapLast(a), d), sw);
      }
    }
    return [ga, gw];
  },
  LayerNormalization: (b, g, n, dy, needs) => {
    const [x, gamma] = [n.inputs[0]!, n.inputs[1]!];
    const s = g.value(x).shape;
    const last = s.length - 1;
    const eps = floatAttr(n, 'epsilon', 1e-5);
    const kept = s.map((dd, i) => (i === last ? 1 : dd));
    const width = s[last] as number;
    const mean = b.node('ReduceMean', [x, b.int64s([last])], kept, { keepdims: { kind: 'int', value: 1 } });
    const centered = b.sub(x, mean);
    const variance = b.node('ReduceMean', [b.mul(centered, centered), b.int64s([last])], kept, {
      keepdims: { kind: 'int', value: 1 },
    });
    const invStd = b.div(b.scalar(1), b.node('Sqrt', [b.add(variance, b.scalar(eps))], kept));
    const xhat = b.mul(centered, invStd);
    const d = dy[0]!;
    const leading = s.slice(0, -1).map((_, i) => i);
    let gx: string | null = null;
    if (needs[0]) {
      const dxhat = b.mul(d, gamma);
      const m1 = b.mul(b.reduceSum(dxhat, [last], true), b.scalar(1 / width));
      const m2 = b.mul(b.reduceSum(b.mul(dxhat, xhat), [last], true), b.scalar(1 / width));
      gx = b.mul(invStd, b.sub(b.sub(dxhat, m1), b.mul(xhat, m2)));
    }
    const gGamma = needs[1] ? b.reduceSum(b.mul(d, xhat), leading, false) : null;
    const gBeta = needs[2] ? b.reduceSum(d, leading, false) : null;
    return [gx, gGamma, gBeta];
  },
  Softmax: (b, _g, n, dy) => {
    const y = n.outputs[0]!;
    const last = b.shape(y).length - 1;
    const dot = b.reduceSum(b.mul(dy[0]!, y), [last], true);
    return [b.mul(y, b.sub(dy[0]!, dot))];
  },
  LogSoftmax: (b, _g, n, dy) => {
    const y = n.outputs[0]!;
    const last = b.shape(y).length - 1;
    const total = b.reduceSum(dy[0]!, [last], true);
    return [b.sub(dy[0]!, b.mul(b.node('Exp', [y], b.shape(y)), total))];
  },
  Gather: (b, g, n, dy, needs) => {
    if (!needs[0]) return [null, null];
    // Rows of the table: scatter-add the gradient rows back (duplicate ids accumulate).
    const table = g.value(n.inputs[0]!).shape;
    const ids = n.inputs[1]!;
    const idShape = g.value(ids).shape;
    const count = idShape.reduce((x, y) => x * y, 1);
    const idx = b.node('Reshape', [ids, b.int64s([count, 1])], [count, 1]);
    const updates = b.reshape(dy[0]!, [count, table[1] as number]);
    return [
      b.node('ScatterND', [b.zeros(table), idx, updates], table, {
        reduction: { kind: 'string', value: 'add' },
      }),
      null,
    ];
  },
};

export const DIFFERENTIABLE_OPS: readonly string[] = Object.keys(RULES);

/**
 * Appends d loss / d wrt for each name in `wrt` (graph inputs or initializers) and returns their value names.
 * `loss` must be a scalar. Values that do not depend on `wrt` get no backward nodes.
 */
export function addGradients(graph: Graph, loss: string, wrt: readonly string[]): Map<string, string> {
  const lossValue = graph.value(loss);
  if (lossValue.shape.length !== 0)
    throw new Error(`autodiff: loss '${loss}' has shape [${lossValue.shape}], not a scalar`);
  // Forward pass: which values depend on the variables.
  const depends = new Set(wrt);
  const forward = [...graph.nodes];
  for (const node of forward)
    if (node.inputs.some((i) => depends.has(i))) for (const o of node.outputs) depends.add(o);

  const b = new BackwardBuilder(graph);
  const grads = new Map<string, string>();
  const accumulate = (name: string, grad: string): void => {
    const prev = grads.get(name);
    grads.set(name, prev ? b.add(prev, grad) : grad);
  };
  grads.set(loss, b.expand(b.scalar(1), []));

  for (let i = forward.length - 1; i >= 0; i--) {
    const node = forward[i]!;
    const dy = node.outputs.map((o) => grads.get(o) ?? null);
    if (dy.every((d) => d === null)) continue;
    const needs = node.inputs.map((inp) => depends.has(inp));
    if (!needs.some(Boolean)) continue;
    const rule = RULES[node.op];
    if (!rule) throw new Error(`autodiff: no backward rule for ONNX op ${node.op}`);
    const dx = rule(b, graph, node, dy, needs);
    node.inputs.forEach((inp, k) => {
      const d = dx[k];
      if (needs[k] && d) accumulate(inp, d);
    });
  }
  const out = new Map<string, string>();
  for (const w of wrt) {
    const v: GraphValue = graph.value(w);
    out.set(w, grads.get(w) ?? b.zeros(v.shape));
  }
  return out;
}
