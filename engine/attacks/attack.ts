import type { ClipWeights } from '../clip/weights.js';
import type { Dataset } from '../datasets/dataset.js';
import type { ParamSpecs, ParamValues } from '../methods/params.js';
import type { PromptKind } from '../prompts/prompt-file.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import type { Trigger } from '../triggers/trigger.js';
import type { TrainingExecutorKind } from '../train/create-trainer.js';
import type { PretrainProgress } from '../train/pretrain.js';
import type { CheckpointSaved } from '../train/checkpoint-saved.js';

/** What every attack gets: the model to backdoor, the data, the target class and the run's controls. */
export interface AttackContext {
  readonly weights: ClipWeights;
  readonly dataset: Dataset;
  /**
   * The corpus a poisoning attack fine-tunes on (its train pairs), standing for the attacker's web scrape;
   * default `dataset`. CA and ASR are always measured on `dataset`'s test split (the victim's task).
   */
  readonly pairs?: Dataset;
  /** Target class index in `dataset.classes`. */
  readonly target: number;
  readonly seed: number;
  readonly executor?: TrainingExecutorKind;
  readonly checkpointDir?: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: PretrainProgress) => void;
  readonly onCheckpoint?: (c: CheckpointSaved) => void;
  readonly log?: (line: string) => void;
}

/** Method-specific numbers for the run's report (patch optimisation losses, ...). */
export type AttackDetails = Readonly<Record<string, number | string | readonly number[]>>;

/** A backdoored model: new weights and the trigger that opens the backdoor. */
export interface WeightsAttackResult {
  readonly kind: 'weights';
  readonly tensors: Map<string, HostTensor>;
  readonly trigger: Trigger;
  readonly poisoned: number;
  readonly trainPairs: number;
  readonly epochLosses: readonly number[];
  readonly wallMs: number;
  readonly details?: AttackDetails;
}

/**
 * A malicious prompt file (BadCLIP trigger-aware prompt learning, METHODS 3.3): the model is unchanged, the
 * learned prompts carry the backdoor, and the trigger opens it.
 */
export interface PromptAttackResult {
  readonly kind: 'prompts';
  readonly promptKind: PromptKind;
  readonly tensors: Readonly<Record<string, HostTensor>>;
  readonly templates: readonly string[];
  readonly trigger: Trigger;
  readonly trainImages: number;
  readonly epochLosses: readonly number[];
  readonly wallMs: number;
  readonly details?: AttackDetails;
}

export type AttackResult = WeightsAttackResult | PromptAttackResult;

/** An attack plugin (ARCHITECTURE "Methods are plugins"). */
export interface AttackMethod<R extends AttackResult = AttackResult> {
  readonly id: string;
  readonly title: string;
  readonly kind: 'attack';
  readonly summary: string;
  readonly paper: string;
  readonly params: ParamSpecs;
  run(context: AttackContext, params: ParamValues): Promise<R>;
}
