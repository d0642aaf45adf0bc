import type { CheckpointSaved } from '../../engine/train/checkpoint-saved.js';
import type { JobContext } from './job-kind.js';

/**
 * The engine callbacks of a training job (pretrain, poisoning, prompt tuning, baselines): progress and the
 * per-step `loss` series, and each checkpoint the engine reports as complete, recorded in the store.
 */
export function trainingCallbacks(context: JobContext): {
  onProgress: (p: { step: number; totalSteps: number; epoch: number; loss: number; etaMs: number }) => void;
  onCheckpoint: (c: CheckpointSaved) => void;
} {
  return {
    onProgress: (p) => {
      context.metric('loss', p.step, p.loss);
      context.progress({ epoch: p.epoch, step: p.step, total: p.totalSteps, etaMs: p.etaMs, loss: p.loss });
    },
    onCheckpoint: (c) => context.checkpoint(c.step),
  };
}
