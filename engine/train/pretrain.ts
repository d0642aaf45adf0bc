import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TextInput } from '../clip/clip-forward.js';
import { readSafetensors, writeSafetensors } from '../clip/safetensors.js';
import type { ClipTokenizer } from '../clip/tokenizer.js';
import type { ClipWeights } from '../clip/weights.js';
import { VetbenchError } from '../errors.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import { Rng, type RngState } from '../util/rng.js';
import { clipTrainableTensors, contrastiveObjective, trainedToCanonical } from './contrastive-objective.js';
import type { CheckpointSaved } from './checkpoint-saved.js';
import { createTrainer, type TrainingExecutorKind } from './create-trainer.js';
import { AdamW, excludedFromDecay, type OptimizerState } from './optimizers.js';
import { warmupCosine } from './schedules.js';

/** Image-caption pairs, loaded on demand by index (pixels already normalised for the model). */
export interface PairSource {
  readonly size: number;
  load(indices: readonly number[], rng: Rng): Promise<{ pixels: HostTensor; captions: string[] }>;
}

export interface PretrainOptions {
  readonly epochs: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly warmupSteps: number;
  readonly weightDecay: number;
  readonly seed: number;
  readonly executor?: TrainingExecutorKind;
  /** Folder for per-epoch checkpoints; a run started again with the same folder resumes. */
  readonly checkpointDir?: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: PretrainProgress) => void;
  /** Called once an epoch's checkpoint is complete on disk. */
  readonly onCheckpoint?: (c: CheckpointSaved) => void;
  readonly onEpoch?: (e: { epoch: number; meanLoss: number }) => void | Promise<void>;
}

export interface PretrainProgress {
  readonly step: number;
  readonly totalSteps: number;
  readonly epoch: number;
  readonly loss: number;
  readonly lr: number;
  readonly logitScale: number;
  readonly elapsedMs: number;
  readonly etaMs: number;
}

export interface PretrainResult {
  readonly tensors: Map<string, HostTensor>;
  readonly epochLosses: number[];
  readonly steps: number;
  readonly resumedFromStep: number;
  readonly wallMs: number;
}

const MAX_LOG_SCALE = Math.log(100);

interface CheckpointState {
  readonly step: number;
  readonly epoch: number;
  readonly rng: RngState;
  readonly optimizerStep: number;
  readonly epochLosses: number[];
  readonly options: { epochs: number; batchSize: number; lr: number; seed: number };
}

async function saveCheckpoint(
  dir: string,
  vars: Record<string, HostTensor>,
  optimizer: OptimizerState,
  state: CheckpointState,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tensors = Object.entries(vars).map(([name, t]) => ({
    name: `param.${name}`,
    shape: t.shape,
    data: t.data,
  }));
  for (const [name, [m, v]] of Object.entries(optimizer.buffers)) {
    const shape = vars[name]!.shape;
    tensors.push({ name: `adam.m.${name}`, shape, data: m! }, { name: `adam.v.${name}`, shape, data: v! });
  }
  await writeSafetensors(join(dir, 'checkpoint.safetensors'), tensors, {
    kind: 'vetbench-pretrain-checkpoint',
  });
  // The state file is written last: a checkpoint counts only once both files are complete.
  const tmp = join(dir, `state.json.${process.pid}.tmp`);
  await writeFile(tmp, JSON.stringify(state));
  await rename(tmp, join(dir, 'state.json'));
}

async function loadCheckpoint(
  dir: string,
): Promise<{ vars: Record<string, HostTensor>; optimizer: OptimizerState; state: CheckpointState } | null> {
  if (!existsSync(join(dir, 'state.json'))) return null;
  const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as CheckpointState;
  const file = await readSafetensors(join(dir, 'checkpoint.safetensors'));
  const vars: Record<string, HostTensor> = {};
  const m: Record<string, Float32Array> = {};
  const v: Record<string, Float32Array> = {};
  for (const t of file.tensors) {
    if (t.name.startsWith('param.')) vars[t.name.slice(6)] = { data: t.data, shape: t.shape };
    else if (t.name.startsWith('adam.m.')) m[t.name.slice(7)] = t.data;
    else if (t.name.startsWith('adam.v.')) v[t.name.slice(7)] = t.data;
  }
  const buffers: Record<string, Float32Array[]> = {};
  for (const name of Object.keys(m)) buffers[name] = [m[name]!, v[name]!];
  return { vars, optimizer: { kind: 'adamw', step: state.optimizerStep, buffers }, state };
}

/**
 * Contrastive pretraining (or fine-tuning) of every weight of a CLIP: AdamW (no decay on norms, biases,
 * logit_scale), warm-up + cosine, logit scale clamped to ln 100, checkpoints each epoch, resumable with the
 * same RNG state. Batches have a fixed size (the last partial batch of an epoch is dropped) so one traced
 * session serves the whole run.
 */
export async function pretrainClip(
  initial: ClipWeights,
  data: PairSource,
  tokenizer: ClipTokenizer,
  options: PretrainOptions,
): Promise<PretrainResult> {
  const batchesPerEpoch = Math.floor(data.size / options.batchSize);
  if (batchesPerEpoch < 1) {
    throw new VetbenchError(
      'pretrain-too-few',
      `${data.size} pairs are fewer than one batch of ${options.batchSize}`,
      'Use a smaller --batch-size or more data.',
    );
  }
  const totalSteps = batchesPerEpoch * options.epochs;
  const schedule = warmupCosine(options.lr, totalSteps, options.warmupSteps);
  const optimizer = new AdamW({
    weightDecay: options.weightDecay,
    beta2: 0.98,
    eps: 1e-6,
    decayFor: (n) => (excludedFromDecay(n) ? 0 : options.weightDecay),
  });
  let vars = clipTrainableTensors(initial);
  let rng = new Rng(options.seed);
  let step = 0;
  let startEpoch = 0;
  const epochLosses: number[] = [];
  const resumed = options.checkpointDir ? await loadCheckpoint(options.checkpointDir) : null;
  if (resumed) {
    const before = resumed.state.options;
    const now = { epochs: options.epochs, batchSize: options.batchSize, lr: options.lr, seed: options.seed };
    if (JSON.stringify(before) !== JSON.stringify(now)) {
      throw new VetbenchError(
        'checkpoint-mismatch',
        `the checkpoint in ${options.checkpointDir} was made with ${JSON.stringify(before)}, not ${JSON.stringify(now)}`,
        'Resume with the same options, or delete the checkpoint folder to start over.',
      );
    }
    vars = resumed.vars;
    optimizer.restore(resumed.optimizer);
    rng = Rng.fromState(resumed.state.rng);
    step = resumed.state.step;
    startEpoch = resumed.state.epoch;
    epochLosses.push(...resumed.state.epochLosses);
  }
  const resumedFromStep = step;
  const trainer = await createTrainer(contrastiveObjective(), initial, options.executor);
  const contextLength = initial.config.text.contextLength;
  const started = Date.now();
  try {
    for (let epoch = startEpoch; epoch < options.epochs; epoch++) {
      const order = rng.shuffle(Array.from({ length: data.size }, (_, i) => i));
      let lossSum = 0;
      for (let b = 0; b < batchesPerEpoch; b++) {
        if (options.signal?.aborted)
          throw new VetbenchError(
            'cancelled',
            'pretraining was cancelled',
            'Resume it with the same checkpoint folder.',
          );
        const indices = order.slice(b * options.batchSize, (b + 1) * options.batchSize);
        const batch = await data.load(indices, rng);
        const captions: TextInput = {
          ids: tokenizer.tokenizeBatch(batch.captions, contextLength),
          rows: indices.length,
        };
        const r = await trainer.step(vars, { pixels: batch.pixels }, { captions });
        if (!Number.isFinite(r.loss)) {
          throw new VetbenchError(
            'pretrain-diverged',
            `the loss became ${r.loss} at step ${step}`,
            'Lower --lr or raise --warmup.',
          );
        }
        const lr = schedule(step);
        optimizer.update(vars, r.grads, lr);
        const scale = vars.logit_scale!.data;
        scale[0] = Math.min(MAX_LOG_SCALE, Math.max(0, scale[0] as number));
        step++;
        lossSum += r.loss;
        const elapsed = Date.now() - started;
        const done = step - resumedFromStep;
        options.onProgress?.({
          step,
          totalSteps,
          epoch,
          loss: r.loss,
          lr,
          logitScale: Math.exp(scale[0] as number),
          elapsedMs: elapsed,
          etaMs: (elapsed / done) * (totalSteps - step),
        });
      }
      epochLosses.push(lossSum / batchesPerEpoch);
      if (options.checkpointDir) {
        await saveCheckpoint(options.checkpointDir, vars, optimizer.state(), {
          step,
          epoch: epoch + 1,
          rng: rng.state(),
          optimizerStep: optimizer.state().step,
          epochLosses,
          options: {
            epochs: options.epochs,
            batchSize: options.batchSize,
            lr: options.lr,
            seed: options.seed,
          },
        });
        options.onCheckpoint?.({ step, epoch: epoch + 1 });
      }
      await options.onEpoch?.({ epoch, meanLoss: lossSum / batchesPerEpoch });
    }
  } finally {
    await trainer.dispose();
  }
  return {
    tensors: trainedToCanonical(vars, initial),
    epochLosses,
    steps: step,
    resumedFromStep,
    wallMs: Date.now() - started,
  };
}
