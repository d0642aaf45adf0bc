import { visionBlocks, visionHead, visionStem, type ClipGraph } from '../../clip/clip-forward.js';
import { stackRows } from '../../clip/encode-program.js';
import type { ClipWeights } from '../../clip/weights.js';
import { numel, type HostTensor } from '../../tensor/host-tensor.js';
import { createTrainer, type TrainingExecutorKind } from '../../train/create-trainer.js';
import type { Objective, ObjectiveContext, ObjectiveOutput } from '../../train/objective.js';
import { rvptLoss } from './rvpt-loss.js';
import type { RvptObjectiveOptions } from './rvpt-objective.js';

/**
 * RVPT's work that depends on no trained variable, done once per image instead of once per step (METHODS 4.1
 * with augmentation off, where a training image enters every epoch unchanged): the unprompted stream before
 * block D (stem and blocks 0..D-1) and the frozen tower's class tokens after blocks D..L-1. A step then runs
 * only the prompted blocks from the stored stream. Same program, same numbers; only the frozen parts move.
 */
export interface FrozenFeatures {
  /** The token stream entering block D [count, 1+g^2, W]. */
  readonly prefix: HostTensor;
  /** Frozen class tokens after blocks D..L-1, [count, L-D, W]. */
  readonly frozenCls: HostTensor;
}

/** Above this the stored streams would crowd the machine; the run then recomputes them every step. */
export const FROZEN_CACHE_MAX_BYTES = 2 * 1024 ** 3;

export function frozenFeatureBytes(weights: ClipWeights, count: number, depth: number): number {
  const { vision } = weights.config;
  const tokens = 1 + (vision.imageResolution / vision.patchSize) ** 2;
  return 4 * count * vision.width * (tokens + vision.layers - depth);
}

/** Forward-only program: pixels -> (prefix stream, frozen class tokens); its loss is a dummy scalar. */
function frozenFeaturesObjective(depth: number): Objective {
  return {
    name: 'rvpt-frozen-features',
    build<T>({ ops, clip, batch }: ObjectiveContext<T>): ObjectiveOutput<T> {
      if (!clip) throw new Error('RVPT needs a CLIP model');
      const none = { cls: [] as T[], attentions: [] as T[], tokens: [] as T[] };
      const prefix = visionBlocks(clip, visionStem(clip, batch.pixels!), 0, depth, {}, none);
      const sink = { cls: [] as T[], attentions: [] as T[], tokens: [] as T[] };
      visionBlocks(clip, prefix, depth, clip.config.vision.layers, { collectCls: true }, sink);
      const frozenCls = stackRows(ops, sink.cls);
      return { loss: ops.mean(frozenCls, [0, 1, 2]), metrics: { prefix, frozenCls } };
    },
  };
}

/**
 * Computes the frozen features of normalised images [count, 3, R, R] in chunks of `batchSize` rows (the
 * training batch, so the session shapes match the steps').
 */
export async function computeFrozenFeatures(
  weights: ClipWeights,
  pixels: HostTensor,
  depth: number,
  batchSize: number,
  executor?: TrainingExecutorKind,
): Promise<FrozenFeatures> {
  const count = pixels.shape[0] as number;
  const rowLength = numel(pixels.shape.slice(1));
  const trainer = await createTrainer(frozenFeaturesObjective(depth), weights, executor);
  let prefix: HostTensor | null = null;
  let frozenCls: HostTensor | null = null;
  try {
    for (let start = 0; start < count; start += batchSize) {
      const n = Math.min(batchSize, count - start);
      const chunk = {
        data: pixels.data.subarray(start * rowLength, (start + n) * rowLength),
        shape: [n, ...pixels.shape.slice(1)],
      };
      const { metrics } = await trainer.evaluate({}, { pixels: chunk });
      const p = metrics.prefix!;
      const c = metrics.frozenCls!;
      prefix ??= { data: new Float32Array(count * (p.data.length / n)), shape: [count, ...p.shape.slice(1)] };
      frozenCls ??= {
        data: new Float32Array(count * (c.data.length / n)),
        shape: [count, ...c.shape.slice(1)],
      };
      prefix.data.set(p.data, start * (p.data.length / n));
      frozenCls.data.set(c.data, start * (c.data.length / n));
    }
  } finally {
    await trainer.dispose();
  }
  return { prefix: prefix!, frozenCls: frozenCls! };
}

/**
 * The RVPT objective on stored frozen features. Batch: `prefix` [N, T, W], `frozenCls` [N, L-D, W], `targets`,
 * `classText`; the prompted tower runs blocks D..L-1 from the prefix exactly as sharedPrefixTowers does.
 */
export function rvptCachedObjective(options: RvptObjectiveOptions): Objective {
  return {
    name: 'rvpt-cached',
    build<T>({ ops, clip, vars, batch }: ObjectiveContext<T>): ObjectiveOutput<T> {
      if (!clip) throw new Error('RVPT needs a CLIP model');
      const g: ClipGraph<T> = clip;
      const layers = g.config.vision.layers;
      const frozen = batch.frozenCls!;
      const [n, blocks, width] = ops.shape(frozen) as [number, number, number];
      if (blocks !== layers - options.depth)
        throw new Error(
          `frozen class tokens for ${blocks} blocks; depth ${options.depth} needs ${layers - options.depth}`,
        );
      const frozenCls = Array.from({ length: blocks }, (_, k) =>
        ops.reshape(ops.slice(frozen, [0, k, 0], [n, 1, width]), [n, width]),
      );
      const sink = { cls: [] as T[], attentions: [] as T[], tokens: [] as T[] };
      const last = visionBlocks(
        g,
        batch.prefix!,
        options.depth,
        layers,
        { prompts: { depth: options.depth, tensors: vars.prompts! }, collectCls: true },
        sink,
      );
      const { loss, ce, fr } = rvptLoss(ops, {
        imageEmbeds: visionHead(g, last),
        classText: batch.classText!,
        targets: batch.targets!,
        promptedCls: sink.cls,
        frozenCls,
        alpha: options.alpha,
        logitScale: options.logitScale,
        ...(options.margin !== undefined ? { margin: options.margin } : {}),
      });
      return { loss, metrics: { ce, fr } };
    },
  };
}
