/**
 * Versioned schema of a project file. A migration is applied once, in a transaction, and recorded in
 * `schema_migrations`; a file whose newest version is above `LATEST_SCHEMA_VERSION` came from a newer
 * Vetbench and is refused rather than written to.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
  /**
   * The migration rebuilds a table other tables refer to (SQLite cannot change a CHECK in place): it runs
   * with foreign keys off, so dropping the old table cascades nothing, and the references are checked after.
   */
  readonly rebuildsTables?: boolean;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial',
    sql: `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE models (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  path TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  file_bytes INTEGER NOT NULL,
  architecture TEXT NOT NULL,          -- JSON ModelArchitecture
  warnings TEXT NOT NULL DEFAULT '[]', -- JSON string[]
  source_run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
  imported_at INTEGER NOT NULL
);
CREATE INDEX models_fingerprint ON models(fingerprint);

CREATE TABLE datasets (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  root TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  summary TEXT NOT NULL,               -- JSON: classes, counts, samples, skipped, warnings
  imported_at INTEGER NOT NULL
);
CREATE INDEX datasets_fingerprint ON datasets(fingerprint);

CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  label TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('attack','defense','scan','explain','eval')),
  method TEXT NOT NULL,
  model_id INTEGER NOT NULL REFERENCES models(id),
  dataset_id INTEGER NOT NULL REFERENCES datasets(id),
  target TEXT,
  trigger TEXT,                        -- JSON TriggerChoice or NULL
  prompts_artifact_id INTEGER REFERENCES artifacts(id),
  seed INTEGER NOT NULL,
  params TEXT NOT NULL,                -- JSON resolved parameters
  status TEXT NOT NULL CHECK (status IN ('queued','running','done','failed','cancelled','interrupted')),
  versions TEXT NOT NULL DEFAULT '{}', -- JSON
  executor TEXT,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  run_ms REAL NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  progress TEXT,                       -- JSON RunProgress
  host_pid INTEGER,
  worker_pid INTEGER,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  error TEXT,                          -- JSON ApiError
  result TEXT                          -- JSON
);
CREATE INDEX runs_status ON runs(status);
CREATE INDEX runs_created ON runs(created_at);

CREATE TABLE metric_points (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  series TEXT NOT NULL,
  step INTEGER NOT NULL,
  value REAL NOT NULL,
  PRIMARY KEY (run_id, series, step)
) WITHOUT ROWID;

CREATE TABLE checkpoints (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step INTEGER NOT NULL,
  dir TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (run_id, step)
);

CREATE TABLE artifacts (
  id INTEGER PRIMARY KEY,
  run_id INTEGER REFERENCES runs(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  rel_path TEXT NOT NULL UNIQUE,       -- relative to the artifact folder
  media_type TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX artifacts_run ON artifacts(run_id);

CREATE TABLE run_logs (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  at INTEGER NOT NULL,
  level TEXT NOT NULL,
  line TEXT NOT NULL
);
CREATE INDEX run_logs_run ON run_logs(run_id, id);

CREATE TABLE comparisons (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  run_ids TEXT NOT NULL,               -- JSON number[]
  created_at INTEGER NOT NULL
);

CREATE TABLE reports (
  id INTEGER PRIMARY KEY,
  title TEXT NOT NULL,
  artifact_id INTEGER REFERENCES artifacts(id) ON DELETE SET NULL,
  run_ids TEXT NOT NULL,               -- JSON number[]
  created_at INTEGER NOT NULL
);
`,
  },
  {
    version: 2,
    name: 'final-metrics',
    // The last point of every series, kept up to date on insert: run lists and comparisons read it
    // directly instead of scanning metric_points (see bench/results/store.md).
    sql: `
CREATE TABLE run_final_metrics (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  series TEXT NOT NULL,
  step INTEGER NOT NULL,
  value REAL NOT NULL,
  PRIMARY KEY (run_id, series)
) WITHOUT ROWID;
INSERT INTO run_final_metrics (run_id, series, step, value)
  SELECT m.run_id, m.series, m.step, m.value FROM metric_points m
  WHERE m.step = (SELECT MAX(step) FROM metric_points WHERE run_id = m.run_id AND series = m.series);
`,
  },
  {
    version: 3,
    name: 'pretrain-runs',
    rebuildsTables: true,
    // Runs of kind 'pretrain' (vetbench pretrain as a job): the runs table is rebuilt with the wider CHECK
    // (SQLite's documented 12-step procedure; columns, rows and ids unchanged).
    sql: `
CREATE TABLE runs_v3 (
  id INTEGER PRIMARY KEY,
  label TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('attack','defense','scan','explain','eval','pretrain')),
  method TEXT NOT NULL,
  model_id INTEGER NOT NULL REFERENCES models(id),
  dataset_id INTEGER NOT NULL REFERENCES datasets(id),
  target TEXT,
  trigger TEXT,
  prompts_artifact_id INTEGER REFERENCES artifacts(id),
  seed INTEGER NOT NULL,
  params TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('queued','running','done','failed','cancelled','interrupted')),
  versions TEXT NOT NULL DEFAULT '{}',
  executor TEXT,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  run_ms REAL NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  progress TEXT,
  host_pid INTEGER,
  worker_pid INTEGER,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  error TEXT,
  result TEXT
);
INSERT INTO runs_v3 SELECT * FROM runs;
DROP TABLE runs;
ALTER TABLE runs_v3 RENAME TO runs;
CREATE INDEX runs_status ON runs(status);
CREATE INDEX runs_created ON runs(created_at);
`,
  },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
