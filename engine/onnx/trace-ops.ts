import type { HostTensor } from '../tensor/host-tensor.js';
import type { TensorOps } from '../tensor/ops.js';
import type { Graph, GraphValue } from './graph.js';

/** A symbolic tensor: a named value of the graph being traced. */
export interface Sym {
  readonly name: string;
  readonly shape: readonly number[];
}

function broadcast(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`shapes [${a}] and [${b}] do not broadcast`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/**
 * Traces TensorOps calls into ONNX nodes with static shapes. Frozen linear weights get a transposed initializer
 * made once, so the graph holds plain MatMuls.
 */
export class TraceOps implements TensorOps<Sym> {
  readonly executor = 'trace' as const;
  private readonly scalars = new Map<number, Sym>();
  private readonly transposed = new Map<string, Sym>();
  private constants = 0;

  constructor(readonly graph: Graph) {}

  private sym(v: GraphValue): Sym {
    return { name: v.name, shape: v.shape };
  }
  private node(op: string, inputs: readonly Sym[], shape: readonly number[], attrs = {}): Sym {
    const [out] = this.graph.addNode(
      op,
      inputs.map((i) => i.name),
      [shape],
      attrs,
    );
    return this.sym(out!);
  }
  private int64s(values: readonly number[]): Sym {
    const name = `const_i64_${this.constants++}`;
    return this.sym(this.graph.addInitializer(name, BigInt64Array.from(values.map(BigInt)), [values.length]));
  }

  shape(x: Sym): readonly number[] {
    return x.shape;
  }
  constant(t: HostTensor): Sym {
    return this.sym(this.graph.addInitializer(`const_${this.constants++}`, t.data, t.shape));
  }
  scalar(value: number): Sym {
    let s = this.scalars.get(value);
    if (!s) {
      s = this.sym(this.graph.addInitializer(`scalar_${this.constants++}`, Float32Array.of(value), []));
      this.scalars.set(value, s);
    }
    return s;
  }
  private binary(op: string, a: Sym, b: Sym): Sym {
    return this.node(op, [a, b], broadcast(a.shape, b.shape));
  }
  add(a: Sym, b: Sym): Sym {
    return this.binary('Add', a, b);
  }
  sub(a: Sym, b: Sym): Sym {
    return this.binary('Sub', a, b);
  }
  mul(a: Sym, b: Sym): Sym {
    return this.binary('Mul', a, b);
  }
  div(a: Sym, b: Sym): Sym {
    return this.binary('Div', a, b);
  }
  neg(x: Sym): Sym {
    return this.node('Neg', [x], x.shape);
  }
  exp(x: Sym): Sym {
    return this.node('Exp', [x], x.shape);
  }
  log(x: Sym): Sym {
    return this.node('Log', [x], x.shape);
  }
  sqrt(x: Sym): Sym {
    return this.node('Sqrt', [x], x.shape);
  }
  sigmoid(x: Sym): Sym {
    return this.node('Sigmoid', [x], x.shape);
  }
  relu(x: Sym): Sym {
    return this.node('Relu', [x], x.shape);
  }
  clamp(x: Sym, min: number, max: number): Sym {
    return this.node('Clip', [x, this.scalar(min), this.scalar(max)], x.shape);
  }
  reshape(x: Sym, shape: readonly number[]): Sym {
    const total = x.shape.reduce((a, b) => a * b, 1);
    const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const resolved = shape.map((d) => (d === -1 ? total / known : d));
    if (resolved.reduce((a, b) => a * b, 1) !== total)
      throw new Error(`cannot reshape [${x.shape}] to [${shape}]`);
    return this.node('Reshape', [x, this.int64s(resolved)], resolved);
  }
  transpose(x: Sym, perm: readonly number[]): Sym {
    return this.node(
      'Transpose',
      [x],
      perm.map((p) => x.shape[p] as number),
      { perm: { kind: 'ints', value: perm } },
    );
  }
  slice(x: Sym, begin: readonly number[], size: readonly number[]): Sym {
    const ends = size.map((s, i) => (s === -1 ? (x.shape[i] as number) : (begin[i] as number) + s));
    const shape = ends.map((e, i) => e - (begin[i] as number));
    const axes = begin.map((_, i) => i);
    return this.node('Slice', [x, this.int64s(begin), this.int64s(ends), this.int64s(axes)], shape);
  }
  concat(xs: readonly Sym[], axis: number): Sym {
    const first = xs[0];
    if (!first) throw new Error('concat of nothing');
    const ax = normAxis(axis, first.shape.length);
    const shape = [...first.shape];
    shape[ax] = xs.reduce((acc, x) => acc + (x.shape[ax] as number), 0);
    return this.node('Concat', xs, shape, { axis: { kind: 'int', value: ax } });
  }
  split(x: Sym, sizes: readonly number[], axis: number): Sym[] {
    const ax = normAxis(axis, x.shape.length);
    const shapes = sizes.map((s) => x.shape.map((d, i) => (i === ax ? s : d)));
    const outs = this.graph.addNode('Split', [x.name, this.int64s(sizes).name], shapes, {
      axis: { kind: 'int', value: ax },
    });
    return outs.map((o) => this.sym(o));
  }
  private reduce(op: string, x: Sym, axes: readonly number[], keepDims: boolean): Sym {
    const rank = x.shape.length;
    const ax = axes.map((a) => normAxis(a, rank));
    const shape = x.shape.flatMap((d, i) => (ax.includes(i) ? (keepDims ? [1] : []) : [d]));
    return this.node(op, [x, this.int64s(ax)], shape, { keepdims: { kind: 'int', value: keepDims ? 1 : 0 } });
  }
  sum(x: Sym, axes: readonly number[], keepDims = false): Sym {
    return this.reduce('ReduceSum', x, axes, keepDims);
  }
  mean(x: Sym, axes: readonly number[], keepDims = false): Sym {
    return this.reduce('ReduceMean', x, axes, keepDims);
  }
  max(x: Sym, axes: readonly number[], keepDims = false): Sym {
    return this.reduce('ReduceMax', x, axes, keepDims);
  }
  matMul(a: Sym, b: Sym): Sym {
    const m = a.shape[a.shape.length - 2] as number;
    const n = b.shape[b.shape.length - 1] as number;
    const batch = broadcast(a.shape.slice(0, -2), b.shape.slice(0, -2));
    return this.node('MatMul', [a, b], [...batch, m, n]);
  }
  private transposedWeight(weight: Sym): Sym {
    const cached = this.transposed.get(weight.name);
    if (cached) return cached;
    const init = this.graph.initializers.get(weight.name);
    let t: Sym;
    if (init && init.data instanceof Float32Array && init.shape.length === 2) {
      const [rows, cols] = init.shape as [number, number];
      const src = init.data;
      const dst = new Float32Array(src.length);
      for (let r = 0; r < rows; r++)
        for (let c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c] as number;
      t = this.sym(this.graph.addInitializer(`${weight.name}.T`, dst, [cols, rows]));
      this.graph.transposeOf.set(t.name, weight.name);
    } else {
      t = this.transpose(weight, [1, 0]); // a graph input (trainable): transpose in the graph
    }
    this.transposed.set(weight.name, t);
    return t;
  }
  linear(x: Sym, weight: Sym, bias: Sym | null): Sym {
    const y = this.matMul(x, this.transposedWeight(weight));
    return bias ? this.add(y, bias) : y;
  }
  layerNorm(x: Sym, gamma: Sym, beta: Sym, eps: number): Sym {
    return this.node('LayerNormalization', [x, gamma, beta], x.shape, {
      axis: { kind: 'int', value: -1 },
      epsilon: { kind: 'float', value: eps },
    });
  }
  softmax(x: Sym): Sym {
    return this.node('Softmax', [x], x.shape, { axis: { kind: 'int', value: -1 } });
  }
  logSoftmax(x: Sym): Sym {
    return this.node('LogSoftmax', [x], x.shape, { axis: { kind: 'int', value: -1 } });
  }
  /** Rows of `table` picked by an int64 graph value (a graph input), for graphs reused across texts. */
  gatherRowsBy(table: Sym, ids: Sym): Sym {
    return this.node('Gather', [table, ids], [...ids.shape, table.shape[1] as number], {
      axis: { kind: 'int', value: 0 },
    });
  }
  gatherRows(table: Sym, ids: Int32Array, idsShape: readonly number[]): Sym {
    const idx = this.sym(
      this.graph.addInitializer(
        `ids_${this.constants++}`,
        BigInt64Array.from(ids, (v) => BigInt(v)),
        idsShape,
      ),
    );
    return this.node('Gather', [table, idx], [...idsShape, table.shape[1] as number], {
      axis: { kind: 'int', value: 0 },
    });
  }
}
