import * as tf from '@tensorflow/tfjs';
import type { HostTensor } from './host-tensor.js';
import type { TensorOps } from './ops.js';

/**
 * Eager TF.js executor. Two measured wasm slow paths are avoided (ENGINE-NOTES): transposed matMul operands
 * (autodiff of every matMul produces them) and rank-5 transposes. So matMul and linear carry custom gradients
 * that transpose explicitly and multiply plainly; frozen linear weights keep a transposed copy made once.
 */
export class TfjsOps implements TensorOps<tf.Tensor> {
  readonly executor = 'tfjs' as const;
  /** Weight -> its transpose, for weights that never change (frozen). */
  private readonly transposedFrozen = new WeakMap<tf.Tensor, tf.Tensor>();
  private readonly ownedCopies: tf.Tensor[] = [];

  /** Marks a [out, in] weight as frozen: linear() uses a cached transpose and needs no weight gradient. */
  freezeLinearWeight(weight: tf.Tensor): void {
    if (this.transposedFrozen.has(weight)) return;
    const copy = tf.keep(tf.transpose(weight));
    this.transposedFrozen.set(weight, copy);
    this.ownedCopies.push(copy);
  }

  /** Frees the transposed copies made by freezeLinearWeight. */
  dispose(): void {
    for (const t of this.ownedCopies) t.dispose();
    this.ownedCopies.length = 0;
  }

  shape(x: tf.Tensor): readonly number[] {
    return x.shape;
  }
  constant(t: HostTensor): tf.Tensor {
    return tf.tensor(t.data, [...t.shape], 'float32');
  }
  scalar(value: number): tf.Tensor {
    return tf.scalar(value);
  }
  add(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return tf.add(a, b);
  }
  sub(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return tf.sub(a, b);
  }
  mul(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return tf.mul(a, b);
  }
  div(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return tf.div(a, b);
  }
  neg(x: tf.Tensor): tf.Tensor {
    return tf.neg(x);
  }
  exp(x: tf.Tensor): tf.Tensor {
    return tf.exp(x);
  }
  log(x: tf.Tensor): tf.Tensor {
    return tf.log(x);
  }
  sqrt(x: tf.Tensor): tf.Tensor {
    return tf.sqrt(x);
  }
  sigmoid(x: tf.Tensor): tf.Tensor {
    return tf.sigmoid(x);
  }
  relu(x: tf.Tensor): tf.Tensor {
    return tf.relu(x);
  }
  clamp(x: tf.Tensor, min: number, max: number): tf.Tensor {
    return tf.clipByValue(x, min, max);
  }
  reshape(x: tf.Tensor, shape: readonly number[]): tf.Tensor {
    return tf.reshape(x, [...shape]);
  }
  transpose(x: tf.Tensor, perm: readonly number[]): tf.Tensor {
    return tf.transpose(x, [...perm]);
  }
  slice(x: tf.Tensor, begin: readonly number[], size: readonly number[]): tf.Tensor {
    return tf.slice(x, [...begin], [...size]);
  }
  concat(xs: readonly tf.Tensor[], axis: number): tf.Tensor {
    return tf.concat([...xs], axis);
  }
  split(x: tf.Tensor, sizes: readonly number[], axis: number): tf.Tensor[] {
    return tf.split(x, [...sizes], axis);
  }
  sum(x: tf.Tensor, axes: readonly number[], keepDims = false): tf.Tensor {
    return tf.sum(x, [...axes], keepDims);
  }
  mean(x: tf.Tensor, axes: readonly number[], keepDims = false): tf.Tensor {
    return tf.mean(x, [...axes], keepDims);
  }
  max(x: tf.Tensor, axes: readonly number[], keepDims = false): tf.Tensor {
    return tf.max(x, [...axes], keepDims);
  }

  matMul(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return plainMatMul(a, b);
  }

  linear(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor | null): tf.Tensor {
    const inFeatures = x.shape[x.shape.length - 1] as number;
    const outFeatures = weight.shape[0] as number;
    const lead = x.shape.slice(0, -1);
    const x2 = tf.reshape(x, [-1, inFeatures]);
    const frozenT = this.transposedFrozen.get(weight);
    // Frozen: dx = dy @ W is a plain product, no weight gradient. Trainable: explicit transposes.
    const y2 = frozenT ? frozenLinear(x2, frozenT, weight) : plainMatMul(x2, tf.transpose(weight));
    const y = bias ? tf.add(y2, bias) : y2;
    return tf.reshape(y, [...lead, outFeatures]);
  }

  layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), gamma), beta);
  }
  softmax(x: tf.Tensor): tf.Tensor {
    return tf.softmax(x);
  }
  logSoftmax(x: tf.Tensor): tf.Tensor {
    return tf.logSoftmax(x);
  }
  gatherRows(table: tf.Tensor, ids: Int32Array, idsShape: readonly number[]): tf.Tensor {
    const width = table.shape[1] as number;
    return tf.reshape(gatherWithScatterGrad(table, ids), [...idsShape, width]);
  }
}

function swapLastTwo(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 1] = rank - 2;
  perm[rank - 2] = rank - 1;
  return perm;
}

type GradArg = tf.Tensor | tf.GradSaveFunc;

/**
 * Row gather whose table gradient is a scatter-add (ScatterNd accumulates duplicate ids); TF.js's own
 * gather gradient needs UnsortedSegmentSum, which the wasm backend lacks.
 */
function gatherWithScatterGrad(table: tf.Tensor, ids: Int32Array): tf.Tensor {
  return tf.customGrad((...args: GradArg[]) => {
    const t = args[0] as tf.Tensor;
    const flat = tf.tensor1d(ids, 'int32');
    return {
      value: tf.gather(t, flat),
      gradFunc: (dy: tf.Tensor | tf.Tensor[]) => [
        tf.scatterND(tf.tensor2d(ids, [ids.length, 1], 'int32'), dy as tf.Tensor, [...t.shape]),
      ],
    };
  })(table);
}

/** matMul whose backward uses explicit transposes instead of transposed-operand products. */
const plainMatMul = (a: tf.Tensor, b: tf.Tensor): tf.Tensor =>
  tf.customGrad((...args: GradArg[]) => {
    const [aIn, bIn, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([aIn, bIn]);
    return {
      value: tf.matMul(aIn, bIn),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const g = dy as tf.Tensor;
        const [sa, sb] = saved as [tf.Tensor, tf.Tensor];
        return [
          tf.matMul(g, tf.transpose(sb, swapLastTwo(sb.rank))),
          tf.matMul(tf.transpose(sa, swapLastTwo(sa.rank)), g),
        ];
      },
    };
  })(a, b);

/** x [M, in] @ Wt [in, out] with dx = dy @ W; no gradient flows to the frozen weight. */
function frozenLinear(x: tf.Tensor, weightT: tf.Tensor, weight: tf.Tensor): tf.Tensor {
  return tf.customGrad((...args: GradArg[]) => {
    const xIn = args[0] as tf.Tensor;
    return {
      value: tf.matMul(xIn, weightT),
      gradFunc: (dy: tf.Tensor | tf.Tensor[]) => [tf.matMul(dy as tf.Tensor, weight)],
    };
  })(x);
}
