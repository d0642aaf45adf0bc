import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliRunner } from '../helpers/cli.js';
import { encodePng } from '../../engine/demo/png.js';
import { MAD_TO_SIGMA, median } from '../../engine/scan/anomaly-index.js';
import { MARGIN_SPREAD_FLOOR } from '../../engine/scan/backdoor-scan.js';
import { DEFAULT_PROBES } from '../../engine/scan/probe-ladder.js';
import { Rng } from '../../engine/util/rng.js';
import { FIXTURE_DIR } from '../helpers/compare.js';

const MODEL = `${FIXTURE_DIR}model.safetensors`;

const vetbench = cliRunner({ timeoutMs: 280_000 });

function writeColourDataset(): string {
  const root = mkdtempSync(join(tmpdir(), 'vetbench-scan-'));
  const rng = new Rng(2);
  const colours: [string, number[]][] = [
    ['red', [220, 30, 30]],
    ['green', [30, 200, 40]],
    ['blue', [30, 50, 220]],
  ];
  for (const split of ['train', 'test']) {
    for (const [name, rgb] of colours) {
      mkdirSync(join(root, split, name), { recursive: true });
      for (let i = 0; i < 3; i++) {
        const px = new Uint8Array(32 * 32 * 3);
        for (let p = 0; p < 32 * 32; p++)
          for (let c = 0; c < 3; c++) px[p * 3 + c] = Math.max(0, Math.min(255, rgb[c]! + rng.normal() * 20));
        writeFileSync(join(root, split, name, `${name}_${i}.png`), encodePng(32, 32, px));
      }
    }
  }
  return root;
}

interface ScanJson {
  verdict: string;
  suspect: { name: string } | null;
  score: number;
  threshold: number;
  images: number;
  perClass: { name: string; flips: number; n: number; meanMargin: number; anomalyIndex: number }[];
}

interface ProbeJson {
  verdict: string;
  score: number;
  images: number;
  probes: {
    label: string;
    draws: number;
    perClass: { name: string; n: number; share: number }[];
    decision: { flagged: boolean; top: { share: number } };
  }[];
  run: { id: number };
}

beforeAll(() => {
  if (!existsSync(new URL('../../dist/electron/cli/main.js', import.meta.url))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
  }
});

describe('vetbench scan', () => {
  it('reports every class with flips, margin and a consistent anomaly index, and a verdict', async () => {
    const root = writeColourDataset();
    const r = await vetbench([
      'scan',
      '--model',
      MODEL,
      '--dataset',
      root,
      '--shots',
      '2',
      '--steps',
      '2',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as ScanJson;
    expect(report.images).toBe(6);
    // classes in the dataset's (sorted folder) order
    expect(report.perClass.map((c) => c.name)).toEqual(['blue', 'green', 'red']);
    for (const c of report.perClass) {
      expect(c.n).toBe(4); // the 2 + 2 sampled images of the other classes
      expect(c.flips).toBeGreaterThanOrEqual(0);
      expect(c.flips).toBeLessThanOrEqual(4);
    }
    // The index is the robust z-score of the margins, recomputed here from the reported margins.
    const margins = report.perClass.map((c) => c.meanMargin);
    const m = median(margins);
    const sigma = Math.max(MAD_TO_SIGMA * median(margins.map((x) => Math.abs(x - m))), MARGIN_SPREAD_FLOOR);
    report.perClass.forEach((c) => expect(c.anomalyIndex).toBeCloseTo((c.meanMargin - m) / sigma, 6));
    expect(report.score).toBeCloseTo(Math.max(...report.perClass.map((c) => c.anomalyIndex)), 9);
    expect(report.verdict).toBe(report.score > report.threshold ? 'backdoor-suspected' : 'no-evidence');
    expect(report.suspect === null).toBe(report.verdict === 'no-evidence');
  }, 300_000);

  it('probes the known trigger families with --method family-probe', async () => {
    const root = writeColourDataset();
    const r = await vetbench([
      'scan',
      '--method',
      'family-probe',
      '--model',
      MODEL,
      '--dataset',
      root,
      '--shots',
      '2',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as ProbeJson;
    expect(report.images).toBe(6);
    expect(report.probes.map((p) => p.label)).toEqual(DEFAULT_PROBES.map((p) => p.label));
    for (const p of report.probes) {
      expect(p.perClass.map((c) => c.name)).toEqual(['blue', 'green', 'red']);
      // 2 + 2 images of the other classes per random instance drawn
      p.perClass.forEach((c) => expect(c.n).toBe(4 * p.draws));
    }
    expect(report.score).toBeCloseTo(Math.max(...report.probes.map((p) => p.decision.top.share)), 12);
    expect(report.verdict).toBe(
      report.probes.some((p) => p.decision.flagged) ? 'backdoor-suspected' : 'no-evidence',
    );
    expect(report.run.id).toBeGreaterThan(0);
  }, 300_000);

  it('compares with --reference and refuses --reference without the family probe', async () => {
    const root = writeColourDataset();
    const r = await vetbench([
      'scan',
      '--method',
      'family-probe',
      '--reference',
      MODEL,
      '--model',
      MODEL,
      '--dataset',
      root,
      '--shots',
      '2',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as ProbeJson & { referenced: boolean; flagged: unknown[] };
    expect(report.referenced).toBe(true);
    // the model compared with itself: nothing is more than the reference does
    expect(report.verdict).toBe('no-evidence');
    expect(report.flagged).toEqual([]);
    const bad = await vetbench(['scan', '--reference', MODEL, '--model', MODEL, '--dataset', root]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--reference applies to --method family-probe only/);
  }, 300_000);

  it('refuses a bad option before loading anything', async () => {
    const r = await vetbench(['scan', '--model', MODEL, '--dataset', '/nonexistent', '--shots', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--shots must be a positive integer/);
  }, 300_000);
});
