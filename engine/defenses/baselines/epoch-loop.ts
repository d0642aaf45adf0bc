import { VetbenchError } from '../../errors.js';
import type { HostTensor } from '../../tensor/host-tensor.js';
import type { Optimizer } from '../../train/optimizers.js';
import type { Schedule } from '../../train/schedules.js';
import { Rng } from '../../util/rng.js';
import type { DefenseContext } from '../defense.js';
import { loadCheckpoint, saveCheckpoint } from './baseline-checkpoint.js';

/** What one training step reports back to the loop. */
export interface StepOutcome {
  readonly loss: number;
  /** Loss terms and other per-batch numbers (means over the batch), averaged per epoch by the loop. */
  readonly metrics: Readonly<Record<string, number>>;
  readonly grads: Readonly<Record<string, HostTensor>>;
}

export interface EpochLoopSpec {
  readonly method: string;
  /** Everything that must match for a checkpoint to be resumed (params, model and data fingerprints). */
  readonly signature: Readonly<Record<string, unknown>>;
  readonly epochs: number;
  readonly examples: number;
  readonly batchSize: number;
  /**
   * Drop the last partial batch of each epoch (the order is reshuffled each epoch, so every example is still
   * seen): one traced session then serves the whole run, which matters when the graph is a whole CLIP.
   */
  readonly dropLast: boolean;
  readonly vars: Record<string, HostTensor>;
  readonly optimizer: Optimizer;
  readonly schedule: Schedule;
  /** One forward + backward pass on the examples `indices`; `rng` is the run's stream (augmentations). */
  step(
    vars: Readonly<Record<string, HostTensor>>,
    indices: readonly number[],
    rng: Rng,
  ): Promise<StepOutcome>;
  /** After each update (e.g. clamp the logit scale). */
  afterUpdate?(vars: Record<string, HostTensor>): void;
}

export interface EpochLoopResult {
  readonly vars: Record<string, HostTensor>;
  readonly epochMetrics: readonly Readonly<Record<string, number>>[];
  readonly steps: number;
  readonly resumedFromStep: number;
  readonly wallMs: number;
}

/** Batches per epoch and the batch size actually used (a set smaller than one batch is one batch). */
export function batchPlan(
  examples: number,
  batchSize: number,
  dropLast: boolean,
): { batches: number; size: number } {
  const size = Math.min(batchSize, examples);
  return { size, batches: dropLast ? Math.floor(examples / size) : Math.ceil(examples / size) };
}

/**
 * The training loop the baselines share: seeded shuffling, one optimizer update per batch at the schedule's
 * rate, progress with an ETA, per-epoch metric means, a checkpoint after each epoch and exact resume from it
 * (same tensors, optimizer buffers and RNG state), and cooperative cancellation through the signal.
 */
export async function runEpochLoop(context: DefenseContext, spec: EpochLoopSpec): Promise<EpochLoopResult> {
  if (spec.examples < 1) throw new Error('runEpochLoop: no examples');
  const plan = batchPlan(spec.examples, spec.batchSize, spec.dropLast);
  const totalSteps = plan.batches * spec.epochs;
  const signature = JSON.stringify(spec.signature);
  let vars = spec.vars;
  let rng = new Rng(context.seed);
  let step = 0;
  let startEpoch = 0;
  const epochMetrics: Record<string, number>[] = [];
  const resumed = context.checkpointDir
    ? await loadCheckpoint(context.checkpointDir, spec.method, signature)
    : null;
  if (resumed) {
    vars = resumed.vars;
    spec.optimizer.restore(resumed.optimizer);
    rng = Rng.fromState(resumed.state.rng);
    step = resumed.state.step;
    startEpoch = resumed.state.epoch;
    epochMetrics.push(...resumed.state.epochMetrics.map((m) => ({ ...m })));
    context.log?.(`${spec.method}: resumed after epoch ${startEpoch} (step ${step}/${totalSteps})`);
  }
  const resumedFromStep = step;
  const started = Date.now();
  for (let epoch = startEpoch; epoch < spec.epochs; epoch++) {
    const order = rng.shuffle(Array.from({ length: spec.examples }, (_, i) => i));
    const sums: Record<string, number> = {};
    for (let b = 0; b < plan.batches; b++) {
      if (context.signal?.aborted) {
        throw new VetbenchError(
          'cancelled',
          `${spec.method} was cancelled at step ${step} of ${totalSteps}`,
          context.checkpointDir
            ? `Run it again with the same checkpoint folder to resume after epoch ${epoch}.`
            : 'Run it again (give it a checkpoint folder to resume instead of starting over).',
        );
      }
      const indices = order.slice(b * plan.size, (b + 1) * plan.size);
      const out = await spec.step(vars, indices, rng);
      if (!Number.isFinite(out.loss)) {
        throw new VetbenchError(
          'defense-diverged',
          `${spec.method}: the loss became ${out.loss} at step ${step}`,
          'Lower the learning rate (--param lr=...).',
        );
      }
      spec.optimizer.update(vars, out.grads, spec.schedule(step));
      spec.afterUpdate?.(vars);
      step++;
      sums.loss = (sums.loss ?? 0) + out.loss;
      for (const [k, v] of Object.entries(out.metrics)) sums[k] = (sums[k] ?? 0) + v;
      const elapsedMs = Date.now() - started;
      context.onProgress?.({
        epoch,
        epochs: spec.epochs,
        step,
        totalSteps,
        loss: out.loss,
        elapsedMs,
        etaMs: (elapsedMs / (step - resumedFromStep)) * (totalSteps - step),
      });
    }
    const means = Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / plan.batches]));
    epochMetrics.push(means);
    for (const [k, v] of Object.entries(means)) context.onMetric?.(k, epoch + 1, v);
    if (context.checkpointDir) {
      const optimizerState = spec.optimizer.state();
      await saveCheckpoint(context.checkpointDir, vars, optimizerState, {
        method: spec.method,
        signature,
        epoch: epoch + 1,
        step,
        rng: rng.state(),
        optimizer: { kind: optimizerState.kind, step: optimizerState.step },
        epochMetrics,
      });
      context.onCheckpoint?.({ step, epoch: epoch + 1 });
    }
  }
  return { vars, epochMetrics, steps: step, resumedFromStep, wallMs: Date.now() - started };
}
