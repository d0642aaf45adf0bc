import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { TEST_DATA_HOME, cliRunner } from '../helpers/cli.js';
import { parseNpy } from '../../engine/tensor/npy.js';
import { FIXTURE_DIR } from '../helpers/compare.js';

const MODEL = `${FIXTURE_DIR}model.safetensors`;

const vetbench = cliRunner({ timeoutMs: 120_000 });

beforeAll(() => {
  if (!existsSync(new URL('../../dist/electron/cli/main.js', import.meta.url))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
  }
});

describe('vetbench explain', () => {
  it('writes a Grad-CAM overlay PNG, the raw maps and a summary for clean and triggered images', async () => {
    const out = mkdtempSync(join(tmpdir(), 'vb-explain-'));
    const r = await vetbench([
      'explain',
      'gradcam',
      '--model',
      MODEL,
      '--dataset',
      'demo',
      '--trigger',
      'badnet',
      '--target',
      'banana',
      '--count',
      '3',
      '--out',
      out,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as {
      images: number;
      result: { block: number };
      files: string[];
      run: { id: number; project: string };
    };
    // The explanation is a run of the project in the throwaway data folder; its artifacts are copied to --out.
    expect(summary.run.project.startsWith(TEST_DATA_HOME)).toBe(true);
    for (const name of summary.files) expect(existsSync(join(out, name)), name).toBe(true);
    expect(summary.images).toBe(3);
    expect(summary.result.block).toBe(1); // -2 on a 3-block model
    const png = readFileSync(join(out, 'gradcam.png'));
    expect([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join('')).toBe('PNG');
    const maps = parseNpy(readFileSync(join(out, 'gradcam_triggered.npy')));
    expect(maps.shape).toEqual([3, 4, 4]);
    const classes = parseNpy(readFileSync(join(out, 'gradcam_triggered_class.npy')));
    expect(Array.from(classes.values as Float32Array)).toEqual([1, 1, 1]); // banana is class 1 of the demo
    expect(existsSync(join(out, 'summary.json'))).toBe(true);
  });

  it('refuses an unknown explainer, a lone --trigger and a file that is not a prompt file', async () => {
    const out = mkdtempSync(join(tmpdir(), 'vb-explain-'));
    const unknown = await vetbench(['explain', 'lime', '--model', MODEL, '--dataset', 'demo', '--out', out]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(
      /unknown explanation 'lime'[\s\S]*gradcam, attention, rollout, embedding-map, pr/,
    );
    const lone = await vetbench([
      'explain',
      'attention',
      '--model',
      MODEL,
      '--dataset',
      'demo',
      '--trigger',
      'badnet',
      '--out',
      out,
    ]);
    expect(lone.code).toBe(2);
    expect(lone.stderr).toContain('--trigger and --target go together');
    const prompts = await vetbench([
      'explain',
      'attention',
      '--model',
      MODEL,
      '--dataset',
      'demo',
      '--prompts',
      MODEL,
      '--out',
      out,
    ]);
    expect(prompts.code).toBe(2);
    expect(prompts.stderr).toMatch(/not a Vetbench prompt file/);
    const project = join(out, 'p.vbproj');
    const overlayCompare = await vetbench([
      'explain',
      'gradcam',
      '--model',
      MODEL,
      '--dataset',
      'demo',
      '--compare',
      MODEL,
      '--labels',
      'a,b',
      '--project',
      project,
      '--out',
      out,
    ]);
    expect(overlayCompare.code).toBe(2);
    expect(overlayCompare.stderr).toContain(
      'gradcam draws one model; --compare, --labels only apply to embedding-map and pr',
    );
    // refused before anything was copied into the project's artifact folder
    expect(existsSync(join(out, 'p.artifacts'))).toBe(false);
  });
});

describe('vetbench pr', () => {
  it('prints PR per block for the four perturbations and the trigger', async () => {
    const r = await vetbench([
      'pr',
      '--model',
      MODEL,
      '--dataset',
      'demo',
      '--limit',
      '6',
      '--trigger',
      'badnet',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as {
      layers: number;
      images: number;
      rows: { id: string; pr: number[] }[];
    };
    expect(report.layers).toBe(3);
    expect(report.images).toBe(6);
    expect(report.rows.map((x) => x.id)).toEqual([
      'gaussian-noise',
      'gaussian-blur',
      'color-jitter',
      'horizontal-flip',
      'trigger:badnet',
    ]);
    for (const row of report.rows) {
      expect(row.pr).toHaveLength(3);
      for (const v of row.pr) expect(v > -1 && v <= 1 + 1e-6).toBe(true);
    }
    // noise of std 0.001 barely moves the class token
    expect(Math.min(...report.rows[0]!.pr)).toBeGreaterThan(0.999);
    const text = await vetbench(['pr', '--model', MODEL, '--dataset', 'demo', '--limit', '2']);
    expect(text.stdout).toMatch(/block\s+gaussian-noise\s+gaussian-blur\s+color-jitter\s+horizontal-flip/);
  });
});
