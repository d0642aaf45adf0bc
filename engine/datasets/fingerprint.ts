import { createHash } from 'node:crypto';
import { compareText } from './ordering.js';

export interface FingerprintEntry {
  readonly relativePath: string;
  /** The class folder (or CSV label): the label's identity on disk, not its prompt name. */
  readonly classFolder: string;
  readonly split: string;
  readonly sha256: string;
}

/**
 * SHA-256 over the sorted (relative path, class folder, split, content SHA-256) of every item: equal
 * fingerprints mean the same bytes with the same labels and splits, whatever the file order on disk. One JSON
 * array per line so no path character can make two different datasets hash alike.
 */
export function datasetFingerprint(entries: readonly FingerprintEntry[]): string {
  const hash = createHash('sha256');
  const sorted = [...entries].sort((a, b) => compareText(a.relativePath, b.relativePath));
  for (const e of sorted)
    hash.update(`${JSON.stringify([e.relativePath, e.classFolder, e.split, e.sha256])}\n`);
  return hash.digest('hex');
}
