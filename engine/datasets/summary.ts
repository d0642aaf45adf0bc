import {
  SPLIT_NAMES,
  type Dataset,
  type DatasetLayout,
  type DuplicateGroup,
  type SeededSplitInfo,
  type SkipCode,
  type SplitName,
  type SplitSource,
} from './dataset.js';

/** The machine-readable report of `vetbench dataset inspect --json`. */
export interface DatasetSummary {
  readonly root: string;
  readonly layout: DatasetLayout;
  readonly splitSource: SplitSource;
  readonly seededSplit: SeededSplitInfo | null;
  readonly manifest: string | null;
  readonly classNamesFile: string | null;
  readonly classes: readonly {
    readonly index: number;
    readonly name: string;
    readonly folder: string;
    readonly count: number;
    readonly counts: Readonly<Partial<Record<SplitName, number>>>;
  }[];
  /** Usable images. */
  readonly total: number;
  /** The splits that hold at least one image, in train, val, test order. */
  readonly splits: readonly SplitName[];
  readonly counts: Readonly<Partial<Record<SplitName, number>>>;
  readonly captions: number;
  readonly skipped: readonly { readonly path: string; readonly code: SkipCode; readonly reason: string }[];
  readonly skippedByCode: Readonly<Partial<Record<SkipCode, number>>>;
  readonly duplicates: readonly DuplicateGroup[];
  readonly warnings: readonly string[];
  readonly ignoredHidden: number;
  readonly verified: boolean;
  readonly fingerprint: string;
}

export function summarizeDataset(dataset: Dataset): DatasetSummary {
  const tally: Partial<Record<SplitName, number>> = {};
  for (const item of dataset.items) tally[item.split] = (tally[item.split] ?? 0) + 1;
  const splits = SPLIT_NAMES.filter((s) => (tally[s] ?? 0) > 0);
  // keys in train, val, test order, whatever order the items came in
  const counts = Object.fromEntries(splits.map((s) => [s, tally[s]!])) as Partial<Record<SplitName, number>>;
  const skippedByCode: Partial<Record<SkipCode, number>> = {};
  for (const s of dataset.skipped) skippedByCode[s.code] = (skippedByCode[s.code] ?? 0) + 1;
  return {
    root: dataset.root,
    layout: dataset.layout,
    splitSource: dataset.splitSource,
    seededSplit: dataset.seededSplit,
    manifest: dataset.manifest,
    classNamesFile: dataset.classNamesFile,
    classes: dataset.classes.map((c) => ({
      index: c.index,
      name: c.name,
      folder: c.folder,
      count: c.count,
      counts: Object.fromEntries(splits.map((s) => [s, c.counts[s]])),
    })),
    total: dataset.items.length,
    splits,
    counts,
    captions: dataset.items.filter((item) => item.caption !== undefined).length,
    skipped: dataset.skipped.map(({ path, code, reason }) => ({ path, code, reason })),
    skippedByCode,
    duplicates: dataset.duplicates,
    warnings: dataset.warnings,
    ignoredHidden: dataset.ignoredHidden,
    verified: dataset.verified,
    fingerprint: dataset.fingerprint,
  };
}
