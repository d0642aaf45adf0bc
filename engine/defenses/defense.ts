import type { FeatureCache } from '../cache/feature-cache.js';
import type { ClipWeights } from '../clip/weights.js';
import type { Dataset } from '../datasets/dataset.js';
import type { ParamSpecs, ParamValues } from '../methods/params.js';
import type { NewPromptFile } from '../prompts/prompt-file.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import type { CheckpointSaved } from '../train/checkpoint-saved.js';
import type { TrainingExecutorKind } from '../train/create-trainer.js';

/** Progress of an epoch-based method, for the run monitor (ETA) and the job host. */
export interface MethodProgress {
  readonly epoch: number;
  readonly epochs: number;
  readonly step: number;
  readonly totalSteps: number;
  readonly loss: number;
  readonly elapsedMs: number;
  readonly etaMs: number;
}

/** What every defense gets: the (possibly backdoored) model, clean few-shot data and the run's controls. */
export interface DefenseContext {
  readonly weights: ClipWeights;
  /** Clean labelled data; the defense samples `shots` images per class from its train split. */
  readonly dataset: Dataset;
  readonly shots: number;
  readonly seed: number;
  /** The suspected target class, only for variants that must leave it out ("woTC"); never used otherwise. */
  readonly excludeClass?: number;
  readonly executor?: TrainingExecutorKind;
  /** Where the method keeps checkpoints so a killed run resumes with the same RNG state. */
  readonly checkpointDir?: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: MethodProgress) => void;
  /** Called once a checkpoint is complete on disk (the job layer records it; nothing polls files). */
  readonly onCheckpoint?: (c: CheckpointSaved) => void;
  /** One point of a metric series (e.g. `loss`, `ce`, `fr` per epoch). */
  readonly onMetric?: (series: string, step: number, value: number) => void;
  readonly log?: (line: string) => void;
  /** The project's feature cache: image embeddings of unchanged images are read from it, not recomputed. */
  readonly featureCache?: FeatureCache;
}

/** A defense's product: a hardened prompt file, new weights, or a linear head on the image embedding. */
export type DefenseOutput =
  | { readonly kind: 'prompts'; readonly file: Omit<NewPromptFile, 'metrics'> }
  | { readonly kind: 'weights'; readonly tensors: Map<string, HostTensor> }
  | { readonly kind: 'linear-head'; readonly weight: HostTensor; readonly bias: HostTensor };

export interface DefenseResult {
  readonly output: DefenseOutput;
  /** Per-epoch means of the method's loss terms, by name. */
  readonly epochMetrics: readonly Readonly<Record<string, number>>[];
  readonly trainImages: number;
  readonly wallMs: number;
}

/** A defense plugin (ARCHITECTURE "Methods are plugins"). */
export interface DefenseMethod {
  readonly id: string;
  readonly title: string;
  readonly kind: 'defense';
  readonly summary: string;
  readonly paper: string;
  readonly params: ParamSpecs;
  run(context: DefenseContext, params: ParamValues): Promise<DefenseResult>;
}
