import { encodeImage } from '../clip/clip-forward.js';
import { CLIP_MEAN, CLIP_STD } from '../image/preprocess.js';
import { crossEntropyWithTargets, l2Normalize, type TensorOps } from '../tensor/ops.js';
import type { Objective, ObjectiveContext, ObjectiveOutput } from '../train/objective.js';

/**
 * The loss of an optimised trigger patch (BadCLIP dual-embedding, METHODS 3.2; TrojVQA's image key, 2.1).
 * Variable: `patch` [3, s, s]. Batch: `pixels01` [B, 3, R, R] clean images in [0, 1]; `text` [K, E] unit text
 * embeddings; with textMode 'infonce' also `targets` [B, K] one-hot; with imageWeight > 0 also `cleanEmbeds`
 * [B, E] (unit embeddings of the same clean images) and `targetImage` [1, E] (unit mean embedding of
 * target-class images).
 *
 * The patched image is x~ = x (1 - M) + pad(clamp(P, 0, 1)) with M the patch's mask, normalised in the graph
 * so the gradient reaches P through CLIP's pre-processing.
 * - Text guidance, 'infonce': CE of s cos(E_I(x~), text_k) over the K texts toward the target row: the
 *   patched image must match the target's captions better than the other classes' captions.
 *   'cosine': 1 - cos(E_I(x~), text_0), a pull toward one text (TrojVQA's "This is a yellow banana.").
 * - Image guidance: cos(E_I(x~), E_I(x)) - cos(E_I(x~), mean target image), times imageWeight: away from the
 *   image's own clean embedding, toward the target's images.
 */
export interface PatchObjectiveOptions {
  readonly resolution: number;
  readonly size: number;
  readonly top: number;
  readonly left: number;
  readonly textMode: 'infonce' | 'cosine';
  /** exp(logit_scale) of the model (InfoNCE temperature). */
  readonly scale: number;
  readonly imageWeight: number;
}

function zeros<T>(ops: TensorOps<T>, shape: readonly number[]): T {
  return ops.constant({ data: new Float32Array(shape.reduce((a, b) => a * b, 1)), shape });
}

/** clamp(P) placed in an R x R canvas of zeros: [1, 3, R, R]. */
function padPatch<T>(ops: TensorOps<T>, patch: T, o: PatchObjectiveOptions): T {
  const { resolution: r, size: s, top, left } = o;
  const right = r - left - s;
  const bottom = r - top - s;
  const clamped = ops.clamp(patch, 0, 1);
  const row = [
    ...(left > 0 ? [zeros(ops, [3, s, left])] : []),
    clamped,
    ...(right > 0 ? [zeros(ops, [3, s, right])] : []),
  ];
  const band = row.length > 1 ? ops.concat(row, 2) : clamped;
  const column = [
    ...(top > 0 ? [zeros(ops, [3, top, r])] : []),
    band,
    ...(bottom > 0 ? [zeros(ops, [3, bottom, r])] : []),
  ];
  const canvas = column.length > 1 ? ops.concat(column, 1) : band;
  return ops.reshape(canvas, [1, 3, r, r]);
}

/** 1 outside the patch, 0 inside: [1, 3, R, R]. */
export function keepMask(
  o: Pick<PatchObjectiveOptions, 'resolution' | 'size' | 'top' | 'left'>,
): Float32Array {
  const { resolution: r, size: s, top, left } = o;
  const mask = new Float32Array(3 * r * r).fill(1);
  for (let c = 0; c < 3; c++)
    for (let y = top; y < top + s; y++) mask.fill(0, (c * r + y) * r + left, (c * r + y) * r + left + s);
  return mask;
}

function meanCosine<T>(ops: TensorOps<T>, a: T, b: T): T {
  return ops.mean(ops.sum(ops.mul(a, b), [-1]), [0]);
}

export function patchObjective(o: PatchObjectiveOptions): Objective {
  return {
    name: `trigger-patch-${o.textMode}${o.imageWeight > 0 ? '-image' : ''}`,
    build<T>({ ops, clip, vars, batch }: ObjectiveContext<T>): ObjectiveOutput<T> {
      if (!clip) throw new Error('patch optimisation needs a CLIP model');
      const r = o.resolution;
      const keep = ops.constant({ data: keepMask(o), shape: [1, 3, r, r] });
      const patched = ops.add(ops.mul(batch.pixels01!, keep), padPatch(ops, vars.patch!, o));
      const mean = ops.constant({ data: Float32Array.from(CLIP_MEAN), shape: [1, 3, 1, 1] });
      const std = ops.constant({ data: Float32Array.from(CLIP_STD), shape: [1, 3, 1, 1] });
      const image = l2Normalize(ops, encodeImage(clip, ops.div(ops.sub(patched, mean), std)).embeds);
      const text = batch.text!;
      let textLoss: T;
      if (o.textMode === 'infonce') {
        const logits = ops.mul(ops.matMul(image, ops.transpose(text, [1, 0])), ops.scalar(o.scale));
        textLoss = crossEntropyWithTargets(ops, logits, batch.targets!);
      } else {
        textLoss = ops.sub(ops.scalar(1), meanCosine(ops, image, text));
      }
      if (o.imageWeight <= 0) return { loss: textLoss, metrics: { text: textLoss } };
      const imageLoss = ops.sub(
        meanCosine(ops, image, batch.cleanEmbeds!),
        meanCosine(ops, image, batch.targetImage!),
      );
      const loss = ops.add(textLoss, ops.mul(imageLoss, ops.scalar(o.imageWeight)));
      return { loss, metrics: { text: textLoss, image: imageLoss } };
    },
  };
}
