import type { DatasetLayout, SkippedFile, SplitName } from './dataset.js';

/** A file an importer wants to use, before its bytes are checked. */
export interface Candidate {
  /** Root-relative path with `/` separators. */
  readonly relativePath: string;
  /** Class folder or CSV label. */
  readonly classKey: string;
  /** The split the dataset gives it, or null when Vetbench's seeded split must decide. */
  readonly split: SplitName | null;
  readonly caption: string | null;
}

/** What an importer found, before any file is opened. */
export interface Listing {
  readonly layout: DatasetLayout;
  /** Every class, including those whose folder holds no usable image. */
  readonly classKeys: readonly string[];
  readonly candidates: readonly Candidate[];
  readonly skipped: readonly SkippedFile[];
  readonly warnings: readonly string[];
  /** Where the given splits came from (null when nothing gives any). */
  readonly givenSplits: 'split-files' | 'split-folders' | 'manifest' | null;
  readonly manifest: string | null;
  readonly ignoredHidden: number;
}
