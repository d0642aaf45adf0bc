import type { ClipWeights } from '../clip/weights.js';
import { VetbenchError } from '../errors.js';
import { initTfBackend } from '../tensor/backend.js';
import type { Objective, TrainingExecutor } from './objective.js';
import { OnnxTrainer } from './onnx-trainer.js';
import { TfjsTrainer } from './tfjs-trainer.js';
import { engineConfig } from '../config.js';

export type TrainingExecutorKind = 'onnx' | 'tfjs';
/** Environment variable that picks the executor of training steps (same values as the flag). */
export const TRAIN_EXECUTOR_ENV = 'VETBENCH_TRAIN_EXECUTOR';

export function parseTrainingExecutor(value: string, source: string): TrainingExecutorKind {
  if (value === 'onnx' || value === 'tfjs') return value;
  throw new VetbenchError(
    'train-executor-unknown',
    `unknown training executor '${value}' (from ${source})`,
    'Use onnx (onnxruntime with traced gradients, the default) or tfjs (TF.js autodiff, the reference).',
  );
}

/** The training-step executor methods use: onnxruntime unless asked otherwise. */
export async function createTrainer(
  objective: Objective,
  weights: ClipWeights | null,
  kind?: TrainingExecutorKind,
): Promise<TrainingExecutor> {
  const env = engineConfig().trainExecutor;
  const chosen = kind ?? (env ? parseTrainingExecutor(env, TRAIN_EXECUTOR_ENV) : 'onnx');
  if (chosen === 'tfjs') {
    await initTfBackend();
    return new TfjsTrainer(objective, weights);
  }
  return new OnnxTrainer(objective, weights);
}
