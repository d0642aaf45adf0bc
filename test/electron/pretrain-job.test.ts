import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ApiEvent } from '../../electron/api/contract.js';
import { JobHost } from '../../electron/jobs/job-host.js';
import { importDatasetInto, importModelInto } from '../../electron/store/imports.js';
import { ProjectStore } from '../../electron/store/project-store.js';
import { loadClipWeights } from '../../engine/clip/load-weights.js';
import { cliRunner } from '../helpers/cli.js';
import { writeJobFixtures } from './jobs-fixture.js';

// The job host runs the compiled worker (dist/electron/jobs/worker.js): `npm run build` first (npm test does).
const WORKER = new URL('../../dist/electron/jobs/worker.js', import.meta.url).pathname;

/** 96 training pairs in batches of 16: 6 steps per epoch, 18 in all. */
const PARAMS = { epochs: 3, batchSize: 16, lr: 3e-3, warmup: 2, shift: 1, dtype: 'f32' };
const STEPS = 18;

const vetbench = cliRunner({ timeoutMs: 120_000 });
let fixtures: { model: string; dataset: string };
let dir: string;

beforeAll(async () => {
  if (!existsSync(WORKER)) throw new Error(`build first (npm run build): ${WORKER} is missing`);
  dir = mkdtempSync(join(tmpdir(), 'vetbench-pretrain-job-'));
  fixtures = await writeJobFixtures(dir);
});

describe('pretrain job', () => {
  it('kill -9 mid-epoch, resume, cancel, resume: one run id, whole loss series, weights as artifact and model', async () => {
    const store = ProjectStore.open(join(dir, 'pretrain.vbproj'));
    const model = await importModelInto(store, fixtures.model);
    const dataset = await importDatasetInto(store, fixtures.dataset);
    const host = new JobHost(store, { workerModule: WORKER, cancelGraceMs: 20_000 });
    host.start();
    const events: ApiEvent[] = [];
    const firstLoss = new Map<number, number>();
    let lastCheckpoint = -1;
    let attempt = 1;
    host.subscribe((e) => {
      events.push(e);
      if (e.type === 'run-checkpoint') lastCheckpoint = e.step;
      if (e.type !== 'run-metric' || e.series !== 'loss') return;
      if (attempt === 1) {
        firstLoss.set(e.step, e.value);
        // mid-epoch 2: the epoch-1 checkpoint (step 6) is stored and two more steps were taken
        if (lastCheckpoint === 6 && e.step === 8) {
          attempt = 0; // nothing more is recorded as "first" from the dying worker
          process.kill(store.getRunRecord(e.runId).workerPid!, 'SIGKILL');
        }
      } else if (attempt === 2 && lastCheckpoint === 12 && e.step === 14) {
        attempt = 0;
        host.cancel(e.runId); // cooperative: the worker stops at its next step
      }
    });
    const run = host.submit({
      kind: 'pretrain',
      method: 'contrastive',
      modelId: model.id,
      datasetId: dataset.id,
      seed: 4,
      params: PARAMS,
    });
    const killed = await host.waitFor(run.id);
    expect(killed.status).toBe('interrupted');
    expect(killed.error?.code).toBe('worker-died');
    expect(store.lastCheckpoint(run.id)?.step).toBe(6);

    attempt = 2;
    expect(host.resume(run.id).id).toBe(run.id);
    const cancelled = await host.waitFor(run.id);
    expect(cancelled.status).toBe('cancelled');
    expect(store.lastCheckpoint(run.id)?.step).toBe(12);
    // Losses of the second attempt before the cancel, for steps the first attempt also took.
    const secondAttempt = store.series(run.id).find((s) => s.name === 'loss')!;
    const step7 = secondAttempt.points.find((p) => p.step === 7)!.value;
    const step13 = secondAttempt.points.find((p) => p.step === 13)!.value;

    attempt = 3;
    expect(host.resume(run.id).id).toBe(run.id);
    const done = await host.waitFor(run.id);
    expect(done.status, JSON.stringify(done.error)).toBe('done');
    expect(done.attempts).toBe(3);

    const loss = store.series(run.id).find((s) => s.name === 'loss')!;
    expect(loss.points.map((p) => p.step)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
    // Replayed steps give the same losses: weights, AdamW state and RNG state came back from the checkpoint.
    expect(step7).toBeCloseTo(firstLoss.get(7)!, 5);
    expect(loss.points[7 - 1]!.value).toBeCloseTo(firstLoss.get(7)!, 5);
    expect(loss.points[8 - 1]!.value).toBeCloseTo(firstLoss.get(8)!, 5);
    expect(loss.points[13 - 1]!.value).toBeCloseTo(step13, 5);
    const epochLoss = store.series(run.id).find((s) => s.name === 'epoch_loss')!;
    expect(epochLoss.points.map((p) => p.step)).toEqual([1, 2, 3]);
    // Each epoch's mean is the mean of its six step losses.
    for (const [epoch, point] of epochLoss.points.entries()) {
      const steps = loss.points.slice(epoch * 6, epoch * 6 + 6).map((p) => p.value);
      expect(point.value).toBeCloseTo(steps.reduce((a, b) => a + b, 0) / 6, 4);
    }
    expect(epochLoss.points[2]!.value).toBeLessThan(epochLoss.points[0]!.value);

    const details = store.runDetails(run.id);
    expect(details.params).toMatchObject({ ...PARAMS, weightDecay: 0.1 });
    expect(store.getRun(run.id).seed).toBe(4);
    const names = store.listArtifacts(run.id).map((a) => a.name);
    expect(names).toEqual(expect.arrayContaining(['weights.safetensors', 'report.json']));
    const weightsArtifact = store.listArtifacts(run.id).find((a) => a.name === 'weights.safetensors')!;
    const weightsPath = store.getArtifact(weightsArtifact.id).path;
    const trained = await loadClipWeights(weightsPath);
    expect(trained.source.fingerprint).toBe(weightsArtifact.sha256);
    const produced = store.listModels().find((m) => m.sourceRunId === run.id)!;
    expect(produced.fingerprint).toBe(weightsArtifact.sha256);
    const report = JSON.parse(
      readFileSync(
        store.getArtifact(store.listArtifacts(run.id).find((a) => a.name === 'report.json')!.id).path,
        'utf8',
      ),
    ) as { steps: number; resumed_from_step: number; epoch_losses: number[]; zero_shot_ca_test: number };
    expect(report.steps).toBe(STEPS);
    expect(report.resumed_from_step).toBe(12);
    expect(report.epoch_losses).toEqual(epochLoss.points.map((p) => p.value));
    expect(store.getRun(run.id).finalMetrics.ca).toBe(report.zero_shot_ca_test);
    expect(existsSync(store.checkpointDir(run.id))).toBe(false); // a finished run needs no checkpoint
    expect(
      events.filter((e) => e.type === 'run-status').map((e) => (e as { status: string }).status),
    ).toEqual([
      'queued',
      'running',
      'interrupted',
      'queued',
      'running',
      'cancelled',
      'queued',
      'running',
      'done',
    ]);
    await host.close();
    store.close();
  }, 120_000);

  it('vetbench pretrain: a run of the project, --out and its report as before; --checkpoint-dir is refused', async () => {
    const project = join(dir, 'cli.vbproj');
    const out = join(dir, 'fresh.safetensors');
    const tiny = [
      '--resolution',
      '16',
      '--patch',
      '4',
      '--vision-width',
      '64',
      '--vision-layers',
      '1',
      '--text-width',
      '64',
      '--text-layers',
      '1',
      '--context-length',
      '8',
      '--embed-dim',
      '16',
    ];
    const args = [
      'pretrain', '--dataset', fixtures.dataset, '--out', out, '--epochs', '2', '--batch-size', '16',
      '--warmup', '2', '--lr', '0.003', '--seed', '5', ...tiny, '--project', project,
    ]; // prettier-ignore
    const r = await vetbench(args);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`${out}  (report: ${out}.json)`);
    expect(r.stderr).toMatch(/^run 1 in /m);
    expect(r.stderr).toMatch(/zero-shot CA on the test split: [\d.]+% \(\d+\/32\)/);
    const report = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as {
      weights: string;
      fingerprint: string;
      steps: number;
      epoch_losses: number[];
      config: { vision: { width: number } };
      run: { id: number; project: string };
    };
    expect(report.weights).toBe(out);
    expect(report.steps).toBe(12);
    expect(report.epoch_losses).toHaveLength(2);
    expect(report.config.vision.width).toBe(64);
    expect((await loadClipWeights(out)).source.fingerprint).toBe(report.fingerprint);
    const store = ProjectStore.open(project);
    const run = store.getRun(report.run.id);
    expect(run.kind).toBe('pretrain');
    expect(run.status).toBe('done');
    // The fresh initialisation is the run's model, stored in the project.
    expect(store.getModel(run.modelId).name).toMatch(/^fresh CLIP \(ViT-4 @ 16px, 64x1, seed 5\)$/);
    expect(
      store
        .series(run.id)
        .find((s) => s.name === 'epoch_loss')!
        .points.map((p) => p.value),
    ).toEqual(report.epoch_losses);
    store.close();

    const again = await vetbench([...args, '--checkpoint-dir', join(dir, 'ckpt')]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('--checkpoint-dir is no longer used');
    expect(again.stderr).toContain('vetbench resume <id>');
  }, 120_000);
});
