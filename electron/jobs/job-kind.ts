import type { ArtifactInfo, MethodInfo, RunKind } from '../api/contract.js';
import type { FeatureCache } from '../../engine/cache/feature-cache.js';
import type { JobSpec } from './worker-protocol.js';

export interface JobProgress {
  readonly epoch: number;
  readonly step: number;
  readonly total: number;
  readonly etaMs: number;
  readonly loss?: number;
}

/** What a job gets inside its worker: the spec and ways to report. It never touches the database. */
export interface JobContext {
  readonly spec: JobSpec;
  readonly signal: AbortSignal;
  progress(p: JobProgress): void;
  metric(series: string, step: number, value: number): void;
  log(line: string, level?: 'info' | 'warn' | 'error'): void;
  /**
   * Writes a file of the run atomically (`write` fills a temporary path; it is fsynced and renamed) and
   * records it as an artifact with its SHA-256. Returns the final absolute path.
   */
  writeArtifact(
    kind: ArtifactInfo['kind'],
    name: string,
    mediaType: string,
    write: (tempPath: string) => Promise<void>,
  ): Promise<string>;
  /** Lists weights the run wrote (an artifact path) as a new model of the project. */
  registerModel(path: string, name: string): Promise<void>;
  /** A checkpoint at `step` is complete in `spec.checkpointDir`. */
  checkpoint(step: number): void;
  /** The project's feature cache (opened on first use), or null when the job runs without one. */
  featureCache?(): FeatureCache | null;
}

/**
 * One kind of job (attack, eval, defense ...): the methods it runs and how to run one in a worker. Adding a
 * kind = one file in kinds/ and one line in kinds/index.ts.
 */
export interface JobKind {
  readonly kind: RunKind;
  /** Runnable methods with their declared parameters (the API lists them; startRun validates against them). */
  methods(): readonly MethodInfo[];
  /** Runs one job; the returned record is stored as the run's result. Resumes from spec.checkpointDir. */
  run(context: JobContext): Promise<Record<string, unknown>>;
}
