import { cosineSimilarity, crossEntropyWithTargets, type TensorOps } from '../../tensor/ops.js';
import { clipLogits } from '../../clip/clip-forward.js';

/**
 * RVPT objective (METHODS 4.1): CE over the prompted image features against the fixed text head, plus
 * alpha x the feature repulsion FR = mean over images and blocks d >= D of cos(CLS_d^prompted, CLS_d^frozen).
 * With a margin m, each image contributes max(FR_i, m), so features already far enough stop being pushed.
 */
export interface RvptLossInputs<T> {
  readonly imageEmbeds: T;
  /** Text embeddings of the class head [C, E] (normalised or not). */
  readonly classText: T;
  /** One-hot labels [N, C]. */
  readonly targets: T;
  /** [N, W] class tokens of the prompted tower after blocks D..L-1. */
  readonly promptedCls: readonly T[];
  /** The same blocks in the frozen, unprompted tower (no gradient needed). */
  readonly frozenCls: readonly T[];
  readonly alpha: number;
  readonly logitScale: number;
  readonly margin?: number;
}

export interface RvptLoss<T> {
  readonly loss: T;
  readonly ce: T;
  readonly fr: T;
}

export function rvptLoss<T>(ops: TensorOps<T>, inputs: RvptLossInputs<T>): RvptLoss<T> {
  const { promptedCls, frozenCls } = inputs;
  if (promptedCls.length !== frozenCls.length || promptedCls.length === 0) {
    throw new Error(`rvptLoss: ${promptedCls.length} prompted vs ${frozenCls.length} frozen blocks`);
  }
  const logits = clipLogits(ops, inputs.imageEmbeds, inputs.classText, inputs.logitScale);
  const ce = crossEntropyWithTargets(ops, logits, inputs.targets);
  // [N, blocks] cosines -> per image mean over blocks.
  const cosines = promptedCls.map((p, i) => {
    const c = cosineSimilarity(ops, p, frozenCls[i] as T);
    return ops.reshape(c, [ops.shape(c)[0] as number, 1]);
  });
  let perImage = ops.mean(ops.concat(cosines, 1), [1]);
  if (inputs.margin !== undefined) perImage = ops.relu(ops.sub(perImage, ops.scalar(inputs.margin)));
  let fr = ops.mean(perImage, [0]);
  if (inputs.margin !== undefined) fr = ops.add(fr, ops.scalar(inputs.margin)); // max(FR_i, m) = relu(FR_i - m) + m
  const loss = inputs.alpha === 0 ? ce : ops.add(ce, ops.mul(fr, ops.scalar(inputs.alpha)));
  return { loss, ce, fr };
}
