import { availableParallelism } from 'node:os';
import { realpath, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { VetbenchError } from '../errors.js';
import type { Candidate, Listing } from './candidate.js';
import { addCaptions, csvDescribesFolders } from './captions.js';
import { checkImageFile, type FileCheck } from './check-file.js';
import { findClassNamesFile, nameClasses, readClassNameOverrides } from './class-names.js';
import { createLimiter, mapWithConcurrency } from './concurrency.js';
import {
  DEFAULT_SPLIT_SEED,
  DEFAULT_TEST_FRACTION,
  SPLIT_NAMES,
  type Dataset,
  type DatasetClass,
  type DatasetItem,
  type ImportOptions,
  type SkippedFile,
  type SplitName,
  type SplitSource,
} from './dataset.js';
import { findDuplicates } from './duplicates.js';
import { datasetFingerprint } from './fingerprint.js';
import { listFolderItems } from './import-folder.js';
import { listManifestItems, MANIFEST_FILE_NAMES, readManifest } from './import-csv.js';
import { compareText } from './ordering.js';
import { scanFolder } from './scan-files.js';
import { checkTestFraction, stratifiedSplit } from './stratified-split.js';

const DEFAULT_CONCURRENCY = 16;

/**
 * Import a dataset folder (or a CSV manifest file): find its items, classes and splits, hash and check every
 * image, and report everything refused. Bad files never throw; only a missing root, an unreadable manifest or a
 * malformed class-name file do (they are the user's configuration, not the data).
 *
 * Layouts, in order of precedence: an explicit `manifest` (or a `.csv` path as the root) lists the items;
 * otherwise `root/train|val|test/<class>/**` split folders, or `root/<class>/**` with optional `train.txt` /
 * `test.txt`. A `manifest.csv`/`labels.csv`/`captions.csv` next to the folders adds captions; if its labels do
 * not match the folders (e.g. `labels.csv` + `images/`) it lists the items instead.
 */
export async function importDataset(rootOrCsv: string, options: ImportOptions = {}): Promise<Dataset> {
  const splitSeed = options.splitSeed ?? DEFAULT_SPLIT_SEED;
  if (!Number.isSafeInteger(splitSeed)) {
    throw new VetbenchError(
      'bad-seed',
      `the split seed must be an integer, got ${splitSeed}`,
      'pass e.g. 0 or 1234',
    );
  }
  const testFraction = options.testFraction ?? DEFAULT_TEST_FRACTION;
  checkTestFraction(testFraction);
  const { root, manifestPath } = await locateRoot(rootOrCsv, options.manifest);
  const realRoot = await realpath(root);
  const classNamesFile = await findClassNamesFile(root, classNamesOption(root, options.classNames));
  const overrides = classNamesFile === null ? null : await readClassNameOverrides(classNamesFile);

  const listing =
    manifestPath !== null
      ? await listManifestItems(await readManifest(manifestPath, root), root, realRoot)
      : await listFolderWithCsv(root, realRoot);

  const candidates = [...listing.candidates].sort((a, b) => compareText(a.relativePath, b.relativePath));
  const checks = await checkAll(root, candidates, options);
  const skipped: SkippedFile[] = [...listing.skipped];
  const usable: { candidate: Candidate; check: Extract<FileCheck, { ok: true }> }[] = [];
  candidates.forEach((candidate, i) => {
    const check = checks[i]!;
    if (check.ok) usable.push({ candidate, check });
    else skipped.push({ path: candidate.relativePath, code: check.code, reason: check.reason });
  });

  const unassigned = usable.filter((u) => u.candidate.split === null).map((u) => u.candidate);
  const seeded = stratifiedSplit(unassigned, { seed: splitSeed, testFraction });
  const classKeys = listing.classKeys;
  const labelOf = new Map(classKeys.map((key, index) => [key, index] as const));
  const items: DatasetItem[] = usable.map(({ candidate, check }) => ({
    path: join(root, ...candidate.relativePath.split('/')),
    relativePath: candidate.relativePath,
    label: labelOf.get(candidate.classKey)!,
    split: candidate.split ?? seeded.get(candidate.relativePath)!,
    ...(candidate.caption !== null ? { caption: candidate.caption } : {}),
    sha256: check.sha256,
    bytes: check.bytes,
    format: check.format,
  }));

  const naming = nameClasses(classKeys, overrides);
  const classes = buildClasses(classKeys, naming.names, items);
  const warnings = [...listing.warnings, ...naming.warnings, ...emptyClassWarnings(classes)];
  skipped.sort((a, b) => compareText(a.path, b.path) || compareText(a.code, b.code));

  return {
    root,
    layout: listing.layout,
    splitSource: splitSourceOf(listing.givenSplits, unassigned.length, usable.length),
    seededSplit: unassigned.length > 0 ? { seed: splitSeed, testFraction, items: unassigned.length } : null,
    manifest: listing.manifest,
    classNamesFile,
    classes,
    items,
    skipped,
    duplicates: findDuplicates(items),
    warnings,
    ignoredHidden: listing.ignoredHidden,
    verified: options.verify === true,
    fingerprint: datasetFingerprint(
      items.map((item) => ({
        relativePath: item.relativePath,
        classFolder: classKeys[item.label]!,
        split: item.split,
        sha256: item.sha256,
      })),
    ),
  };
}

/** Folder items, plus the CSV at the root if there is one: captions for the folders, or the item list itself. */
async function listFolderWithCsv(root: string, realRoot: string): Promise<Listing> {
  const scan = await scanFolder(root);
  const folders = await listFolderItems(scan);
  const csvName = MANIFEST_FILE_NAMES.find((name) => scan.files.some((f) => f.relativePath === name));
  if (csvName === undefined) return folders;
  const manifest = await readManifest(join(root, csvName), root);
  if (!manifest.hasLabels && folders.classKeys.length === 0) {
    const note = `${csvName} has no label column, so it cannot list the items by itself`;
    return { ...folders, warnings: [...folders.warnings, note] };
  }
  if (csvDescribesFolders(manifest, folders.classKeys)) return addCaptions(folders, manifest);
  const fromCsv = await listManifestItems(manifest, root, realRoot);
  const note =
    folders.classKeys.length > 0
      ? [
          `${csvName} labels do not match the folder names, so ${csvName} lists the items (pass --manifest to say so)`,
        ]
      : [];
  return { ...fromCsv, warnings: [...note, ...fromCsv.warnings], ignoredHidden: scan.ignoredHidden };
}

async function locateRoot(
  rootOrCsv: string,
  manifestOption: string | undefined,
): Promise<{ root: string; manifestPath: string | null }> {
  const given = resolve(rootOrCsv);
  let isFolder: boolean;
  try {
    isFolder = (await stat(given)).isDirectory();
  } catch {
    throw new VetbenchError(
      'dataset-not-found',
      `no dataset at ${given}`,
      'pass a folder with one subfolder per class (root/<class>/*.jpg), a CSV manifest (path,label[,caption]), ' +
        'or "demo" for the built-in dataset',
    );
  }
  if (!isFolder) {
    if (extname(given).toLowerCase() === '.csv') return { root: dirname(given), manifestPath: given };
    throw new VetbenchError(
      'dataset-not-a-folder',
      `${given} is a file, not a dataset folder or CSV manifest`,
      'pass the folder that holds the class folders, or a .csv manifest (path,label[,caption])',
    );
  }
  return { root: given, manifestPath: manifestOption === undefined ? null : resolve(given, manifestOption) };
}

/** A class-name file given as an option, relative to the root; only .json and .txt are understood. */
function classNamesOption(root: string, option: string | undefined): string | undefined {
  if (option === undefined) return undefined;
  const path = resolve(root, option);
  const ext = extname(path).toLowerCase();
  if (ext !== '.json' && ext !== '.txt') {
    throw new VetbenchError(
      'class-names-format',
      `${basename(path)}: class names must be a .json ({folder: name}) or .txt (one per line) file`,
      'rename or convert the file',
    );
  }
  return path;
}

async function checkAll(
  root: string,
  candidates: readonly Candidate[],
  options: ImportOptions,
): Promise<FileCheck[]> {
  // full decodes hold whole images in memory: cap them separately from the cheap hashing pool
  const decodeSlot = createLimiter(Math.max(2, availableParallelism()));
  let checked = 0;
  return mapWithConcurrency(candidates, options.concurrency ?? DEFAULT_CONCURRENCY, async (candidate) => {
    const result = await checkImageFile(join(root, ...candidate.relativePath.split('/')), {
      verify: options.verify === true,
      decodeSlot,
    });
    checked++;
    options.onProgress?.(checked, candidates.length);
    return result;
  });
}

function buildClasses(
  keys: readonly string[],
  names: readonly string[],
  items: readonly DatasetItem[],
): DatasetClass[] {
  const counts = keys.map(
    () => Object.fromEntries(SPLIT_NAMES.map((s) => [s, 0])) as Record<SplitName, number>,
  );
  for (const item of items) counts[item.label]![item.split]++;
  return keys.map((folder, index) => {
    const perSplit = counts[index]!;
    return {
      index,
      folder,
      name: names[index]!,
      count: SPLIT_NAMES.reduce((sum, s) => sum + perSplit[s], 0),
      counts: perSplit,
    };
  });
}

function emptyClassWarnings(classes: readonly DatasetClass[]): string[] {
  const empty = classes.filter((c) => c.count === 0).map((c) => c.folder);
  if (empty.length === 0) return [];
  const shown = empty.slice(0, 8).join(', ') + (empty.length > 8 ? `, ... (${empty.length} in all)` : '');
  return [`${empty.length} class(es) have no usable images and are kept with count 0: ${shown}`];
}

function splitSourceOf(given: Listing['givenSplits'], seededCount: number, usableCount: number): SplitSource {
  if (given === null) return 'seeded';
  if (seededCount === 0) return given;
  // only a manifest can leave some rows without a split; folders and split files place every item they keep
  return seededCount === usableCount ? 'seeded' : 'manifest+seeded';
}
