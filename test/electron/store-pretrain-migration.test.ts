import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../electron/store/migrations.js';
import { ProjectStore } from '../../electron/store/project-store.js';

describe('store migration 3 (pretrain runs)', () => {
  it('rebuilds the runs table of a version-2 file: rows, ids and every reference to them survive', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'vetbench-store-')), 'v2.vbproj');
    const db = new Database(path);
    db.pragma('foreign_keys = ON');
    db.exec(
      'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
    );
    for (const m of MIGRATIONS.filter((x) => x.version <= 2)) {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations VALUES (?, ?, 0)').run(m.version, m.name);
    }
    db.prepare(
      `INSERT INTO models (id, name, path, fingerprint, file_bytes, architecture, imported_at) VALUES (1, 'm', '/m', 'f', 1, '{}', 0)`,
    ).run();
    db.prepare(
      `INSERT INTO datasets (id, name, root, fingerprint, summary, imported_at) VALUES (1, 'd', '/d', 'g', '{}', 0)`,
    ).run();
    const insertRun = db.prepare(
      `INSERT INTO runs (id, label, kind, method, model_id, dataset_id, seed, params, status, created_at) VALUES (?, 'r', ?, 'e', 1, 1, 0, '{}', 'done', 0)`,
    );
    insertRun.run(3, 'eval');
    insertRun.run(7, 'attack');
    // 'pretrain' is refused by the version-2 CHECK
    expect(() => insertRun.run(8, 'pretrain')).toThrow(/CHECK constraint/);
    db.prepare('INSERT INTO metric_points VALUES (7, ?, ?, ?)').run('loss', 1, 0.5);
    db.prepare('INSERT INTO run_final_metrics VALUES (7, ?, ?, ?)').run('loss', 1, 0.5);
    db.prepare(
      `INSERT INTO artifacts (id, run_id, kind, name, rel_path, media_type, bytes, sha256, created_at) VALUES (1, 7, 'weights', 'w', 'run-7/w', 'x', 1, 's', 0)`,
    ).run();
    db.prepare(`INSERT INTO checkpoints (run_id, step, dir, created_at) VALUES (7, 6, '/c', 0)`).run();
    db.prepare(`UPDATE models SET source_run_id = 7 WHERE id = 1`).run();
    db.close();

    const store = ProjectStore.open(path);
    expect(store.schemaVersion()).toBe(3);
    expect(store.getRun(7).kind).toBe('attack');
    expect(store.getRun(3).kind).toBe('eval');
    expect(store.series(7)[0]!.points).toEqual([{ step: 1, value: 0.5 }]);
    expect(store.listArtifacts(7).map((a) => a.name)).toEqual(['w']);
    expect(store.lastCheckpoint(7)?.step).toBe(6);
    expect(store.getModel(1).sourceRunId).toBe(7);
    expect(store.pragma('foreign_key_check')).toEqual([]);
    expect(store.pragma('foreign_keys')).toEqual([{ foreign_keys: 1 }]);
    const id = store.createRun({
      label: 'p',
      kind: 'pretrain',
      method: 'contrastive',
      modelId: 1,
      datasetId: 1,
      target: null,
      trigger: null,
      promptsArtifactId: null,
      seed: 1,
      params: {},
    });
    expect(store.getRun(id).kind).toBe('pretrain');
    // References are enforced again after the migration.
    expect(() =>
      store.createRun({
        label: 'x',
        kind: 'eval',
        method: 'e',
        modelId: 99,
        datasetId: 1,
        target: null,
        trigger: null,
        promptsArtifactId: null,
        seed: 1,
        params: {},
      }),
    ).toThrow();
    store.close();
  });
});
