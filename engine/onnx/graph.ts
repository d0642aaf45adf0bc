/**
 * A traced tensor program: the intermediate form between TensorOps tracing and ONNX serialisation.
 * Ops are ONNX operators (opset 18, default domain) so the graph serialises one-to-one and a backward pass
 * can be derived node by node.
 */
export type ElementType = 'float32' | 'int64' | 'int8';

export type AttributeValue =
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'ints'; readonly value: readonly number[] }
  | { readonly kind: 'string'; readonly value: string };

export interface GraphValue {
  readonly name: string;
  readonly shape: readonly number[];
  readonly type: ElementType;
}

export interface GraphNode {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: Readonly<Record<string, AttributeValue>>;
}

export interface Initializer extends GraphValue {
  readonly data: Float32Array | BigInt64Array | Int8Array;
}

export const OPSET = 18;

export class Graph {
  readonly inputs: GraphValue[] = [];
  readonly outputs: GraphValue[] = [];
  readonly nodes: GraphNode[] = [];
  readonly initializers = new Map<string, Initializer>();
  /** Initializer name -> the initializer it is the 2-D transpose of (lets backward rules reuse the original). */
  readonly transposeOf = new Map<string, string>();
  private readonly values = new Map<string, GraphValue>();
  private counter = 0;

  fresh(hint: string): string {
    return `${hint}_${this.counter++}`;
  }

  value(name: string): GraphValue {
    const v = this.values.get(name);
    if (!v) throw new Error(`graph has no value '${name}'`);
    return v;
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  addInput(name: string, shape: readonly number[], type: ElementType = 'float32'): GraphValue {
    if (this.values.has(name)) throw new Error(`graph already has a value named '${name}'`);
    const v = { name, shape: [...shape], type };
    this.inputs.push(v);
    this.values.set(name, v);
    return v;
  }

  addInitializer(
    name: string,
    data: Float32Array | BigInt64Array | Int8Array,
    shape: readonly number[],
  ): GraphValue {
    if (this.values.has(name)) return this.value(name);
    const type: ElementType =
      data instanceof Float32Array ? 'float32' : data instanceof Int8Array ? 'int8' : 'int64';
    const init: Initializer = { name, shape: [...shape], type, data };
    this.initializers.set(name, init);
    this.values.set(name, init);
    return init;
  }

  addNode(
    op: string,
    inputs: readonly string[],
    outputShapes: readonly (readonly number[])[],
    attributes: Record<string, AttributeValue> = {},
    outputType: ElementType = 'float32',
    outputNames?: readonly string[],
  ): GraphValue[] {
    for (const i of inputs)
      if (i !== '' && !this.values.has(i)) throw new Error(`${op}: unknown input '${i}'`);
    const outs = outputShapes.map((shape, k) => {
      const name = outputNames?.[k] ?? this.fresh(op);
      if (this.values.has(name)) throw new Error(`graph already has a value named '${name}'`);
      const v = { name, shape: [...shape], type: outputType };
      this.values.set(v.name, v);
      return v;
    });
    this.nodes.push({ op, inputs: [...inputs], outputs: outs.map((o) => o.name), attributes });
    return outs;
  }

  markOutput(name: string, alias?: string): void {
    const v = this.value(name);
    // An output under another name is an Identity node writing that name.
    const out =
      alias && alias !== name ? this.addNode('Identity', [name], [v.shape], {}, v.type, [alias])[0]! : v;
    this.outputs.push(out);
  }
}
