import type { ClipGraph, TextInput } from '../clip/clip-forward.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import type { TensorOps } from '../tensor/ops.js';

/**
 * A differentiable objective, written once against TensorOps: given trainable variables and a batch, it
 * returns a scalar loss and named metrics. Attacks, defenses and pretraining define one; an executor
 * (onnxruntime or TF.js) runs the step and returns the gradients. Per-step data that varies (images,
 * one-hot labels) goes in `batch`; data fixed for the whole run (class names, templates) is closed over.
 */
export interface ObjectiveContext<T> {
  readonly ops: TensorOps<T>;
  /** The model, frozen except for the variables whose names are CLIP parameter names. */
  readonly clip: ClipGraph<T> | null;
  readonly vars: Readonly<Record<string, T>>;
  readonly batch: Readonly<Record<string, T>>;
  /** Token ids of the batch (captions), by name; graph inputs on onnxruntime, so one session fits all. */
  readonly texts: Readonly<Record<string, TextInput>>;
}

export interface ObjectiveOutput<T> {
  readonly loss: T;
  readonly metrics?: Readonly<Record<string, T>>;
}

export interface Objective {
  readonly name: string;
  build<T>(ctx: ObjectiveContext<T>): ObjectiveOutput<T>;
}

export type Vars = Readonly<Record<string, HostTensor>>;
export type Batch = Readonly<Record<string, HostTensor>>;
export type Texts = Readonly<Record<string, TextInput>>;

export interface StepResult {
  readonly loss: number;
  readonly metrics: Readonly<Record<string, HostTensor>>;
  readonly grads: Readonly<Record<string, HostTensor>>;
}

/** Runs forward + backward of an objective. Implementations: onnxruntime (traced) and TF.js (eager). */
export interface TrainingExecutor {
  readonly kind: 'onnx' | 'tfjs';
  step(vars: Vars, batch: Batch, texts?: Texts): Promise<StepResult>;
  /** Loss and metrics only (evaluation with the same program). */
  evaluate(vars: Vars, batch: Batch, texts?: Texts): Promise<Omit<StepResult, 'grads'>>;
  dispose(): Promise<void>;
}
