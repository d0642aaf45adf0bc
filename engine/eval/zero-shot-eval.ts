import type { ClipEncoder } from '../clip/clip-encoder.js';
import { buildZeroShotHead, classify, DEFAULT_TEMPLATE } from '../clip/zero-shot.js';
import type { Dataset, DatasetItem, SplitName } from '../datasets/dataset.js';
import { ImageLoader } from '../datasets/image-loader.js';
import { VetbenchError } from '../errors.js';

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

export function splitItems(dataset: Dataset, split: SplitName): DatasetItem[] {
  const items = dataset.items.filter((i) => i.split === split);
  if (items.length === 0) {
    const present = [...new Set(dataset.items.map((i) => i.split))].join(', ') || 'none';
    throw new VetbenchError(
      'dataset-empty-split',
      `the dataset has no '${split}' images (splits present: ${present})`,
      'Choose another --split, or add split files / folders.',
    );
  }
  return items;
}

export async function evaluateZeroShot(
  encoder: ClipEncoder,
  dataset: Dataset,
  options: { split?: SplitName; templates?: readonly string[]; batchSize?: number } = {},
): Promise<ZeroShotAccuracy> {
  const split = options.split ?? 'test';
  const templates = options.templates ?? [DEFAULT_TEMPLATE];
  const items = splitItems(dataset, split);
  const head = await buildZeroShotHead(
    encoder,
    dataset.classes.map((c) => c.name),
    templates,
  );
  const loader = new ImageLoader({
    resolution: encoder.weights.config.vision.imageResolution,
    cacheBytes: 0,
  });
  const perClass = dataset.classes.map((c) => ({ name: c.name, correct: 0, n: 0 }));
  const failed: { path: string; reason: string }[] = [];
  for await (const batch of loader.batches(items, options.batchSize ?? 64)) {
    for (const f of batch.failed) failed.push({ path: f.item.relativePath, reason: f.reason });
    if (batch.items.length === 0) continue;
    const out = await encoder.encode({ pixels: batch.pixels, outputs: ['image_embeds'] });
    const { predictions } = classify(head, out.image_embeds!, encoder.weights.logitScale);
    batch.items.forEach((item, row) => {
      const stats = perClass[item.label]!;
      stats.n++;
      if (predictions[row] === item.label) stats.correct++;
    });
  }
  const correct = perClass.reduce((a, c) => a + c.correct, 0);
  const n = perClass.reduce((a, c) => a + c.n, 0);
  return { ca: n === 0 ? NaN : (100 * correct) / n, correct, n, split, templates, perClass, failed };
}
