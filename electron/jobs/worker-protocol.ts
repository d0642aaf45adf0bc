/**
 * Messages between the job host and a worker process, validated on arrival with zod (a worker is another
 * process: its messages are input like any other). Payload pieces reuse the API contract's schemas.
 */
import { z } from 'zod';
import {
  ApiErrorSchema,
  ArtifactKindSchema,
  IdSchema,
  ModelArchitectureSchema,
  ParamValuesSchema,
  RunKindSchema,
  RunLogLineSchema,
} from '../api/contract.js';

/** A trigger as the worker receives it: a family to build, or a saved trigger file (an artifact's path). */
export const WorkerTriggerSchema = z.discriminatedUnion('source', [
  z.object({ source: z.literal('family'), family: z.string(), params: ParamValuesSchema }),
  z.object({ source: z.literal('file'), path: z.string() }),
]);
export type WorkerTrigger = z.infer<typeof WorkerTriggerSchema>;

/** Everything a worker needs to run (or resume) one job; paths are absolute. */
export const JobSpecSchema = z.object({
  runId: IdSchema,
  kind: RunKindSchema,
  method: z.string(),
  params: ParamValuesSchema,
  seed: z.number().int().nonnegative(),
  target: z.string().nullable(),
  trigger: WorkerTriggerSchema.nullable(),
  /** A prompt file to evaluate with (eval runs). */
  promptsPath: z.string().nullable(),
  modelPath: z.string(),
  /** A second model the run compares with (the family probe's clean reference), from its referenceModel param. */
  referenceModelPath: z.string().nullable().optional(),
  /** What the dataset was imported from (a folder or a CSV manifest). */
  datasetSource: z.string(),
  /** The corpus a poisoning attack fine-tunes on, from its poisonDataset param (a dataset of the project). */
  pairsDatasetSource: z.string().nullable().optional(),
  /** The run's folder inside the project's artifact folder; files written here become artifacts. */
  runFolder: z.string(),
  checkpointDir: z.string(),
  artifactPrefix: z.string(),
  /** The project's feature cache (a SQLite file beside the project); absent: no cache. */
  featureCachePath: z.string().nullable().optional(),
  executor: z.enum(['onnx', 'tfjs']).nullable(),
});
export type JobSpec = z.infer<typeof JobSpecSchema>;

export const HostMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('start'), spec: JobSpecSchema }),
  z.object({ type: z.literal('cancel') }),
]);
export type HostMessage = z.infer<typeof HostMessageSchema>;

export const WorkerMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('started'),
    versions: z.record(z.string(), z.string()),
    executor: z.string().nullable(),
  }),
  z.object({
    type: z.literal('progress'),
    epoch: z.number().int().nonnegative(),
    step: z.number().int().nonnegative(),
    total: z.number().int().nonnegative(),
    etaMs: z.number().nonnegative(),
    loss: z.number().optional(),
  }),
  z.object({
    type: z.literal('metric'),
    series: z.string().min(1),
    step: z.number().int().nonnegative(),
    value: z.number(),
  }),
  RunLogLineSchema.extend({ type: z.literal('log') }),
  z.object({
    type: z.literal('artifact'),
    kind: ArtifactKindSchema,
    /** Relative to the project's artifact folder. */
    relPath: z.string(),
    mediaType: z.string(),
    sha256: z.string(),
    bytes: z.number().int().nonnegative(),
  }),
  z.object({ type: z.literal('checkpoint'), step: z.number().int().nonnegative(), dir: z.string() }),
  /** New weights the run produced, to list as a model of the project. */
  z.object({
    type: z.literal('model'),
    relPath: z.string(),
    name: z.string(),
    fingerprint: z.string(),
    fileBytes: z.number().int().nonnegative(),
    architecture: ModelArchitectureSchema,
    warnings: z.array(z.string()),
  }),
  z.object({ type: z.literal('done'), result: z.record(z.string(), z.unknown()) }),
  z.object({ type: z.literal('cancelled') }),
  z.object({ type: z.literal('failed'), error: ApiErrorSchema }),
]);
export type WorkerMessage = z.infer<typeof WorkerMessageSchema>;
