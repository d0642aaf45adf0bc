import { requireViT } from '../clip/clip-forward.js';
import { gridSize } from '../clip/config.js';
import { num, str, type ParamSpecs, type ParamValues } from '../methods/params.js';
import { createTrainer, type TrainingExecutorKind } from '../train/create-trainer.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import { oneHot } from '../tensor/ops.js';
import type { ExplainContext, ExplainModel, ExplainResult, Explainer } from './explainer.js';
import { explainedClasses, explainedImageSets, CLASS_PARAM, IMAGES_PARAM } from './explained-images.js';
import { overlayPanel } from './overlay.js';
import { resnetGradCamObjective } from './resnet-probes.js';
import { concatRows, normalizedCopy, resolveBlock, sequenceLength, sliceRows } from './vit-inputs.js';
import { gradCamObjective } from './vit-probes.js';

/**
 * Grad-CAM for ViT (METHODS 5): with A [N, T, W] the tokens after a block and G the gradient of the chosen
 * class logit w.r.t. them, weights w_c = mean over patch tokens of G[:, c] and map = ReLU(sum_c w_c A[p, c])
 * over the patch grid. The class token and prompt tokens are not part of the map.
 */
export function gradCamFromTokens(
  activation: HostTensor,
  gradient: HostTensor,
  grid: number,
  firstPatch = 1,
): HostTensor {
  const [n, tokens, width] = activation.shape as [number, number, number];
  const patches = grid * grid;
  if (tokens < firstPatch + patches)
    throw new Error(`gradCamFromTokens: ${tokens} tokens for a ${grid}x${grid} grid`);
  const maps = new Float32Array(n * patches);
  const weights = new Float64Array(width);
  for (let i = 0; i < n; i++) {
    weights.fill(0);
    const base = i * tokens * width;
    for (let p = firstPatch; p < firstPatch + patches; p++) {
      for (let c = 0; c < width; c++) weights[c]! += gradient.data[base + p * width + c]! / patches;
    }
    for (let p = firstPatch; p < firstPatch + patches; p++) {
      let s = 0;
      for (let c = 0; c < width; c++) s += weights[c]! * activation.data[base + p * width + c]!;
      maps[i * patches + p - firstPatch] = Math.max(0, s);
    }
  }
  return { data: maps, shape: [n, grid, grid] };
}

export interface GradCamOptions {
  /** 0-based block whose output tokens are explained (negative counts from the end). */
  readonly block: number;
  readonly batchSize?: number;
  readonly executor?: TrainingExecutorKind;
}

export interface GradCamOutput {
  /** [N, g, g], ReLU'd, not normalised. */
  readonly maps: HostTensor;
  /** [N, C] class logits of the same forward pass. */
  readonly logits: HostTensor;
  readonly block: number;
}

/** Grad-CAM maps of images ([0, 1] pixels) for one class per image. */
export async function computeGradCam(
  model: ExplainModel,
  pixels01: HostTensor,
  classes: readonly number[],
  options: GradCamOptions,
): Promise<GradCamOutput> {
  const { config, logitScale } = model.weights;
  if (config.vision.resnet) return computeResNetGradCam(model, pixels01, classes, options);
  const layers = config.vision.layers;
  const block = resolveBlock(options.block, layers, 'gradcam');
  const grid = gridSize(config.vision);
  const width = config.vision.width;
  const trainer = await createTrainer(
    gradCamObjective({ block, logitScale, promptDepth: model.prompts?.depth ?? null }),
    model.weights,
    options.executor,
  );
  const n = pixels01.shape[0] as number;
  const batchSize = options.batchSize ?? 32;
  const tokens = sequenceLength(config, model.prompts, block);
  const maps: HostTensor[] = [];
  const logits: HostTensor[] = [];
  try {
    for (let from = 0; from < n; from += batchSize) {
      const count = Math.min(batchSize, n - from);
      const step = await trainer.step(
        { probe: { data: new Float32Array(count * tokens * width), shape: [count, tokens, width] } },
        {
          pixels: normalizedCopy(sliceRows(pixels01, from, count)),
          classText: model.head.embeddings,
          select: oneHot(classes.slice(from, from + count), model.head.classNames.length),
          ...(model.prompts ? { prompts: model.prompts.tensors } : {}),
        },
      );
      maps.push(gradCamFromTokens(step.metrics.activation!, step.grads.probe!, grid));
      logits.push(step.metrics.logits!);
    }
  } finally {
    await trainer.dispose();
  }
  return { maps: concatRows(maps), logits: concatRows(logits), block };
}

/**
 * Grad-CAM of a ResNet CLIP at layer4 (its feature map is the grid; `block` does not apply). The map is
 * reported as block = the index of the last Bottleneck.
 */
async function computeResNetGradCam(
  model: ExplainModel,
  pixels01: HostTensor,
  classes: readonly number[],
  options: GradCamOptions,
): Promise<GradCamOutput> {
  const { config, logitScale } = model.weights;
  if (model.prompts) requireViT(config, 'Grad-CAM with visual prompts');
  const grid = gridSize(config.vision);
  const channels = config.vision.width * 32;
  const trainer = await createTrainer(
    resnetGradCamObjective({ logitScale }),
    model.weights,
    options.executor,
  );
  const n = pixels01.shape[0] as number;
  const batchSize = options.batchSize ?? 32;
  const maps: HostTensor[] = [];
  const logits: HostTensor[] = [];
  try {
    for (let from = 0; from < n; from += batchSize) {
      const count = Math.min(batchSize, n - from);
      const probeShape = [count, grid, grid, channels];
      const step = await trainer.step(
        { probe: { data: new Float32Array(count * grid * grid * channels), shape: probeShape } },
        {
          pixels: normalizedCopy(sliceRows(pixels01, from, count)),
          classText: model.head.embeddings,
          select: oneHot(classes.slice(from, from + count), model.head.classNames.length),
        },
      );
      // Channels-last [N, h, w, C] is [N, h*w, C] in memory: the same weighting as patch tokens, from 0.
      const asTokens = (t: HostTensor): HostTensor => ({
        data: t.data,
        shape: [count, grid * grid, channels],
      });
      maps.push(gradCamFromTokens(asTokens(step.metrics.activation!), asTokens(step.grads.probe!), grid, 0));
      logits.push(step.metrics.logits!);
    }
  } finally {
    await trainer.dispose();
  }
  return { maps: concatRows(maps), logits: concatRows(logits), block: config.vision.layers - 1 };
}

const PARAMS: ParamSpecs = {
  block: {
    kind: 'integer',
    default: -2,
    min: -64,
    max: 63,
    help: "block whose output tokens are explained, 0-based or from the end (-2 = the input of the last block; the last block's own patch outputs never reach the class token, so -1 gives an empty map)",
  },
  class: CLASS_PARAM,
  images: IMAGES_PARAM,
};

export const gradCamExplainer: Explainer = {
  id: 'gradcam',
  title: 'Grad-CAM (ViT)',
  summary:
    'Where the evidence for a class sits: gradient-weighted patch tokens of a block (ViT) or layer4 channels (ResNet), ReLU, over the grid.',
  paper:
    'Selvaraju et al. Grad-CAM: Visual Explanations from Deep Networks via Gradient-based Localization. ICCV 2017.',
  params: PARAMS,
  async run(context: ExplainContext, params: ParamValues): Promise<ExplainResult> {
    const sets = explainedImageSets(context, str(params, 'images'));
    const outputs: { name: string; maps: HostTensor; classes: readonly number[] }[] = [];
    let block = 0;
    for (const [k, set] of sets.entries()) {
      context.progress?.(k / sets.length, `Grad-CAM on ${set.name} images`);
      const classes = await explainedClasses(context, set, str(params, 'class'));
      const out = await computeGradCam(context.model, set.pixels, classes, { block: num(params, 'block') });
      block = out.block;
      outputs.push({ name: set.name, maps: out.maps, classes });
    }
    context.progress?.(1, 'Grad-CAM done');
    return {
      artifacts: [
        {
          name: 'gradcam.png',
          mime: 'image/png',
          bytes: overlayPanel(
            sets.map((s) => s.pixels),
            outputs.map((o) => o.maps),
          ),
        },
      ],
      arrays: outputs.flatMap((o) => [
        { name: `gradcam_${o.name}`, tensor: o.maps },
        {
          name: `gradcam_${o.name}_class`,
          tensor: { data: Float32Array.from(o.classes), shape: [o.classes.length] },
        },
      ]),
      summary: {
        block,
        images: context.images.labels.length,
        sets: outputs.map((o) => o.name).join(', '),
      },
    };
  },
};
