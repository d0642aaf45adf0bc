import type { HostTensor } from './host-tensor.js';

/**
 * The tensor program API: CLIP and the methods' losses are written once against this interface and run
 * either eagerly on TF.js (the reference, with autodiff) or traced into an ONNX graph (onnxruntime).
 * Shapes are static: a traced program is specialised per input shape.
 * Broadcasting follows NumPy rules in both executors.
 */
export interface TensorOps<T> {
  readonly executor: 'tfjs' | 'trace';
  shape(x: T): readonly number[];

  /** A constant from host memory (masks, selection matrices). */
  constant(t: HostTensor): T;
  scalar(value: number): T;

  add(a: T, b: T): T;
  sub(a: T, b: T): T;
  mul(a: T, b: T): T;
  div(a: T, b: T): T;
  neg(x: T): T;
  exp(x: T): T;
  log(x: T): T;
  sqrt(x: T): T;
  sigmoid(x: T): T;
  relu(x: T): T;
  clamp(x: T, min: number, max: number): T;

  reshape(x: T, shape: readonly number[]): T;
  transpose(x: T, perm: readonly number[]): T;
  /** `size` entries of -1 mean "to the end". */
  slice(x: T, begin: readonly number[], size: readonly number[]): T;
  concat(xs: readonly T[], axis: number): T;
  split(x: T, sizes: readonly number[], axis: number): T[];

  sum(x: T, axes: readonly number[], keepDims?: boolean): T;
  mean(x: T, axes: readonly number[], keepDims?: boolean): T;
  max(x: T, axes: readonly number[], keepDims?: boolean): T;

  /** Batched matrix product over the last two axes; leading axes must match. */
  matMul(a: T, b: T): T;
  /** `x @ weight^T + bias` with a PyTorch-layout weight [out, in]; x is [..., in]. */
  linear(x: T, weight: T, bias: T | null): T;
  /** Normalises over the last axis. */
  layerNorm(x: T, gamma: T, beta: T, eps: number): T;
  softmax(x: T): T;
  logSoftmax(x: T): T;
  /** Rows of `table` [V, W] picked by integer ids (forward only; no gradient to `table` or ids). */
  gatherRows(table: T, ids: Int32Array, idsShape: readonly number[]): T;
}

/** x * sigmoid(1.702 x), OpenAI CLIP's activation. */
export function quickGelu<T>(ops: TensorOps<T>, x: T): T {
  return ops.mul(x, ops.sigmoid(ops.mul(x, ops.scalar(1.702))));
}

/** Unit vectors along the last axis. */
export function l2Normalize<T>(ops: TensorOps<T>, x: T): T {
  const norm = ops.sqrt(ops.sum(ops.mul(x, x), [-1], true));
  return ops.div(x, norm);
}

/** Cosine similarity along the last axis (no broadcasting of the reduced axis). */
export function cosineSimilarity<T>(ops: TensorOps<T>, a: T, b: T): T {
  return ops.sum(ops.mul(l2Normalize(ops, a), l2Normalize(ops, b)), [-1], false);
}

/** One-hot rows [N, C] for integer labels, in host memory (a batch input of a training step). */
export function oneHot(labels: ArrayLike<number>, classes: number): HostTensor {
  const data = new Float32Array(labels.length * classes);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i] as number;
    if (!Number.isInteger(y) || y < 0 || y >= classes)
      throw new Error(`label ${y} outside 0..${classes - 1}`);
    data[i * classes + y] = 1;
  }
  return { data, shape: [labels.length, classes] };
}

/** Mean cross-entropy of logits [N, C] against target distributions [N, C] (one-hot labels). */
export function crossEntropyWithTargets<T>(ops: TensorOps<T>, logits: T, targets: T): T {
  return ops.neg(ops.mean(ops.sum(ops.mul(ops.logSoftmax(logits), targets), [-1]), [0]));
}

/** Mean cross-entropy of logits [N, C] against integer labels (one-hot built on the host). */
export function crossEntropy<T>(ops: TensorOps<T>, logits: T, labels: readonly number[]): T {
  const [n, c] = ops.shape(logits) as [number, number];
  if (labels.length !== n) throw new Error(`crossEntropy: ${labels.length} labels for ${n} rows`);
  return crossEntropyWithTargets(ops, logits, ops.constant(oneHot(labels, c)));
}
