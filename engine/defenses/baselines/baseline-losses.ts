import { crossEntropyWithTargets, l2Normalize, type TensorOps } from '../../tensor/ops.js';

/**
 * The baselines' losses (METHODS 4.3), written against TensorOps so both executors run them and the tests can
 * check them against hand-computed values.
 */

/** Identity targets [B, B]: row i's positive is column i. */
function diagonal<T>(ops: TensorOps<T>, b: number): T {
  const eye = new Float32Array(b * b);
  for (let i = 0; i < b; i++) eye[i * b + i] = 1;
  return ops.constant({ data: eye, shape: [b, b] });
}

/** CE(s * norm(a) norm(b)^T, diag): each row of `a` must pick its own row of `b` among the batch. */
export function matchingLoss<T>(ops: TensorOps<T>, a: T, b: T, scale: T): T {
  const [n] = ops.shape(a) as [number];
  const logits = ops.mul(ops.matMul(l2Normalize(ops, a), ops.transpose(l2Normalize(ops, b), [1, 0])), scale);
  return crossEntropyWithTargets(ops, logits, diagonal(ops, n));
}

/** Linear probe: mean CE of `features @ weight^T + bias` against one-hot targets. */
export function linearProbeLoss<T>(ops: TensorOps<T>, features: T, weight: T, bias: T, targets: T): T {
  return crossEntropyWithTargets(ops, ops.linear(features, weight, bias), targets);
}

export interface CleanClipEmbeddings<T> {
  /** Image and text embeddings of the clean pairs [B, E] (normalised inside). */
  readonly images: T;
  readonly texts: T;
  /** Embeddings of the augmented image views and the augmented captions, row i pairs with row i. */
  readonly augmentedImages: T;
  readonly augmentedTexts: T;
  /** exp(logit_scale). */
  readonly scale: T;
  readonly crossWeight: number;
  readonly inModalWeight: number;
}

export interface CleanClipLoss<T> {
  readonly loss: T;
  /** 1/2 [CE(s I T^T) + CE(s T I^T)]: CLIP's cross-modal InfoNCE. */
  readonly cross: T;
  /** 1/2 [CE(s I I~^T) + CE(s T T~^T)]: each image with its augmented view, each caption with its variant. */
  readonly inModal: T;
}

/**
 * CleanCLIP's objective (Bansal et al. 2023, eq. 3): L = w_cross L_cross + w_in L_in. The in-modal term makes
 * each modality learn features of its own, which weakens the spurious trigger-target link the backdoor built
 * across modalities. As in the reference code, the in-modal CEs are one-directional (original -> augmented).
 */
export function cleanClipLoss<T>(ops: TensorOps<T>, e: CleanClipEmbeddings<T>): CleanClipLoss<T> {
  const half = ops.scalar(0.5);
  const cross = ops.mul(
    ops.add(matchingLoss(ops, e.images, e.texts, e.scale), matchingLoss(ops, e.texts, e.images, e.scale)),
    half,
  );
  const inModal = ops.mul(
    ops.add(
      matchingLoss(ops, e.images, e.augmentedImages, e.scale),
      matchingLoss(ops, e.texts, e.augmentedTexts, e.scale),
    ),
    half,
  );
  const loss = ops.add(
    ops.mul(cross, ops.scalar(e.crossWeight)),
    ops.mul(inModal, ops.scalar(e.inModalWeight)),
  );
  return { loss, cross, inModal };
}
