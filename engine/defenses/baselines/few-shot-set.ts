import { fillTemplate } from '../../clip/zero-shot.js';
import type { DatasetItem } from '../../datasets/dataset.js';
import { ImageLoader } from '../../datasets/image-loader.js';
import { sampleFewShot } from '../../datasets/sampler.js';
import { VetbenchError } from '../../errors.js';
import { normalizePixels } from '../../image/preprocess.js';
import type { HostTensor } from '../../tensor/host-tensor.js';
import { FALLBACK_CAPTION_TEMPLATES } from '../../train/dataset-pairs.js';
import type { Rng } from '../../util/rng.js';
import type { DefenseContext } from '../defense.js';

/**
 * The clean K-shot training set of a baseline defense: K images per class from the train split (the
 * context's seed picks them), decoded once so files that fail are dropped before training starts, then served
 * by index as [0, 1] pixels from the loader's cache (augmentations work in pixel space, METHODS 1.3).
 */
export class FewShotSet {
  private constructor(
    readonly items: readonly DatasetItem[],
    readonly classNames: readonly string[],
    readonly resolution: number,
    private readonly loader: ImageLoader,
  ) {}

  get size(): number {
    return this.items.length;
  }

  labels(indices: readonly number[]): number[] {
    return indices.map((i) => this.items[i]!.label);
  }

  /** [N, 3, R, R] pixels in [0, 1] for the given item indices, in order. */
  async pixels01(indices: readonly number[]): Promise<Float32Array> {
    const batch = await this.loader.load(indices.map((i) => this.items[i]!));
    if (batch.failed.length > 0) {
      // Every item decoded when the set was built; a failure now means the file changed under the run.
      throw new VetbenchError(
        'dataset-changed',
        `${batch.failed[0]!.item.relativePath} no longer decodes: ${batch.failed[0]!.reason}`,
        'Do not edit the dataset while a defense runs; start the run again.',
      );
    }
    return Float32Array.from(batch.pixels.data);
  }

  /** The item's own caption, or a random template filled with its class name (as pretraining does). */
  caption(index: number, rng: Rng): string {
    const item = this.items[index]!;
    return item.caption ?? fillTemplate(rng.pick(FALLBACK_CAPTION_TEMPLATES), this.classNames[item.label]!);
  }

  static async sample(context: DefenseContext, resolution: number): Promise<FewShotSet> {
    const { dataset } = context;
    // Baselines train on every class: context.excludeClass is only for RVPT's "woTC" variant.
    const sample = sampleFewShot(dataset, { shotsPerClass: context.shots, seed: context.seed });
    for (const s of sample.shortfalls) {
      context.log?.(
        `class '${s.folder}' has ${s.available} training images, fewer than ${s.requested}: all used`,
      );
    }
    // Sized to hold the whole K-shot set in the usual cases (16 shots x 100 classes at 224 px is ~1 GB).
    const loader = new ImageLoader({ resolution, cacheBytes: 1024 * 1024 * 1024, normalize: false });
    const usable: DatasetItem[] = [];
    for await (const batch of loader.batches(sample.items, 64)) {
      for (const f of batch.failed) context.log?.(`skipped ${f.item.relativePath}: ${f.reason}`);
      usable.push(...batch.items);
    }
    if (usable.length === 0) {
      throw new VetbenchError(
        'dataset-empty-split',
        'no clean training images to defend with',
        'Use a dataset with a train split (vetbench dataset inspect shows the splits).',
      );
    }
    return new FewShotSet(
      usable,
      dataset.classes.map((c) => c.name),
      resolution,
      loader,
    );
  }
}

/** [0, 1] pixels of `count` images normalised in place with CLIP's mean and std: the model's input. */
export function modelInput(pixels01: Float32Array, count: number, resolution: number): HostTensor {
  normalizePixels(pixels01, pixels01, resolution * resolution);
  return { data: pixels01, shape: [count, 3, resolution, resolution] };
}
