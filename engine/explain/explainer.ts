import type { ZeroShotHead } from '../clip/zero-shot.js';
import type { ClipWeights } from '../clip/weights.js';
import type { ParamSpecs, ParamValues } from '../methods/params.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import type { Trigger } from '../triggers/trigger.js';

/**
 * Explainers (METHODS 5) are plugins: each declares its parameters and turns a context (model, images,
 * optional trigger and prompts) into artifacts (PNG overlays, SVG charts, JSON) plus the raw arrays behind them.
 * They never touch files: the caller stores what they return.
 */

/** Deep visual prompts (a hardened prompt file of kind visual-deep), already loaded. */
export interface DeepPromptTensors {
  readonly depth: number;
  /** [L-D, b, W] */
  readonly tensors: HostTensor;
  /** SHA-256 of the prompt file, for provenance. */
  readonly fileSha256?: string;
}

/** A model as explainers see it: weights, the class head, and optional prompts. */
export interface ExplainModel {
  /** Shown in legends (e.g. "backdoored", "defended"). */
  readonly label: string;
  readonly weights: ClipWeights;
  readonly head: ZeroShotHead;
  readonly prompts: DeepPromptTensors | null;
}

/** The images explained: [0, 1] pixels at the model resolution, before normalisation (METHODS 1.3). */
export interface ExplainImages {
  /** [N, 3, R, R] clean. */
  readonly clean: HostTensor;
  /** The same images with the trigger applied, when a trigger is given. */
  readonly triggered: HostTensor | null;
  /** Stable key per image (relative path), used by seeded triggers. */
  readonly keys: readonly string[];
  readonly labels: readonly number[];
}

export interface ExplainContext {
  /** The model explained; embedding maps compare it with `others`. */
  readonly model: ExplainModel;
  readonly others: readonly ExplainModel[];
  readonly classNames: readonly string[];
  readonly images: ExplainImages;
  readonly trigger: Trigger | null;
  readonly target: number | null;
  readonly seed: number;
  /** Reports progress in [0, 1]. */
  readonly progress?: (fraction: number, message: string) => void;
}

export interface ExplainArtifact {
  readonly name: string;
  readonly mime: 'image/png' | 'image/svg+xml' | 'application/json';
  readonly bytes: Uint8Array;
}

export interface ExplainArray {
  readonly name: string;
  readonly tensor: HostTensor;
}

export interface ExplainResult {
  readonly artifacts: readonly ExplainArtifact[];
  readonly arrays: readonly ExplainArray[];
  /** Headline numbers and facts, printed by the CLI and stored with the run. */
  readonly summary: Readonly<Record<string, number | string | readonly number[]>>;
}

export interface Explainer {
  readonly id: string;
  readonly title: string;
  readonly summary: string;
  readonly paper: string;
  readonly params: ParamSpecs;
  /**
   * True when the sample must include images of the target class (embedding maps compare triggered images
   * with the clean target cluster); otherwise callers leave them out, as ASR does.
   */
  readonly keepsTargetClass?: boolean;
  run(context: ExplainContext, params: ParamValues): Promise<ExplainResult>;
}
