import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliRunner } from '../helpers/cli.js';
import { Rng } from '../../engine/util/rng.js';
import { sharedPath } from '../helpers/shared-folder.js';

const CALTECH = sharedPath('datasets', 'caltech101-subset');

const vetbench = cliRunner({ timeoutMs: 120_000 });

interface InspectJson {
  classes: { name: string; folder: string; count: number; counts: Record<string, number> }[];
  total: number;
  splits: string[];
  counts: Record<string, number>;
  skipped: { path: string; code: string; reason: string }[];
  duplicates: { paths: string[] }[];
  fingerprint: string;
  verified: boolean;
}

let scratch: string;
let messy: string;

function put(path: string, content: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

async function png(seed: number): Promise<Buffer> {
  const rng = new Rng(seed);
  const raw = Buffer.alloc(10 * 10 * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = rng.int(256);
  return sharp(raw, { raw: { width: 10, height: 10, channels: 3 } })
    .png()
    .toBuffer();
}

beforeAll(async () => {
  if (!existsSync(new URL('../../dist/electron/cli/main.js', import.meta.url))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
  }
  scratch = mkdtempSync(join(tmpdir(), 'vetbench-dataset-cli-'));
  messy = join(scratch, 'messy');
  for (let i = 0; i < 6; i++) put(join(messy, 'car_side', `${i}.png`), await png(i));
  for (let i = 0; i < 4; i++) put(join(messy, 'Faces_easy', `${i}.png`), await png(100 + i));
  put(join(messy, 'Faces_easy', 'copy.png'), await png(100));
  for (let i = 0; i < 22; i++) put(join(messy, 'car_side', `broken_${String(i).padStart(2, '0')}.jpg`), '');
  put(join(messy, 'outside.png'), await png(999));
  symlinkSync(join(scratch, 'elsewhere.png'), join(messy, 'car_side', 'dangling.png'));
  put(join(scratch, 'secret.png'), await png(1000));
  symlinkSync(join(scratch, 'secret.png'), join(messy, 'Faces_easy', 'escape.png'));
  put(join(messy, 'Faces_easy', '.DS_Store'), 'x');
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe('vetbench dataset inspect', () => {
  it('--json reports classes, usable total, skipped files with reasons, duplicates and a fingerprint', async () => {
    const r = await vetbench(['dataset', 'inspect', messy, '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as InspectJson;
    expect(report.classes.map((c) => [c.name, c.folder, c.count])).toEqual([
      ['faces easy', 'Faces_easy', 5],
      ['car side', 'car_side', 6],
    ]);
    expect(report.total).toBe(11);
    expect(report.counts.train! + report.counts.test!).toBe(11);
    expect(report.skipped).toHaveLength(22 + 3);
    expect(report.skipped.find((s) => s.path === 'Faces_easy/escape.png')).toMatchObject({
      code: 'outside-root',
    });
    expect(report.skipped.find((s) => s.path === 'outside.png')).toMatchObject({ code: 'no-class-folder' });
    expect(report.skipped.find((s) => s.path === 'car_side/broken_00.jpg')?.reason).toMatch(/empty/);
    expect(report.duplicates.map((d) => d.paths)).toEqual([['Faces_easy/0.png', 'Faces_easy/copy.png']]);
    expect(report.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it('prints a human report: counts per split, the first 20 skipped files and how many more, the fingerprint', async () => {
    const r = await vetbench(['dataset', 'inspect', messy]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/2 classes, 11 usable images \(train \d+, test \d+\)/);
    expect(r.stdout).toMatch(/faces easy\s+Faces_easy\s+\d+\s+\d+/);
    expect(r.stdout).toMatch(/Skipped 25:/);
    expect(r.stdout).toMatch(/\.\.\. and 5 more \(--json lists them all\)/);
    expect(r.stdout).toMatch(/Faces_easy\/0\.png = Faces_easy\/copy\.png/);
    expect(r.stdout).toMatch(/Fingerprint: [0-9a-f]{64}/);
  });

  it('--split-seed changes the seeded split (and so the fingerprint); --verify decodes every image', async () => {
    const a = JSON.parse((await vetbench(['dataset', 'inspect', messy, '--json'])).stdout) as InspectJson;
    const b = JSON.parse(
      (await vetbench(['dataset', 'inspect', messy, '--json', '--split-seed', '7'])).stdout,
    ) as InspectJson;
    expect(b.fingerprint).not.toBe(a.fingerprint);
    const verified = JSON.parse(
      (await vetbench(['dataset', 'inspect', messy, '--json', '--verify'])).stdout,
    ) as InspectJson;
    expect(verified.verified).toBe(true);
    expect(verified.fingerprint).toBe(a.fingerprint);
    const bad = await vetbench(['dataset', 'inspect', messy, '--split-seed', 'abc']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--split-seed must be an integer/);
  });

  it('exits 2 with a clear message when no image is usable', async () => {
    const empty = join(scratch, 'empty');
    put(join(empty, 'cats', 'notes.txt'), 'no images here');
    const r = await vetbench(['dataset', 'inspect', empty]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no usable images in .*empty/);
    expect(r.stderr).toMatch(/->/);
    const missing = await vetbench(['dataset', 'inspect', join(scratch, 'not-there')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no dataset folder or built-in dataset named/);
  });

  it('reads the shared Caltech-101 subset in place: 32 classes, train/test from its split files', async () => {
    const r = await vetbench(['dataset', 'inspect', CALTECH, '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as InspectJson;
    expect(report.classes).toHaveLength(32);
    expect(report.counts).toEqual({ train: 2016, test: 1009 });
    expect(report.total).toBe(3025);
    expect(report.skipped).toEqual([]);
  });
});
