/**
 * The dataset model shared by the importers, sampler and loader: a root folder, its classes, the usable images
 * with their split and label, and everything that was refused (with a reason) so nothing is dropped silently.
 */

export const SPLIT_NAMES = ['train', 'val', 'test'] as const;
export type SplitName = (typeof SPLIT_NAMES)[number];

/** Raster formats Vetbench decodes (sharp/libvips), recognised by extension and by magic bytes. */
export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'avif';

/**
 * How the items were found: one folder per class, `train|val|test/<class>/` folders, or a CSV manifest
 * (`path,label[,caption]`) that lists them.
 */
export type DatasetLayout = 'image-folder' | 'split-folders' | 'manifest';

/** Where the train/val/test assignment came from; `seeded` is Vetbench's own stratified split. */
export type SplitSource = 'split-files' | 'split-folders' | 'manifest' | 'seeded' | 'manifest+seeded';

export interface DatasetClass {
  /** Position in `classes`, the integer label of its items. */
  readonly index: number;
  /** The folder name (or the CSV label) that identifies the class on disk. */
  readonly folder: string;
  /** The name that goes into prompt templates ("a photo of a {}."). */
  readonly name: string;
  /** Usable images, all splits together. */
  readonly count: number;
  readonly counts: Readonly<Record<SplitName, number>>;
}

export interface DatasetItem {
  /** Absolute path of the file (the root joined with `relativePath`). */
  readonly path: string;
  /** Path from the dataset root with `/` separators: the item's identity in splits, CSVs and fingerprints. */
  readonly relativePath: string;
  /** Index into `Dataset.classes`. */
  readonly label: number;
  readonly split: SplitName;
  readonly caption?: string;
  /** SHA-256 of the file's bytes, hex. */
  readonly sha256: string;
  readonly bytes: number;
  readonly format: ImageFormat;
}

/** Why a file (or a line of a split file or CSV) was not used. Stable for scripts; `reason` is for people. */
export type SkipCode =
  | 'empty'
  | 'truncated'
  | 'corrupt'
  | 'not-an-image'
  | 'unsupported-format'
  | 'too-large'
  | 'unreadable'
  | 'not-a-file'
  | 'outside-root'
  | 'broken-link'
  | 'missing'
  | 'unknown-class'
  | 'no-class-folder'
  | 'not-in-split-files'
  | 'listed-twice'
  | 'bad-row';

export interface SkippedFile {
  /** Path from the root with `/` separators, or the path exactly as a split file or CSV wrote it. */
  readonly path: string;
  readonly code: SkipCode;
  readonly reason: string;
}

/** Files with identical bytes. `crossSplit` flags train/test leakage, `labelsDiffer` contradictory labels. */
export interface DuplicateGroup {
  readonly sha256: string;
  readonly paths: readonly string[];
  readonly crossSplit: boolean;
  readonly labelsDiffer: boolean;
}

export interface SeededSplitInfo {
  readonly seed: number;
  readonly testFraction: number;
  /** How many items the seeded split assigned (those no split file, folder or CSV column placed). */
  readonly items: number;
}

export interface Dataset {
  readonly root: string;
  readonly layout: DatasetLayout;
  readonly splitSource: SplitSource;
  readonly seededSplit: SeededSplitInfo | null;
  /** The CSV that listed the items (layout `manifest`) or added captions to folder items; null if none. */
  readonly manifest: string | null;
  /** The override file that renamed classes, if one was used. */
  readonly classNamesFile: string | null;
  readonly classes: readonly DatasetClass[];
  /** Usable images, sorted by `relativePath`. */
  readonly items: readonly DatasetItem[];
  /** Refused files and lines, sorted by path. */
  readonly skipped: readonly SkippedFile[];
  readonly duplicates: readonly DuplicateGroup[];
  /** Things worth knowing that did not stop any file: empty classes, ignored folders, label disagreements. */
  readonly warnings: readonly string[];
  /** Hidden files and folders (dot-files, `__MACOSX`, `Thumbs.db`, ...) that were ignored. */
  readonly ignoredHidden: number;
  /** True when every image was fully decoded at import (`verify`), not only its header checked. */
  readonly verified: boolean;
  /** SHA-256 over the sorted (relative path, class folder, split, content SHA-256) of every item. */
  readonly fingerprint: string;
}

export interface ImportOptions {
  /** A CSV manifest (`path,label[,caption]`) that defines the items; relative to the root. */
  readonly manifest?: string;
  /** A class-name override file (`.json` {folder: name} or `.txt` one name per line in class order). */
  readonly classNames?: string;
  /** Fully decode every image to catch truncation, not only its header (slower). */
  readonly verify?: boolean;
  /** Seed of the stratified split used when the dataset gives none (default 0). */
  readonly splitSeed?: number;
  /** Share of each class put in the test split by the seeded split (default 0.2). */
  readonly testFraction?: number;
  /** Files checked at once (default 16). */
  readonly concurrency?: number;
  /** Called as files are checked, e.g. to show progress; the engine itself prints nothing. */
  readonly onProgress?: (checked: number, total: number) => void;
}

export const DEFAULT_TEST_FRACTION = 0.2;
export const DEFAULT_SPLIT_SEED = 0;

/** The items of one split, in dataset order. */
export function splitItems(dataset: Pick<Dataset, 'items'>, split: SplitName): DatasetItem[] {
  return dataset.items.filter((item) => item.split === split);
}

/** Class names in label order: what a zero-shot head is built from. */
export function classNames(dataset: Pick<Dataset, 'classes'>): string[] {
  return dataset.classes.map((c) => c.name);
}
