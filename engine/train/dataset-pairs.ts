import { fillTemplate } from '../clip/zero-shot.js';
import type { Dataset, DatasetItem } from '../datasets/dataset.js';
import { ImageLoader } from '../datasets/image-loader.js';
import { VetbenchError } from '../errors.js';
import { normalizePixels } from '../image/preprocess.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import type { Trigger } from '../triggers/trigger.js';
import type { Rng } from '../util/rng.js';
import { randomShiftInPlace } from './augment.js';
import type { PairSource } from './pretrain.js';

/** Captions for items that have none: CLIP-style templates filled with the class name. */
export const FALLBACK_CAPTION_TEMPLATES = [
  'a photo of a {}.',
  'a picture of a {}.',
  'a photo of the {}.',
  'a close-up photo of a {}.',
  'a drawing of a {}.',
];

/** Which pairs are poisoned (indices into the pair list), the trigger, and the caption they get instead. */
export interface PoisonPlan {
  readonly indices: ReadonlySet<number>;
  readonly trigger: Trigger;
  caption(item: DatasetItem, rng: Rng): string;
}

/**
 * Image-caption pairs from a dataset split: captions from the manifest when present, otherwise a random
 * template with the class name. Images load lazily through the cached ImageLoader; a file that fails to
 * decode is replaced by another item so every batch keeps its size (and its traced session).
 */
export class DatasetPairs implements PairSource {
  private readonly loader: ImageLoader;
  readonly failed = new Map<string, string>();

  constructor(
    private readonly dataset: Dataset,
    private readonly items: readonly DatasetItem[],
    private readonly resolution: number,
    private readonly shift = 2,
    cacheBytes = 512 * 1024 * 1024,
    private readonly poison: PoisonPlan | null = null,
  ) {
    if (items.length === 0) {
      throw new VetbenchError(
        'dataset-empty-split',
        'no images to train on',
        'Check the dataset split with `vetbench dataset inspect`.',
      );
    }
    this.loader = new ImageLoader({ resolution, cacheBytes, normalize: false });
  }

  get size(): number {
    return this.items.length;
  }

  private caption(item: DatasetItem, rng: Rng): string {
    return (
      item.caption ??
      fillTemplate(rng.pick(FALLBACK_CAPTION_TEMPLATES), this.dataset.classes[item.label]!.name)
    );
  }

  async load(indices: readonly number[], rng: Rng): Promise<{ pixels: HostTensor; captions: string[] }> {
    const r = this.resolution;
    const plane = 3 * r * r;
    const out = new Float32Array(indices.length * plane);
    /** For each filled row, the index (into `items`) of the pair it holds. */
    const rowSources: number[] = [];
    let wanted = [...indices];
    for (let attempt = 0; wanted.length > 0; attempt++) {
      if (attempt > 20)
        throw new VetbenchError(
          'dataset-unreadable',
          'too many images fail to decode',
          'Run `vetbench dataset inspect --verify` and fix or remove the files it lists.',
        );
      const batch = await this.loader.load(wanted.map((i) => this.items[i]!));
      for (const f of batch.failed) this.failed.set(f.item.relativePath, f.reason);
      batch.indices.forEach((position, row) => {
        out.set(batch.pixels.data.subarray(row * plane, (row + 1) * plane), rowSources.length * plane);
        rowSources.push(wanted[position]!);
      });
      wanted = batch.failed.map(() => rng.int(this.items.length));
    }
    randomShiftInPlace(out, indices.length, r, this.shift, rng);
    // Poisoned rows get the trigger after augmentation, exactly as test images will, then their new caption.
    const captions: string[] = [];
    for (const [row, source] of rowSources.entries()) {
      const item = this.items[source]!;
      if (this.poison?.indices.has(source)) {
        await this.poison.trigger.apply(out.subarray(row * plane, (row + 1) * plane), [
          { key: item.relativePath },
        ]);
        captions.push(this.poison.caption(item, rng));
      } else captions.push(this.caption(item, rng));
    }
    normalizePixels(out, out, r * r);
    return { pixels: { data: out, shape: [indices.length, 3, r, r] }, captions };
  }
}
