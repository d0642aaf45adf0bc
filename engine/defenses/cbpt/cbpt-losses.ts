import { l2Normalize, type TensorOps } from '../../tensor/ops.js';

/**
 * CBPT's losses (METHODS 4.2; paper eqs. 11-15), written once against TensorOps. Probabilities are
 * f(v; k) = softmax_k(s * cos(E_I(v), t_k)) with the model's logit scale s.
 */

/** Guards log(0) where a probability is exactly 0 or 1 in float32; far below any value that matters. */
const LOG_FLOOR = 1e-12;

/** f(v; .) = softmax(s * cos(image, class text)) [N, C]. */
export function classProbabilities<T>(ops: TensorOps<T>, imageEmbeds: T, classText: T, scale: number): T {
  const img = l2Normalize(ops, imageEmbeds);
  const txt = ops.transpose(l2Normalize(ops, classText), [1, 0]);
  return ops.softmax(ops.mul(ops.matMul(img, txt), ops.scalar(scale)));
}

/** Row-wise pick p[i, y_i] with one-hot rows [N, C] -> [N]. */
function pick<T>(ops: TensorOps<T>, probs: T, oneHot: T): T {
  return ops.sum(ops.mul(probs, oneHot), [-1]);
}

function safeLog<T>(ops: TensorOps<T>, x: T): T {
  return ops.log(ops.add(x, ops.scalar(LOG_FLOOR)));
}

export interface CbptPromptLossInputs<T> {
  /** f(v; .) on clean images [N, C]. */
  readonly cleanProbs: T;
  /** f(v + delta*; .) on the inverted-trigger images [N, C]. */
  readonly perturbedProbs: T;
  /** One-hot true labels y [N, C]. */
  readonly labels: T;
  /** One-hot pseudo-targets y' [N, C]. */
  readonly pseudoTargets: T;
  /** Weight of the perturbed term in L_bn. */
  readonly alpha: number;
  readonly lambdas: readonly [number, number, number];
  /** Warm-up: L_bn only. */
  readonly benignOnly: boolean;
}

export interface CbptPromptLoss<T> {
  readonly loss: T;
  readonly bn: T;
  readonly adv: T;
  readonly align: T;
}

/**
 * L = l1 L_bn + l2 L_adv + l3 L_align, each a mean over the batch:
 * L_adv = -log(1 - f(v+d; y')), L_align = f(v; y) * mean_k (f(v; k) - f(v+d; k))^2,
 * L_bn = -log f(v; y) - alpha log f(v+d; y). 1 - f(v+d; y') is summed from the other classes' probabilities
 * so it keeps its precision when f(v+d; y') is close to 1.
 */
export function cbptPromptLoss<T>(ops: TensorOps<T>, inputs: CbptPromptLossInputs<T>): CbptPromptLoss<T> {
  const { cleanProbs, perturbedProbs, labels, pseudoTargets } = inputs;
  const [, classes] = ops.shape(cleanProbs) as [number, number];
  const batchMean = (x: T): T => ops.mean(x, [0]);
  const cleanTrue = pick(ops, cleanProbs, labels);
  const perturbedTrue = pick(ops, perturbedProbs, labels);
  const bn = batchMean(
    ops.neg(ops.add(safeLog(ops, cleanTrue), ops.mul(safeLog(ops, perturbedTrue), ops.scalar(inputs.alpha)))),
  );
  const notPseudo = ops.sub(ops.scalar(1), pseudoTargets);
  const adv = batchMean(ops.neg(safeLog(ops, pick(ops, perturbedProbs, notPseudo))));
  const gap = ops.sub(cleanProbs, perturbedProbs);
  const meanSquaredGap = ops.mul(ops.sum(ops.mul(gap, gap), [-1]), ops.scalar(1 / classes));
  const align = batchMean(ops.mul(cleanTrue, meanSquaredGap));
  const [l1, l2, l3] = inputs.lambdas;
  const loss = inputs.benignOnly
    ? ops.mul(bn, ops.scalar(l1))
    : ops.add(
        ops.add(ops.mul(bn, ops.scalar(l1)), ops.mul(adv, ops.scalar(l2))),
        ops.mul(align, ops.scalar(l3)),
      );
  return { loss, bn, adv, align };
}
