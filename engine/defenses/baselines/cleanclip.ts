import { encodeImage, encodeText } from '../../clip/clip-forward.js';
import { ClipTokenizer } from '../../clip/tokenizer.js';
import { num, type ParamSpecs, type ParamValues } from '../../methods/params.js';
import { clipTrainableTensors } from '../../train/contrastive-objective.js';
import { createTrainer } from '../../train/create-trainer.js';
import type { Objective, ObjectiveContext, ObjectiveOutput } from '../../train/objective.js';
import { AdamW, excludedFromDecay } from '../../train/optimizers.js';
import { warmupCosine } from '../../train/schedules.js';
import type { DefenseContext, DefenseMethod, DefenseResult } from '../defense.js';
import { cleanClipLoss } from './baseline-losses.js';
import { augmentCaption } from './caption-augment.js';
import { runEpochLoop } from './epoch-loop.js';
import { FewShotSet, modelInput } from './few-shot-set.js';
import { autoAugmentInPlace } from './image-augment.js';
import { baselineSignature } from './signature.js';
import { clampLogitScale, mergedWeights } from './weights-output.js';

/**
 * CleanCLIP (Bansal et al., ICCV 2023; METHODS 4.3): fine-tune the whole CLIP on clean image-caption pairs
 * with the cross-modal InfoNCE plus an in-modal term that pairs each image with an augmented view and each
 * caption with an augmented caption. The paper fine-tunes ViT-B/32 at lr ~5e-6 on 100K pairs; on the demo's
 * few shots that changes nothing measurable, so the demo default is larger (docs/baselines.md has the runs).
 */
export const CLEANCLIP_PARAMS: ParamSpecs = {
  epochs: { kind: 'integer', default: 10, min: 1, max: 1000, help: 'passes over the K-shot pairs' },
  lr: {
    kind: 'number',
    default: 5e-5,
    min: 0,
    max: 1,
    help: "peak AdamW learning rate: demo default; the paper uses ~5e-6 for ViT-B/32 on 100K pairs, which on the demo's 30 steps changes nothing measurable (docs/baselines.md)",
  },
  batchSize: { kind: 'integer', default: 64, min: 2, max: 4096, help: 'pairs per step' },
  weightDecay: {
    kind: 'number',
    default: 0.1,
    min: 0,
    max: 1,
    help: 'AdamW weight decay (not on norms, biases, embeddings, logit scale)',
  },
  warmup: { kind: 'integer', default: 3, min: 0, max: 100000, help: 'linear warm-up steps' },
  crossWeight: { kind: 'number', default: 1, min: 0, max: 100, help: 'weight of the cross-modal loss' },
  inModalWeight: { kind: 'number', default: 1, min: 0, max: 100, help: 'weight of the in-modal loss' },
  minCropScale: {
    kind: 'number',
    default: 0.5,
    min: 0.05,
    max: 1,
    help: 'smallest area share of the random crop in the augmented view',
  },
  captionShare: {
    kind: 'number',
    default: 0.1,
    min: 0,
    max: 1,
    help: 'share of words swapped or deleted in the augmented caption',
  },
};

/**
 * Batch: `pixels` [2B,3,R,R] = clean images then their augmented views; texts: `captions` with 2B rows =
 * captions then augmented captions. Variables: every CLIP weight, logit scale included.
 */
export function cleanClipObjective(weights: { crossWeight: number; inModalWeight: number }): Objective {
  return {
    name: 'cleanclip',
    build<T>({ ops, clip, batch, texts }: ObjectiveContext<T>): ObjectiveOutput<T> {
      if (!clip) throw new Error('CleanCLIP needs a CLIP model');
      const captions = texts.captions;
      if (!captions) throw new Error('CleanCLIP needs texts.captions');
      const img = encodeImage(clip, batch.pixels!).embeds;
      const txt = encodeText(clip, captions);
      const [n2, e] = ops.shape(img) as [number, number];
      if (captions.rows !== n2) throw new Error(`${n2} images but ${captions.rows} captions`);
      const b = n2 / 2;
      const half = (x: T, second: boolean): T => ops.slice(x, [second ? b : 0, 0], [b, e]);
      const { loss, cross, inModal } = cleanClipLoss(ops, {
        images: half(img, false),
        augmentedImages: half(img, true),
        texts: half(txt, false),
        augmentedTexts: half(txt, true),
        scale: ops.exp(clip.params.get('logit_scale')),
        ...weights,
      });
      return { loss, metrics: { cross, inModal } };
    },
  };
}

export const cleanClipDefense: DefenseMethod = {
  id: 'cleanclip',
  title: 'CleanCLIP',
  kind: 'defense',
  summary:
    'Fine-tunes the whole CLIP on clean image-caption pairs with the cross-modal contrastive loss plus in-modal self-supervision (each image against an augmented view, each caption against a word-swapped or word-dropped variant). Writes new weights.',
  paper:
    'Bansal et al., CleanCLIP: Mitigating Data Poisoning Attacks in Multimodal Contrastive Learning (ICCV 2023)',
  params: CLEANCLIP_PARAMS,
  async run(context: DefenseContext, params: ParamValues): Promise<DefenseResult> {
    const started = Date.now();
    const { weights } = context;
    const r = weights.config.vision.imageResolution;
    const set = await FewShotSet.sample(context, r);
    const tokenizer = ClipTokenizer.default();
    const contextLength = weights.config.text.contextLength;
    const decay = num(params, 'weightDecay');
    const epochs = num(params, 'epochs');
    const batchSize = Math.min(num(params, 'batchSize'), set.size);
    const totalSteps = Math.floor(set.size / batchSize) * epochs;
    const minScale = num(params, 'minCropScale');
    const share = num(params, 'captionShare');
    const trainer = await createTrainer(
      cleanClipObjective({
        crossWeight: num(params, 'crossWeight'),
        inModalWeight: num(params, 'inModalWeight'),
      }),
      weights,
      context.executor,
    );
    try {
      const loop = await runEpochLoop(context, {
        method: 'cleanclip',
        signature: baselineSignature(context, params, set),
        epochs,
        examples: set.size,
        batchSize,
        dropLast: true,
        vars: clipTrainableTensors(weights),
        optimizer: new AdamW({
          beta2: 0.98,
          eps: 1e-6,
          decayFor: (n) => (excludedFromDecay(n) ? 0 : decay),
        }),
        schedule: warmupCosine(num(params, 'lr'), totalSteps, num(params, 'warmup')),
        afterUpdate: clampLogitScale,
        async step(vars, indices, rng) {
          const b = indices.length;
          const clean = await set.pixels01(indices);
          const both = new Float32Array(clean.length * 2);
          both.set(clean);
          both.set(clean, clean.length);
          autoAugmentInPlace(both.subarray(clean.length), b, r, rng, minScale);
          const captions = indices.map((i) => set.caption(i, rng));
          const augmented = captions.map((c) => augmentCaption(c, rng, { share }));
          const ids = tokenizer.tokenizeBatch([...captions, ...augmented], contextLength);
          const out = await trainer.step(
            vars,
            { pixels: modelInput(both, 2 * b, r) },
            { captions: { ids, rows: 2 * b } },
          );
          return {
            loss: out.loss,
            metrics: {
              cross: out.metrics.cross!.data[0] as number,
              inModal: out.metrics.inModal!.data[0] as number,
            },
            grads: out.grads,
          };
        },
      });
      return {
        output: { kind: 'weights', tensors: mergedWeights(weights, loop.vars) },
        epochMetrics: loop.epochMetrics,
        trainImages: set.size,
        wallMs: Date.now() - started,
      };
    } finally {
      await trainer.dispose();
    }
  },
};
