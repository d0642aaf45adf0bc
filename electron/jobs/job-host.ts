import { rm } from 'node:fs/promises';
import { describeTrigger } from '../api/compare-runs.js';
import { VetbenchError } from '../../engine/errors.js';
import { resolveParams } from '../../engine/methods/params.js';
import type {
  ApiError,
  ApiEvent,
  ApiEventListener,
  RunStatus,
  RunSummary,
  StartRunRequest,
} from '../api/contract.js';
import { ProjectStore, type MetricPoint, type RunRecord } from '../store/project-store.js';
import { featureCacheFile } from '../store/feature-cache-db.js';
import { findJobMethod } from './kinds/index.js';
import {
  defaultWorkerModule,
  forkLauncher,
  type ProcessLauncher,
  type WorkerProcess,
} from './process-launcher.js';
import {
  WorkerMessageSchema,
  type JobSpec,
  type WorkerMessage,
  type WorkerTrigger,
} from './worker-protocol.js';

export interface JobHostOptions {
  readonly launcher?: ProcessLauncher;
  readonly workerModule?: string;
  /** Jobs running at once (default 1: a job already uses every core). */
  readonly concurrency?: number;
  /** How long a cancelled worker may take to stop before it is killed (default 10 s). */
  readonly cancelGraceMs?: number;
  /** How often cancel requests from other processes (`vetbench cancel`) are looked for (default 500 ms). */
  readonly pollMs?: number;
  /** Training-step executor passed to jobs (default: the engine's). */
  readonly executor?: 'onnx' | 'tfjs';
}

interface ActiveJob {
  readonly runId: number;
  readonly worker: WorkerProcess;
  readonly startedAt: number;
  cancelSent: boolean;
  killTimer: NodeJS.Timeout | null;
  outcome: {
    status: 'done' | 'failed' | 'cancelled';
    error?: ApiError;
    result?: Record<string, unknown>;
  } | null;
  lastProgressWrite: number;
}

const TERMINAL: readonly RunStatus[] = ['done', 'failed', 'cancelled', 'interrupted'];

/** Whether a process id is alive (EPERM: alive, owned by someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs jobs, one worker process each, and records what they report in the project store. Queue with a
 * concurrency limit; cancel = ask the worker, kill after a grace period; resume = same run id from its
 * last checkpoint. Events go to subscribers (API transports, the CLI) after they are stored.
 */
export class JobHost {
  private readonly queue: number[] = [];
  private readonly active = new Map<number, ActiveJob>();
  private readonly listeners = new Set<ApiEventListener>();
  private readonly waiters = new Map<number, ((run: RunSummary) => void)[]>();
  private pendingMetrics: MetricPoint[] = [];
  private pendingLogs = new Map<number, { at: number; level: 'info' | 'warn' | 'error'; line: string }[]>();
  private flushTimer: NodeJS.Timeout | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private readonly launcher: ProcessLauncher;
  private readonly workerModule: string;
  private readonly concurrency: number;
  private readonly cancelGraceMs: number;
  private closed = false;

  constructor(
    readonly store: ProjectStore,
    private readonly options: JobHostOptions = {},
  ) {
    this.launcher = options.launcher ?? forkLauncher;
    this.workerModule = options.workerModule ?? defaultWorkerModule();
    this.concurrency = Math.max(1, options.concurrency ?? 1);
    this.cancelGraceMs = options.cancelGraceMs ?? 10_000;
  }

  /** Marks runs whose worker or host is gone as interrupted and starts watching for cancel requests. */
  start(): number[] {
    const interrupted = this.store.markOrphansInterrupted(processAlive);
    for (const runId of interrupted)
      this.emit({ type: 'run-status', runId, status: 'interrupted', error: null });
    this.pollTimer = setInterval(() => this.pollCancels(), this.options.pollMs ?? 500);
    this.pollTimer.unref();
    return interrupted;
  }

  subscribe(listener: ApiEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: ApiEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // a failing listener must not stop the job
      }
    }
  }

  /** Validates a run request against the method's declared parameters, stores it queued and schedules it. */
  submit(request: Omit<StartRunRequest, 'params'> & { params: Record<string, unknown> }): RunSummary {
    const info = findJobMethod(request.kind, request.method);
    const params = resolveParams(info.id, info.params, request.params);
    const model = this.store.getModel(request.modelId);
    const dataset = this.store.getDataset(request.datasetId);
    if (info.needsTarget && !request.target)
      throw new VetbenchError('target-missing', `${info.id} needs a target class`, 'Name the target class.');
    const wanted = request.target?.trim().toLowerCase();
    if (
      wanted &&
      !dataset.classes.some((c) => c.name.toLowerCase() === wanted || c.folder.toLowerCase() === wanted)
    )
      throw new VetbenchError(
        'unknown-class',
        `the dataset has no class '${request.target}'`,
        `Use one of: ${dataset.classes.map((c) => c.name).join(', ')}.`,
      );
    if (request.trigger?.source === 'artifact') this.triggerArtifactPath(request.trigger.artifactId);
    this.referenceModelPath(params); // an unknown reference model is refused before the run is created
    this.pairsDatasetSource(params); // likewise an unknown poisoned corpus
    const runId = this.store.createRun({
      label: request.label ?? this.defaultLabel(info.id, model.name, request),
      kind: request.kind,
      method: info.id,
      modelId: request.modelId,
      datasetId: request.datasetId,
      target: request.target ?? null,
      trigger: request.trigger
        ? request.trigger.source === 'family'
          ? { source: 'family', family: request.trigger.family, params: request.trigger.params ?? {} }
          : request.trigger
        : null,
      promptsArtifactId: request.promptsArtifactId ?? null,
      seed: request.seed,
      params,
    });
    this.emit({ type: 'run-status', runId, status: 'queued', error: null });
    this.enqueue(runId);
    return this.store.getRun(runId);
  }

  /** Continues an interrupted, failed or cancelled run under the same id, from its last checkpoint. */
  resume(runId: number): RunSummary {
    const run = this.store.getRunRecord(runId);
    if (run.status === 'queued' || run.status === 'running') {
      if (run.hostPid !== null && run.hostPid !== process.pid && processAlive(run.hostPid))
        throw new VetbenchError(
          'run-active',
          `run ${runId} is ${run.status} in another Vetbench process (pid ${run.hostPid})`,
          'Wait for it, or cancel it first.',
        );
      if (this.active.has(runId) || this.queue.includes(runId))
        throw new VetbenchError(
          'run-active',
          `run ${runId} is already ${run.status}`,
          'Wait for it to finish.',
        );
    }
    if (run.status === 'done')
      throw new VetbenchError('run-done', `run ${runId} finished already`, 'Start a new run to repeat it.');
    this.store.requeue(runId);
    this.emit({ type: 'run-status', runId, status: 'queued', error: null });
    this.enqueue(runId);
    return this.store.getRun(runId);
  }

  /** Cancels a run: queued ones at once, running ones cooperatively, those of other processes by request. */
  cancel(runId: number): RunSummary {
    const run = this.store.getRunRecord(runId);
    const active = this.active.get(runId);
    if (active) this.cancelActive(active);
    else if (this.queue.includes(runId)) {
      this.queue.splice(this.queue.indexOf(runId), 1);
      this.finish(runId, 'cancelled', { attemptMs: 0 });
    } else if (run.status === 'interrupted' || run.status === 'failed') {
      this.finish(runId, 'cancelled', { attemptMs: 0, error: null });
    } else if (run.status === 'queued' || run.status === 'running') {
      if (run.hostPid !== null && processAlive(run.hostPid)) this.store.requestCancel(runId);
      else this.finish(runId, 'cancelled', { attemptMs: 0 });
    }
    return this.store.getRun(runId);
  }

  /** Resolves when the run reaches a final status in this host (done, failed, cancelled, interrupted). */
  waitFor(runId: number): Promise<RunSummary> {
    const run = this.store.getRun(runId);
    if (TERMINAL.includes(run.status) && !this.active.has(runId) && !this.queue.includes(runId))
      return Promise.resolve(run);
    return new Promise((resolve) => {
      const list = this.waiters.get(runId) ?? [];
      list.push(resolve);
      this.waiters.set(runId, list);
    });
  }

  /** Stops watching; workers still running are killed and their runs marked interrupted (resumable). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    const exits = [...this.active.values()].map(
      (job) => new Promise<void>((resolve) => job.worker.onExit(() => resolve())),
    );
    for (const job of this.active.values()) job.worker.kill();
    for (const runId of this.queue.splice(0)) this.finish(runId, 'interrupted', { attemptMs: 0 });
    await Promise.all(exits);
    this.flush();
  }

  private enqueue(runId: number): void {
    this.queue.push(runId);
    this.pump();
  }

  private pump(): void {
    while (!this.closed && this.active.size < this.concurrency && this.queue.length > 0) {
      const runId = this.queue.shift()!;
      try {
        this.launch(runId);
      } catch (e) {
        const error =
          e instanceof VetbenchError
            ? { code: e.code, message: e.message, hint: e.hint }
            : { code: 'internal', message: (e as Error).message, hint: 'Report this.' };
        this.finish(runId, 'failed', { attemptMs: 0, error });
      }
    }
  }

  private triggerArtifactPath(artifactId: number): string {
    const artifact = this.store.getArtifact(artifactId);
    if (artifact.kind !== 'trigger')
      throw new VetbenchError(
        'bad-request',
        `artifact ${artifactId} is a ${artifact.kind}, not a trigger`,
        "Pick the trigger saved by an attack run (its artifacts list 'trigger.safetensors').",
      );
    return artifact.path;
  }

  /**
   * A run's title when none is given: method and model, then what it was measured with, so two checks of one
   * model differ in the list ("backdoor-eval on demo, badnet (patchSize=112) → banana, prompts.safetensors of run 6").
   */
  private defaultLabel(
    method: string,
    modelName: string,
    request: Pick<StartRunRequest, 'trigger' | 'target' | 'promptsArtifactId'>,
  ): string {
    const artifactName = (id: number): string => {
      const a = this.store.getArtifact(id);
      return a.runId === null ? a.name : `${a.name} of run ${a.runId}`;
    };
    const trigger = request.trigger
      ? describeTrigger(
          request.trigger.source === 'family'
            ? { ...request.trigger, params: request.trigger.params ?? {} }
            : request.trigger,
          artifactName,
        )
      : null;
    return [
      `${method} on ${modelName}`,
      ...(trigger ? [`${trigger}${request.target ? ` → ${request.target}` : ''}`] : []),
      ...(request.promptsArtifactId !== undefined ? [artifactName(request.promptsArtifactId)] : []),
    ].join(', ');
  }

  /** The model a run compares with (its `referenceModel` param: a model id of the project, 0 = none). */
  private referenceModelPath(params: Readonly<Record<string, unknown>>): string | null {
    const id = params['referenceModel'];
    return typeof id === 'number' && id > 0 ? this.store.getModel(id).path : null;
  }

  /** The corpus an attack poisons (its `poisonDataset` param: a dataset id of the project, 0 = the run's). */
  private pairsDatasetSource(params: Readonly<Record<string, unknown>>): string | null {
    const id = params['poisonDataset'];
    return typeof id === 'number' && id > 0 ? this.store.getDataset(id).root : null;
  }

  private jobSpec(run: RunRecord): JobSpec {
    const model = this.store.getModel(run.modelId);
    const dataset = this.store.getDataset(run.datasetId);
    let trigger: WorkerTrigger | null = null;
    if (run.trigger?.source === 'family')
      trigger = { source: 'family', family: run.trigger.family, params: run.trigger.params };
    else if (run.trigger?.source === 'artifact')
      trigger = { source: 'file', path: this.triggerArtifactPath(run.trigger.artifactId) };
    return {
      runId: run.id,
      kind: run.kind,
      method: run.method,
      params: run.params,
      seed: run.seed,
      target: run.target,
      trigger,
      promptsPath: run.promptsArtifactId === null ? null : this.store.getArtifact(run.promptsArtifactId).path,
      modelPath: model.path,
      referenceModelPath: this.referenceModelPath(run.params),
      datasetSource: dataset.root,
      pairsDatasetSource: this.pairsDatasetSource(run.params),
      runFolder: this.store.runFolder(run.id),
      checkpointDir: this.store.checkpointDir(run.id),
      artifactPrefix: `run-${run.id}`,
      featureCachePath: featureCacheFile(this.store.path),
      executor: this.options.executor ?? null,
    };
  }

  private launch(runId: number): void {
    const spec = this.jobSpec(this.store.getRunRecord(runId));
    const worker = this.launcher.launch(this.workerModule);
    const job: ActiveJob = {
      runId,
      worker,
      startedAt: Date.now(),
      cancelSent: false,
      killTimer: null,
      outcome: null,
      lastProgressWrite: 0,
    };
    this.active.set(runId, job);
    this.store.markRunning(runId, { hostPid: process.pid, workerPid: worker.pid ?? null }, {}, spec.executor);
    this.emit({ type: 'run-status', runId, status: 'running', error: null });
    worker.onMessage((raw) => {
      const parsed = WorkerMessageSchema.safeParse(raw);
      if (!parsed.success) {
        this.logLine(runId, 'warn', `ignored a malformed message from the worker`);
        return;
      }
      try {
        this.onWorkerMessage(job, parsed.data);
      } catch (e) {
        // e.g. the disk is full: the attempt cannot be recorded; stop it so it can be resumed later
        const err = e instanceof VetbenchError ? e : null;
        job.outcome = {
          status: 'failed',
          error: err
            ? { code: err.code, message: err.message, hint: err.hint }
            : { code: 'internal', message: (e as Error).message, hint: 'Report this, then resume the run.' },
        };
        worker.kill();
      }
    });
    worker.onExit((code, signal) => this.onWorkerExit(job, code, signal));
    worker.send({ type: 'start', spec });
  }

  private onWorkerMessage(job: ActiveJob, m: WorkerMessage): void {
    const runId = job.runId;
    switch (m.type) {
      case 'started':
        this.store.setVersions(runId, m.versions, m.executor);
        break;
      case 'progress': {
        const progress = { epoch: m.epoch, step: m.step, total: m.total, etaMs: m.etaMs };
        if (Date.now() - job.lastProgressWrite > 1000 || m.step === m.total) {
          job.lastProgressWrite = Date.now();
          this.store.setProgress(runId, progress);
        }
        this.emit({
          type: 'run-progress',
          runId,
          ...progress,
          ...(m.loss !== undefined ? { loss: m.loss } : {}),
        });
        break;
      }
      case 'metric':
        this.pendingMetrics.push({ runId, series: m.series, step: m.step, value: m.value });
        this.scheduleFlush();
        this.emit({ type: 'run-metric', runId, series: m.series, step: m.step, value: m.value });
        break;
      case 'log':
        this.logLine(runId, m.level, m.line, m.at);
        break;
      case 'artifact': {
        this.flush();
        const artifact = this.store.registerArtifact({
          runId,
          kind: m.kind,
          relPath: m.relPath,
          mediaType: m.mediaType,
          sha256: m.sha256,
          bytes: m.bytes,
        });
        this.emit({ type: 'run-artifact', runId, artifact });
        break;
      }
      case 'checkpoint':
        this.flush(); // every metric up to the checkpoint is stored before the checkpoint counts
        this.store.addCheckpoint(runId, m.step, m.dir);
        this.emit({ type: 'run-checkpoint', runId, step: m.step });
        break;
      case 'model':
        this.store.insertModel({
          name: m.name,
          path: this.store.resolveArtifactPath(m.relPath),
          fingerprint: m.fingerprint,
          fileBytes: m.fileBytes,
          architecture: m.architecture,
          warnings: m.warnings,
          sourceRunId: runId,
        });
        break;
      case 'done':
        job.outcome = { status: 'done', result: m.result };
        break;
      case 'cancelled':
        job.outcome = { status: 'cancelled' };
        break;
      case 'failed':
        job.outcome = { status: 'failed', error: m.error };
        break;
    }
  }

  private onWorkerExit(job: ActiveJob, code: number | null, signal: string | null): void {
    if (job.killTimer) clearTimeout(job.killTimer);
    const attemptMs = Date.now() - job.startedAt;
    const outcome =
      job.outcome ??
      (job.cancelSent
        ? { status: 'cancelled' as const }
        : {
            status: 'interrupted' as const,
            error: {
              code: 'worker-died',
              message: `the worker process ended (${signal ? `signal ${signal}` : `exit code ${code}`}) before the run finished`,
              hint: `Resume it from its last checkpoint: vetbench resume ${job.runId}`,
            },
          });
    // A finished run's outputs are stored: its checkpoint (weights and optimizer state) is not needed.
    const cleanup =
      outcome.status === 'done'
        ? rm(this.store.checkpointDir(job.runId), { recursive: true, force: true }).catch(() => undefined)
        : Promise.resolve();
    void cleanup.then(() => {
      this.active.delete(job.runId);
      try {
        this.finish(job.runId, outcome.status, {
          attemptMs,
          error: outcome.error ?? null,
          result: 'result' in outcome ? (outcome.result ?? null) : null,
        });
      } catch (e) {
        this.logLine(job.runId, 'error', `could not record the end of the run: ${(e as Error).message}`);
      }
      this.pump();
    });
  }

  private finish(
    runId: number,
    status: 'done' | 'failed' | 'cancelled' | 'interrupted',
    outcome: { attemptMs: number; error?: ApiError | null; result?: Record<string, unknown> | null },
  ): void {
    this.flush();
    this.store.finishRun(runId, status, outcome);
    this.emit({ type: 'run-status', runId, status, error: outcome.error ?? null });
    const run = this.store.getRun(runId);
    for (const resolve of this.waiters.get(runId) ?? []) resolve(run);
    this.waiters.delete(runId);
  }

  private cancelActive(job: ActiveJob): void {
    if (job.cancelSent) return;
    job.cancelSent = true;
    job.worker.send({ type: 'cancel' });
    job.killTimer = setTimeout(() => job.worker.kill(), this.cancelGraceMs);
    this.logLine(job.runId, 'info', 'cancel requested: stopping at the next step');
  }

  private pollCancels(): void {
    try {
      const ids = [...this.active.keys(), ...this.queue];
      for (const runId of this.store.cancelRequested(ids)) this.cancel(runId);
    } catch {
      // the store is busy or closed: the next poll tries again
    }
  }

  private logLine(runId: number, level: 'info' | 'warn' | 'error', line: string, at = Date.now()): void {
    const list = this.pendingLogs.get(runId) ?? [];
    list.push({ at, level, line });
    this.pendingLogs.set(runId, list);
    this.scheduleFlush();
    this.emit({ type: 'run-log', runId, at, level, line });
  }

  private scheduleFlush(): void {
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = null;
      try {
        this.flush();
      } catch {
        // reported when the run ends (finish flushes again and throws to the caller)
      }
    }, 200);
  }

  /** Writes buffered metric points and log lines in one transaction each. */
  flush(): void {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    const points = this.pendingMetrics;
    this.pendingMetrics = [];
    this.store.recordMetrics(points);
    const logs = this.pendingLogs;
    this.pendingLogs = new Map();
    for (const [runId, lines] of logs) this.store.addLogLines(runId, lines);
  }
}
