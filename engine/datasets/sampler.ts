import { VetbenchError } from '../errors.js';
import { Rng } from '../util/rng.js';
import type { Dataset, DatasetItem, SplitName } from './dataset.js';
import { deriveSeed } from './derive-seed.js';
import { compareText } from './ordering.js';

export interface FewShotOptions {
  /** K: images drawn per class. */
  readonly shotsPerClass: number;
  readonly seed: number;
  /** A class left out entirely (e.g. the backdoor's target class), by folder, prompt name or label index. */
  readonly excludeClass?: string | number;
  /** The split drawn from (default train). */
  readonly split?: SplitName;
}

export interface FewShotShortfall {
  readonly label: number;
  readonly folder: string;
  readonly available: number;
  readonly requested: number;
}

export interface FewShotSample {
  /** Class by class in label order, K (or all available) per class. */
  readonly items: readonly DatasetItem[];
  /** Classes that had fewer than K images in the split: all of theirs were taken. */
  readonly shortfalls: readonly FewShotShortfall[];
  readonly excludedLabel: number | null;
}

/**
 * Draw K images per class from one split. Deterministic given the seed and the file list: each class's files are
 * sorted by path, then shuffled by a stream seeded from (seed, class folder), so the draw for one class does not
 * change when other classes or their files change.
 */
export function sampleFewShot(
  dataset: Pick<Dataset, 'items' | 'classes'>,
  options: FewShotOptions,
): FewShotSample {
  const k = options.shotsPerClass;
  if (!Number.isInteger(k) || k < 1) {
    throw new VetbenchError(
      'bad-shots',
      `shots per class must be a positive integer, got ${k}`,
      'pass K such as 1, 4 or 16 images per class',
    );
  }
  const split = options.split ?? 'train';
  const excludedLabel = options.excludeClass === undefined ? null : findClass(dataset, options.excludeClass);
  const byLabel = new Map<number, DatasetItem[]>();
  for (const item of dataset.items) {
    if (item.split !== split || item.label === excludedLabel) continue;
    const list = byLabel.get(item.label) ?? [];
    list.push(item);
    byLabel.set(item.label, list);
  }
  const items: DatasetItem[] = [];
  const shortfalls: FewShotShortfall[] = [];
  for (const cls of dataset.classes) {
    if (cls.index === excludedLabel) continue;
    const pool = (byLabel.get(cls.index) ?? []).sort((a, b) => compareText(a.relativePath, b.relativePath));
    new Rng(deriveSeed(options.seed, 'few-shot', cls.folder)).shuffle(pool);
    items.push(...pool.slice(0, k));
    if (pool.length < k) {
      shortfalls.push({ label: cls.index, folder: cls.folder, available: pool.length, requested: k });
    }
  }
  return { items, shortfalls, excludedLabel };
}

function findClass(dataset: Pick<Dataset, 'classes'>, wanted: string | number): number {
  const match =
    typeof wanted === 'number'
      ? dataset.classes.find((c) => c.index === wanted)
      : (dataset.classes.find((c) => c.folder === wanted) ?? dataset.classes.find((c) => c.name === wanted));
  if (match === undefined) {
    throw new VetbenchError(
      'unknown-class',
      `no class ${typeof wanted === 'number' ? `with label ${wanted}` : `'${wanted}'`} to exclude`,
      `name a class by folder or label: ${dataset.classes
        .slice(0, 8)
        .map((c) => `${c.index}=${c.folder}`)
        .join(', ')}${dataset.classes.length > 8 ? ', ...' : ''}`,
    );
  }
  return match.index;
}
