import { basename, dirname, relative, sep } from 'node:path';
import { VetbenchError } from '../errors.js';
import { readRegularTextFile } from '../util/regular-file.js';
import type { Candidate, Listing } from './candidate.js';
import { mapWithConcurrency } from './concurrency.js';
import { parseCsv, type CsvRow } from './csv.js';
import type { SkippedFile, SplitName } from './dataset.js';
import { formatFromExtension } from './image-format.js';
import { checkListedFile, normalizeListedPath } from './listed-path.js';
import { sortClassKeys } from './ordering.js';
import { splitFromFolderName } from './split-files.js';

/** CSV names picked up automatically at the dataset root, most specific first. */
export const MANIFEST_FILE_NAMES = [
  'manifest.csv',
  'labels.csv',
  'dataset.csv',
  'metadata.csv',
  'captions.csv',
];

/** Far above any real manifest (a million rows of path, label and caption); the text is held in memory. */
const MAX_MANIFEST_BYTES = 256 * 1024 * 1024;

const PATH_HEADERS = new Set([
  'path',
  'file',
  'filename',
  'file_name',
  'filepath',
  'file_path',
  'image',
  'image_path',
  'image_file',
  'img',
  'relative_path',
]);
const LABEL_HEADERS = new Set(['label', 'class', 'class_name', 'classname', 'category', 'target']);
const CAPTION_HEADERS = new Set(['caption', 'text', 'title', 'description', 'prompt']);
const SPLIT_HEADERS = new Set(['split', 'subset', 'partition']);

export interface ManifestRow {
  /** Root-relative, `/` separators, already checked not to leave the root lexically. */
  readonly relativePath: string;
  /** The path as the CSV wrote it, for messages. */
  readonly written: string;
  readonly where: string;
  readonly label: string | null;
  readonly caption: string | null;
  readonly split: SplitName | null;
}

export interface ManifestListing {
  readonly file: string;
  readonly hasHeader: boolean;
  readonly hasLabels: boolean;
  /** A split column makes the CSV the authority on splits: blank cells go to the seeded split. */
  readonly hasSplitColumn: boolean;
  readonly rows: readonly ManifestRow[];
  readonly skipped: readonly SkippedFile[];
}

interface Columns {
  readonly path: number;
  readonly label: number | null;
  readonly caption: number | null;
  readonly split: number | null;
}

/**
 * Read a `path,label[,caption]` manifest. A header row is recognised by its column names (path/file/image,
 * label/class, caption/text, split) or, failing that, by a first row whose path is not an image file name while
 * the next one is. Without a header, columns are path, label, caption; an unquoted caption that contains commas
 * is rejoined. Paths are relative to the CSV's folder and may not leave `root`.
 */
export async function readManifest(csvPath: string, root: string): Promise<ManifestListing> {
  let text: string;
  try {
    text = await readRegularTextFile(csvPath, {
      what: 'CSV manifest',
      maxBytes: MAX_MANIFEST_BYTES,
      tooLargeHint:
        'A manifest lists paths and labels; split a larger one or check that this is the right file.',
    });
  } catch (err) {
    if (err instanceof VetbenchError && err.code !== 'file-unreadable') throw err;
    throw new VetbenchError(
      'manifest-unreadable',
      `cannot read the CSV manifest ${csvPath} (${(err as Error).message})`,
      'check the path; a relative --manifest is taken from the dataset root',
    );
  }
  const file = basename(csvPath);
  const records = parseCsv(text, csvPath);
  const header = detectHeader(records);
  const columns = header ? columnsFromHeader(header.fields) : { path: 0, label: 1, caption: 2, split: null };
  const baseFolder = relative(root, dirname(csvPath)).split(sep).join('/');

  const rows: ManifestRow[] = [];
  const skipped: SkippedFile[] = [];
  const firstLine = new Map<string, string>();
  let hasLabels = false;
  for (const record of header ? records.slice(1) : records) {
    const where = `${file} line ${record.line}`;
    const malformed = malformedRow(record, columns, header);
    if (malformed !== null) {
      skipped.push({ path: `${file}:${record.line}`, code: 'bad-row', reason: `${where}: ${malformed}` });
      continue;
    }
    const written = (record.fields[columns.path] ?? '').trim();
    if (written === '') {
      skipped.push({ path: `${file}:${record.line}`, code: 'bad-row', reason: `no path in ${where}` });
      continue;
    }
    const listed = normalizeListedPath(written, baseFolder, root);
    if (!listed.ok) {
      skipped.push({ path: written, code: listed.skip.code, reason: `${listed.skip.reason} (${where})` });
      continue;
    }
    const earlier = firstLine.get(listed.relativePath);
    if (earlier !== undefined) {
      skipped.push({
        path: written,
        code: 'listed-twice',
        reason: `listed again in ${where} (first in ${earlier}); the first row is used`,
      });
      continue;
    }
    firstLine.set(listed.relativePath, where);
    const label = cell(record, columns.label, false);
    if (label !== null) hasLabels = true;
    const splitText = cell(record, columns.split, false);
    const split = splitText === null ? null : splitFromFolderName(splitText);
    if (splitText !== null && split === undefined) {
      skipped.push({
        path: written,
        code: 'bad-row',
        reason: `unknown split '${splitText}' in ${where}; use train, val or test`,
      });
      continue;
    }
    rows.push({
      relativePath: listed.relativePath,
      written,
      where,
      label,
      caption: cell(record, columns.caption, columns.caption === 2 && header === null),
      split: split ?? null,
    });
  }
  return {
    file: csvPath,
    hasHeader: header !== null,
    hasLabels,
    hasSplitColumn: columns.split !== null,
    rows,
    skipped,
  };
}

/** Text that names an image file, as a row of a manifest would (`dir/x.png`). */
const IMAGE_NAME = /[^\s,"]+\.(png|jpe?g|webp|gif|bmp|tiff?|avif)(?![a-z0-9])/i;

/**
 * Why a row cannot be trusted, or null: a quoted field that runs over several lines and swallows what look
 * like manifest rows (a stray quote closed only by a later one), more fields than the header names, or, without
 * a header, trailing fields that hold an image path (a lost line break folded the next row into the caption).
 * Such rows are listed as skipped with their lines, never silently merged.
 */
function malformedRow(record: CsvRow, columns: Columns, header: CsvRow | null): string | null {
  if (record.endLine > record.line) {
    const spanning = record.fields.findIndex((f) => f.includes('\n'));
    const swallowsRows = record.fields.some((f) =>
      f
        .split('\n')
        .slice(1)
        .some((l) => IMAGE_NAME.test(l)),
    );
    if (spanning !== columns.caption || swallowsRows) {
      const lines = record.endLine - record.line + 1;
      return `lines ${record.line}-${record.endLine} (${lines} lines) were read as one row: a quote opened on line ${record.line} closes only on line ${record.endLine}; close or remove the stray quote`;
    }
  }
  if (header !== null) {
    const extra = record.fields.slice(header.fields.length);
    if (extra.some((f) => f.trim() !== '')) {
      return `${record.fields.length} fields but the header names ${header.fields.length}; quote fields that hold commas`;
    }
    return null;
  }
  if (columns.caption !== null && record.fields.length > columns.caption + 1) {
    // The caption was split at commas; rejoined, does it hold the start of another row?
    const rest = record.fields.slice(columns.caption).join(',');
    const folded = IMAGE_NAME.exec(rest);
    if (folded !== null) {
      return `the row goes on past path,label,caption with '${folded[0].replace(/,$/, '').trim().slice(0, 60)}', which looks like an image path (a missing line break?)`;
    }
  }
  return null;
}

/** The trimmed value of a column, or null when absent or blank; `rest` rejoins trailing fields split by commas. */
function cell(record: CsvRow, column: number | null, rest: boolean): string | null {
  if (column === null) return null;
  const value = rest ? record.fields.slice(column).join(',') : record.fields[column];
  const trimmed = value?.trim() ?? '';
  return trimmed === '' ? null : trimmed;
}

function detectHeader(records: readonly CsvRow[]): CsvRow | null {
  const first = records[0];
  if (!first) return null;
  const names = first.fields.map((f) => f.trim().toLowerCase());
  if (names.some((n) => PATH_HEADERS.has(n)) && !names.some((n) => formatFromExtension(n) !== undefined)) {
    return first;
  }
  const second = records[1];
  const firstPath = first.fields[0]?.trim() ?? '';
  const secondPath = second?.fields[0]?.trim() ?? '';
  if (formatFromExtension(firstPath) === undefined && formatFromExtension(secondPath) !== undefined)
    return first;
  return null;
}

function columnsFromHeader(fields: readonly string[]): Columns {
  const names = fields.map((f) => f.trim().toLowerCase());
  const find = (known: ReadonlySet<string>): number | null => {
    const at = names.findIndex((n) => known.has(n));
    return at < 0 ? null : at;
  };
  const label = find(LABEL_HEADERS);
  const caption = find(CAPTION_HEADERS);
  const split = find(SPLIT_HEADERS);
  if (label === null && caption === null && split === null) {
    // unrecognised column names: fall back to the positional path,label,caption
    return {
      path: 0,
      label: fields.length > 1 ? 1 : null,
      caption: fields.length > 2 ? 2 : null,
      split: null,
    };
  }
  return { path: find(PATH_HEADERS) ?? 0, label, caption, split };
}

/**
 * The items of a manifest-defined dataset. Every listed path is checked on disk (stat and realpath only) to be a
 * file inside the root. Classes are the labels the CSV uses. Splits come from a split column, or from paths that
 * all start with a split folder (`train/...`); rows without one are left to the seeded split.
 */
export async function listManifestItems(
  manifest: ManifestListing,
  root: string,
  realRoot: string,
): Promise<Listing> {
  if (!manifest.hasLabels) {
    throw new VetbenchError(
      'manifest-no-labels',
      `${manifest.file} gives no labels, so it cannot define a dataset`,
      'write rows as path,label[,caption] (with or without a header), or put the images in one folder per class',
    );
  }
  const skipped: SkippedFile[] = [...manifest.skipped];
  const labelled = manifest.rows.filter((row) => {
    if (row.label === null) {
      skipped.push({ path: row.written, code: 'bad-row', reason: `no label in ${row.where}` });
      return false;
    }
    return true;
  });
  const pathSplits = labelled.map((row) => splitFromFolderName(row.relativePath.split('/')[0]!));
  const splitsFromPaths =
    !manifest.hasSplitColumn && labelled.length > 0 && pathSplits.every((split) => split !== undefined);

  const problems = await mapWithConcurrency(labelled, 16, (row) =>
    checkListedFile(root, realRoot, row.relativePath),
  );
  const candidates: Candidate[] = [];
  labelled.forEach((row, i) => {
    const problem = problems[i];
    if (problem) {
      skipped.push({ path: row.written, code: problem.code, reason: `${problem.reason} (${row.where})` });
      return;
    }
    const split = row.split ?? (splitsFromPaths ? pathSplits[i]! : null);
    candidates.push({ relativePath: row.relativePath, classKey: row.label!, split, caption: row.caption });
  });
  // classes are the labels of rows that name an existing file; a label seen only on broken rows is no class
  const classKeys = sortClassKeys(candidates.map((c) => c.classKey));
  return {
    layout: 'manifest',
    classKeys,
    candidates,
    skipped,
    warnings: [],
    givenSplits: candidates.some((c) => c.split !== null) ? 'manifest' : null,
    manifest: manifest.file,
    ignoredHidden: 0,
  };
}
