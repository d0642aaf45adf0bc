import { cosineSimilarity, type TensorOps } from '../tensor/ops.js';

/**
 * Contrastive trigger-inversion loss per image [N]: cos(E_I(v+delta), E_I(v)) - cos(E_I(v+delta), E_I(v_pos)).
 * The clean embedding is the negative, the farthest image of the pseudo-target class the positive.
 */
export function contrastiveInversionLoss<T>(
  ops: TensorOps<T>,
  perturbedEmbeds: T,
  cleanEmbeds: T,
  positiveEmbeds: T,
): T {
  return ops.sub(
    cosineSimilarity(ops, perturbedEmbeds, cleanEmbeds),
    cosineSimilarity(ops, perturbedEmbeds, positiveEmbeds),
  );
}
