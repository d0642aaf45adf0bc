import type { ClipEncoder } from '../clip/clip-encoder.js';
import type { Dataset, SplitName } from '../datasets/dataset.js';
import { evaluateBackdoor } from './backdoor-eval.js';

/** Zero-shot clean accuracy (CA, METHODS 2.3) of a model on a dataset split, with its denominators. */
export interface ZeroShotAccuracy {
  readonly ca: number;
  readonly correct: number;
  readonly n: number;
  readonly split: SplitName;
  readonly templates: readonly string[];
  readonly perClass: readonly { name: string; correct: number; n: number }[];
  /** Images that could not be decoded (left out of `n`). */
  readonly failed: readonly { path: string; reason: string }[];
}

export async function evaluateZeroShot(
  encoder: ClipEncoder,
  dataset: Dataset,
  options: { split?: SplitName; templates?: readonly string[]; batchSize?: number } = {},
): Promise<ZeroShotAccuracy> {
  const r = await evaluateBackdoor(encoder, dataset, options);
  const correct = r.perClass.reduce((a, c) => a + c.correct, 0);
  return {
    ca: r.ca,
    correct,
    n: r.n_clean,
    split: r.split,
    templates: r.templates,
    perClass: r.perClass,
    failed: r.failed,
  };
}
