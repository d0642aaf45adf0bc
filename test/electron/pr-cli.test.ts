import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createEncoder } from '../../engine/clip/clip-encoder.js';
import { loadClipWeights } from '../../engine/clip/load-weights.js';
import { ImageLoader } from '../../engine/datasets/image-loader.js';
import { importDataset } from '../../engine/datasets/import-dataset.js';
import { requireSplit } from '../../engine/eval/require-split.js';
import { defaults } from '../../engine/methods/params.js';
import { savePromptFile } from '../../engine/prompts/prompt-file.js';
import { findTriggerFamily } from '../../engine/methods/registry.js';
import {
  perturbationResistivity,
  type PrBatch,
  type PrRow,
} from '../../engine/metrics/perturbation-resistivity.js';
import {
  standardPerturbations,
  triggerPerturbation,
} from '../../engine/metrics/perturbations/standard-perturbations.js';
import { Rng } from '../../engine/util/rng.js';
import { CONTRASTIVE_METHOD } from '../../electron/jobs/kinds/pretrain-job.js';
import { ProjectStore } from '../../electron/store/project-store.js';
import { cliRunner } from '../helpers/cli.js';
import { FIXTURE_DIR } from '../helpers/compare.js';

const MODEL = `${FIXTURE_DIR}model.safetensors`;
const vetbench = cliRunner({ timeoutMs: 120_000 });

interface PrJson {
  layers: number;
  images: number;
  rows: PrRow[];
  split: string;
  seed: number;
  failed: string[];
  prompts: null;
  dataset: { root: string; fingerprint: string };
  trigger: { method: string; seed: number };
  run: { id: number; project: string };
}

beforeAll(() => {
  if (!existsSync(new URL('../../dist/electron/cli/main.js', import.meta.url))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
  }
});

describe('vetbench pr', () => {
  const project = join(mkdtempSync(join(tmpdir(), 'vb-pr-cli-')), 'pr.vbproj');
  const args = [
    'pr',
    '--model',
    MODEL,
    '--dataset',
    'demo',
    '--limit',
    '10',
    '--trigger',
    'badnet',
    '--batch-size',
    '4',
    '--seed',
    '3',
    '--project',
    project,
  ];
  /** The first test's report: later tests compare with it instead of measuring again. */
  let plain: PrJson | undefined;

  it('runs as an eval run of the project: the same PR per block as the engine in-process, recorded as metrics', async () => {
    const r = await vetbench([...args, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as PrJson;
    plain = report;
    expect(report.run.project).toBe(project);
    expect(report).toMatchObject({
      layers: 3,
      images: 10,
      split: 'test',
      seed: 3,
      failed: [],
      prompts: null,
    });
    expect(report.trigger).toMatchObject({ method: 'badnet', seed: 3 });
    expect(report.rows.map((row) => row.id)).toEqual([
      'gaussian-noise',
      'gaussian-blur',
      'color-jitter',
      'horizontal-flip',
      'trigger:badnet',
    ]);

    // The same sample (path order, shuffled by the seed), perturbations and trigger, measured here directly.
    const weights = await loadClipWeights(MODEL);
    const dataset = await importDataset(report.dataset.root);
    const sorted = requireSplit(dataset, 'test').sort((a, b) => (a.relativePath < b.relativePath ? -1 : 1));
    const items = new Rng(3).shuffle(sorted).slice(0, 10);
    const resolution = weights.config.vision.imageResolution;
    const loader = new ImageLoader({ resolution, cacheBytes: 0, normalize: false });
    async function* batches(): AsyncGenerator<PrBatch> {
      for await (const b of loader.batches(items, 4))
        yield { pixels01: b.pixels, keys: b.items.map((i) => i.relativePath) };
    }
    const badnet = findTriggerFamily('badnet');
    const trigger = await badnet.create({ params: defaults(badnet.params), seed: 3, resolution });
    const encoder = await createEncoder(weights);
    const direct = await perturbationResistivity(encoder, batches(), [
      ...standardPerturbations(3),
      triggerPerturbation(trigger),
    ]);
    await encoder.dispose();
    for (const [k, row] of direct.rows.entries()) {
      for (const [d, value] of row.pr.entries()) expect(report.rows[k]!.pr[d]).toBeCloseTo(value, 6);
      for (const [d, value] of row.sd.entries()) expect(report.rows[k]!.sd[d]).toBeCloseTo(value, 6);
    }
    // The run: eval kind, PR per block as one metric series per perturbation (step = block), report and chart.
    const store = ProjectStore.open(project);
    try {
      const run = store.getRun(report.run.id);
      expect(run).toMatchObject({
        kind: 'eval',
        method: 'perturbation-resistivity',
        status: 'done',
        seed: 3,
      });
      const series = new Map(store.series(run.id).map((s) => [s.name, s.points]));
      for (const row of report.rows)
        expect(series.get(`pr/${row.id}`)).toEqual(row.pr.map((value, step) => ({ step, value })));
      expect(run.finalMetrics['pr/trigger:badnet']).toBe(report.rows[4]!.pr[2]);
      const names = store.listArtifacts(run.id).map((a) => a.name);
      expect(names).toEqual(expect.arrayContaining(['pr.json', 'pr-curves.svg']));
      const svg = store.listArtifacts(run.id).find((a) => a.name === 'pr-curves.svg')!;
      expect(readFileSync(store.getArtifact(svg.id).path, 'utf8')).toContain('<svg');
    } finally {
      store.close();
    }
  });

  it('prints the table as before: one line per block, one column per perturbation', async () => {
    const json = plain!;
    const r = await vetbench(args);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^run \d+ in .*pr\.vbproj$/m);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('PR_d = mean cos(CLS_d(x), CLS_d(x+δ)) over 10 image(s) of the test split');
    expect(lines[1]!.split(/\s+/)).toEqual(['block', ...json.rows.map((row) => row.id)]);
    expect(lines).toHaveLength(2 + json.layers);
    for (let d = 0; d < json.layers; d++)
      expect(lines[2 + d]!.trim().split(/\s+/)).toEqual([
        String(d),
        ...json.rows.map((row) => row.pr[d]!.toFixed(4)),
      ]);
  });

  it("--prompts: the project's copy of a deep prompt file is read; blocks before its depth are unchanged", async () => {
    const weights = await loadClipWeights(MODEL);
    const width = weights.config.vision.width;
    const rng = new Rng(12);
    const prompts = join(mkdtempSync(join(tmpdir(), 'vb-pr-prompts-')), 'rvpt.prompts.safetensors');
    await savePromptFile(prompts, {
      modelFingerprint: weights.source.fingerprint,
      classNames: ['a', 'b'],
      templates: ['a photo of a {}.'],
      method: { id: 'rvpt', params: { alpha: 2 }, seed: 1 },
      metrics: {},
      kind: 'visual-deep',
      depth: 2,
      tensors: {
        prompts: { data: Float32Array.from({ length: 4 * width }, () => rng.normal()), shape: [1, 4, width] },
      },
    });
    const unprompted = plain!;
    const r = await vetbench([...args, '--prompts', prompts, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const prompted = JSON.parse(r.stdout) as Omit<PrJson, 'prompts'> & {
      prompts: { path: string; sha256: string; depth: number };
    };
    expect(prompted.prompts).toMatchObject({ path: prompts, depth: 2 });
    expect(prompted.prompts.sha256).toBe(createHash('sha256').update(readFileSync(prompts)).digest('hex'));
    for (const [k, row] of prompted.rows.entries()) {
      expect(row.pr[0]).toBeCloseTo(unprompted.rows[k]!.pr[0]!, 6);
      expect(row.pr[1]).toBeCloseTo(unprompted.rows[k]!.pr[1]!, 6);
    }
    // Block 2 carries the prompts: under the flip its class token moves differently.
    expect(Math.abs(prompted.rows[3]!.pr[2]! - unprompted.rows[3]!.pr[2]!)).toBeGreaterThan(1e-4);
    const text = await vetbench([...args, '--prompts', prompts]);
    expect(text.stdout.split('\n')[0]).toContain('with deep prompts (depth 2)');
    const store = ProjectStore.open(project);
    try {
      const { promptsArtifactId } = store.getRunRecord(prompted.run.id);
      expect(promptsArtifactId).not.toBeNull();
      expect(store.getArtifact(promptsArtifactId!).kind).toBe('prompt');
    } finally {
      store.close();
    }
  });

  it('refuses a bad --limit before starting a run', async () => {
    const r = await vetbench([...args.slice(0, 5), '--limit', '0', '--project', project]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--limit must be a positive integer, got '0'");
  });

  it('vetbench runs: columns as wide as the widest value (a pretrain run beside eval runs)', async () => {
    const store = ProjectStore.open(project);
    try {
      const [model] = store.listModels();
      const [dataset] = store.listDatasets();
      store.createRun(
        {
          label: 'pretrain',
          kind: 'pretrain',
          method: CONTRASTIVE_METHOD,
          modelId: model!.id,
          datasetId: dataset!.id,
          target: null,
          trigger: null,
          promptsArtifactId: null,
          seed: 12345,
          params: {},
        },
        null,
      );
    } finally {
      store.close();
    }
    const r = await vetbench(['runs', '--project', project]);
    expect(r.code, r.stderr).toBe(0);
    // the run lines, before the blank line that starts the models' verdicts
    const lines = r.stdout.split('\n\n')[0]!.split('\n').slice(1);
    expect(r.stdout).toContain('Verdicts (details: vetbench status --model <id>):');
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(lines.some((l) => / pretrain {2}/.test(l))).toBe(true);
    expect(lines.some((l) => / eval {6}perturbation-resistivity {2}/.test(l))).toBe(true);
    // Every column starts at the same place on every line.
    expect(new Set(lines.map((l) => l.indexOf('seed '))).size).toBe(1);
    const methodStart = new Set(lines.map((l) => l.search(/(perturbation-resistivity|contrastive)/)));
    expect(methodStart.size).toBe(1);
    expect(new Set(lines.map((l) => l.search(/\d{4}-\d{2}-\d{2} /))).size).toBe(1);
    // A PR run shows its headline: PR under the trigger at the last block.
    expect(lines.find((l) => l.includes('perturbation-resistivity'))).toMatch(/pr\/trigger:badnet 0\.\d{4}/);
  });
});
