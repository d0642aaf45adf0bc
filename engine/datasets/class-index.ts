import { VetbenchError } from '../errors.js';
import type { Dataset } from './dataset.js';

/** A class of the dataset by name or folder (case-insensitive), e.g. the target class an analyst types. */
export function classIndex(dataset: Dataset, name: string): number {
  const wanted = name.trim().toLowerCase();
  const i = dataset.classes.findIndex(
    (c) => c.name.toLowerCase() === wanted || c.folder.toLowerCase() === wanted,
  );
  if (i < 0) {
    throw new VetbenchError(
      'unknown-class',
      `the dataset has no class '${name}'`,
      `Use one of: ${dataset.classes.map((c) => c.name).join(', ')}.`,
    );
  }
  return i;
}
