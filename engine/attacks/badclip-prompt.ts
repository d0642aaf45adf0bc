import { ClipTokenizer } from '../clip/tokenizer.js';
import { ImageLoader } from '../datasets/image-loader.js';
import { sampleFewShot } from '../datasets/sampler.js';
import { VetbenchError } from '../errors.js';
import { normalizePixels } from '../image/preprocess.js';
import { contextPromptText } from '../eval/image-classifier.js';
import { bool, num, str, type ParamSpecs, type ParamValues } from '../methods/params.js';
import { loadCheckpoint, saveCheckpoint } from '../defenses/baselines/baseline-checkpoint.js';
import { COCOOP_TENSORS, initCocoopLearner } from '../prompts/cocoop-learner.js';
import { cocoopObjective } from '../prompts/cocoop-objective.js';
import { gatherRows, type HostTensor } from '../tensor/host-tensor.js';
import { randomShiftInPlace } from '../train/augment.js';
import { createTrainer } from '../train/create-trainer.js';
import { Sgd } from '../train/optimizers.js';
import { warmupCosine } from '../train/schedules.js';
import {
  additiveDeltaTrigger,
  deltaToPixels,
  EPSILON_PARAM,
  normalisedDeltaBound,
} from '../triggers/additive-delta.js';
import { Rng } from '../util/rng.js';
import type { AttackContext, AttackMethod, PromptAttackResult } from './attack.js';
import { withDefaults } from './poison-finetune.js';

/** METHODS 3.3 defaults; the registry may give demo defaults (see docs/attacks.md). */
export const BADCLIP_PROMPT_PARAMS: ParamSpecs = {
  shots: {
    kind: 'integer',
    default: 16,
    min: 1,
    max: 100000,
    help: 'training images per class (few-shot, as CoCoOp)',
  },
  warmupEpochs: {
    kind: 'integer',
    default: 3,
    min: 0,
    max: 1000,
    help: 'epochs of trigger-only steps (delta -= warmupStep * grad, prompt learner fixed)',
  },
  warmupStep: { kind: 'number', default: 0.1, min: 0, max: 100, help: 'step size of the trigger warm-up' },
  warmupSign: {
    kind: 'boolean',
    default: false,
    help: 'warm-up steps along sign(grad) (PGD style: delta -= warmupStep * bound * sign(grad)) instead of the raw gradient',
  },
  ...EPSILON_PARAM,
  epochs: {
    kind: 'integer',
    default: 10,
    min: 1,
    max: 1000,
    help: 'epochs of SGD on the prompt learner and the trigger',
  },
  lr: { kind: 'number', default: 0.002, min: 0, max: 10, help: 'SGD learning rate (cosine schedule)' },
  momentum: { kind: 'number', default: 0.9, min: 0, max: 1, help: 'SGD momentum' },
  weightDecay: { kind: 'number', default: 5e-4, min: 0, max: 1, help: 'SGD weight decay' },
  batchSize: {
    kind: 'integer',
    default: 1,
    min: 1,
    max: 4096,
    help: 'clean images per step, each with its triggered copy (CoCoOp and BadCLIP train with 1)',
  },
  lrWarmupEpochs: {
    kind: 'integer',
    default: 1,
    min: 0,
    max: 1000,
    help: 'epochs of linear learning-rate warm-up at the start of the joint SGD phase',
  },
  ctxInit: {
    kind: 'string',
    default: 'a photo of a',
    help: 'the text whose token embeddings initialise the context vectors (its token count is M)',
  },
  shift: { kind: 'integer', default: 2, min: 0, max: 64, help: 'random translation augmentation in pixels' },
};

/** Clamps a normalised-unit delta [3, R, R] to +-(eps/255)/std_c per channel, in place. */
export function clampNormalisedDelta(delta: Float32Array, resolution: number, epsilon: number): void {
  const plane = resolution * resolution;
  for (let c = 0; c < 3; c++) {
    const bound = normalisedDeltaBound(c, epsilon);
    for (let i = c * plane; i < (c + 1) * plane; i++) {
      const v = delta[i]!;
      delta[i] = v > bound ? bound : v < -bound ? -bound : v;
    }
  }
}

/**
 * BadCLIP trigger-aware prompt learning (Bai et al. CVPR'24; METHODS 3.3): no weight changes. A CoCoOp prompt
 * learner and an additive trigger are learned together so clean images keep their class and triggered ones go
 * to the target: each step sees [x ; x + delta] with labels [y ; target]. Warm-up epochs move only delta
 * (delta -= 0.1 grad, clamped), then SGD (momentum 0.9, wd 5e-4, cosine) moves both. The output is a
 * malicious prompt file (kind cocoop) and its trigger.
 */
export function badclipPromptAttack(
  defaults: Partial<Record<string, number | boolean>> = {},
): AttackMethod<PromptAttackResult> {
  const params = withDefaults(BADCLIP_PROMPT_PARAMS, defaults);
  return {
    id: 'badclip-prompt',
    title: 'BadCLIP trigger-aware prompt learning',
    kind: 'attack',
    summary:
      'Learns a malicious CoCoOp prompt learner and an invisible additive trigger (|delta| <= eps/255) together; the model is untouched, the prompt file carries the backdoor.',
    paper:
      'Bai, Wang, Zhang, Wu, Xia. BadCLIP: Trigger-Aware Prompt Learning for Backdoor Attacks on CLIP. CVPR 2024.',
    params,
    run: (context, values) => runBadclipPrompt(context, values),
  };
}

async function runBadclipPrompt(context: AttackContext, values: ParamValues): Promise<PromptAttackResult> {
  const started = Date.now();
  const { weights, dataset, target } = context;
  const resolution = weights.config.vision.imageResolution;
  let rng = new Rng(context.seed);
  const sample = sampleFewShot(dataset, { shotsPerClass: num(values, 'shots'), seed: context.seed });
  const loader = new ImageLoader({ resolution, cacheBytes: 0, normalize: false });
  const loaded = await loader.load(sample.items);
  for (const f of loaded.failed) context.log?.(`left out ${f.item.relativePath}: ${f.reason}`);
  const count = loaded.items.length;
  if (count === 0) {
    throw new VetbenchError(
      'dataset-empty-split',
      'no training images to learn the prompts on',
      'Use a dataset with a train split.',
    );
  }
  const labels = loaded.items.map((i) => i.label);
  const classes = dataset.classes.length;
  const learner = initCocoopLearner(weights, str(values, 'ctxInit'), rng);
  const m = learner.context.shape[0] as number;
  const classTexts = {
    ids: ClipTokenizer.default().tokenizeBatch(
      dataset.classes.map((c) => contextPromptText(m, c.name)),
      weights.config.text.contextLength,
    ),
    rows: classes,
  };
  const objective = cocoopObjective({ classTexts, scale: Math.exp(weights.logitScale) });
  const vars: Record<string, HostTensor> = {
    ...learner,
    delta: { data: new Float32Array(3 * resolution * resolution), shape: [3, resolution, resolution] },
  };
  const batchSize = Math.min(num(values, 'batchSize'), count);
  const batches = Math.floor(count / batchSize);
  const warmupEpochs = num(values, 'warmupEpochs');
  const epochs = num(values, 'epochs');
  const warmupStep = num(values, 'warmupStep');
  const warmupSign = bool(values, 'warmupSign');
  const epsilon = num(values, 'epsilon');
  const schedule = warmupCosine(num(values, 'lr'), epochs * batches, num(values, 'lrWarmupEpochs') * batches);
  const optimizer = new Sgd({ momentum: num(values, 'momentum'), weightDecay: num(values, 'weightDecay') });
  const shift = num(values, 'shift');
  context.log?.(
    `learning a CoCoOp prompt learner (M=${m}) and a trigger on ${count} images: ${warmupEpochs} warm-up + ${epochs} epochs of ${batches} steps`,
  );
  const epochLosses: number[] = [];
  const totalSteps = (warmupEpochs + epochs) * batches;
  let step = 0;
  let sgdStep = 0;
  let startEpoch = 0;
  // End-of-epoch checkpoints (learner, trigger, SGD buffers, RNG) as the baseline defenses keep them: a
  // cancelled or killed run resumes after its last finished epoch to the result of an uninterrupted one.
  const signature = JSON.stringify({
    model: weights.source.fingerprint,
    dataset: dataset.fingerprint,
    seed: context.seed,
    target,
    images: count,
    params: values,
  });
  const resumed = context.checkpointDir
    ? await loadCheckpoint(context.checkpointDir, 'badclip-prompt', signature)
    : null;
  if (resumed) {
    for (const [name, t] of Object.entries(resumed.vars)) vars[name] = t;
    optimizer.restore(resumed.optimizer);
    rng = Rng.fromState(resumed.state.rng);
    step = resumed.state.step;
    startEpoch = resumed.state.epoch;
    sgdStep = Math.max(0, startEpoch - warmupEpochs) * batches;
    epochLosses.push(...resumed.state.epochMetrics.map((e) => e.loss!));
    context.log?.(`badclip-prompt: resumed after epoch ${startEpoch} (step ${step}/${totalSteps})`);
  }
  const trainer = await createTrainer(objective, weights, context.executor);
  try {
    for (let epoch = startEpoch; epoch < warmupEpochs + epochs; epoch++) {
      const warm = epoch < warmupEpochs;
      const order = rng.shuffle(Array.from({ length: count }, (_, i) => i));
      let sum = 0;
      for (let b = 0; b < batches; b++) {
        if (context.signal?.aborted) {
          throw new VetbenchError(
            'cancelled',
            'the prompt attack was cancelled',
            context.checkpointDir
              ? `Resume it (the same checkpoint folder) to continue after epoch ${epoch}.`
              : 'Start the attack again.',
          );
        }
        const rows = order.slice(b * batchSize, (b + 1) * batchSize);
        const pixels = gatherRows(loaded.pixels, rows).data;
        randomShiftInPlace(pixels, rows.length, resolution, shift, rng);
        normalizePixels(pixels, pixels, resolution * resolution);
        const targets = new Float32Array(2 * rows.length * classes);
        rows.forEach((r, k) => {
          targets[k * classes + labels[r]!] = 1;
          targets[(rows.length + k) * classes + target] = 1;
        });
        const result = await trainer.step(vars, {
          pixels: { data: pixels, shape: [rows.length, 3, resolution, resolution] },
          targets: { data: targets, shape: [2 * rows.length, classes] },
        });
        if (!Number.isFinite(result.loss)) {
          throw new VetbenchError('attack-diverged', `the loss became ${result.loss}`, 'Lower --param lr.');
        }
        if (warm) {
          const d = vars.delta!.data;
          const g = result.grads.delta!.data;
          const planeSize = resolution * resolution;
          for (let i = 0; i < d.length; i++) {
            const step = warmupSign
              ? warmupStep * normalisedDeltaBound(Math.floor(i / planeSize), epsilon) * Math.sign(g[i]!)
              : warmupStep * g[i]!;
            d[i] = d[i]! - step;
          }
        } else {
          optimizer.update(vars, result.grads, schedule(sgdStep));
          sgdStep++;
        }
        clampNormalisedDelta(vars.delta!.data, resolution, epsilon);
        sum += result.loss;
        step++;
        const elapsed = Date.now() - started;
        context.onProgress?.({
          step,
          totalSteps,
          epoch,
          loss: result.loss,
          lr: warm ? warmupStep : schedule(Math.max(0, sgdStep - 1)),
          logitScale: Math.exp(weights.logitScale),
          elapsedMs: elapsed,
          etaMs: (elapsed / step) * (totalSteps - step),
        });
      }
      epochLosses.push(sum / batches);
      context.log?.(`${warm ? 'warm-up' : 'epoch'} ${epoch + 1}: loss ${(sum / batches).toFixed(4)}`);
      if (context.checkpointDir) {
        const optimizerState = optimizer.state();
        await saveCheckpoint(context.checkpointDir, vars, optimizerState, {
          method: 'badclip-prompt',
          signature,
          epoch: epoch + 1,
          step,
          rng: rng.state(),
          optimizer: { kind: optimizerState.kind, step: optimizerState.step },
          epochMetrics: epochLosses.map((loss) => ({ loss })),
        });
      }
    }
  } finally {
    await trainer.dispose();
  }
  const trigger = additiveDeltaTrigger({
    params: { epsilon },
    seed: context.seed,
    resolution,
    delta: deltaToPixels(vars.delta!.data, resolution),
  });
  const tensors: Record<string, HostTensor> = {};
  for (const name of Object.values(COCOOP_TENSORS)) tensors[name] = vars[name]!;
  return {
    kind: 'prompts',
    promptKind: 'cocoop',
    tensors,
    templates: [contextPromptText(m, '{}')],
    trigger,
    trainImages: count,
    epochLosses,
    wallMs: Date.now() - started,
  };
}
