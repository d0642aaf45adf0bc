import { requireViT } from '../../clip/clip-forward.js';
import { createHash } from 'node:crypto';
import { DEFAULT_TEMPLATE } from '../../clip/zero-shot.js';
import { deriveSeed } from '../../datasets/derive-seed.js';
import { VetbenchError } from '../../errors.js';
import { normalizePixels } from '../../image/preprocess.js';
import { bool, num, resolveParams, str, type ParamSpecs, type ParamValues } from '../../methods/params.js';
import { gatherRows, type HostTensor } from '../../tensor/host-tensor.js';
import { oneHot } from '../../tensor/ops.js';
import { createTrainer } from '../../train/create-trainer.js';
import { Sgd } from '../../train/optimizers.js';
import { warmupCosine } from '../../train/schedules.js';
import { Rng } from '../../util/rng.js';
import type { DefenseContext, DefenseMethod, DefenseResult } from '../defense.js';
import { randomResizedCropFlipInPlace } from '../prompt-tuning-augment.js';
import {
  cancelled,
  fixedTextHead,
  loadFewShot,
  loadPromptTuningCheckpoint,
  savePromptTuningCheckpoint,
} from '../prompt-tuning.js';
import {
  computeFrozenFeatures,
  FROZEN_CACHE_MAX_BYTES,
  frozenFeatureBytes,
  rvptCachedObjective,
  type FrozenFeatures,
} from './rvpt-frozen-cache.js';
import { rvptObjective } from './rvpt-objective.js';

/**
 * RVPT (METHODS 4.1) as a defense plugin, and VPT-deep as the same method without repulsion (alpha = 0).
 * Defaults are for the built-in demo CLIP (4 vision blocks of width 128, 17 tokens at 32 px: prompts in the last
 * block only, no crop augmentation; docs/defenses.md has the runs behind them); the paper setting for ViT-B/32
 * is depth 3, promptLength 50, epochs 50, lr 0.002, augment on.
 */
export const RVPT_PAPER =
  'Zhang et al., "Defending Multimodal Backdoored Models by Repulsive Visual Prompt Tuning", 2024';

export const DEMO_RVPT_DEFAULTS = {
  depth: -1,
  promptLength: 16,
  epochs: 60,
  lr: 0.01,
  augment: false,
} as const;

function rvptParams(alphaDefault: number): ParamSpecs {
  return {
    depth: {
      kind: 'integer',
      default: DEMO_RVPT_DEFAULTS.depth,
      min: -64,
      max: 64,
      help: "D: blocks 0..D-1 stay unprompted; prompts enter blocks D..L-1 (paper: 3 on ViT-B/32). A negative D counts from the output, as the paper's ablation does: -k prompts the last k blocks",
    },
    promptLength: {
      kind: 'integer',
      default: DEMO_RVPT_DEFAULTS.promptLength,
      min: 1,
      max: 512,
      help: 'b: prompt tokens per prompted block (paper: 50)',
    },
    alpha: {
      kind: 'number',
      default: alphaDefault,
      min: 0,
      max: 100,
      help: 'weight of the feature-repelling loss (0 = plain VPT; paper: 2)',
    },
    margin: {
      kind: 'number',
      default: -1,
      min: -1,
      max: 1,
      help: 'per-image margin m of the repulsion, max(FR_i, m); -1 = off (full repulsion, the paper), 1 = no repulsion',
    },
    epochs: {
      kind: 'integer',
      default: DEMO_RVPT_DEFAULTS.epochs,
      min: 1,
      max: 10000,
      help: 'passes over the K-shot sample (paper: 50)',
    },
    lr: {
      kind: 'number',
      default: DEMO_RVPT_DEFAULTS.lr,
      min: 0,
      max: 10,
      help: 'initial SGD learning rate, cosine decay to 0 (paper: 0.002)',
    },
    batchSize: { kind: 'integer', default: 32, min: 1, max: 4096, help: 'images per step' },
    momentum: { kind: 'number', default: 0.9, min: 0, max: 0.999, help: 'SGD momentum' },
    weightDecay: { kind: 'number', default: 5e-4, min: 0, max: 1, help: 'SGD weight decay on the prompts' },
    initStd: { kind: 'number', default: 0.02, min: 0, max: 10, help: 'prompts start as N(0, initStd^2)' },
    augment: {
      kind: 'boolean',
      default: DEMO_RVPT_DEFAULTS.augment,
      help: 'random resized crop (scale 0.08-1) and horizontal flip of the training images (paper: on; off for the 32-px demo, where an 8% crop is a 9-px patch)',
    },
    cacheFrozen: {
      kind: 'boolean',
      default: true,
      help: 'with augment off: compute the unprompted prefix (blocks 0..D-1) and the frozen tower class tokens once per image, not every step (same numbers, less work)',
    },
    woTC: {
      kind: 'boolean',
      default: false,
      help: 'tune without the images of the suspected target class (needs the target: --target)',
    },
    template: {
      kind: 'string',
      default: DEFAULT_TEMPLATE,
      help: 'the one text template of the fixed class head ({} = class name)',
    },
  };
}

function runKeyOf(
  context: DefenseContext,
  methodId: string,
  params: ParamValues,
  items: readonly string[],
): string {
  return createHash('sha256')
    .update(
      JSON.stringify({
        methodId,
        params,
        seed: context.seed,
        shots: context.shots,
        model: context.weights.source.fingerprint,
        excluded: params.woTC ? (context.excludeClass ?? null) : null,
        items,
      }),
    )
    .digest('hex');
}

/** The first prompted block: D as given, or counted from the output for a negative D (-1 = the last block). */
export function promptDepth(methodId: string, given: number, layers: number): number {
  const depth = given < 0 ? layers + given : given;
  if (depth < 0 || depth >= layers) {
    throw new VetbenchError(
      'param-invalid',
      given < 0
        ? `${methodId}: depth ${given} asks for the last ${-given} blocks; this model has ${layers} vision blocks`
        : `${methodId}: depth ${given} leaves no block to prompt; this model has ${layers} vision blocks`,
      `Use a depth between ${-layers} and ${layers - 1}: -k prompts the last k blocks, D >= 0 leaves the first D unprompted.`,
    );
  }
  return depth;
}

function initialPrompts(blocks: number, length: number, width: number, std: number, rng: Rng): HostTensor {
  const data = new Float32Array(blocks * length * width);
  for (let i = 0; i < data.length; i++) data[i] = std * rng.normal();
  return { data, shape: [blocks, length, width] };
}

async function runRvpt(
  methodId: string,
  context: DefenseContext,
  given: ParamValues,
  specs: ParamSpecs,
): Promise<DefenseResult> {
  const params = resolveParams(methodId, specs, given);
  const { config } = context.weights;
  requireViT(config, methodId.toUpperCase());
  const layers = config.vision.layers;
  const depth = promptDepth(methodId, num(params, 'depth'), layers);
  const woTC = bool(params, 'woTC');
  if (woTC && context.excludeClass === undefined) {
    throw new VetbenchError(
      'defense-needs-target',
      `${methodId}: woTC=true leaves out the target class, but no target class was given`,
      'Pass the suspected target class (--target <class>), or drop woTC.',
    );
  }
  const log = context.log;
  const data = await loadFewShot(context, woTC ? context.excludeClass : undefined, log);
  const classNames = context.dataset.classes.map((c) => c.name);
  const template = str(params, 'template');
  const classText = await fixedTextHead(context.weights, classNames, [template]);
  const count = data.labels.length;
  const batchSize = Math.min(num(params, 'batchSize'), count);
  const stepsPerEpoch = Math.ceil(count / batchSize);
  const epochs = num(params, 'epochs');
  const totalSteps = stepsPerEpoch * epochs;
  const resolution = config.vision.imageResolution;
  const alpha = num(params, 'alpha');
  const margin = num(params, 'margin');
  const schedule = warmupCosine(num(params, 'lr'), totalSteps);
  const optimizer = new Sgd({ momentum: num(params, 'momentum'), weightDecay: num(params, 'weightDecay') });

  let rng = new Rng(deriveSeed(context.seed, methodId));
  let vars: Record<string, HostTensor> = {
    prompts: initialPrompts(
      layers - depth,
      num(params, 'promptLength'),
      config.vision.width,
      num(params, 'initStd'),
      rng,
    ),
  };
  let startEpoch = 0;
  let step = 0;
  let elapsedBefore = 0;
  const epochMetrics: Record<string, number>[] = [];
  const runKey = runKeyOf(
    context,
    methodId,
    params,
    data.items.map((i) => i.relativePath),
  );
  const resumed = context.checkpointDir
    ? await loadPromptTuningCheckpoint(context.checkpointDir, runKey)
    : null;
  if (resumed) {
    vars = resumed.vars;
    optimizer.restore(resumed.optimizer);
    rng = Rng.fromState(resumed.state.rng);
    startEpoch = resumed.state.epoch;
    step = resumed.state.step;
    elapsedBefore = resumed.state.elapsedMs;
    epochMetrics.push(...resumed.state.epochMetrics);
    log?.(`resumed ${methodId} after epoch ${startEpoch} of ${epochs}`);
  }
  log?.(
    `${methodId}: ${count} images (${context.shots} shots x ${count / context.shots} classes${woTC ? ', target class left out' : ''}), ` +
      `prompts [${vars.prompts!.shape.join(', ')}], ${stepsPerEpoch} steps/epoch`,
  );

  const frozen = await frozenFeaturesOfRun(methodId, context, params, data.pixels, depth, batchSize);
  const objectiveOptions = {
    depth,
    alpha,
    logitScale: context.weights.logitScale,
    ...(margin > -1 ? { margin } : {}),
  };
  const trainer = await createTrainer(
    frozen ? rvptCachedObjective(objectiveOptions) : rvptObjective(objectiveOptions),
    context.weights,
    context.executor,
  );
  const started = Date.now();
  const stepsAtStart = step;
  try {
    for (let epoch = startEpoch; epoch < epochs; epoch++) {
      const order = rng.shuffle(Array.from({ length: count }, (_, i) => i));
      const sums = { loss: 0, ce: 0, fr: 0 };
      for (let b = 0; b < stepsPerEpoch; b++) {
        if (context.signal?.aborted) throw cancelled(methodId);
        const indices = order.slice(b * batchSize, (b + 1) * batchSize);
        const images: Record<string, HostTensor> = frozen
          ? { prefix: gatherRows(frozen.prefix, indices), frozenCls: gatherRows(frozen.frozenCls, indices) }
          : { pixels: stepPixels(data.pixels, indices, bool(params, 'augment'), resolution, rng) };
        const r = await trainer.step(vars, {
          ...images,
          targets: oneHot(
            indices.map((i) => data.labels[i]!),
            classNames.length,
          ),
          classText,
        });
        if (!Number.isFinite(r.loss)) {
          throw new VetbenchError(
            'defense-diverged',
            `${methodId}: the loss became ${r.loss} at step ${step}`,
            'Lower lr (--param lr=...).',
          );
        }
        optimizer.update(vars, r.grads, schedule(step));
        step++;
        sums.loss += r.loss * indices.length;
        sums.ce += (r.metrics.ce!.data[0] as number) * indices.length;
        sums.fr += (r.metrics.fr!.data[0] as number) * indices.length;
        const elapsed = Date.now() - started;
        context.onProgress?.({
          epoch,
          epochs,
          step,
          totalSteps,
          loss: r.loss,
          elapsedMs: elapsedBefore + elapsed,
          etaMs: (elapsed / (step - stepsAtStart)) * (totalSteps - step),
        });
      }
      const means = { loss: sums.loss / count, ce: sums.ce / count, fr: sums.fr / count };
      epochMetrics.push(means);
      for (const [series, value] of Object.entries(means)) context.onMetric?.(series, epoch, value);
      if (context.checkpointDir) {
        await savePromptTuningCheckpoint(context.checkpointDir, vars, optimizer.state(), {
          epoch: epoch + 1,
          step,
          rng: rng.state(),
          optimizerStep: optimizer.state().step,
          epochMetrics,
          runKey,
          elapsedMs: elapsedBefore + Date.now() - started,
        });
        context.onCheckpoint?.({ step, epoch: epoch + 1 });
      }
    }
  } finally {
    await trainer.dispose();
  }
  return {
    output: {
      kind: 'prompts',
      file: {
        kind: 'visual-deep',
        depth,
        modelFingerprint: context.weights.source.fingerprint,
        classNames,
        templates: [template],
        method: { id: methodId, params, seed: context.seed },
        tensors: { prompts: vars.prompts! },
      },
    },
    epochMetrics,
    trainImages: count,
    wallMs: elapsedBefore + Date.now() - started,
  };
}

/** A batch of training images as the step sees them: augmented when asked, then normalised. */
function stepPixels(
  all: HostTensor,
  indices: readonly number[],
  augment: boolean,
  resolution: number,
  rng: Rng,
): HostTensor {
  const pixels = gatherRows(all, indices);
  if (augment) randomResizedCropFlipInPlace(pixels.data, indices.length, resolution, rng);
  normalizePixels(pixels.data, pixels.data, resolution * resolution);
  return pixels;
}

/**
 * The in-run cache of what no trained variable reaches (rvpt-frozen-cache.ts): only when the training images
 * enter every epoch unchanged (augment off) and the stored streams fit in memory. Says in the log what it did.
 */
async function frozenFeaturesOfRun(
  methodId: string,
  context: DefenseContext,
  params: ParamValues,
  pixels01: HostTensor,
  depth: number,
  batchSize: number,
): Promise<FrozenFeatures | null> {
  const log = context.log;
  if (bool(params, 'augment')) {
    log?.(`${methodId}: in-run cache off (augment changes the images every step)`);
    return null;
  }
  if (!bool(params, 'cacheFrozen')) {
    log?.(`${methodId}: in-run cache off (cacheFrozen=false)`);
    return null;
  }
  const count = pixels01.shape[0] as number;
  const bytes = frozenFeatureBytes(context.weights, count, depth);
  if (bytes > FROZEN_CACHE_MAX_BYTES) {
    log?.(
      `${methodId}: in-run cache off (${(bytes / 1024 ** 3).toFixed(1)} GiB of frozen features would exceed ${FROZEN_CACHE_MAX_BYTES / 1024 ** 3} GiB)`,
    );
    return null;
  }
  const resolution = context.weights.config.vision.imageResolution;
  const normalized = Float32Array.from(pixels01.data);
  normalizePixels(normalized, normalized, resolution * resolution);
  const started = Date.now();
  const frozen = await computeFrozenFeatures(
    context.weights,
    { data: normalized, shape: pixels01.shape },
    depth,
    batchSize,
    context.executor,
  );
  log?.(
    `${methodId}: in-run cache on: the unprompted prefix (blocks 0..${depth - 1}) and the frozen class tokens ` +
      `of blocks ${depth}..${context.weights.config.vision.layers - 1} computed once for ${count} images ` +
      `(${(bytes / 1024 ** 2).toFixed(1)} MiB, ${Date.now() - started} ms); each step runs only the prompted blocks`,
  );
  return frozen;
}

function promptTuningDefense(meta: {
  id: string;
  title: string;
  summary: string;
  alpha: number;
}): DefenseMethod {
  const params = rvptParams(meta.alpha);
  return {
    id: meta.id,
    title: meta.title,
    kind: 'defense',
    summary: meta.summary,
    paper: RVPT_PAPER,
    params,
    run: (context, given) => runRvpt(meta.id, context, given, params),
  };
}

export const rvptDefense = promptTuningDefense({
  id: 'rvpt',
  title: 'RVPT (repulsive visual prompt tuning)',
  summary:
    'Deep visual prompts tuned on a few clean shots with cross-entropy plus a loss that pushes the prompted class token away from the frozen one in every prompted block, so features a trigger relies on are not reused.',
  alpha: 2,
});

export const vptDefense = promptTuningDefense({
  id: 'vpt',
  title: 'VPT-deep (no repulsion)',
  summary:
    'Deep visual prompts tuned on a few clean shots with cross-entropy only (RVPT with alpha = 0): the baseline that shows what the repulsion adds.',
  alpha: 0,
});
