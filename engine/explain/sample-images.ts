import type { Dataset, DatasetItem, SplitName } from '../datasets/dataset.js';
import { ImageLoader } from '../datasets/image-loader.js';
import { requireSplit } from '../eval/require-split.js';
import { VetbenchError } from '../errors.js';
import type { Trigger } from '../triggers/trigger.js';
import { Rng } from '../util/rng.js';
import type { ExplainImages } from './explainer.js';

export interface SampleOptions {
  readonly split: SplitName;
  /** Images drawn (all when larger than the split). */
  readonly count: number;
  readonly seed: number;
  readonly resolution: number;
  /** Applied to a copy of the clean pixels. */
  readonly trigger: Trigger | null;
  /** Images of this class are left out (with a trigger: ASR counts non-target images only). */
  readonly excludeClass: number | null;
}

/**
 * A seeded sample of a split as [0, 1] pixels, clean and (with a trigger) triggered: the same images every
 * time for a seed, drawn in path order then shuffled, so results are comparable across runs and models.
 */
export async function sampleExplainImages(dataset: Dataset, options: SampleOptions): Promise<ExplainImages> {
  const pool: DatasetItem[] = requireSplit(dataset, options.split)
    .filter((i) => i.label !== options.excludeClass)
    .sort((a, b) => (a.relativePath < b.relativePath ? -1 : 1));
  new Rng(options.seed).shuffle(pool);
  const chosen = pool.slice(0, options.count);
  const loader = new ImageLoader({ resolution: options.resolution, cacheBytes: 0, normalize: false });
  const batch = await loader.load(chosen);
  if (batch.items.length === 0) {
    throw new VetbenchError(
      'explain-no-images',
      `no image of the ${options.split} split could be used`,
      'Check the dataset with `vetbench dataset inspect`.',
    );
  }
  const keys = batch.items.map((i) => i.relativePath);
  let triggered = null;
  if (options.trigger) {
    const data = Float32Array.from(batch.pixels.data);
    await options.trigger.apply(
      data,
      keys.map((key) => ({ key })),
    );
    triggered = { data, shape: batch.pixels.shape };
  }
  return { clean: batch.pixels, triggered, keys, labels: batch.items.map((i) => i.label) };
}
