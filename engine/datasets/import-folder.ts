import type { Candidate, Listing } from './candidate.js';
import type { SkippedFile, SplitName } from './dataset.js';
import { formatFromExtension, SUPPORTED_FORMATS_TEXT } from './image-format.js';
import { sortClassKeys } from './ordering.js';
import type { FolderScan, ScannedFile } from './scan-files.js';
import { readSplitFiles, SPLIT_FILE_NAMES, splitFromFolderName } from './split-files.js';

/**
 * List the images of a scanned folder: either ImageFolder (`root/<class>/**`), optionally split by
 * `train.txt`/`test.txt`, or split folders (`root/train|val|test/<class>/**`). A top-level folder named like a
 * split counts as one only when it holds subfolders, so a class that happens to be called "train" (with its
 * images directly inside) stays a class.
 */
export async function listFolderItems(scan: FolderScan): Promise<Listing> {
  const topFolders = scan.folders.filter((f) => !f.includes('/'));
  const splitFolders = new Map<string, SplitName>();
  for (const folder of topFolders) {
    const split = splitFromFolderName(folder);
    if (split !== undefined && scan.folders.some((f) => f.startsWith(`${folder}/`)))
      splitFolders.set(folder, split);
  }
  return splitFolders.size > 0 ? listSplitFolders(scan, splitFolders) : listImageFolder(scan);
}

const notAnImageName = (file: ScannedFile): SkippedFile => ({
  path: file.relativePath,
  code: 'not-an-image',
  reason: `not an image file name (${extensionOf(file.relativePath)}); Vetbench reads ${SUPPORTED_FORMATS_TEXT}`,
});

const outsideClassFolder = (file: ScannedFile, where: string): SkippedFile => ({
  path: file.relativePath,
  code: 'no-class-folder',
  reason: `image ${where}, not inside a class folder; move it into <class>/ or remove it`,
});

function extensionOf(path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot) : 'no extension';
}

function listSplitFolders(scan: FolderScan, splitFolders: ReadonlyMap<string, SplitName>): Listing {
  const classKeys = new Set<string>();
  for (const folder of scan.folders) {
    const [top, cls, ...deeper] = folder.split('/');
    if (cls !== undefined && deeper.length === 0 && splitFolders.has(top!)) classKeys.add(cls);
  }
  const candidates: Candidate[] = [];
  const skipped: SkippedFile[] = [...scan.skipped];
  const ignoredFiles = new Map<string, number>();
  for (const file of scan.files) {
    const segments = file.relativePath.split('/');
    const top = segments[0]!;
    const split = splitFolders.get(top);
    const isImageName = formatFromExtension(file.relativePath) !== undefined;
    if (segments.length === 1) {
      if (isImageName) skipped.push(outsideClassFolder(file, 'at the dataset root'));
    } else if (split === undefined) {
      ignoredFiles.set(top, (ignoredFiles.get(top) ?? 0) + 1);
    } else if (segments.length === 2) {
      if (isImageName) skipped.push(outsideClassFolder(file, `directly in ${top}/`));
    } else if (!isImageName) {
      skipped.push(notAnImageName(file));
    } else {
      candidates.push({ relativePath: file.relativePath, classKey: segments[1]!, split, caption: null });
    }
  }
  const warnings: string[] = [];
  const splitNames = [...splitFolders.keys()].map((f) => `${f}/`).join(', ');
  for (const [folder, count] of ignoredFiles) {
    warnings.push(
      `ignored ${folder}/ (${count} file(s)): with ${splitNames} at the root only those are read`,
    );
  }
  const splitFileNames = scan.files.filter((f) => SPLIT_FILE_NAMES[f.relativePath] !== undefined);
  if (splitFileNames.length > 0) {
    warnings.push(
      `${splitFileNames.map((f) => f.relativePath).join(', ')} ignored: the ${splitNames} folders define the splits`,
    );
  }
  return {
    layout: 'split-folders',
    classKeys: sortClassKeys(classKeys),
    candidates,
    skipped,
    warnings,
    givenSplits: 'split-folders',
    manifest: null,
    ignoredHidden: scan.ignoredHidden,
  };
}

async function listImageFolder(scan: FolderScan): Promise<Listing> {
  const classKeys = sortClassKeys(scan.folders.filter((f) => !f.includes('/')));
  const candidates: Candidate[] = [];
  const skipped: SkippedFile[] = [...scan.skipped];
  for (const file of scan.files) {
    const segments = file.relativePath.split('/');
    const isImageName = formatFromExtension(file.relativePath) !== undefined;
    if (segments.length === 1) {
      if (isImageName) skipped.push(outsideClassFolder(file, 'at the dataset root'));
    } else if (!isImageName) {
      skipped.push(notAnImageName(file));
    } else {
      candidates.push({
        relativePath: file.relativePath,
        classKey: segments[0]!,
        split: null,
        caption: null,
      });
    }
  }
  const rootFileNames = scan.files.filter((f) => !f.relativePath.includes('/')).map((f) => f.relativePath);
  const splitListing = await readSplitFiles(scan.root, rootFileNames);
  if (splitListing === null) {
    return {
      layout: 'image-folder',
      classKeys,
      candidates,
      skipped,
      warnings: [],
      givenSplits: null,
      manifest: null,
      ignoredHidden: scan.ignoredHidden,
    };
  }

  // Split files decide membership: a listed path must be one of the scanned images, anything else is reported.
  const { assignments, files: splitFiles } = splitListing;
  skipped.push(...splitListing.skipped);
  const alreadyReported = new Set(skipped.map((s) => s.path));
  const knownClasses = new Set(classKeys);
  const listed: Candidate[] = [];
  const candidatePaths = new Set<string>();
  for (const candidate of candidates) {
    candidatePaths.add(candidate.relativePath);
    const assigned = assignments.get(candidate.relativePath);
    if (assigned) listed.push({ ...candidate, split: assigned.split });
    else if (!alreadyReported.has(candidate.relativePath)) {
      skipped.push({
        path: candidate.relativePath,
        code: 'not-in-split-files',
        reason: `not listed in ${splitFiles.join(' or ')}; add it to one of them to use it`,
      });
    }
  }
  for (const [relativePath, { where }] of assignments) {
    if (candidatePaths.has(relativePath) || alreadyReported.has(relativePath)) continue;
    const segments = relativePath.split('/');
    if (segments.length < 2) {
      skipped.push({
        path: relativePath,
        code: 'no-class-folder',
        reason: `listed in ${where} but not inside a class folder`,
      });
    } else if (!knownClasses.has(segments[0]!)) {
      skipped.push({
        path: relativePath,
        code: 'unknown-class',
        reason: `unknown class '${segments[0]}' (no such class folder), listed in ${where}`,
      });
    } else {
      skipped.push({
        path: relativePath,
        code: 'missing',
        reason: `listed in ${where} but not found among the dataset's images`,
      });
    }
  }
  return {
    layout: 'image-folder',
    classKeys,
    candidates: listed,
    skipped,
    warnings: [],
    givenSplits: 'split-files',
    manifest: null,
    ignoredHidden: scan.ignoredHidden,
  };
}
