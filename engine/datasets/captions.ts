import { basename } from 'node:path';
import type { Candidate, Listing } from './candidate.js';
import { cleanClassName } from './class-names.js';
import type { SkippedFile } from './dataset.js';
import type { ManifestListing } from './import-csv.js';

/** The class key a CSV label refers to: the folder name itself, or a label written as its cleaned name. */
function classMatcher(classKeys: readonly string[]): (label: string) => string | undefined {
  const exact = new Set(classKeys);
  const byCleanName = new Map(classKeys.map((key) => [cleanClassName(key), key] as const));
  return (label) => (exact.has(label) ? label : byCleanName.get(cleanClassName(label)));
}

/**
 * Whether a CSV found next to class folders describes those folders (then the folders define the items and the
 * CSV adds captions) or labels the files by itself, as in `root/labels.csv` + `root/images/`: true when at
 * least half of its labelled rows name an existing class folder, or when it has no labels at all.
 */
export function csvDescribesFolders(manifest: ManifestListing, folderClassKeys: readonly string[]): boolean {
  const labelled = manifest.rows.filter((row) => row.label !== null);
  if (labelled.length === 0) return true;
  if (folderClassKeys.length === 0) return false;
  const match = classMatcher(folderClassKeys);
  const matching = labelled.filter((row) => match(row.label!) !== undefined).length;
  return matching * 2 >= labelled.length;
}

/**
 * Attach a CSV's captions to folder items. The folder decides each item's class: a row whose label names no
 * class is refused (its caption unused), one naming another class is counted in a warning, and a row whose file
 * is not among the folder's images is reported.
 */
export function addCaptions(listing: Listing, manifest: ManifestListing): Listing {
  const file = basename(manifest.file);
  const match = classMatcher(listing.classKeys);
  const captions = new Map<string, string>();
  const skipped: SkippedFile[] = [...listing.skipped, ...manifest.skipped];
  const alreadyReported = new Set(listing.skipped.map((s) => s.path));
  const candidatePaths = new Map(listing.candidates.map((c) => [c.relativePath, c] as const));
  const disagreements: string[] = [];
  for (const row of manifest.rows) {
    const candidate = candidatePaths.get(row.relativePath);
    const classKey = row.label === null ? undefined : match(row.label);
    if (row.label !== null && classKey === undefined) {
      skipped.push({
        path: row.written,
        code: 'unknown-class',
        reason: `unknown class '${row.label}' in ${row.where} (no such class folder); the row is not used`,
      });
      continue;
    }
    if (candidate === undefined) {
      if (!alreadyReported.has(row.relativePath)) {
        skipped.push({
          path: row.written,
          code: 'missing',
          reason: `listed in ${row.where} but not found among the dataset's images`,
        });
      }
      continue;
    }
    if (classKey !== undefined && classKey !== candidate.classKey) {
      disagreements.push(`${row.where}: '${row.label}' for ${row.relativePath}`);
    }
    if (row.caption !== null) captions.set(row.relativePath, row.caption);
  }
  const warnings = [...listing.warnings];
  if (disagreements.length > 0) {
    warnings.push(
      `${file}: ${disagreements.length} row(s) give a label other than the image's folder, which wins ` +
        `(first: ${disagreements[0]})`,
    );
  }
  const candidates: Candidate[] = listing.candidates.map((c) => {
    const caption = captions.get(c.relativePath);
    return caption === undefined ? c : { ...c, caption };
  });
  return { ...listing, candidates, skipped, warnings, manifest: manifest.file };
}
