import { existsSync, mkdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve, sep } from 'node:path';
import Database from 'better-sqlite3';
import { VetbenchError } from '../../engine/errors.js';
import { vetbenchVersion } from '../../engine/paths.js';
import type {
  ApiError,
  ArtifactInfo,
  DatasetSummary,
  MetricSeries,
  ModelArchitecture,
  ModelSummary,
  ParamValues,
  ProjectInfo,
  RunKind,
  RunLogLine,
  RunProgress,
  RunStatus,
  RunSummary,
  TriggerChoice,
} from '../api/contract.js';
import { hashFile, writeFileAtomic } from './atomic-file.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS, type Migration } from './migrations.js';
import { storeError } from './store-errors.js';

export interface NewModel {
  readonly name: string;
  readonly path: string;
  readonly fingerprint: string;
  readonly fileBytes: number;
  readonly architecture: ModelArchitecture;
  readonly warnings: readonly string[];
  readonly sourceRunId?: number | null;
}

export type NewDataset = Omit<DatasetSummary, 'id' | 'importedAt'>;

export interface NewRun {
  readonly label: string;
  readonly kind: RunKind;
  readonly method: string;
  readonly modelId: number;
  readonly datasetId: number;
  readonly target: string | null;
  readonly trigger: TriggerChoice | null;
  /** A prompt file (artifact) to evaluate with. */
  readonly promptsArtifactId: number | null;
  readonly seed: number;
  readonly params: ParamValues;
}

/** Everything the job host needs to (re)start a run. */
export interface RunRecord extends NewRun {
  readonly id: number;
  readonly status: RunStatus;
  readonly hostPid: number | null;
  readonly workerPid: number | null;
  readonly cancelRequested: boolean;
  readonly attempts: number;
}

export interface RunFilter {
  readonly status?: readonly RunStatus[];
  readonly kind?: readonly RunKind[];
  readonly method?: string;
  readonly modelId?: number;
  readonly datasetId?: number;
  readonly limit: number;
  readonly offset: number;
}

export interface NewArtifact {
  readonly runId: number | null;
  readonly kind: ArtifactInfo['kind'];
  /** Path relative to the artifact folder. */
  readonly relPath: string;
  readonly mediaType: string;
  readonly sha256: string;
  readonly bytes: number;
}

export interface MetricPoint {
  readonly runId: number;
  readonly series: string;
  readonly step: number;
  readonly value: number;
}

interface RunRow {
  id: number;
  label: string;
  kind: RunKind;
  method: string;
  model_id: number;
  dataset_id: number;
  target: string | null;
  trigger: string | null;
  prompts_artifact_id: number | null;
  seed: number;
  params: string;
  status: RunStatus;
  versions: string;
  executor: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  run_ms: number;
  attempts: number;
  progress: string | null;
  host_pid: number | null;
  worker_pid: number | null;
  cancel_requested: number;
  error: string | null;
  result: string | null;
}

interface ArtifactRow {
  id: number;
  run_id: number | null;
  kind: ArtifactInfo['kind'];
  name: string;
  rel_path: string;
  media_type: string;
  bytes: number;
  sha256: string;
  created_at: number;
}

const FINISHED: readonly RunStatus[] = ['done', 'failed', 'cancelled'];

export interface OpenOptions {
  /** Refuse to create a new file (CLI commands that only read). */
  readonly mustExist?: boolean;
}

/**
 * One project = one SQLite file (WAL, foreign keys, versioned migrations, busy timeout) plus an artifact
 * folder beside it (`<file>.artifacts/`). Every failure comes out as a VetbenchError that says what to do.
 */
export class ProjectStore {
  readonly path: string;
  readonly artifactsDir: string;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();

  private constructor(path: string, db: Database.Database) {
    this.path = path;
    this.db = db;
    this.artifactsDir = `${path.replace(/\.vbproj$/, '')}.artifacts`;
  }

  static open(file: string, options: OpenOptions = {}): ProjectStore {
    const path = resolve(file);
    const exists = existsSync(path);
    if (!exists && options.mustExist)
      throw new VetbenchError(
        'project-missing',
        `there is no project file ${path}`,
        'Pass an existing project with --project <file>, or run a job first to create it.',
      );
    if (exists) {
      const mode = statSync(path).mode;
      // Honour a file marked read-only even when running as root (who could write it anyway).
      if ((mode & 0o222) === 0)
        throw new VetbenchError(
          'project-read-only',
          `the project file ${path} is marked read-only`,
          `Make it writable (chmod u+w "${path}"), or copy it to a writable place and open the copy.`,
        );
    } else {
      try {
        mkdirSync(dirname(path), { recursive: true });
      } catch (e) {
        throw storeError(e, path);
      }
    }
    let db: Database.Database | null = null;
    try {
      db = new Database(path);
      db.pragma('busy_timeout = 5000');
      // Reading the header first turns a non-SQLite file into SQLITE_NOTADB here, not mid-job.
      db.pragma('schema_version');
      db.pragma('journal_mode = WAL');
      // NORMAL in WAL: every commit survives a crash of the process (kill -9); power loss may drop the last
      // metric batches. Status changes (`durable`) are committed with FULL so a finished run survives that too.
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      const store = new ProjectStore(path, db);
      store.migrate();
      return store;
    } catch (e) {
      db?.close();
      throw storeError(e, path);
    }
  }

  /** A prepared statement, compiled once per connection. */
  private stmt(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) this.statements.set(sql, (statement = this.db.prepare(sql)));
    return statement;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Runs fn with SQLite and file errors translated; `transaction` makes it all-or-nothing. */
  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw storeError(e, this.path);
    }
  }

  transaction<T>(fn: () => T): T {
    return this.guard(() => this.db.transaction(fn)());
  }

  /** Runs a write that must survive power loss (run created, started, finished): fsynced at commit. */
  private durable<T>(fn: () => T): T {
    return this.guard(() => {
      this.db.pragma('synchronous = FULL');
      try {
        return fn();
      } finally {
        this.db.pragma('synchronous = NORMAL');
      }
    });
  }

  private migrate(): void {
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
    );
    const current =
      (this.stmt('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
    if (current > LATEST_SCHEMA_VERSION)
      throw new VetbenchError(
        'project-newer',
        `${this.path} was written by a newer Vetbench (schema ${current}; this one knows up to ${LATEST_SCHEMA_VERSION})`,
        'Update Vetbench to open this project; it was left untouched.',
      );
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      // Only takes effect outside a transaction; see Migration.rebuildsTables.
      if (m.rebuildsTables) this.db.pragma('foreign_keys = OFF');
      try {
        this.applyMigration(m);
      } finally {
        if (m.rebuildsTables) this.db.pragma('foreign_keys = ON');
      }
    }
  }

  private applyMigration(m: Migration): void {
    this.db.transaction(() => {
      this.db.exec(m.sql);
      if (m.rebuildsTables) {
        const broken = this.db.pragma('foreign_key_check') as unknown[];
        if (broken.length)
          throw new VetbenchError(
            'project-corrupt',
            `migration ${m.version} (${m.name}) found ${broken.length} broken reference(s) in ${this.path}`,
            'The project was left unchanged; restore it from a backup or report this.',
          );
      }
      this.stmt('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        m.version,
        m.name,
        Date.now(),
      );
      if (m.version === 1) {
        const meta = this.stmt('INSERT INTO meta (key, value) VALUES (?, ?)');
        meta.run('created_at', String(Date.now()));
        meta.run('name', basename(this.path, extname(this.path)));
      }
    })();
  }

  schemaVersion(): number {
    return this.guard(
      () => (this.stmt('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number }).v,
    );
  }

  info(): ProjectInfo {
    return this.guard(() => {
      const meta = Object.fromEntries(
        (this.stmt('SELECT key, value FROM meta').all() as { key: string; value: string }[]).map((r) => [
          r.key,
          r.value,
        ]),
      );
      const count = (sql: string): number => (this.stmt(sql).get() as { n: number }).n;
      return {
        path: this.path,
        name: meta.name ?? basename(this.path),
        artifactsDir: this.artifactsDir,
        schemaVersion: this.schemaVersion(),
        createdAt: Number(meta.created_at ?? 0),
        vetbenchVersion: vetbenchVersion(),
        counts: {
          models: count('SELECT COUNT(*) AS n FROM models'),
          datasets: count('SELECT COUNT(*) AS n FROM datasets'),
          runs: count('SELECT COUNT(*) AS n FROM runs'),
          running: count("SELECT COUNT(*) AS n FROM runs WHERE status = 'running'"),
        },
      };
    });
  }

  // ---- models --------------------------------------------------------------------------------------------

  insertModel(m: NewModel): ModelSummary {
    return this.guard(() => {
      const id = Number(
        this.stmt(
          `INSERT INTO models (name, path, fingerprint, file_bytes, architecture, warnings, source_run_id, imported_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          m.name,
          m.path,
          m.fingerprint,
          m.fileBytes,
          JSON.stringify(m.architecture),
          JSON.stringify(m.warnings),
          m.sourceRunId ?? null,
          Date.now(),
        ).lastInsertRowid,
      );
      return this.getModel(id);
    });
  }

  /** An already imported model with the same file content and path, to avoid duplicate rows. */
  findModel(path: string, fingerprint: string): ModelSummary | null {
    return this.guard(() => {
      const row = this.stmt('SELECT id FROM models WHERE path = ? AND fingerprint = ?').get(
        path,
        fingerprint,
      ) as { id: number } | undefined;
      return row ? this.getModel(row.id) : null;
    });
  }

  private modelFromRow(r: Record<string, unknown>): ModelSummary {
    return {
      id: r.id as number,
      name: r.name as string,
      path: r.path as string,
      fingerprint: r.fingerprint as string,
      fileBytes: r.file_bytes as number,
      architecture: JSON.parse(r.architecture as string) as ModelArchitecture,
      warnings: JSON.parse(r.warnings as string) as string[],
      sourceRunId: (r.source_run_id as number | null) ?? null,
      importedAt: r.imported_at as number,
    };
  }

  getModel(id: number): ModelSummary {
    return this.guard(() => {
      const r = this.stmt('SELECT * FROM models WHERE id = ?').get(id) as Record<string, unknown> | undefined;
      if (!r) throw notFound('model', id);
      return this.modelFromRow(r);
    });
  }

  listModels(): ModelSummary[] {
    return this.guard(() =>
      (this.stmt('SELECT * FROM models ORDER BY id').all() as Record<string, unknown>[]).map((r) =>
        this.modelFromRow(r),
      ),
    );
  }

  // ---- datasets ------------------------------------------------------------------------------------------

  insertDataset(d: NewDataset): DatasetSummary {
    return this.guard(() => {
      const id = Number(
        this.stmt(
          'INSERT INTO datasets (name, root, fingerprint, summary, imported_at) VALUES (?, ?, ?, ?, ?)',
        ).run(d.name, d.root, d.fingerprint, JSON.stringify(d), Date.now()).lastInsertRowid,
      );
      return this.getDataset(id);
    });
  }

  findDataset(root: string, fingerprint: string): DatasetSummary | null {
    return this.guard(() => {
      const row = this.stmt('SELECT id FROM datasets WHERE root = ? AND fingerprint = ?').get(
        root,
        fingerprint,
      ) as { id: number } | undefined;
      return row ? this.getDataset(row.id) : null;
    });
  }

  private datasetFromRow(r: Record<string, unknown>): DatasetSummary {
    const summary = JSON.parse(r.summary as string) as NewDataset;
    return { ...summary, id: r.id as number, name: r.name as string, importedAt: r.imported_at as number };
  }

  getDataset(id: number): DatasetSummary {
    return this.guard(() => {
      const r = this.stmt('SELECT * FROM datasets WHERE id = ?').get(id) as
        Record<string, unknown> | undefined;
      if (!r) throw notFound('dataset', id);
      return this.datasetFromRow(r);
    });
  }

  listDatasets(): DatasetSummary[] {
    return this.guard(() =>
      (this.stmt('SELECT * FROM datasets ORDER BY id').all() as Record<string, unknown>[]).map((r) =>
        this.datasetFromRow(r),
      ),
    );
  }

  // ---- runs ----------------------------------------------------------------------------------------------

  /** A new run in status queued, owned by `hostPid` (the process that will start its worker). */
  createRun(run: NewRun, hostPid: number | null = process.pid): number {
    return this.durable(() =>
      Number(
        this.stmt(
          `INSERT INTO runs (label, kind, method, model_id, dataset_id, target, trigger, prompts_artifact_id, seed, params, status, created_at, host_pid)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)`,
        ).run(
          run.label,
          run.kind,
          run.method,
          run.modelId,
          run.datasetId,
          run.target,
          run.trigger ? JSON.stringify(run.trigger) : null,
          run.promptsArtifactId,
          run.seed,
          JSON.stringify(run.params),
          Date.now(),
          hostPid,
        ).lastInsertRowid,
      ),
    );
  }

  private runRow(id: number): RunRow {
    const r = this.stmt('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
    if (!r) throw notFound('run', id);
    return r;
  }

  getRunRecord(id: number): RunRecord {
    return this.guard(() => {
      const r = this.runRow(id);
      return {
        id: r.id,
        label: r.label,
        kind: r.kind,
        method: r.method,
        modelId: r.model_id,
        datasetId: r.dataset_id,
        target: r.target,
        trigger: r.trigger ? (JSON.parse(r.trigger) as TriggerChoice) : null,
        promptsArtifactId: r.prompts_artifact_id,
        seed: r.seed,
        params: JSON.parse(r.params) as ParamValues,
        status: r.status,
        hostPid: r.host_pid,
        workerPid: r.worker_pid,
        cancelRequested: r.cancel_requested === 1,
        attempts: r.attempts,
      };
    });
  }

  private summaryFromRow(r: RunRow, finalMetrics: Record<string, number>): RunSummary {
    return {
      id: r.id,
      label: r.label,
      kind: r.kind,
      method: r.method,
      modelId: r.model_id,
      datasetId: r.dataset_id,
      target: r.target,
      seed: r.seed,
      status: r.status,
      createdAt: r.created_at,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      runMs: r.run_ms,
      attempts: r.attempts,
      progress: r.progress ? (JSON.parse(r.progress) as RunProgress) : null,
      finalMetrics,
      error: r.error ? (JSON.parse(r.error) as ApiError) : null,
    };
  }

  getRun(id: number): RunSummary {
    return this.guard(() => this.summaryFromRow(this.runRow(id), this.finalMetrics([id]).get(id) ?? {}));
  }

  /** Runs in the order of `ids` (unknown ids are an error). */
  getRuns(ids: readonly number[]): RunSummary[] {
    return this.guard(() => {
      const finals = this.finalMetrics(ids);
      return ids.map((id) => this.summaryFromRow(this.runRow(id), finals.get(id) ?? {}));
    });
  }

  runDetails(id: number): {
    params: ParamValues;
    trigger: TriggerChoice | null;
    /** The prompt file (artifact) the run evaluated with, if any. */
    promptsArtifactId: number | null;
    versions: Record<string, string>;
    executor: string | null;
    result: Record<string, unknown> | null;
  } {
    return this.guard(() => {
      const r = this.runRow(id);
      return {
        params: JSON.parse(r.params) as ParamValues,
        trigger: r.trigger ? (JSON.parse(r.trigger) as TriggerChoice) : null,
        promptsArtifactId: r.prompts_artifact_id,
        versions: JSON.parse(r.versions) as Record<string, string>,
        executor: r.executor,
        result: r.result ? (JSON.parse(r.result) as Record<string, unknown>) : null,
      };
    });
  }

  listRuns(filter: RunFilter): { runs: RunSummary[]; total: number } {
    return this.guard(() => {
      const where: string[] = [];
      const args: (string | number)[] = [];
      if (filter.status?.length) {
        where.push(`status IN (${filter.status.map(() => '?').join(',')})`);
        args.push(...filter.status);
      }
      if (filter.kind?.length) {
        where.push(`kind IN (${filter.kind.map(() => '?').join(',')})`);
        args.push(...filter.kind);
      }
      if (filter.method !== undefined) {
        where.push('method = ?');
        args.push(filter.method);
      }
      if (filter.modelId !== undefined) {
        where.push('model_id = ?');
        args.push(filter.modelId);
      }
      if (filter.datasetId !== undefined) {
        where.push('dataset_id = ?');
        args.push(filter.datasetId);
      }
      const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
      const total = (this.stmt(`SELECT COUNT(*) AS n FROM runs ${clause}`).get(...args) as { n: number }).n;
      const rows = this.stmt(`SELECT * FROM runs ${clause} ORDER BY id DESC LIMIT ? OFFSET ?`).all(
        ...args,
        filter.limit,
        filter.offset,
      ) as RunRow[];
      const finals = this.finalMetrics(rows.map((r) => r.id));
      return { runs: rows.map((r) => this.summaryFromRow(r, finals.get(r.id) ?? {})), total };
    });
  }

  /** A worker took the run: status running, one more attempt, who runs it, with which software. */
  markRunning(
    id: number,
    who: { hostPid: number; workerPid: number | null },
    versions: Record<string, string>,
    executor: string | null,
  ): void {
    this.durable(() =>
      this.stmt(
        `UPDATE runs SET status = 'running', started_at = COALESCE(started_at, ?), attempts = attempts + 1,
             host_pid = ?, worker_pid = ?, versions = ?, executor = ?, error = NULL, finished_at = NULL
           WHERE id = ?`,
      ).run(Date.now(), who.hostPid, who.workerPid, JSON.stringify(versions), executor, id),
    );
  }

  setVersions(id: number, versions: Record<string, string>, executor: string | null): void {
    this.guard(() =>
      this.stmt('UPDATE runs SET versions = ?, executor = ? WHERE id = ?').run(
        JSON.stringify(versions),
        executor,
        id,
      ),
    );
  }

  setWorkerPid(id: number, workerPid: number | null): void {
    this.guard(() => this.stmt('UPDATE runs SET worker_pid = ? WHERE id = ?').run(workerPid, id));
  }

  /** Back to queued (resume) under this host; keeps metrics, checkpoints and artifacts. */
  requeue(id: number, hostPid: number = process.pid): void {
    this.durable(() =>
      this.stmt(
        `UPDATE runs SET status = 'queued', host_pid = ?, worker_pid = NULL, cancel_requested = 0, error = NULL,
             finished_at = NULL WHERE id = ?`,
      ).run(hostPid, id),
    );
  }

  setProgress(id: number, progress: RunProgress): void {
    this.guard(() =>
      this.stmt('UPDATE runs SET progress = ? WHERE id = ?').run(JSON.stringify(progress), id),
    );
  }

  /** Ends an attempt: final status, time spent added, error or result recorded, in one transaction. */
  finishRun(
    id: number,
    status: Exclude<RunStatus, 'queued' | 'running'>,
    outcome: { attemptMs: number; error?: ApiError | null; result?: Record<string, unknown> | null },
  ): void {
    this.durable(() =>
      this.stmt(
        `UPDATE runs SET status = ?, finished_at = ?, run_ms = run_ms + ?, worker_pid = NULL,
             error = ?, result = COALESCE(?, result) WHERE id = ?`,
      ).run(
        status,
        Date.now(),
        outcome.attemptMs,
        outcome.error ? JSON.stringify(outcome.error) : null,
        outcome.result ? JSON.stringify(outcome.result) : null,
        id,
      ),
    );
  }

  /** Asks whoever runs it to stop (works across processes: the host polls this flag). */
  requestCancel(id: number): void {
    this.guard(() => this.stmt('UPDATE runs SET cancel_requested = 1 WHERE id = ?').run(id));
  }

  cancelRequested(ids: readonly number[]): number[] {
    if (ids.length === 0) return [];
    return this.guard(() =>
      (
        this.stmt(
          'SELECT id FROM runs WHERE cancel_requested = 1 AND id IN (SELECT value FROM json_each(?))',
        ).all(JSON.stringify(ids)) as { id: number }[]
      ).map((r) => r.id),
    );
  }

  /**
   * Runs left queued or running by a process that is gone: marked interrupted (resumable). `isAlive` says
   * whether a process id still runs. Returns the ids marked.
   */
  markOrphansInterrupted(isAlive: (pid: number) => boolean): number[] {
    return this.transaction(() => {
      const rows = this.stmt(
        "SELECT id, status, host_pid, worker_pid FROM runs WHERE status IN ('queued', 'running')",
      ).all() as Pick<RunRow, 'id' | 'status' | 'host_pid' | 'worker_pid'>[];
      const orphans = rows.filter((r) => {
        const hostGone = r.host_pid === null || !isAlive(r.host_pid);
        const workerGone = r.status === 'running' && (r.worker_pid === null || !isAlive(r.worker_pid));
        return hostGone || workerGone;
      });
      const mark = this.stmt(
        "UPDATE runs SET status = 'interrupted', worker_pid = NULL, finished_at = ? WHERE id = ?",
      );
      for (const r of orphans) mark.run(Date.now(), r.id);
      return orphans.map((r) => r.id);
    });
  }

  // ---- metrics, logs, checkpoints ------------------------------------------------------------------------

  /** Upserts points in one transaction: a resumed run rewriting a step replaces it, never duplicates it. */
  recordMetrics(points: readonly MetricPoint[]): void {
    if (points.length === 0) return;
    this.transaction(() => {
      const upsert = this.stmt(
        `INSERT INTO metric_points (run_id, series, step, value) VALUES (?, ?, ?, ?)
         ON CONFLICT (run_id, series, step) DO UPDATE SET value = excluded.value`,
      );
      const last = this.stmt(
        `INSERT INTO run_final_metrics (run_id, series, step, value) VALUES (?, ?, ?, ?)
         ON CONFLICT (run_id, series) DO UPDATE SET step = excluded.step, value = excluded.value
         WHERE excluded.step >= run_final_metrics.step`,
      );
      for (const p of points) {
        upsert.run(p.runId, p.series, p.step, p.value);
        last.run(p.runId, p.series, p.step, p.value);
      }
    });
  }

  series(runId: number): MetricSeries[] {
    return this.guard(() => {
      const rows = this.stmt(
        'SELECT series, step, value FROM metric_points WHERE run_id = ? ORDER BY series, step',
      ).all(runId) as { series: string; step: number; value: number }[];
      const out = new Map<string, { step: number; value: number }[]>();
      for (const r of rows) {
        let points = out.get(r.series);
        if (!points) out.set(r.series, (points = []));
        points.push({ step: r.step, value: r.value });
      }
      return [...out].map(([name, points]) => ({ name, points }));
    });
  }

  /** The value at the highest step of every series of each run. */
  finalMetrics(runIds: readonly number[]): Map<number, Record<string, number>> {
    const out = new Map<number, Record<string, number>>();
    if (runIds.length === 0) return out;
    return this.guard(() => {
      const rows = this.stmt(
        'SELECT run_id, series, value FROM run_final_metrics WHERE run_id IN (SELECT value FROM json_each(?))',
      ).all(JSON.stringify(runIds)) as { run_id: number; series: string; value: number }[];
      for (const r of rows) {
        let record = out.get(r.run_id);
        if (!record) out.set(r.run_id, (record = {}));
        record[r.series] = r.value;
      }
      return out;
    });
  }

  addLogLines(runId: number, lines: readonly RunLogLine[]): void {
    if (lines.length === 0) return;
    this.transaction(() => {
      const insert = this.stmt('INSERT INTO run_logs (run_id, at, level, line) VALUES (?, ?, ?, ?)');
      for (const l of lines) insert.run(runId, l.at, l.level, l.line);
    });
  }

  logTail(runId: number, count = 200): RunLogLine[] {
    return this.guard(() =>
      (
        this.stmt('SELECT at, level, line FROM run_logs WHERE run_id = ? ORDER BY id DESC LIMIT ?').all(
          runId,
          count,
        ) as RunLogLine[]
      ).reverse(),
    );
  }

  addCheckpoint(runId: number, step: number, dir: string): void {
    this.guard(() =>
      this.stmt(
        'INSERT INTO checkpoints (run_id, step, dir, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (run_id, step) DO NOTHING',
      ).run(runId, step, dir, Date.now()),
    );
  }

  lastCheckpoint(runId: number): { step: number; dir: string } | null {
    return this.guard(
      () =>
        (this.stmt('SELECT step, dir FROM checkpoints WHERE run_id = ? ORDER BY step DESC LIMIT 1').get(
          runId,
        ) as { step: number; dir: string } | undefined) ?? null,
    );
  }

  // ---- artifacts -----------------------------------------------------------------------------------------

  /** The folder for a run's files (created on demand). */
  runFolder(runId: number): string {
    return join(this.artifactsDir, `run-${runId}`);
  }

  checkpointDir(runId: number): string {
    return join(this.runFolder(runId), 'checkpoint');
  }

  private artifactFromRow(r: ArtifactRow): ArtifactInfo {
    return {
      id: r.id,
      runId: r.run_id,
      kind: r.kind,
      name: r.name,
      mediaType: r.media_type,
      bytes: r.bytes,
      sha256: r.sha256,
      createdAt: r.created_at,
    };
  }

  /** Records a file already written (atomically) inside the artifact folder. */
  registerArtifact(a: NewArtifact): ArtifactInfo {
    const full = this.resolveArtifactPath(a.relPath);
    return this.guard(() => {
      const size = statSync(full).size;
      if (size !== a.bytes)
        throw new VetbenchError(
          'artifact-size-mismatch',
          `${full} has ${size} bytes, the job reported ${a.bytes}`,
          'The file changed while it was recorded; run the job again.',
        );
      const row = this.stmt(
        `INSERT INTO artifacts (run_id, kind, name, rel_path, media_type, bytes, sha256, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (rel_path) DO UPDATE SET bytes = excluded.bytes, sha256 = excluded.sha256,
             kind = excluded.kind, media_type = excluded.media_type, created_at = excluded.created_at
           RETURNING *`,
      ).get(
        a.runId,
        a.kind,
        basename(a.relPath),
        a.relPath,
        a.mediaType,
        a.bytes,
        a.sha256,
        Date.now(),
      ) as ArtifactRow;
      return this.artifactFromRow(row);
    });
  }

  /** Writes bytes as an artifact (temp name, fsync, rename) and records it with its hash. */
  async writeArtifact(
    runId: number | null,
    kind: ArtifactInfo['kind'],
    name: string,
    data: Uint8Array | string,
    mediaType: string,
  ): Promise<ArtifactInfo> {
    const relPath = join(runId === null ? 'project' : `run-${runId}`, name);
    const full = this.resolveArtifactPath(relPath);
    try {
      await writeFileAtomic(full, data);
    } catch (e) {
      throw storeError(e, full);
    }
    const { sha256, bytes } = await hashFile(full);
    return this.registerArtifact({ runId, kind, relPath, mediaType, sha256, bytes });
  }

  /** Absolute path of a file in the artifact folder; refuses paths that would leave it. */
  resolveArtifactPath(relPath: string): string {
    const full = resolve(this.artifactsDir, relPath);
    if (!full.startsWith(this.artifactsDir + sep))
      throw new VetbenchError(
        'artifact-path',
        `'${relPath}' leaves the artifact folder`,
        'This is a bug in the job.',
      );
    return full;
  }

  getArtifact(id: number): ArtifactInfo & { path: string } {
    return this.guard(() => {
      const r = this.stmt('SELECT * FROM artifacts WHERE id = ?').get(id) as ArtifactRow | undefined;
      if (!r) throw notFound('artifact', id);
      return { ...this.artifactFromRow(r), path: this.resolveArtifactPath(r.rel_path) };
    });
  }

  listArtifacts(runId: number): ArtifactInfo[] {
    return this.guard(() =>
      (this.stmt('SELECT * FROM artifacts WHERE run_id = ? ORDER BY id').all(runId) as ArtifactRow[]).map(
        (r) => this.artifactFromRow(r),
      ),
    );
  }

  // ---- comparisons and reports ---------------------------------------------------------------------------

  saveComparison(name: string, runIds: readonly number[]): number {
    return this.guard(() =>
      Number(
        this.stmt('INSERT INTO comparisons (name, run_ids, created_at) VALUES (?, ?, ?)').run(
          name,
          JSON.stringify(runIds),
          Date.now(),
        ).lastInsertRowid,
      ),
    );
  }

  listComparisons(): { id: number; name: string; runIds: number[]; createdAt: number }[] {
    return this.guard(() =>
      (
        this.stmt('SELECT id, name, run_ids, created_at FROM comparisons ORDER BY id').all() as {
          id: number;
          name: string;
          run_ids: string;
          created_at: number;
        }[]
      ).map((r) => ({
        id: r.id,
        name: r.name,
        runIds: JSON.parse(r.run_ids) as number[],
        createdAt: r.created_at,
      })),
    );
  }

  addReport(title: string, artifactId: number | null, runIds: readonly number[]): number {
    return this.guard(() =>
      Number(
        this.stmt('INSERT INTO reports (title, artifact_id, run_ids, created_at) VALUES (?, ?, ?, ?)').run(
          title,
          artifactId,
          JSON.stringify(runIds),
          Date.now(),
        ).lastInsertRowid,
      ),
    );
  }

  /** Runs that ended (done, failed, cancelled). */
  static isFinished(status: RunStatus): boolean {
    return FINISHED.includes(status);
  }

  /** For fault tests and the benchmark: direct access to run a pragma. */
  pragma(source: string): unknown {
    return this.guard(() => this.db.pragma(source));
  }
}

function notFound(what: string, id: number): VetbenchError {
  return new VetbenchError(
    `${what}-not-found`,
    `there is no ${what} ${id} in this project`,
    `List them first (vetbench runs).`,
  );
}
