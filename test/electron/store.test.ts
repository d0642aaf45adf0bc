import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { ModelArchitecture } from '../../electron/api/contract.js';
import { defaultProjectPath } from '../../electron/store/default-project.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from '../../electron/store/migrations.js';
import { ProjectStore } from '../../electron/store/project-store.js';
import { VetbenchError } from '../../engine/errors.js';
import { vetbenchErrorOf } from '../helpers/errors.js';

const ARCH: ModelArchitecture = {
  description: 'tiny',
  embedDim: 16,
  vision: { width: 64, layers: 1, heads: 1, patchSize: 4, imageResolution: 16 },
  text: { width: 64, layers: 1, heads: 1, contextLength: 8, vocabSize: 49408 },
  parameters: 1000,
  dtypes: ['F32'],
  naming: 'openai',
};

function tempProject(): string {
  return join(mkdtempSync(join(tmpdir(), 'vetbench-store-')), 'p.vbproj');
}

/** A store with one model, one dataset and `runs` queued runs. */
function seeded(path = tempProject(), runs = 1): { store: ProjectStore; runIds: number[] } {
  const store = ProjectStore.open(path);
  const model = store.insertModel({
    name: 'm',
    path: '/m.safetensors',
    fingerprint: 'ab',
    fileBytes: 1,
    architecture: ARCH,
    warnings: [],
  });
  const dataset = store.insertDataset({
    name: 'd',
    root: '/d',
    fingerprint: 'cd',
    layout: 'split-folders',
    classes: [],
    total: 0,
    counts: {},
    captions: 0,
    sampleImageIds: [],
    skipped: [],
    warnings: [],
  });
  const runIds = Array.from({ length: runs }, (_, i) =>
    store.createRun({
      label: `r${i}`,
      kind: 'attack',
      method: 'badnet',
      modelId: model.id,
      datasetId: dataset.id,
      target: 'banana',
      trigger: null,
      promptsArtifactId: null,
      seed: i,
      params: { epochs: 2, lr: 0.001 },
    }),
  );
  return { store, runIds };
}

function errorCode(fn: () => unknown): string {
  return vetbenchErrorOf(fn).code;
}

describe('project store', () => {
  it('creates the schema once, with WAL and foreign keys, and re-opens without migrating again', () => {
    const path = tempProject();
    const { store } = seeded(path);
    expect(store.schemaVersion()).toBe(LATEST_SCHEMA_VERSION);
    expect(store.pragma('journal_mode')).toEqual([{ journal_mode: 'wal' }]);
    expect(store.pragma('foreign_keys')).toEqual([{ foreign_keys: 1 }]);
    store.close();
    const again = ProjectStore.open(path);
    expect(again.info().counts).toEqual({ models: 1, datasets: 1, runs: 1, running: 0 });
    const db = new Database(path);
    expect(db.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get()).toEqual({ n: MIGRATIONS.length });
    db.close();
    again.close();
  });

  it('migrates a version-1 file: the last point of every series is backfilled', () => {
    const path = tempProject();
    const db = new Database(path);
    db.exec(
      'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
    );
    db.exec(MIGRATIONS[0]!.sql);
    db.prepare("INSERT INTO schema_migrations VALUES (1, 'initial', 0)").run();
    db.prepare(
      `INSERT INTO models (id, name, path, fingerprint, file_bytes, architecture, imported_at) VALUES (1, 'm', '/m', 'f', 1, '{}', 0)`,
    ).run();
    db.prepare(
      `INSERT INTO datasets (id, name, root, fingerprint, summary, imported_at) VALUES (1, 'd', '/d', 'g', '{}', 0)`,
    ).run();
    db.prepare(
      `INSERT INTO runs (id, label, kind, method, model_id, dataset_id, seed, params, status, created_at) VALUES (1, 'r', 'eval', 'e', 1, 1, 0, '{}', 'done', 0)`,
    ).run();
    for (const [series, step, value] of [
      ['ca', 1, 10],
      ['ca', 2, 20],
      ['asr', 5, 3],
    ] as const)
      db.prepare('INSERT INTO metric_points VALUES (1, ?, ?, ?)').run(series, step, value);
    db.close();
    const store = ProjectStore.open(path);
    expect(store.schemaVersion()).toBe(LATEST_SCHEMA_VERSION);
    expect(store.getRun(1).finalMetrics).toEqual({ ca: 20, asr: 3 });
    store.close();
  });

  it('refuses a project written by a newer schema, leaving it untouched', () => {
    const path = tempProject();
    seeded(path).store.close();
    const db = new Database(path);
    db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)").run();
    db.close();
    const before = createHash('sha256').update(readFileSync(path)).digest('hex');
    expect(errorCode(() => ProjectStore.open(path))).toBe('project-newer');
    expect(createHash('sha256').update(readFileSync(path)).digest('hex')).toBe(before);
  });

  it('upserts metric points: a resumed run rewriting steps leaves one point per step', () => {
    const { store, runIds } = seeded();
    const id = runIds[0]!;
    store.recordMetrics([1, 2, 3, 4].map((step) => ({ runId: id, series: 'loss', step, value: step })));
    store.recordMetrics([3, 4, 5].map((step) => ({ runId: id, series: 'loss', step, value: 10 * step })));
    const [loss] = store.series(id);
    expect(loss!.points.map((p) => p.step)).toEqual([1, 2, 3, 4, 5]);
    expect(loss!.points.map((p) => p.value)).toEqual([1, 2, 30, 40, 50]);
    expect(store.getRun(id).finalMetrics).toEqual({ loss: 50 });
  });

  it('a failing transaction leaves nothing behind', () => {
    const { store, runIds } = seeded();
    const id = runIds[0]!;
    expect(() =>
      store.recordMetrics([
        { runId: id, series: 'loss', step: 1, value: 1 },
        { runId: 9999, series: 'loss', step: 1, value: 1 }, // no such run: foreign key fails
      ]),
    ).toThrow();
    expect(store.series(id)).toEqual([]);
  });

  it('marks runs of dead hosts or workers interrupted, leaves live and finished ones alone', () => {
    const { store, runIds } = seeded(tempProject(), 4);
    const [deadWorker, liveWorker, finished, queuedDeadHost] = runIds as [number, number, number, number];
    store.markRunning(deadWorker, { hostPid: 1, workerPid: 111 }, {}, 'onnx');
    store.markRunning(liveWorker, { hostPid: 1, workerPid: 222 }, {}, 'onnx');
    store.markRunning(finished, { hostPid: 1, workerPid: 333 }, {}, 'onnx');
    store.finishRun(finished, 'done', { attemptMs: 5 });
    const db = new Database(store.path);
    db.prepare('UPDATE runs SET host_pid = 444 WHERE id = ?').run(queuedDeadHost);
    db.close();
    const alive = new Set([1, 222]);
    expect(store.markOrphansInterrupted((pid) => alive.has(pid)).sort()).toEqual([
      deadWorker,
      queuedDeadHost,
    ]);
    expect(store.getRun(deadWorker).status).toBe('interrupted');
    expect(store.getRun(liveWorker).status).toBe('running');
    expect(store.getRun(finished).status).toBe('done');
  });

  it('writes artifacts atomically with their SHA-256 and refuses paths leaving the folder', async () => {
    const { store, runIds } = seeded();
    const a = await store.writeArtifact(runIds[0]!, 'json', 'result.json', '{"a":1}', 'application/json');
    const full = store.getArtifact(a.id).path;
    expect(readFileSync(full, 'utf8')).toBe('{"a":1}');
    expect(a.sha256).toBe(createHash('sha256').update('{"a":1}').digest('hex'));
    expect(store.listArtifacts(runIds[0]!).map((x) => x.name)).toEqual(['result.json']);
    expect(errorCode(() => store.resolveArtifactPath('../../etc/passwd'))).toBe('artifact-path');
  });

  it('a read-only project file gives a clear error', () => {
    const path = tempProject();
    seeded(path).store.close();
    chmodSync(path, 0o444);
    try {
      ProjectStore.open(path);
      throw new Error('expected an error');
    } catch (e) {
      expect((e as VetbenchError).code).toBe('project-read-only');
      expect((e as VetbenchError).hint).toMatch(/writable/);
    }
  });

  it('a full disk gives a clear error and keeps what was saved (max_page_count)', () => {
    const { store, runIds } = seeded();
    const id = runIds[0]!;
    store.recordMetrics([{ runId: id, series: 'loss', step: 0, value: 1 }]);
    const pages = (store.pragma('page_count') as { page_count: number }[])[0]!.page_count;
    store.pragma(`max_page_count = ${pages}`);
    const many = Array.from({ length: 20000 }, (_, step) => ({
      runId: id,
      series: 'big',
      step,
      value: step,
    }));
    expect(errorCode(() => store.recordMetrics(many))).toBe('disk-full');
    expect(store.series(id).map((s) => s.name)).toEqual(['loss']);
  });

  it('a file that is not a project gives a clear error', () => {
    const path = tempProject();
    writeFileSync(path, 'this is not sqlite '.repeat(100));
    expect(errorCode(() => ProjectStore.open(path))).toBe('project-corrupt');
    expect(errorCode(() => ProjectStore.open(tempProject(), { mustExist: true }))).toBe('project-missing');
  });

  it('compares many runs: final metrics of each run from the last step of each series', () => {
    const { store, runIds } = seeded(tempProject(), 3);
    for (const id of runIds)
      store.recordMetrics([
        { runId: id, series: 'asr', step: 1, value: id },
        { runId: id, series: 'asr', step: 2, value: id * 10 },
        { runId: id, series: 'ca', step: 1, value: 90 },
      ]);
    const finals = store.finalMetrics(runIds);
    for (const id of runIds) expect(finals.get(id)).toEqual({ asr: id * 10, ca: 90 });
    expect(store.listRuns({ limit: 2, offset: 0 }).runs.map((r) => r.id)).toEqual([runIds[2], runIds[1]]);
    expect(store.listRuns({ limit: 10, offset: 0, status: ['done'] }).total).toBe(0);
  });

  it('puts the default project in the user data folder', () => {
    expect(defaultProjectPath({ XDG_DATA_HOME: '/x' }, 'linux')).toBe('/x/vetbench/default.vbproj');
    expect(defaultProjectPath({ APPDATA: 'C:/A' }, 'win32')).toMatch(/Vetbench[\\/]default\.vbproj$/);
  });
});
