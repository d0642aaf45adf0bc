import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_CLASSES } from '../../engine/demo/shapes.js';
import { renderDemoImage } from '../../engine/demo/demo-dataset.js';
import { parseCsv } from '../../engine/datasets/csv.js';
import type { Dataset, SkipCode } from '../../engine/datasets/dataset.js';
import { importDataset } from '../../engine/datasets/import-dataset.js';
import { sniffImageFormat } from '../../engine/datasets/image-format.js';
import { VetbenchError } from '../../engine/errors.js';
import { Rng } from '../../engine/util/rng.js';
import { vetbenchErrorOf } from '../helpers/errors.js';
import { sharedPath } from '../helpers/shared-folder.js';

const CALTECH = sharedPath('datasets', 'caltech101-subset');

type Format = 'png' | 'jpeg' | 'webp' | 'gif' | 'tiff' | 'avif';

/** A small noisy image, different for every seed, so no two test images are accidental duplicates. */
async function imageBytes(format: Format, seed: number, size = 12): Promise<Buffer> {
  const rng = new Rng(seed);
  const raw = Buffer.alloc(size * size * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = rng.int(256);
  return sharp(raw, { raw: { width: size, height: size, channels: 3 } })
    .toFormat(format)
    .toBuffer();
}

let scratch: string;
let seedCounter = 1;

function put(path: string, content: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

async function putImage(path: string, format: Format = 'png'): Promise<Buffer> {
  const bytes = await imageBytes(format, seedCounter++);
  put(path, bytes);
  return bytes;
}

function freshRoot(name: string): string {
  const root = join(scratch, name);
  mkdirSync(root, { recursive: true });
  return root;
}

function skipOf(dataset: Dataset, path: string): { code: SkipCode; reason: string } | undefined {
  return dataset.skipped.find((s) => s.path === path);
}

function itemPaths(dataset: Dataset): string[] {
  return dataset.items.map((i) => i.relativePath);
}

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'vetbench-datasets-'));
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe('image formats', () => {
  it('recognises JPEG, PNG, WebP, GIF, TIFF and AVIF by magic bytes, and refuses look-alikes', async () => {
    for (const format of ['png', 'jpeg', 'webp', 'gif', 'tiff', 'avif'] as const) {
      expect(sniffImageFormat(await imageBytes(format, 7))).toEqual({ kind: 'image', format });
    }
    expect(sniffImageFormat(Buffer.from('hello, this is text'))).toEqual({ kind: 'unknown' });
    expect(sniffImageFormat(Buffer.from('BM\x00\x00'))).toMatchObject({ kind: 'unsupported', what: 'BMP' });
    expect(sniffImageFormat(Buffer.from('<svg xmlns="..."/>'))).toMatchObject({ kind: 'unsupported' });
  });
});

describe('ImageFolder import of a messy folder', () => {
  let root: string;
  let outside: string;
  let dataset: Dataset;
  let truncatedJpeg: Buffer;

  beforeAll(async () => {
    root = freshRoot('messy');
    outside = freshRoot('outside');
    await putImage(join(outside, 'secret.png'));
    const a = await putImage(join(root, 'cat', 'a.png'));
    await putImage(join(root, 'cat', 'b.jpg'), 'jpeg');
    await putImage(join(root, 'cat', 'nested', 'deeper', 'c.webp'), 'webp');
    await putImage(join(root, 'cat', 'd.gif'), 'gif');
    await putImage(join(root, 'cat', 'e.TIFF'), 'tiff');
    await putImage(join(root, 'cat', 'f.avif'), 'avif');
    put(join(root, 'cat', 'empty.jpg'), '');
    const fullJpeg = await imageBytes('jpeg', 999, 64);
    truncatedJpeg = fullJpeg.subarray(0, Math.floor(fullJpeg.length * 0.6));
    put(join(root, 'cat', 'truncated.jpg'), truncatedJpeg);
    put(
      join(root, 'cat', 'random.jpg'),
      Buffer.from(Array.from({ length: 500 }, (_, i) => (i * 7919) % 251)),
    );
    put(join(root, 'cat', 'notes.txt'), 'not an image');
    put(join(root, 'cat', 'text.png'), 'a text file dressed up as a PNG');
    put(join(root, 'cat', '.hidden.jpg'), a);
    put(join(root, 'cat', '._a.png'), 'AppleDouble junk');
    put(join(root, '__MACOSX', 'cat', '._a.png'), 'AppleDouble junk');
    put(join(root, 'cat', 'Thumbs.db'), 'thumbnail cache');
    put(join(root, '.DS_Store'), 'finder');
    const x = await putImage(join(root, 'dog', 'x.png'));
    put(join(root, 'dog', 'x copy.png'), x);
    symlinkSync(join(outside, 'secret.png'), join(root, 'dog', 'link-out.png'));
    symlinkSync(outside, join(root, 'dog', 'linked-folder-out'));
    symlinkSync(join(root, 'cat', 'a.png'), join(root, 'dog', 'link-in.png'));
    symlinkSync(join(root, 'nowhere.png'), join(root, 'dog', 'broken.png'));
    symlinkSync(root, join(root, 'dog', 'loop'));
    mkdirSync(join(root, 'empty_class'));
    await putImage(join(root, 'car_side', 'image_0001.jpg'), 'jpeg');
    await putImage(join(root, 'Faces_easy', 'image_0001.png'));
    await putImage(join(root, 'stray.png'));
    put(join(root, 'README.md'), 'metadata at the root is ignored');
    dataset = await importDataset(root);
  });

  it('takes classes from folders (nested subfolders allowed) and cleans their names for prompts', () => {
    expect(dataset.layout).toBe('image-folder');
    expect(dataset.classes.map((c) => [c.folder, c.name])).toEqual([
      ['Faces_easy', 'faces easy'],
      ['car_side', 'car side'],
      ['cat', 'cat'],
      ['dog', 'dog'],
      ['empty_class', 'empty class'],
    ]);
    expect(itemPaths(dataset)).toContain('cat/nested/deeper/c.webp');
    const formats = new Set(dataset.items.map((i) => i.format));
    expect([...formats].sort()).toEqual(['avif', 'gif', 'jpeg', 'png', 'tiff', 'webp']);
  });

  it('skips empty, random, text and misnamed files with reasons', () => {
    expect(skipOf(dataset, 'cat/empty.jpg')).toMatchObject({ code: 'empty' });
    expect(skipOf(dataset, 'cat/random.jpg')).toMatchObject({ code: 'not-an-image' });
    expect(skipOf(dataset, 'cat/notes.txt')).toMatchObject({ code: 'not-an-image' });
    expect(skipOf(dataset, 'cat/text.png')?.reason).toMatch(/not an image: the content is text/);
    expect(skipOf(dataset, 'stray.png')).toMatchObject({ code: 'no-class-folder' });
    for (const s of dataset.skipped) expect(s.reason.length).toBeGreaterThan(10);
  });

  it('refuses symbolic links that leave the root, follows those that stay inside, survives loops', () => {
    expect(skipOf(dataset, 'dog/link-out.png')).toMatchObject({ code: 'outside-root' });
    expect(skipOf(dataset, 'dog/linked-folder-out')).toMatchObject({ code: 'outside-root' });
    expect(itemPaths(dataset).some((p) => p.includes('secret'))).toBe(false);
    expect(skipOf(dataset, 'dog/broken.png')).toMatchObject({ code: 'broken-link' });
    expect(itemPaths(dataset)).toContain('dog/link-in.png');
    expect(itemPaths(dataset).some((p) => p.startsWith('dog/loop'))).toBe(false);
  });

  it('ignores hidden files and system clutter without listing them', () => {
    const everything = [...itemPaths(dataset), ...dataset.skipped.map((s) => s.path)];
    expect(everything.filter((p) => /(^|\/)(\.|__MACOSX|Thumbs\.db)/.test(p))).toEqual([]);
    expect(dataset.ignoredHidden).toBe(5);
  });

  it('reports identical files as duplicate groups, flagging different labels', () => {
    const groups = dataset.duplicates.map((g) => g.paths);
    expect(groups).toContainEqual(['dog/x copy.png', 'dog/x.png']);
    const crossLabel = dataset.duplicates.find((g) => g.paths.includes('dog/link-in.png'));
    expect(crossLabel).toMatchObject({ paths: ['cat/a.png', 'dog/link-in.png'], labelsDiffer: true });
  });

  it('keeps an empty class folder with count 0 and says so', () => {
    expect(dataset.classes.find((c) => c.folder === 'empty_class')?.count).toBe(0);
    expect(dataset.warnings.join('\n')).toMatch(/no usable images.*empty_class/);
  });

  it('catches the truncated JPEG by default (missing end marker -> full decode) and with verify', async () => {
    expect(itemPaths(dataset)).not.toContain('cat/truncated.jpg');
    expect(skipOf(dataset, 'cat/truncated.jpg')).toMatchObject({ code: 'truncated' });
    expect(dataset.verified).toBe(false);
    const verified = await importDataset(root, { verify: true });
    expect(verified.verified).toBe(true);
    expect(skipOf(verified, 'cat/truncated.jpg')).toMatchObject({ code: 'truncated' });
    expect(verified.items.length).toBe(dataset.items.length);
  });

  it('splits with a seeded stratified split when none is given', () => {
    expect(dataset.splitSource).toBe('seeded');
    expect(dataset.seededSplit).toEqual({ seed: 0, testFraction: 0.2, items: dataset.items.length });
    const cat = dataset.classes.find((c) => c.folder === 'cat')!;
    expect(cat.counts.test).toBe(Math.round(cat.count * 0.2));
  });

  it('streams files over 1 MiB through the hash instead of reading them whole', async () => {
    const big = await imageBytes('png', 4242, 700); // noise does not compress: about 1.5 MB
    expect(big.length).toBeGreaterThan(1024 * 1024);
    const bigRoot = freshRoot('big-file');
    put(join(bigRoot, 'noise', 'big.png'), big);
    put(join(bigRoot, 'noise', 'big-truncated.png'), big.subarray(0, big.length - 5000));
    const imported = await importDataset(bigRoot, { verify: true });
    expect(imported.items.map((i) => [i.relativePath, i.sha256, i.bytes])).toEqual([
      ['noise/big.png', createHash('sha256').update(big).digest('hex'), big.length],
    ]);
    expect(skipOf(imported, 'noise/big-truncated.png')).toMatchObject({ code: 'truncated' });
  });

  it('gives every item its content hash and a stable fingerprint', async () => {
    const a = dataset.items.find((i) => i.relativePath === 'cat/a.png')!;
    expect(a.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(a.path).toBe(join(root, 'cat', 'a.png'));
    const again = await importDataset(root);
    expect(again.fingerprint).toBe(dataset.fingerprint);
    const reseeded = await importDataset(root, { splitSeed: 5 });
    expect(reseeded.fingerprint).not.toBe(dataset.fingerprint);
  });
});

describe('split files (train.txt / test.txt)', () => {
  let root: string;
  let dataset: Dataset;

  beforeAll(async () => {
    root = freshRoot('split-files');
    for (const cls of ['ant', 'bee']) {
      for (let i = 0; i < 4; i++) await putImage(join(root, cls, `img_${i}.jpg`), 'jpeg');
    }
    await putImage(join(root, 'ant', 'unlisted.jpg'), 'jpeg');
    await putImage(join(root, '..', 'escaped.jpg'), 'jpeg');
    put(
      join(root, 'train.txt'),
      [
        'ant/img_0.jpg',
        'ant/img_1.jpg',
        './ant/img_2.jpg',
        'bee/img_0.jpg',
        'bee/img_1.jpg',
        'bee/img_2.jpg',
        '../escaped.jpg',
        'ant/../../escaped.jpg',
        '/etc/passwd',
        'wasp/img_0.jpg',
        'bee/missing.jpg',
        'ant/img_3.jpg',
        '',
        '# comment',
      ].join('\n'),
    );
    put(join(root, 'test.txt'), 'ant/img_3.jpg\r\nbee\\img_3.jpg\r\n');
    dataset = await importDataset(root);
  });

  it('assigns the listed splits and counts equal the listed lines', () => {
    expect(dataset.splitSource).toBe('split-files');
    expect(dataset.seededSplit).toBeNull();
    expect(dataset.classes.map((c) => [c.folder, c.counts.train, c.counts.test])).toEqual([
      ['ant', 3, 0],
      ['bee', 3, 1],
    ]);
  });

  it('refuses paths that leave the root without reading them, and reports unknown classes and missing files', () => {
    expect(skipOf(dataset, '../escaped.jpg')).toMatchObject({ code: 'outside-root' });
    expect(skipOf(dataset, 'ant/../../escaped.jpg')).toMatchObject({ code: 'outside-root' });
    expect(skipOf(dataset, '/etc/passwd')).toMatchObject({ code: 'outside-root' });
    expect(skipOf(dataset, 'wasp/img_0.jpg')).toMatchObject({ code: 'unknown-class' });
    expect(skipOf(dataset, 'wasp/img_0.jpg')?.reason).toMatch(/train\.txt line 10/);
    expect(skipOf(dataset, 'bee/missing.jpg')).toMatchObject({ code: 'missing' });
  });

  it('refuses a file listed in two splits and reports unlisted files', () => {
    expect(skipOf(dataset, 'ant/img_3.jpg')).toMatchObject({ code: 'listed-twice' });
    expect(skipOf(dataset, 'ant/img_3.jpg')?.reason).toMatch(/train\.txt line 12, test\.txt line 1/);
    expect(skipOf(dataset, 'ant/unlisted.jpg')).toMatchObject({ code: 'not-in-split-files' });
  });
});

describe('train/test split folders', () => {
  it('reads train/, val/ (or valid/) and test/ folders of class folders; other folders are ignored with a note', async () => {
    const root = freshRoot('split-folders');
    for (const [split, n] of [
      ['train', 3],
      ['valid', 1],
      ['test', 2],
    ] as const) {
      for (const cls of ['airplane', 'truck']) {
        for (let i = 0; i < n; i++) await putImage(join(root, split, cls, `${i}.png`));
      }
    }
    await putImage(join(root, 'test', 'ship', '0.png')); // a class only in test
    await putImage(join(root, 'train', 'loose.png'));
    await putImage(join(root, 'extras', 'airplane', 'x.png'));
    put(join(root, 'train.txt'), 'airplane/0.png\n');
    const dataset = await importDataset(root);
    expect(dataset.layout).toBe('split-folders');
    expect(dataset.splitSource).toBe('split-folders');
    expect(dataset.classes.map((c) => [c.folder, c.counts.train, c.counts.val, c.counts.test])).toEqual([
      ['airplane', 3, 1, 2],
      ['ship', 0, 0, 1],
      ['truck', 3, 1, 2],
    ]);
    expect(skipOf(dataset, 'train/loose.png')).toMatchObject({ code: 'no-class-folder' });
    expect(dataset.warnings.join('\n')).toMatch(/ignored extras\/ \(1 file/);
    expect(dataset.warnings.join('\n')).toMatch(/train\.txt ignored/);
    expect(dataset.items.find((i) => i.relativePath === 'valid/truck/0.png')?.split).toBe('val');
  });

  it('keeps a class called "train" that holds images directly as a class', async () => {
    const root = freshRoot('class-called-train');
    await putImage(join(root, 'train', 'locomotive.png'));
    await putImage(join(root, 'bus', 'b.png'));
    const dataset = await importDataset(root);
    expect(dataset.layout).toBe('image-folder');
    expect(dataset.classes.map((c) => c.folder)).toEqual(['bus', 'train']);
  });
});

describe('CSV manifests', () => {
  it('reads a header row, quoted fields with commas, and paths relative to the CSV folder', async () => {
    const root = freshRoot('csv-header');
    await putImage(join(root, 'images', 'one.png'));
    await putImage(join(root, 'images', 'two, with comma.png'));
    await putImage(join(root, 'images', 'three.jpg'), 'jpeg');
    await putImage(join(root, 'images', 'four.png'));
    await putImage(join(root, 'images', 'five.png'));
    await putImage(join(scratch, 'csv-escape.png'));
    put(
      join(root, 'meta', 'manifest.csv'),
      [
        'filename,class,caption',
        '../images/one.png,Golden_Retriever,"a dog, sitting"',
        '"../images/two, with comma.png",golden_retriever,"a ""quoted"" dog"',
        '../images/three.jpg,tabby cat,',
        '../images/four.png,,no label here',
        '../../csv-escape.png,cat,escapes the root',
        '../images/missing.png,cat,',
        '../images/one.png,cat,listed again',
        `${join(root, 'images', 'five.png')},absolute_inside,an absolute path inside the root`,
        '/etc/hostname,cat,an absolute path outside',
      ].join('\n'),
    );
    const dataset = await importDataset(root, { manifest: 'meta/manifest.csv' });
    expect(dataset.layout).toBe('manifest');
    expect(dataset.manifest).toBe(join(root, 'meta', 'manifest.csv'));
    expect(dataset.classes.map((c) => [c.folder, c.name])).toEqual([
      ['Golden_Retriever', 'golden retriever'],
      ['absolute_inside', 'absolute inside'],
      ['golden_retriever', 'golden retriever'],
      ['tabby cat', 'tabby cat'],
    ]);
    expect(dataset.warnings.join('\n')).toMatch(/both get the prompt name "golden retriever"/);
    const two = dataset.items.find((i) => i.relativePath === 'images/two, with comma.png');
    expect(two?.caption).toBe('a "quoted" dog');
    expect(dataset.items.find((i) => i.relativePath === 'images/one.png')?.caption).toBe('a dog, sitting');
    expect(dataset.items.find((i) => i.relativePath === 'images/three.jpg')?.caption).toBeUndefined();
    expect(skipOf(dataset, '../images/four.png')).toMatchObject({ code: 'bad-row' });
    expect(skipOf(dataset, '../../csv-escape.png')).toMatchObject({ code: 'outside-root' });
    expect(skipOf(dataset, '../images/missing.png')).toMatchObject({ code: 'missing' });
    expect(skipOf(dataset, '/etc/hostname')).toMatchObject({ code: 'outside-root' });
    expect(dataset.items.find((i) => i.relativePath === 'images/five.png')?.caption).toMatch(
      /absolute path inside/,
    );
    expect(dataset.skipped.filter((s) => s.code === 'listed-twice')).toHaveLength(1);
    expect(dataset.splitSource).toBe('seeded');
  });

  it('reads a CSV without a header, rejoins unquoted captions with commas, sorts numeric labels numerically', async () => {
    const root = freshRoot('csv-no-header');
    for (let i = 0; i < 12; i++) await putImage(join(root, 'px', `${i}.png`));
    const rows = Array.from({ length: 12 }, (_, i) => `px/${i}.png,${i % 11},a photo, of class ${i % 11}`);
    put(join(root, 'data.csv'), `\uFEFF${rows.join('\r\n')}\r\n`);
    const dataset = await importDataset(join(root, 'data.csv'));
    expect(dataset.root).toBe(root);
    expect(dataset.classes.map((c) => c.folder)).toEqual([
      '0',
      '1',
      '2',
      '3',
      '4',
      '5',
      '6',
      '7',
      '8',
      '9',
      '10',
    ]);
    expect(dataset.items.find((i) => i.relativePath === 'px/3.png')?.caption).toBe('a photo, of class 3');
    expect(dataset.items).toHaveLength(12);
  });

  it('takes splits from a split column or from train/test path prefixes', async () => {
    const root = freshRoot('csv-splits');
    for (const name of ['a', 'b', 'c', 'd']) await putImage(join(root, 'train', `${name}.png`));
    await putImage(join(root, 'test', 'e.png'));
    put(join(root, 'by-path.csv'), 'train/a.png,x\ntrain/b.png,y\ntest/e.png,x\n');
    const byPath = await importDataset(root, { manifest: 'by-path.csv' });
    expect(byPath.splitSource).toBe('manifest');
    expect(byPath.items.map((i) => i.split)).toEqual(['test', 'train', 'train']);

    put(
      join(root, 'by-column.csv'),
      'path,label,split\ntrain/a.png,x,val\ntrain/b.png,x,\ntrain/c.png,x,\ntrain/d.png,x,bogus\n',
    );
    const byColumn = await importDataset(root, { manifest: 'by-column.csv' });
    expect(byColumn.splitSource).toBe('manifest+seeded');
    expect(byColumn.items.find((i) => i.relativePath === 'train/a.png')?.split).toBe('val');
    expect(skipOf(byColumn, 'train/d.png')).toMatchObject({ code: 'bad-row' });
  });

  it('treats labels.csv next to a single images/ folder as the manifest, not as a class folder', async () => {
    const root = freshRoot('labels-and-images');
    await putImage(join(root, 'images', '1.png'));
    await putImage(join(root, 'images', '2.png'));
    put(join(root, 'labels.csv'), 'path,label\nimages/1.png,cat\nimages/2.png,dog\n');
    const dataset = await importDataset(root);
    expect(dataset.layout).toBe('manifest');
    expect(dataset.classes.map((c) => c.folder)).toEqual(['cat', 'dog']);
    expect(dataset.warnings.join('\n')).toMatch(/labels\.csv lists the items/);
  });

  it('parses RFC 4180 CSV: quotes, doubled quotes, line breaks inside quotes, CRLF, blank lines', () => {
    const rows = parseCsv('a,"b,c","say ""hi"""\r\n\r\n"multi\nline",x\nlast');
    expect(rows).toEqual([
      { line: 1, endLine: 1, fields: ['a', 'b,c', 'say "hi"'] },
      { line: 3, endLine: 4, fields: ['multi\nline', 'x'] },
      { line: 5, endLine: 5, fields: ['last'] },
    ]);
  });

  it('refuses a quote that is never closed, naming the file and the line it opens on', async () => {
    // Read leniently, the open quote would swallow every later row into one field.
    const error = vetbenchErrorOf(() => parseCsv('a,b\nc,"d,e\nf,g\nh,i\n', 'm.csv'));
    expect(error.code).toBe('csv-unterminated-quote');
    expect(error.message).toMatch(/^m\.csv line 2: the quote opened on this line is never closed/);
    expect(error.hint).toMatch(/""/);
    // A stray quote inside an unquoted field, or text after a closing quote, is kept as written.
    expect(parseCsv('a"b,"c"d\n')).toEqual([{ line: 1, endLine: 1, fields: ['a"b', 'cd'] }]);
    // Through the importer the message names the user's manifest.
    const root = freshRoot('csv-unclosed');
    put(join(root, 'images', 'a.png'), 'x');
    put(join(root, 'labels.csv'), 'path,label,caption\nimages/a.png,cat,"a cat\n');
    const imported = await importDataset(root, { manifest: 'labels.csv' }).catch((e: unknown) => e);
    expect(imported).toBeInstanceOf(VetbenchError);
    expect((imported as VetbenchError).code).toBe('csv-unterminated-quote');
    expect((imported as VetbenchError).message).toContain(join(root, 'labels.csv'));
  });

  it('never drops a row silently: stray quotes, lost line breaks and extra fields are listed with their lines', async () => {
    const root = freshRoot('csv-hostile');
    for (let i = 0; i < 8; i++) await putImage(join(root, 'px', `${i}.png`));
    const rows = Array.from({ length: 8 }, (_, i) => `px/${i}.png,c${i % 2}`);
    // An unterminated quote: refused, naming the line the quote opens on.
    const open = [...rows];
    open[2] = 'px/2.png,"c0';
    put(join(root, 'open.csv'), `path,label\n${open.join('\n')}\n`);
    const unterminated = await importDataset(root, { manifest: 'open.csv' }).catch((e: unknown) => e);
    expect(unterminated).toBeInstanceOf(VetbenchError);
    expect((unterminated as VetbenchError).message).toMatch(
      /open\.csv line 4: the quote opened on this line is never closed/,
    );
    // A stray quote closed by a later one: the swallowed lines are one skipped row, named with its lines.
    const stray = [...rows];
    stray[1] = 'px/1.png,"c1';
    stray[4] = 'px/4.png,c0"';
    put(join(root, 'stray.csv'), `path,label\n${stray.join('\n')}\n`);
    const strayed = await importDataset(root, { manifest: 'stray.csv' });
    expect(strayed.items).toHaveLength(4);
    expect(strayed.skipped.map((k) => k.reason).join('\n')).toMatch(
      /stray\.csv line 3: lines 3-6 \(4 lines\) were read as one row: a quote opened on line 3 closes only on line 6/,
    );
    // A lost line break without a header: the next row folded into the caption is refused, not captioned.
    put(join(root, 'folded.csv'), 'px/0.png,c0,a photo px/1.png,c1,another\npx/2.png,c0,fine, with comma\n');
    const folded = await importDataset(root, { manifest: 'folded.csv' });
    expect(folded.items.map((i) => i.relativePath)).toEqual(['px/2.png']);
    expect(folded.skipped[0]!.reason).toMatch(
      /folded\.csv line 1: .*looks like an image path \(a missing line break\?\)/,
    );
    // More fields than the header names.
    put(join(root, 'wide.csv'), 'path,label\npx/0.png,c0,extra\npx/1.png,c1\npx/2.png,c0,\n');
    const wide = await importDataset(root, { manifest: 'wide.csv' });
    expect(wide.items.map((i) => i.relativePath).sort()).toEqual(['px/1.png', 'px/2.png']);
    expect(wide.skipped[0]!.reason).toMatch(/wide\.csv line 2: 3 fields but the header names 2/);
  });
});

describe('folders plus a captions CSV (the demo dataset layout)', () => {
  let root: string;
  let dataset: Dataset;

  beforeAll(async () => {
    root = freshRoot('demo-like');
    const rows = ['path,label,caption'];
    const firstClass = DEMO_CLASSES[0]!.name;
    const secondClass = DEMO_CLASSES[1]!.name;
    for (const split of ['train', 'test'] as const) {
      for (let c = 0; c < 3; c++) {
        for (let i = 0; i < 2; i++) {
          const image = renderDemoImage(DEMO_CLASSES[c]!, c, split, i);
          put(join(root, image.relativePath), image.png);
          // two rows of the first class go wrong: an unknown class, and another class than the folder's
          const label = split === 'train' && c === 0 ? (i === 0 ? 'unicorn' : secondClass) : image.className;
          rows.push(`${image.relativePath},${label},"${image.caption}"`);
        }
      }
    }
    rows.push(`train/${firstClass}/nothing.png,${firstClass},no such file`);
    rows.push(`../outside.png,${firstClass},leaves the root`);
    put(join(root, 'captions.csv'), `${rows.join('\n')}\n`);
    put(join(root, 'VERSION'), '1\n');
    dataset = await importDataset(root);
  });

  it('lets the folders define the items and the CSV add captions', () => {
    expect(dataset.layout).toBe('split-folders');
    expect(dataset.manifest).toBe(join(root, 'captions.csv'));
    expect(dataset.classes.map((c) => c.folder)).toEqual(
      DEMO_CLASSES.slice(0, 3)
        .map((c) => c.name)
        .sort(),
    );
    expect(dataset.items).toHaveLength(12);
    const captioned = dataset.items.filter((i) => i.caption !== undefined);
    expect(captioned.length).toBe(11); // the row with an unknown class is refused, so that image has none
    const first = DEMO_CLASSES[0]!.name;
    const item = dataset.items.find((i) => i.relativePath === `test/${first}/${first}_0000.png`);
    expect(item?.caption).toBe(renderDemoImage(DEMO_CLASSES[0]!, 0, 'test', 0).caption);
  });

  it('lists an unknown class, a missing file and a path leaving the root; warns about a disagreeing label', () => {
    const first = DEMO_CLASSES[0]!.name;
    expect(skipOf(dataset, `train/${first}/${first}_0000.png`)).toMatchObject({ code: 'unknown-class' });
    expect(skipOf(dataset, `train/${first}/nothing.png`)).toMatchObject({ code: 'missing' });
    expect(skipOf(dataset, '../outside.png')).toMatchObject({ code: 'outside-root' });
    expect(dataset.warnings.join('\n')).toMatch(/1 row\(s\) give a label other than the image's folder/);
    const firstLabel = dataset.classes.find((c) => c.folder === first)!.index;
    expect(dataset.items.find((i) => i.relativePath === `train/${first}/${first}_0001.png`)?.label).toBe(
      firstLabel,
    );
  });
});

describe('class-name overrides', () => {
  let root: string;

  beforeAll(async () => {
    root = freshRoot('overrides');
    for (const cls of ['car_side', 'Faces_easy', 'n01440764']) await putImage(join(root, cls, '1.png'));
  });

  it('classnames.json renames some folders and keeps the cleaned names of the rest', async () => {
    put(join(root, 'classnames.json'), JSON.stringify({ n01440764: 'tench', nonexistent: 'x' }));
    const dataset = await importDataset(root);
    expect(dataset.classes.map((c) => c.name)).toEqual(['faces easy', 'car side', 'tench']);
    expect(dataset.classNamesFile).toBe(join(root, 'classnames.json'));
    expect(dataset.warnings.join('\n')).toMatch(/nonexistent/);
    rmSync(join(root, 'classnames.json'));
  });

  it('classnames.txt gives one name per class in class order; a wrong count is a clear error', async () => {
    put(join(root, 'classnames.txt'), 'human face\nside view of a car\ntench fish\n');
    const dataset = await importDataset(root);
    expect(dataset.classes.map((c) => c.name)).toEqual(['human face', 'side view of a car', 'tench fish']);
    put(join(root, 'classnames.txt'), 'only one\n');
    const error = await importDataset(root).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VetbenchError);
    expect((error as VetbenchError).message).toMatch(/1 names but the dataset has 3 classes/);
    rmSync(join(root, 'classnames.txt'));
  });

  it('an override file can be given by option', async () => {
    put(join(scratch, 'my-names.json'), JSON.stringify({ car_side: 'automobile' }));
    const dataset = await importDataset(root, { classNames: join(scratch, 'my-names.json') });
    expect(dataset.classes.map((c) => c.name)).toEqual(['faces easy', 'automobile', 'n01440764']);
  });
});

describe('roots that give nothing', () => {
  it('a root with no images imports as an empty dataset, not a crash', async () => {
    const root = freshRoot('no-images');
    put(join(root, 'notes', 'readme.txt'), 'hello');
    put(join(root, 'empty.jpg'), '');
    const dataset = await importDataset(root);
    expect(dataset.items).toEqual([]);
    expect(dataset.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a missing root or a non-CSV file is a VetbenchError with a hint', async () => {
    const missing = await importDataset(join(scratch, 'does-not-exist')).catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: 'dataset-not-found' });
    expect((missing as VetbenchError).hint).toMatch(/one subfolder per class/);
    put(join(scratch, 'file.txt'), 'x');
    await expect(importDataset(join(scratch, 'file.txt'))).rejects.toMatchObject({
      code: 'dataset-not-a-folder',
    });
  });
});

describe('Caltech-101 subset (shared, read in place)', () => {
  it('has 32 classes and split counts equal to the lines of train.txt and test.txt', async () => {
    const lines = (file: string): string[] =>
      readFileSync(join(CALTECH, file), 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '');
    const train = lines('train.txt');
    const test = lines('test.txt');
    const dataset = await importDataset(CALTECH);
    expect(dataset.classes).toHaveLength(32);
    expect(dataset.splitSource).toBe('split-files');
    expect(dataset.skipped).toEqual([]);
    expect(dataset.items.filter((i) => i.split === 'train')).toHaveLength(train.length);
    expect(dataset.items.filter((i) => i.split === 'test')).toHaveLength(test.length);
    for (const cls of dataset.classes) {
      expect(cls.counts.train).toBe(train.filter((l) => l.startsWith(`${cls.folder}/`)).length);
      expect(cls.counts.test).toBe(test.filter((l) => l.startsWith(`${cls.folder}/`)).length);
    }
    expect(dataset.classes.find((c) => c.folder === 'grand_piano')?.name).toBe('grand piano');
    expect(dataset.classes.find((c) => c.folder === 'stop_sign')?.name).toBe('stop sign');
  });
});
