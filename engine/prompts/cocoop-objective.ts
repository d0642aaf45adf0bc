import { encodeImage, encodeText, type TextInput } from '../clip/clip-forward.js';
import { l2Normalize } from '../tensor/ops.js';
import type { Objective, ObjectiveContext, ObjectiveOutput } from '../train/objective.js';
import { COCOOP_TENSORS } from './cocoop-learner.js';

/**
 * Trigger-aware CoCoOp training (BadCLIP, Bai et al. CVPR'24; METHODS 3.3). Variables: the learner's tensors
 * (COCOOP_TENSORS) and `delta` [3, R, R], the trigger in normalised units. Batch: `pixels` [B, 3, R, R]
 * normalised clean images and `targets` [2B, C] one-hot ([y ; target]). The step sees [x ; x + delta]; for
 * every image the meta-net shift of its unit feature is added to the context, all C class prompts are
 * encoded with it; the loss is the cross-entropy of s cos(f, t_c), mean over each half, halves summed.
 * `classTexts` are the C placeholder prompts "X ... X <class>." (constants of the graph).
 */
export function cocoopObjective(options: {
  readonly classTexts: TextInput;
  /** exp(logit_scale) of the model. */
  readonly scale: number;
}): Objective {
  return {
    name: 'cocoop-trigger-aware',
    build<T>({ ops, clip, vars, batch }: ObjectiveContext<T>): ObjectiveOutput<T> {
      if (!clip) throw new Error('CoCoOp training needs a CLIP model');
      const { classTexts } = options;
      const classes = classTexts.rows;
      const contextLength = clip.config.text.contextLength;
      const pixels = batch.pixels!;
      const [b, , r] = ops.shape(pixels) as [number, number, number];
      const delta = ops.reshape(vars.delta!, [1, 3, r, r]);
      const both = ops.concat([pixels, ops.add(pixels, delta)], 0);
      const n = 2 * b;
      const features = l2Normalize(ops, encodeImage(clip, both).embeds);
      const hidden = ops.relu(
        ops.linear(features, vars[COCOOP_TENSORS.linear1Weight]!, vars[COCOOP_TENSORS.linear1Bias]!),
      );
      const shift = ops.linear(
        hidden,
        vars[COCOOP_TENSORS.linear2Weight]!,
        vars[COCOOP_TENSORS.linear2Bias]!,
      );
      const context = vars[COCOOP_TENSORS.context]!;
      const [m, width] = ops.shape(context) as [number, number];
      // [N, 1, 1, W] + [1, 1, M, W] broadcast over C classes -> [N * C, M, W]
      const perImage = ops.add(ops.reshape(shift, [n, 1, 1, width]), ops.reshape(context, [1, 1, m, width]));
      const ones = ops.constant({ data: new Float32Array(classes).fill(1), shape: [1, classes, 1, 1] });
      const rows = ops.reshape(ops.mul(perImage, ones), [n * classes, m, width]);
      const ids = new Int32Array(n * classes * contextLength);
      for (let i = 0; i < n; i++) ids.set(classTexts.ids, i * classes * contextLength);
      const text = l2Normalize(ops, encodeText(clip, { ids, rows: n * classes }, { vectors: rows }));
      const textPerImage = ops.reshape(text, [n, classes, ops.shape(text)[1] as number]);
      const cos = ops.sum(
        ops.mul(ops.reshape(features, [n, 1, ops.shape(features)[1] as number]), textPerImage),
        [-1],
      );
      const logits = ops.mul(cos, ops.scalar(options.scale));
      // L_total = L_cle + L_tri (Bai et al. eq. 5): the sum of the mean CE of each half, so the warm-up's
      // gradient w.r.t. delta is exactly that of L_tri (the clean half does not depend on delta).
      const perRow = ops.neg(ops.sum(ops.mul(ops.logSoftmax(logits), batch.targets!), [-1]));
      const [cleanRows, triggeredRows] = ops.split(perRow, [b, b], 0) as [T, T];
      const clean = ops.mean(cleanRows, [0]);
      const triggered = ops.mean(triggeredRows, [0]);
      const loss = ops.add(clean, triggered);
      return { loss, metrics: { clean, triggered } };
    },
  };
}
