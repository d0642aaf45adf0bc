import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { SplitName } from '../../../engine/datasets/dataset.js';
import { importDataset } from '../../../engine/datasets/import-dataset.js';
import { resolveDataset } from '../../../engine/datasets/resolve.js';
import { summarizeDataset, type DatasetSummary } from '../../../engine/datasets/summary.js';
import { VetbenchError } from '../../../engine/errors.js';
import { emit } from '../output.js';

interface InspectOptions {
  json?: boolean;
  verify?: boolean;
  splitSeed?: string;
  testFraction?: string;
  manifest?: string;
  classNames?: string;
}

/** Skipped files shown in the human report; --json lists them all. */
const SKIPPED_SHOWN = 20;
const DUPLICATES_SHOWN = 10;

export function registerDataset(program: Command): void {
  const dataset = program.command('dataset').description('import and check image datasets');
  dataset
    .command('inspect')
    .description('list classes, splits, refused files and duplicates of a dataset folder, CSV or "demo"')
    .argument('<root>', 'dataset folder (root/<class>/*, train|test/<class>/*), a CSV manifest, or "demo"')
    .option('--json', 'print JSON')
    .option('--verify', 'fully decode every image to catch truncated files (slower)')
    .option('--split-seed <n>', 'seed of the stratified split used when the dataset gives none', '0')
    .option('--test-fraction <f>', 'share of each class held out by that split', '0.2')
    .option('--manifest <csv>', 'a CSV (path,label[,caption]) that lists the items; relative to the root')
    .option('--class-names <file>', 'class-name overrides: .json {folder: name} or .txt (one per line)')
    .action(async (root: string, opts: InspectOptions) => {
      const splitSeed = parseInteger(opts.splitSeed ?? '0', '--split-seed');
      const testFraction = parseFraction(opts.testFraction ?? '0.2', '--test-fraction');
      const resolved = await resolveDataset(root);
      if (resolved.generated) {
        console.error(`Generated the demo dataset (${resolved.generatedImages} images) in ${resolved.root}`);
      }
      const progress = progressPrinter();
      const imported = await importDataset(resolved.root, {
        verify: opts.verify === true,
        splitSeed,
        testFraction,
        ...(resolved.manifest !== null ? { manifest: resolved.manifest } : {}),
        ...(opts.manifest !== undefined ? { manifest: fromCwdIfPresent(opts.manifest) } : {}),
        ...(opts.classNames !== undefined ? { classNames: fromCwdIfPresent(opts.classNames) } : {}),
        onProgress: progress.update,
      });
      progress.done();
      const summary = summarizeDataset(imported);
      emit(opts.json === true, summary, () => formatSummary(summary));
      if (summary.total === 0) {
        throw new VetbenchError(
          'dataset-empty',
          `no usable images in ${summary.root}`,
          summary.skipped.length > 0
            ? 'every file was refused: see the reasons above'
            : 'put images in one folder per class (root/<class>/*.jpg), or list them in a CSV (path,label) with --manifest',
        );
      }
    });
}

/** A relative path the user typed is taken from the current folder when it exists there, else from the root. */
function fromCwdIfPresent(path: string): string {
  const fromCwd = resolve(path);
  return existsSync(fromCwd) ? fromCwd : path;
}

function parseInteger(text: string, flag: string): number {
  const value = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(value)) {
    throw new VetbenchError(
      'bad-option',
      `${flag} must be an integer, got '${text}'`,
      `pass e.g. ${flag} 1234`,
    );
  }
  return value;
}

function parseFraction(text: string, flag: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || value >= 1) {
    throw new VetbenchError(
      'bad-option',
      `${flag} must be a number in [0, 1), got '${text}'`,
      `pass e.g. ${flag} 0.2`,
    );
  }
  return value;
}

/** Progress on stderr, only on a terminal and only for folders big enough to wait for. */
function progressPrinter(): { update: (checked: number, total: number) => void; done: () => void } {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  let shown = false;
  return {
    update: (checked, total) => {
      const now = Date.now();
      if (!tty || total < 2000 || (now - last < 250 && checked < total)) return;
      last = now;
      shown = true;
      process.stderr.write(`\rchecking images: ${checked}/${total}`);
    },
    done: () => {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}

const SPLIT_TITLES: Readonly<Record<SplitName, string>> = { train: 'train', val: 'val', test: 'test' };

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function formatSummary(s: DatasetSummary): string {
  const lines: string[] = [];
  const layout =
    s.layout === 'manifest'
      ? `CSV manifest ${s.manifest ?? ''}`
      : s.layout === 'split-folders'
        ? 'train/test folders of class folders'
        : 'one folder per class';
  const splitNote =
    s.splitSource === 'seeded' || s.splitSource === 'manifest+seeded'
      ? `seeded split (seed ${s.seededSplit?.seed ?? 0}, test fraction ${s.seededSplit?.testFraction ?? 0.2})`
      : s.splitSource === 'split-files'
        ? 'splits from split files'
        : s.splitSource === 'split-folders'
          ? 'splits from folders'
          : 'splits from the manifest';
  lines.push(`Dataset ${s.root}`);
  lines.push(`  ${layout}; ${splitNote}${s.verified ? '; every image decoded' : '; headers checked'}`);
  if (s.manifest !== null && s.layout !== 'manifest') lines.push(`  captions from ${s.manifest}`);
  if (s.classNamesFile !== null) lines.push(`  class names from ${s.classNamesFile}`);
  const perSplit = s.splits.map((split) => `${SPLIT_TITLES[split]} ${s.counts[split] ?? 0}`).join(', ');
  lines.push(
    `${plural(s.classes.length, 'class', 'classes')}, ${plural(s.total, 'usable image', 'usable images')}` +
      (perSplit ? ` (${perSplit})` : '') +
      (s.captions > 0 ? `, ${s.captions} with captions` : ''),
  );
  if (s.classes.length > 0) {
    const nameWidth = Math.max(5, ...s.classes.map((c) => c.name.length));
    const folderWidth = Math.max(6, ...s.classes.map((c) => c.folder.length));
    lines.push(
      `  ${'class'.padEnd(nameWidth)}  ${'folder'.padEnd(folderWidth)}  ` +
        s.splits.map((split) => SPLIT_TITLES[split].padStart(6)).join('  '),
    );
    for (const c of s.classes) {
      lines.push(
        `  ${c.name.padEnd(nameWidth)}  ${c.folder.padEnd(folderWidth)}  ` +
          s.splits.map((split) => String(c.counts[split] ?? 0).padStart(6)).join('  '),
      );
    }
  }
  if (s.skipped.length > 0) {
    lines.push('', `Skipped ${s.skipped.length}:`);
    for (const k of s.skipped.slice(0, SKIPPED_SHOWN)) lines.push(`  ${k.path}: ${k.reason}`);
    if (s.skipped.length > SKIPPED_SHOWN) {
      lines.push(`  ... and ${s.skipped.length - SKIPPED_SHOWN} more (--json lists them all)`);
    }
  }
  if (s.duplicates.length > 0) {
    const files = s.duplicates.reduce((n, g) => n + g.paths.length, 0);
    lines.push('', `Duplicates: ${s.duplicates.length} group(s) of identical files (${files} files):`);
    for (const g of s.duplicates.slice(0, DUPLICATES_SHOWN)) {
      const flags = [g.crossSplit ? 'in more than one split' : '', g.labelsDiffer ? 'different labels' : '']
        .filter((f) => f !== '')
        .join(', ');
      lines.push(`  ${g.paths.join(' = ')}${flags ? `  [${flags}]` : ''}`);
    }
    if (s.duplicates.length > DUPLICATES_SHOWN) {
      lines.push(`  ... and ${s.duplicates.length - DUPLICATES_SHOWN} more groups (--json lists them all)`);
    }
  }
  if (s.warnings.length > 0) {
    lines.push('', 'Warnings:');
    for (const w of s.warnings) lines.push(`  ${w}`);
  }
  if (s.ignoredHidden > 0) lines.push('', `Ignored ${s.ignoredHidden} hidden file(s)/folder(s).`);
  lines.push('', `Fingerprint: ${s.fingerprint}`);
  return lines.join('\n');
}
