import { encodeImage, encodeText, PATCH_WEIGHT } from '../clip/clip-forward.js';
import { clipParamTensors } from '../clip/clip-params.js';
import type { ClipWeights } from '../clip/weights.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import { crossEntropyWithTargets, l2Normalize } from '../tensor/ops.js';
import type { Objective, ObjectiveContext, ObjectiveOutput } from './objective.js';

/**
 * CLIP's symmetric InfoNCE (METHODS 2.2): L = 1/2 [CE(s I T^T, diag) + CE(s T I^T, diag)], with the learned
 * logit scale s = exp(logit_scale). Batch: `pixels` [B,3,R,R]; texts: `captions` (B rows). Pretraining and
 * poisoned fine-tuning train every weight; pass the weights to train as variables (see clipTrainableTensors).
 */
export function contrastiveObjective(): Objective {
  return {
    name: 'clip-contrastive',
    build<T>({ ops, clip, batch, texts }: ObjectiveContext<T>): ObjectiveOutput<T> {
      if (!clip) throw new Error('the contrastive objective needs a CLIP model');
      const captions = texts.captions;
      if (!captions) throw new Error('the contrastive objective needs texts.captions');
      const img = l2Normalize(ops, encodeImage(clip, batch.pixels!).embeds);
      const txt = l2Normalize(ops, encodeText(clip, captions));
      const [b] = ops.shape(img) as [number];
      if (captions.rows !== b) throw new Error(`${b} images but ${captions.rows} captions`);
      const scale = ops.exp(clip.params.get('logit_scale'));
      const logits = ops.mul(ops.matMul(img, ops.transpose(txt, [1, 0])), scale);
      const eye = new Float32Array(b * b);
      for (let i = 0; i < b; i++) eye[i * b + i] = 1;
      const targets = ops.constant({ data: eye, shape: [b, b] });
      const imageToText = crossEntropyWithTargets(ops, logits, targets);
      const textToImage = crossEntropyWithTargets(ops, ops.transpose(logits, [1, 0]), targets);
      const loss = ops.mul(ops.add(imageToText, textToImage), ops.scalar(0.5));
      return { loss, metrics: { imageToText, textToImage } };
    },
  };
}

function isBatchNormBuffer(name: string): boolean {
  return name.endsWith('.running_mean') || name.endsWith('.running_var');
}

/** Every weight the forward pass reads, as independent copies to train (the patch kernel in its flat form). */
export function clipTrainableTensors(weights: ClipWeights): Record<string, HostTensor> {
  const out: Record<string, HostTensor> = {};
  const resnet = weights.config.vision.resnet !== undefined;
  for (const [name, t] of clipParamTensors(weights)) {
    // A ViT's patch kernel is trained through its flat view PATCH_WEIGHT.
    if (name === 'visual.conv1.weight' && !resnet) continue;
    // BatchNorm's running statistics are buffers, not parameters: fine-tuning reads them, never moves them.
    if (isBatchNormBuffer(name)) continue;
    out[name] = { data: Float32Array.from(t.data), shape: [...t.shape] };
  }
  return out;
}

/** Back to canonical names and shapes (the flat patch kernel becomes conv1.weight again). */
export function trainedToCanonical(
  trained: Readonly<Record<string, HostTensor>>,
  weights: ClipWeights,
): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  for (const [name, t] of Object.entries(trained)) {
    if (name === PATCH_WEIGHT) {
      const conv = weights.tensors.get('visual.conv1.weight')!;
      out.set('visual.conv1.weight', { data: t.data, shape: conv.shape });
    } else out.set(name, t);
  }
  // Tensors that were not trained (BatchNorm buffers) keep their values.
  for (const [name, t] of weights.tensors) if (!out.has(name) && isBatchNormBuffer(name)) out.set(name, t);
  return out;
}
