import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ApiEvent } from '../../electron/api/contract.js';
import { JobHost } from '../../electron/jobs/job-host.js';
import { importDatasetInto, importModelInto } from '../../electron/store/imports.js';
import { ProjectStore } from '../../electron/store/project-store.js';
import { writeJobFixtures } from './jobs-fixture.js';

// The job host runs the compiled worker (dist/electron/jobs/worker.js): `npm run build` first (npm test does).
const WORKER = new URL('../../dist/electron/jobs/worker.js', import.meta.url).pathname;
const STORE_MODULE = new URL('../../dist/electron/store/project-store.js', import.meta.url).pathname;

const ATTACK_PARAMS = { epochs: 4, batchSize: 16, lr: 3e-3, warmup: 2, poisonRate: 0.4, patchSize: 84 };
const STEPS = 4 * 6; // 96 training pairs, batches of 16

let fixtures: { model: string; dataset: string };
let dir: string;

beforeAll(async () => {
  if (!existsSync(WORKER)) throw new Error(`build first (npm run build): ${WORKER} is missing`);
  dir = mkdtempSync(join(tmpdir(), 'vetbench-jobs-'));
  fixtures = await writeJobFixtures(dir);
});

async function projectWithData(
  name: string,
): Promise<{ store: ProjectStore; modelId: number; datasetId: number }> {
  const store = ProjectStore.open(join(dir, `${name}.vbproj`));
  const model = await importModelInto(store, fixtures.model);
  const dataset = await importDatasetInto(store, fixtures.dataset);
  return { store, modelId: model.id, datasetId: dataset.id };
}

describe('job host', () => {
  it('kill -9 of a worker mid-epoch, then resume: same run id, same RNG stream, no gaps or duplicates', async () => {
    const { store, modelId, datasetId } = await projectWithData('fault');
    const host = new JobHost(store, { workerModule: WORKER });
    host.start();
    const events: ApiEvent[] = [];
    const lossBeforeKill = new Map<number, number>();
    let killedAt = -1;
    let checkpointStep = -1;
    host.subscribe((e) => {
      events.push(e);
      if (e.type === 'run-checkpoint') checkpointStep = e.step;
      if (e.type === 'run-metric' && e.series === 'loss' && killedAt < 0) {
        lossBeforeKill.set(e.step, e.value);
        // mid-epoch 2: the epoch-1 checkpoint (step 6) exists and two more steps were taken
        if (checkpointStep === 6 && e.step === 8) {
          killedAt = e.step;
          process.kill(store.getRunRecord(e.runId).workerPid!, 'SIGKILL');
        }
      }
    });
    const run = host.submit({
      kind: 'attack',
      method: 'badnet',
      modelId,
      datasetId,
      target: 'green',
      seed: 9,
      params: ATTACK_PARAMS,
    });
    const interrupted = await host.waitFor(run.id);
    expect(interrupted.status).toBe('interrupted');
    expect(interrupted.error?.code).toBe('worker-died');
    expect(killedAt).toBe(8);
    expect(store.lastCheckpoint(run.id)?.step).toBe(6);

    const resumed = host.resume(run.id);
    expect(resumed.id).toBe(run.id);
    const done = await host.waitFor(run.id);
    expect(done.status).toBe('done');
    expect(done.attempts).toBe(2);

    const loss = store.series(run.id).find((s) => s.name === 'loss')!;
    expect(loss.points.map((p) => p.step)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
    // Steps 7 and 8 ran twice (before the kill and after the resume from step 6): the same RNG state and
    // weights give the same losses, which is what "resume with the same RNG state" means.
    for (const step of [7, 8]) expect(loss.points[step - 1]!.value).toBeCloseTo(lossBeforeKill.get(step)!, 4);
    const names = store.listArtifacts(run.id).map((a) => a.name);
    expect(names).toEqual(
      expect.arrayContaining(['weights.safetensors', 'trigger.safetensors', 'report.json']),
    );
    expect(existsSync(store.checkpointDir(run.id))).toBe(false); // a finished run needs no checkpoint
    expect(
      events.filter((e) => e.type === 'run-status').map((e) => (e as { status: string }).status),
    ).toEqual(['queued', 'running', 'interrupted', 'queued', 'running', 'done']);
    const final = store.getRun(run.id).finalMetrics;
    // The run's final ASR is the "after" of the report it wrote (a finite percentage, not NaN).
    const reportArtifact = store.listArtifacts(run.id).find((a) => a.name === 'report.json')!;
    const report = JSON.parse(readFileSync(store.getArtifact(reportArtifact.id).path, 'utf8')) as {
      after: { asr: number; ca: number };
    };
    expect(Number.isFinite(final.asr)).toBe(true);
    expect(final.asr).toBe(report.after.asr);
    expect(final.ca).toBe(report.after.ca);

    // The backdoored weights are a model of the project; evaluate them under the stored trigger.
    const produced = store.listModels().find((m) => m.sourceRunId === run.id)!;
    const trigger = store.listArtifacts(run.id).find((a) => a.kind === 'trigger')!;
    const evalRun = host.submit({
      kind: 'eval',
      method: 'backdoor-eval',
      modelId: produced.id,
      datasetId,
      target: 'green',
      trigger: { source: 'artifact', artifactId: trigger.id },
      seed: 9,
      params: {},
    });
    const evaluated = await host.waitFor(evalRun.id);
    expect(evaluated.status).toBe('done');
    // Same model, trigger and split as the attack's own "after" measurement.
    expect(evaluated.finalMetrics.asr).toBeCloseTo(final.asr!, 6);
    expect(evaluated.finalMetrics.ca).toBeCloseTo(final.ca!, 6);
    await host.close();
    store.close();
  }, 120_000);

  it('cancels a queued run at once and a running one cooperatively; bad requests are refused before queuing', async () => {
    const { store, modelId, datasetId } = await projectWithData('cancel');
    const host = new JobHost(store, { workerModule: WORKER, concurrency: 1, cancelGraceMs: 20_000 });
    host.start();
    const request = {
      kind: 'attack' as const,
      method: 'badnet',
      modelId,
      datasetId,
      target: 'green',
      seed: 1,
      params: { ...ATTACK_PARAMS, epochs: 50 },
    };
    let sawProgress!: () => void;
    const progressed = new Promise<void>((resolve) => (sawProgress = resolve));
    host.subscribe((e) => {
      if (e.type === 'run-progress') sawProgress();
    });
    const first = host.submit(request);
    const second = host.submit(request);
    expect(store.getRun(second.id).status).toBe('queued');
    expect(host.cancel(second.id).status).toBe('cancelled');
    await progressed;
    // Another process asks (vetbench cancel): the host picks the flag up from the store.
    const other = ProjectStore.open(store.path);
    other.requestCancel(first.id);
    other.close();
    const cancelled = await host.waitFor(first.id);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.error).toBeNull();

    expect(() => host.submit({ ...request, params: { epochs: -1 } })).toThrow(/epochs.*>= 1/);
    expect(() => host.submit({ ...request, method: 'nope' })).toThrow(/no attack method 'nope'/);
    expect(() => host.submit({ ...request, target: undefined })).toThrow(/needs a target/);
    expect(store.listRuns({ limit: 10, offset: 0 }).total).toBe(2);
    await host.close();
    store.close();
  }, 120_000);

  it('kill -9 of the host process during writes: the store opens intact and no finished run is lost', async () => {
    const path = join(dir, 'host-kill.vbproj');
    const { store, modelId, datasetId } = await projectWithData('host-kill');
    store.close();
    const writer = `
      import { ProjectStore } from ${JSON.stringify(STORE_MODULE)};
      const store = ProjectStore.open(${JSON.stringify(path)});
      for (let i = 0; ; i++) {
        const id = store.createRun({ label: 'w' + i, kind: 'eval', method: 'backdoor-eval', modelId: ${modelId},
          datasetId: ${datasetId}, target: null, trigger: null, promptsArtifactId: null, seed: i, params: {} });
        store.markRunning(id, { hostPid: process.pid, workerPid: process.pid }, {}, 'onnx');
        const points = [];
        for (let s = 1; s <= 200; s++) points.push({ runId: id, series: 'loss', step: s, value: 1 / s });
        store.recordMetrics(points);
        store.finishRun(id, 'done', { attemptMs: 1, result: { i } });
        process.stdout.write('done ' + id + '\\n');
      }`;
    const script = join(dir, 'writer.mjs');
    writeFileSync(script, writer);
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const finished: number[] = [];
    await new Promise<void>((resolve) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        finished.push(Number(line.split(' ')[1]));
        if (finished.length === 40) {
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
    await new Promise((resolve) => child.on('exit', resolve));

    const db = new Database(path);
    expect(db.pragma('integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    db.close();
    const reopened = ProjectStore.open(path);
    for (const id of finished) {
      const run = reopened.getRun(id);
      expect(run.status).toBe('done');
      expect(reopened.series(id)[0]!.points).toHaveLength(200);
    }
    // The run it was writing when killed (if any) was left running by a dead process: start-up marks it.
    const host = new JobHost(reopened, { workerModule: WORKER });
    const marked = host.start();
    for (const id of marked) expect(reopened.getRun(id).status).toBe('interrupted');
    expect(reopened.listRuns({ limit: 1000, offset: 0, status: ['running'] }).total).toBe(0);
    await host.close();
    reopened.close();
  }, 60_000);
});
