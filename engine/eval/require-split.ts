import { splitItems, type Dataset, type DatasetItem, type SplitName } from '../datasets/dataset.js';
import { VetbenchError } from '../errors.js';

/** The items of a split, or an error naming the splits that exist. */
export function requireSplit(dataset: Dataset, split: SplitName): DatasetItem[] {
  const items = splitItems(dataset, split);
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
