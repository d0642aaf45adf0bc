import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset } from '../../../engine/datasets/dataset.js';
import { importDataset } from '../../../engine/datasets/import-dataset.js';
import { encodePng } from '../../../engine/demo/png.js';
import type { FuzzKind } from '../harness/fuzz-kind.js';
import { BYTE_MUTATIONS, pick, type Mutation } from '../harness/mutate.js';

const IMAGES = 8;
const PNG = encodePng(4, 4, new Uint8Array(4 * 4 * 3).fill(128));
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Line-level edits a spreadsheet or a hand edit makes: stray quotes, lost or doubled line breaks, commas. */
const lineEdit: Mutation = (bytes, rng) => {
  const lines = new TextDecoder().decode(bytes).split('\n');
  const at = rng.int(lines.length);
  const line = lines[at]!;
  const cut = rng.int(line.length + 1);
  switch (rng.int(5)) {
    case 0:
      lines[at] = `${line.slice(0, cut)}${pick(rng, ['"', '""', '"""'])}${line.slice(cut)}`;
      break;
    case 1:
      if (at + 1 < lines.length) lines.splice(at, 2, `${line}${pick(rng, [' ', ',', ''])}${lines[at + 1]}`);
      break;
    case 2:
      lines.splice(at, 0, line);
      break;
    case 3:
      lines[at] = `${line.slice(0, cut)},${line.slice(cut)}`;
      break;
    default:
      lines[at] = `${line.slice(0, cut)}\r${line.slice(cut)}`;
  }
  return text(lines.join('\n'));
};

/** Lines a row could have come from: those that name an image file (blank and caption-only lines excluded). */
function rowLines(input: string): number[] {
  return input
    .split(/\r\n|\n|\r/)
    .map((l, i) => ({ l, n: i + 1 }))
    .filter(({ l }) => /\.png/i.test(l))
    .map(({ n }) => n);
}

/**
 * CSV manifests, imported as `dataset inspect <file.csv>` imports them. No row may be dropped silently: every
 * line that names an image is the source of an item, or lies in a skipped row that names its line(s).
 */
export const csvManifestKind: FuzzKind<Dataset> = {
  id: 'csv-manifest',
  fileName: 'manifest.csv',
  prepare(caseDir) {
    mkdirSync(join(caseDir, 'px'), { recursive: true });
    for (let i = 0; i < IMAGES; i++) writeFileSync(join(caseDir, 'px', `${i}.png`), PNG);
  },
  async seeds() {
    const rows = Array.from({ length: IMAGES }, (_, i) => `px/${i}.png,c${i % 2}`);
    const captions = Array.from({ length: IMAGES }, (_, i) => `px/${i}.png,c${i % 2},a photo, number ${i}`);
    const quoted = Array.from({ length: IMAGES }, (_, i) => `"px/${i}.png","c${i % 2}","say ""${i}"""`);
    return [
      { name: 'header', bytes: text(`path,label\n${rows.join('\n')}\n`) },
      { name: 'no header, captions', bytes: text(`${captions.join('\r\n')}\r\n`) },
      {
        name: 'quoted, split column',
        bytes: text(
          `path,label,caption,split\n${quoted.map((r, i) => `${r},${i < 6 ? 'train' : 'test'}`).join('\n')}\n`,
        ),
      },
    ];
  },
  crafted() {
    const rows = Array.from({ length: IMAGES }, (_, i) => `px/${i}.png,c${i % 2}`);
    const withRow = (at: number, row: string) => rows.map((r, i) => (i === at ? row : r));
    const cases: [string, string, 'refuse' | 'either'][] = [
      ['unterminated quote', `path,label\n${withRow(2, 'px/2.png,"c0').join('\n')}\n`, 'refuse'],
      [
        'stray quote pair',
        `path,label\n${withRow(1, 'px/1.png,"c1')
          .map((r, i) => (i === 5 ? `${r}"` : r))
          .join('\n')}\n`,
        'either',
      ],
      ['lost newline', `${rows.slice(0, 2).join(',a caption ')}\n${rows.slice(2).join('\n')}\n`, 'either'],
      ['extra fields', `path,label\n${withRow(3, 'px/3.png,c1,surprise').join('\n')}\n`, 'either'],
      ['path leaves root', `path,label\n../../etc/passwd.png,c0\n${rows.join('\n')}\n`, 'either'],
      ['absolute path', `path,label\n/etc/hosts.png,c0\n${rows.join('\n')}\n`, 'either'],
      ['NUL bytes', `path,label\n${rows.join('\n')}\npx/\u0000.png,c0\n`, 'either'],
      ['only header', 'path,label\n', 'refuse'],
      ['empty', '', 'refuse'],
      ['no labels', `path\n${rows.map((r) => r.split(',')[0]).join('\n')}\n`, 'refuse'],
      ['10k columns', `path,label\n${rows.join('\n')}\npx/0.png,${','.repeat(10_000)}\n`, 'either'],
      ['BOM and CRLF', `\uFEFFpath,label\r\n${rows.join('\r\n')}\r\n`, 'either'],
    ];
    return cases.map(([name, csv, expect]) => ({ name, bytes: text(csv), expect }));
  },
  mutations: [...BYTE_MUTATIONS, lineEdit, lineEdit, lineEdit],
  load: (path) => importDataset(path),
  judge(dataset, input) {
    const source = new TextDecoder().decode(input);
    const lines = source.split(/\r\n|\n|\r/);
    const covered = new Set<number>();
    for (const skip of dataset.skipped) {
      for (const m of skip.reason.matchAll(/lines? (\d+)(?:-(\d+))?/g)) {
        const from = Number(m[1]);
        for (let n = from; n <= Number(m[2] ?? from); n++) covered.add(n);
      }
    }
    // An item covers the lines that name its path as written (`px//0.png` and `./px/0.png` name `px/0.png`).
    const normalized = lines.map((l) => l.replace(/[\\/]+/g, '/').replace(/(^|[,"])\.\//g, '$1'));
    for (const item of dataset.items) {
      normalized.forEach((l, i) => {
        if (l.includes(item.relativePath)) covered.add(i + 1);
      });
    }
    const first = lines.findIndex((l) => l.trim() !== '') + 1;
    const dropped = rowLines(source).filter((n) => n !== first && !covered.has(n));
    return dropped.length > 0
      ? `line(s) ${dropped.join(', ')} neither used nor listed as skipped (${dataset.items.length} items, ${dataset.skipped.length} skipped)`
      : null;
  },
};
