import { deriveSeed } from '../../datasets/derive-seed.js';
import { applyLinearHead, normalizeRows } from '../../eval/linear-head-classifier.js';
import { num, type ParamSpecs, type ParamValues } from '../../methods/params.js';
import type { HostTensor } from '../../tensor/host-tensor.js';
import { oneHot } from '../../tensor/ops.js';
import { createTrainer } from '../../train/create-trainer.js';
import type { Objective, ObjectiveContext, ObjectiveOutput } from '../../train/objective.js';
import { Sgd } from '../../train/optimizers.js';
import { constant } from '../../train/schedules.js';
import { Rng } from '../../util/rng.js';
import type { DefenseContext, DefenseMethod, DefenseResult } from '../defense.js';
import { defenseEncoder } from '../defense-encoder.js';
import { linearProbeLoss } from './baseline-losses.js';
import { runEpochLoop } from './epoch-loop.js';
import { FewShotSet, modelInput } from './few-shot-set.js';
import { baselineSignature } from './signature.js';

/**
 * Linear probe (METHODS 4.3): the image tower stays frozen; a linear layer on the L2-normalised image
 * embedding is trained with CE on the K-shot set. Embeddings are computed once (no CLIP in the training loop),
 * so the whole run costs one forward pass over the K-shot images.
 */
export const LINEAR_PROBE_PARAMS: ParamSpecs = {
  epochs: { kind: 'integer', default: 40, min: 1, max: 10000, help: 'passes over the K-shot embeddings' },
  lr: { kind: 'number', default: 0.01, min: 0, max: 10, help: 'SGD learning rate (constant)' },
  momentum: { kind: 'number', default: 0.9, min: 0, max: 0.999, help: 'SGD momentum' },
  weightDecay: {
    kind: 'number',
    default: 0,
    min: 0,
    max: 1,
    help: 'SGD weight decay on the weight (not the bias)',
  },
  batchSize: { kind: 'integer', default: 32, min: 1, max: 4096, help: 'embeddings per step' },
};

/** The probe's training objective. Variables: `weight` [C, E], `bias` [C]; batch: `features`, `targets`. */
export function linearProbeObjective(): Objective {
  return {
    name: 'linear-probe',
    build<T>({ ops, vars, batch }: ObjectiveContext<T>): ObjectiveOutput<T> {
      return { loss: linearProbeLoss(ops, batch.features!, vars.weight!, vars.bias!, batch.targets!) };
    },
  };
}

/** PyTorch's nn.Linear initialisation: weight and bias uniform in +-1/sqrt(in). */
export function initLinearHead(classes: number, width: number, rng: Rng): Record<string, HostTensor> {
  const bound = 1 / Math.sqrt(width);
  const draw = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.range(-bound, bound));
  return {
    weight: { data: draw(classes * width), shape: [classes, width] },
    bias: { data: draw(classes), shape: [classes] },
  };
}

function rowsOf(t: HostTensor, indices: readonly number[]): HostTensor {
  const w = t.shape[1] as number;
  const out = new Float32Array(indices.length * w);
  indices.forEach((r, i) => out.set(t.data.subarray(r * w, (r + 1) * w), i * w));
  return { data: out, shape: [indices.length, w] };
}

async function embedFewShot(context: DefenseContext, set: FewShotSet): Promise<HostTensor> {
  const encoder = await defenseEncoder(context, 'linear-probe');
  try {
    const e = context.weights.config.embedDim;
    const out = new Float32Array(set.size * e);
    const r = set.resolution;
    for (let start = 0; start < set.size; start += 64) {
      const indices = Array.from({ length: Math.min(64, set.size - start) }, (_, i) => start + i);
      const pixels = modelInput(await set.pixels01(indices), indices.length, r);
      const res = await encoder.encode({ pixels, outputs: ['image_embeds'] });
      out.set(normalizeRows(res.image_embeds!).data, start * e);
    }
    return { data: out, shape: [set.size, e] };
  } finally {
    await encoder.dispose();
  }
}

export const linearProbeDefense: DefenseMethod = {
  id: 'linear-probe',
  title: 'Linear probe',
  kind: 'defense',
  summary:
    'Frozen (possibly backdoored) image tower with a new linear classifier on its image embedding, trained on the clean K-shot images. Uses no text, so it cannot be checked against TrojVQA (its text key has nothing to act on). Leaves the backdoored features untouched.',
  paper:
    'Radford et al., Learning Transferable Visual Models From Natural Language Supervision (ICML 2021), linear-probe protocol',
  params: LINEAR_PROBE_PARAMS,
  async run(context: DefenseContext, params: ParamValues): Promise<DefenseResult> {
    const started = Date.now();
    const set = await FewShotSet.sample(context, context.weights.config.vision.imageResolution);
    const features = await embedFewShot(context, set);
    const classes = set.classNames.length;
    const width = features.shape[1] as number;
    const labels = set.labels(set.items.map((_, i) => i));
    const decay = num(params, 'weightDecay');
    const trainer = await createTrainer(linearProbeObjective(), null, context.executor);
    try {
      const loop = await runEpochLoop(context, {
        method: 'linear-probe',
        signature: baselineSignature(context, params, set),
        epochs: num(params, 'epochs'),
        examples: set.size,
        batchSize: num(params, 'batchSize'),
        dropLast: false,
        vars: initLinearHead(classes, width, new Rng(deriveSeed(context.seed, 'linear-probe-init'))),
        optimizer: new Sgd({
          momentum: num(params, 'momentum'),
          decayFor: (n) => (n === 'weight' ? decay : 0),
        }),
        schedule: constant(num(params, 'lr')),
        async step(vars, indices) {
          const batchFeatures = rowsOf(features, indices);
          const batchLabels = indices.map((i) => labels[i]!);
          const r = await trainer.step(vars, {
            features: batchFeatures,
            targets: oneHot(batchLabels, classes),
          });
          // Accuracy of the head before this step's update, on the batch it is about to learn from.
          const logits = applyLinearHead(batchFeatures, vars.weight!, vars.bias!);
          let correct = 0;
          batchLabels.forEach((y, i) => {
            let best = 0;
            for (let k = 1; k < classes; k++)
              if ((logits.data[i * classes + k] as number) > (logits.data[i * classes + best] as number))
                best = k;
            if (best === y) correct++;
          });
          return { loss: r.loss, metrics: { accuracy: (100 * correct) / indices.length }, grads: r.grads };
        },
      });
      return {
        output: { kind: 'linear-head', weight: loop.vars.weight!, bias: loop.vars.bias! },
        epochMetrics: loop.epochMetrics,
        trainImages: set.size,
        wallMs: Date.now() - started,
      };
    } finally {
      await trainer.dispose();
    }
  },
};
