import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createEncoder } from '../clip/clip-encoder.js';
import { readSafetensors, writeSafetensors } from '../clip/safetensors.js';
import type { ClipWeights } from '../clip/weights.js';
import { buildZeroShotHead } from '../clip/zero-shot.js';
import type { DatasetItem } from '../datasets/dataset.js';
import { ImageLoader } from '../datasets/image-loader.js';
import { sampleFewShot } from '../datasets/sampler.js';
import { VetbenchError } from '../errors.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import type { OptimizerState } from '../train/optimizers.js';
import type { RngState } from '../util/rng.js';
import type { DefenseContext } from './defense.js';

/**
 * Pieces every prompt-tuning defense shares: the K-shot clean sample as [0,1] pixels, the fixed text head,
 * one-hot targets, and checkpoints that hold everything a resumed run needs to continue bit for bit.
 */
export interface FewShotPixels {
  /** [N, 3, R, R] in [0, 1] (not normalised: augmentation works in pixel space). */
  readonly pixels: HostTensor;
  readonly labels: Int32Array;
  readonly items: readonly DatasetItem[];
  readonly shortfalls: number;
}

/** K shots per class from the train split, optionally without one class (variants tuned without the target). */
export async function loadFewShot(
  context: DefenseContext,
  excludeClass: number | undefined,
  log?: (line: string) => void,
): Promise<FewShotPixels> {
  const sample = sampleFewShot(context.dataset, {
    shotsPerClass: context.shots,
    seed: context.seed,
    ...(excludeClass !== undefined ? { excludeClass } : {}),
  });
  if (sample.items.length === 0) {
    throw new VetbenchError(
      'defense-no-data',
      'the few-shot sample is empty: the dataset has no training images',
      'Use a dataset with a train split (or folders train/ and test/).',
    );
  }
  for (const s of sample.shortfalls) {
    log?.(
      `class '${s.folder}' has ${s.available} training image(s), fewer than ${s.requested}: all were used`,
    );
  }
  const loader = new ImageLoader({
    resolution: context.weights.config.vision.imageResolution,
    cacheBytes: 0,
    normalize: false,
  });
  const batch = await loader.load(sample.items);
  for (const f of batch.failed) log?.(`left out ${f.item.relativePath}: ${f.reason}`);
  if (batch.items.length === 0) {
    throw new VetbenchError(
      'defense-no-data',
      'none of the sampled training images could be decoded',
      'Run `vetbench dataset inspect` on the dataset.',
    );
  }
  return {
    pixels: batch.pixels,
    labels: Int32Array.from(batch.items.map((i) => i.label)),
    items: batch.items,
    shortfalls: sample.shortfalls.length,
  };
}

/** The fixed classifier of prompt tuning: one normalised text embedding per class from the template(s). */
export async function fixedTextHead(
  weights: ClipWeights,
  classNames: readonly string[],
  templates: readonly string[],
): Promise<HostTensor> {
  const encoder = await createEncoder(weights);
  try {
    return (await buildZeroShotHead(encoder, classNames, templates)).embeddings;
  } finally {
    await encoder.dispose();
  }
}

export function cancelled(method: string): VetbenchError {
  return new VetbenchError(
    'cancelled',
    `${method} was cancelled`,
    'Run it again with the same checkpoint folder to resume from the last finished epoch.',
  );
}

/** What a prompt-tuning checkpoint restores besides the tensors. */
export interface PromptTuningState {
  /** Epochs finished. */
  readonly epoch: number;
  readonly step: number;
  readonly rng: RngState;
  readonly optimizerStep: number;
  readonly epochMetrics: Record<string, number>[];
  /** The run's identity (method, params, seed, shots, model, data): a checkpoint of another run is refused. */
  readonly runKey: string;
  readonly elapsedMs: number;
}

const TENSORS_FILE = 'prompt-tuning.safetensors';
const STATE_FILE = 'prompt-tuning.json';

export async function savePromptTuningCheckpoint(
  dir: string,
  vars: Readonly<Record<string, HostTensor>>,
  optimizer: OptimizerState,
  state: PromptTuningState,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tensors = Object.entries(vars).map(([name, t]) => ({
    name: `var.${name}`,
    shape: t.shape,
    data: t.data,
  }));
  for (const [name, buffers] of Object.entries(optimizer.buffers)) {
    buffers.forEach((b, i) => tensors.push({ name: `opt.${i}.${name}`, shape: vars[name]!.shape, data: b }));
  }
  await writeSafetensors(join(dir, TENSORS_FILE), tensors, { kind: 'vetbench-prompt-tuning-checkpoint' });
  // The state file goes last and atomically: a checkpoint counts only once both files are complete.
  const payload = { ...state, optimizerKind: optimizer.kind };
  const tmp = join(dir, `${STATE_FILE}.${process.pid}.tmp`);
  await writeFile(tmp, JSON.stringify(payload));
  await rename(tmp, join(dir, STATE_FILE));
}

export async function loadPromptTuningCheckpoint(
  dir: string,
  runKey: string,
): Promise<{ vars: Record<string, HostTensor>; optimizer: OptimizerState; state: PromptTuningState } | null> {
  if (!existsSync(join(dir, STATE_FILE))) return null;
  const raw = JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8')) as PromptTuningState & {
    optimizerKind: OptimizerState['kind'];
  };
  if (raw.runKey !== runKey) {
    throw new VetbenchError(
      'checkpoint-mismatch',
      `the checkpoint in ${dir} belongs to another run (other method, parameters, seed, model or data)`,
      'Resume with the same options, or delete the checkpoint folder to start over.',
    );
  }
  const file = await readSafetensors(join(dir, TENSORS_FILE));
  const vars: Record<string, HostTensor> = {};
  const buffers: Record<string, Float32Array[]> = {};
  for (const t of file.tensors) {
    if (t.name.startsWith('var.')) vars[t.name.slice(4)] = { data: t.data, shape: t.shape };
    const m = /^opt\.(\d+)\.(.+)$/.exec(t.name);
    if (m) (buffers[m[2]!] ??= [])[Number(m[1])] = t.data;
  }
  const { optimizerKind, ...state } = raw;
  return { vars, optimizer: { kind: optimizerKind, step: state.optimizerStep, buffers }, state };
}
