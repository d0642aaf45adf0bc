import { encodeImage } from '../clip/clip-forward.js';
import { CLIP_MEAN, CLIP_STD } from '../image/preprocess.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import type { Objective, ObjectiveContext, ObjectiveOutput, TrainingExecutor } from '../train/objective.js';
import { contrastiveInversionLoss } from './inversion-loss.js';
import { l2Radius, projectPerturbation, type RadiusMode } from './projection.js';

/**
 * CBPT trigger inversion (METHODS 4.2 step 1) as an objective. Variable: `delta` [N,3,R,R] in pixel units.
 * Batch: `pixels` [N,3,R,R] in [0,1], `clean` [N,E] = E_I(v), `positive` [N,E] = E_I(v_pos). The image is
 * normalised inside the program, so delta lives in the pixel space where the budget is defined.
 * The loss is the SUM of the per-image L_CL: each image's delta then gets the gradient of its own loss,
 * as if each were optimised alone; the metric `cl` is the batch mean.
 */
export function inversionObjective(): Objective {
  return {
    name: 'cbpt-inversion',
    build<T>({ ops, clip, vars, batch }: ObjectiveContext<T>): ObjectiveOutput<T> {
      if (!clip) throw new Error('trigger inversion needs a CLIP model');
      const mean = ops.constant({ data: Float32Array.from(CLIP_MEAN), shape: [1, 3, 1, 1] });
      const std = ops.constant({ data: Float32Array.from(CLIP_STD), shape: [1, 3, 1, 1] });
      const perturbed = ops.div(ops.sub(ops.add(batch.pixels!, vars.delta!), mean), std);
      const embeds = encodeImage(clip, perturbed).embeds;
      const perImage = contrastiveInversionLoss(ops, embeds, batch.clean!, batch.positive!);
      return { loss: ops.sum(perImage, [0]), metrics: { cl: ops.mean(perImage, [0]) } };
    },
  };
}

export interface InversionSettings {
  readonly steps: number;
  readonly lr: number;
  readonly rho: number;
  readonly radiusMode: RadiusMode;
}

export interface InvertedTriggers {
  /** delta* [N,3,R,R], inside the budget, with v + delta* in [0,1]. */
  readonly delta: HostTensor;
  /** Mean L_CL before the first and after the last step. */
  readonly lossBefore: number;
  readonly lossAfter: number;
  /** Mean over images of ||delta*|| / radius: how much of the budget the inversion used. */
  readonly budgetUsed: number;
}

/**
 * Per-image perturbations from 0 by plain SGD on L_CL, projected onto the l2 ball (and the [0,1] box) after
 * every step: projected gradient descent, so every iterate is a valid trigger.
 */
export async function invertTriggers(
  trainer: TrainingExecutor,
  batch: { readonly pixels: HostTensor; readonly clean: HostTensor; readonly positive: HostTensor },
  settings: InversionSettings,
): Promise<InvertedTriggers> {
  const delta: HostTensor = {
    data: new Float32Array(batch.pixels.data.length),
    shape: [...batch.pixels.shape],
  };
  let lossBefore = NaN;
  for (let s = 0; s < settings.steps; s++) {
    const r = await trainer.step({ delta }, batch);
    if (s === 0) lossBefore = r.metrics.cl!.data[0] as number;
    const g = r.grads.delta!.data;
    const d = delta.data;
    for (let i = 0; i < d.length; i++) d[i] = (d[i] as number) - settings.lr * (g[i] as number);
    projectPerturbation(delta, batch.pixels, settings.rho, settings.radiusMode);
  }
  const last = await trainer.evaluate({ delta }, batch);
  const n = delta.shape[0] as number;
  const per = delta.data.length / n;
  const radius = l2Radius(settings.rho, per, settings.radiusMode);
  let used = 0;
  for (let i = 0; i < n; i++) {
    let sq = 0;
    for (let j = i * per; j < (i + 1) * per; j++) sq += (delta.data[j] as number) ** 2;
    used += radius > 0 ? Math.sqrt(sq) / radius : 0;
  }
  return { delta, lossBefore, lossAfter: last.metrics.cl!.data[0] as number, budgetUsed: used / n };
}
