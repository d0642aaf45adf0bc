import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JobContext } from './job-kind.js';

/** The step of the last complete checkpoint the engine's training loop wrote (state.json is written last). */
export function checkpointStep(dir: string): number | null {
  const file = join(dir, 'state.json');
  if (!existsSync(file)) return null;
  try {
    const step = (JSON.parse(readFileSync(file, 'utf8')) as { step?: unknown }).step;
    return typeof step === 'number' ? step : null;
  } catch {
    return null; // being replaced right now: the next epoch reports it
  }
}

/**
 * An engine `onProgress` callback (pretrain, poisoning, prompt tuning) that reports progress, the per-step
 * `loss` series and each new checkpoint (the engine saves one at the end of every epoch).
 */
export function trainingProgress(
  context: JobContext,
): (p: { step: number; totalSteps: number; epoch: number; loss: number; etaMs: number }) => void {
  let lastCheckpoint = checkpointStep(context.spec.checkpointDir);
  let lastEpoch = -1;
  const reportCheckpoint = (): void => {
    const step = checkpointStep(context.spec.checkpointDir);
    if (step !== null && step !== lastCheckpoint) {
      lastCheckpoint = step;
      context.checkpoint(step);
    }
  };
  return (p) => {
    if (p.epoch !== lastEpoch) {
      lastEpoch = p.epoch;
      reportCheckpoint(); // the previous epoch's checkpoint is on disk before this epoch's first step
    }
    context.metric('loss', p.step, p.loss);
    context.progress({ epoch: p.epoch, step: p.step, total: p.totalSteps, etaMs: p.etaMs, loss: p.loss });
  };
}
