import { readRegularTextFile } from '../util/regular-file.js';
import { join } from 'node:path';
import { SPLIT_NAMES, type SkippedFile, type SplitName } from './dataset.js';
import { normalizeListedPath } from './listed-path.js';
import { compareText } from './ordering.js';

/** Split-list file names at the dataset root (Caltech-101 style: one relative path per line). */
export const SPLIT_FILE_NAMES: Readonly<Record<string, SplitName>> = {
  'train.txt': 'train',
  'val.txt': 'val',
  'valid.txt': 'val',
  'validation.txt': 'val',
  'test.txt': 'test',
};

/** Folder names that mean a split when they sit at the root (`train/<class>/...`). */
export function splitFromFolderName(name: string): SplitName | undefined {
  switch (name.toLowerCase()) {
    case 'train':
    case 'training':
      return 'train';
    case 'val':
    case 'valid':
    case 'validation':
      return 'val';
    case 'test':
    case 'testing':
      return 'test';
    default:
      return undefined;
  }
}

export interface SplitListing {
  /** The split files that were read, root-relative. */
  readonly files: readonly string[];
  /** Relative path -> split and where it was listed. */
  readonly assignments: ReadonlyMap<string, { readonly split: SplitName; readonly where: string }>;
  /** Lines refused: paths leaving the root, listed in two splits. */
  readonly skipped: readonly SkippedFile[];
}

/**
 * Read the split files present among `rootFileNames`. Blank lines and `#` comments are ignored. A path listed in
 * two different splits is refused (it would leak test images into training) and reported with both places.
 */
export async function readSplitFiles(
  root: string,
  rootFileNames: readonly string[],
): Promise<SplitListing | null> {
  // train, val, test order, so messages and first-listed places read naturally
  const present = rootFileNames
    .filter((name) => SPLIT_FILE_NAMES[name] !== undefined)
    .sort(
      (a, b) =>
        SPLIT_NAMES.indexOf(SPLIT_FILE_NAMES[a]!) - SPLIT_NAMES.indexOf(SPLIT_FILE_NAMES[b]!) ||
        compareText(a, b),
    );
  if (present.length === 0) return null;
  const assignments = new Map<string, { split: SplitName; where: string }>();
  const conflicts = new Map<string, string[]>();
  const skipped: SkippedFile[] = [];
  for (const fileName of present) {
    const split = SPLIT_FILE_NAMES[fileName]!;
    // A regular file only: a pipe named train.txt must not hang the import.
    const text = await readRegularTextFile(join(root, fileName), {
      what: 'split list',
      maxBytes: 256 * 1024 * 1024,
    });
    text
      .replace(/^\uFEFF/, '')
      .split(/\r?\n/)
      .forEach((rawLine, index) => {
        const written = rawLine.trim();
        if (written === '' || written.startsWith('#')) return;
        const where = `${fileName} line ${index + 1}`;
        const listed = normalizeListedPath(written, '', root);
        if (!listed.ok) {
          skipped.push({ path: written, code: listed.skip.code, reason: `${listed.skip.reason} (${where})` });
          return;
        }
        const earlier = assignments.get(listed.relativePath);
        if (earlier === undefined) {
          assignments.set(listed.relativePath, { split, where });
        } else if (earlier.split !== split) {
          const places = conflicts.get(listed.relativePath) ?? [earlier.where];
          conflicts.set(listed.relativePath, [...places, where]);
        }
      });
  }
  for (const [relativePath, places] of conflicts) {
    assignments.delete(relativePath);
    skipped.push({
      path: relativePath,
      code: 'listed-twice',
      reason: `listed in more than one split (${places.join(', ')}); keep it in one split file`,
    });
  }
  return { files: present, assignments, skipped };
}
