import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { rvptLoss } from '../../engine/defenses/rvpt/rvpt-loss.js';
import { initTfBackend } from '../../engine/tensor/backend.js';
import { TfjsOps } from '../../engine/tensor/tfjs-ops.js';

/*
 * Two images, two classes, two prompted blocks, logit scale exp(0) = 1, so every term is computed by hand:
 * logits = cos(image, class): image 0 -> [1, 0] (label 0), image 1 -> [0, 1] (label 0).
 * CE = mean(log(1 + e^-1), log(1 + e)) = 0.8132616875.
 * Block cosines (prompted vs frozen class token): block A: 1, 0; block B: 0, -1/sqrt(2).
 * FR_i (mean over blocks) = 0.5 and -0.3535533906; FR = 0.0732233047.
 */
const CE = (Math.log(1 + Math.exp(-1)) + Math.log(1 + Math.E)) / 2;
const FR_0 = 0.5;
const FR_1 = -1 / Math.sqrt(2) / 2;

let ops: TfjsOps;
beforeAll(async () => {
  await initTfBackend('cpu');
  ops = new TfjsOps();
});

function inputs(
  promptedB: tf.Tensor = tf.tensor2d([
    [0, 1],
    [-1, 0],
  ]),
) {
  return {
    imageEmbeds: tf.tensor2d([
      [2, 0],
      [0, 3],
    ]), // not normalised on purpose: the loss normalises
    classText: tf.tensor2d([
      [1, 0],
      [0, 1],
    ]),
    targets: tf.tensor2d([
      [1, 0],
      [1, 0],
    ]),
    promptedCls: [
      tf.tensor2d([
        [1, 0],
        [0, 1],
      ]),
      promptedB,
    ],
    frozenCls: [
      tf.tensor2d([
        [1, 0],
        [1, 0],
      ]),
      tf.tensor2d([
        [1, 0],
        [1, 1],
      ]),
    ],
    logitScale: 0,
  };
}

function values(r: { loss: tf.Tensor; ce: tf.Tensor; fr: tf.Tensor }): {
  loss: number;
  ce: number;
  fr: number;
} {
  return {
    loss: r.loss.dataSync()[0]!,
    ce: r.ce.dataSync()[0]!,
    fr: r.fr.dataSync()[0]!,
  };
}

describe('RVPT loss on hand-computed tiny tensors', () => {
  it('CE + alpha * FR with alpha = 2', () => {
    const r = values(rvptLoss(ops, { ...inputs(), alpha: 2 }));
    expect(r.ce).toBeCloseTo(CE, 6);
    expect(r.fr).toBeCloseTo((FR_0 + FR_1) / 2, 6);
    expect(r.loss).toBeCloseTo(CE + 2 * ((FR_0 + FR_1) / 2), 6);
  });

  it('alpha = 0 (VPT) is the cross-entropy alone, FR still reported', () => {
    const r = values(rvptLoss(ops, { ...inputs(), alpha: 0 }));
    expect(r.loss).toBeCloseTo(CE, 6);
    expect(r.fr).toBeCloseTo((FR_0 + FR_1) / 2, 6);
  });

  it('margin m = 0 takes max(FR_i, 0) per image', () => {
    const r = values(rvptLoss(ops, { ...inputs(), alpha: 2, margin: 0 }));
    expect(r.fr).toBeCloseTo((FR_0 + 0) / 2, 6);
    expect(r.loss).toBeCloseTo(CE + 2 * 0.25, 6);
  });

  it('margin m = -1 changes nothing (cosines are >= -1); m = 0.6 floors both images', () => {
    expect(values(rvptLoss(ops, { ...inputs(), alpha: 2, margin: -1 })).fr).toBeCloseTo((FR_0 + FR_1) / 2, 6);
    expect(values(rvptLoss(ops, { ...inputs(), alpha: 2, margin: 0.6 })).fr).toBeCloseTo(0.6, 6);
  });

  it('an image already below the margin gets no repulsion gradient; one above does', () => {
    const gradOf = (margin: number | undefined): Float32Array => {
      const g = tf.grad((b: tf.Tensor) => {
        const r = rvptLoss(ops, { ...inputs(b), alpha: 1, ...(margin !== undefined ? { margin } : {}) });
        return r.fr;
      })(
        tf.tensor2d([
          [0, 1],
          [-1, 0],
        ]),
      );
      return g.dataSync() as Float32Array;
    };
    const free = gradOf(undefined);
    const floored = gradOf(0);
    // image 1 (FR_1 < 0) stops being pushed; image 0 (FR_0 = 0.5 > 0) is pushed exactly as without margin
    expect(Math.abs(floored[2]!) + Math.abs(floored[3]!)).toBe(0);
    expect(Math.abs(free[2]!) + Math.abs(free[3]!)).toBeGreaterThan(0.1);
    expect(floored[0]).toBeCloseTo(free[0]!, 6);
    expect(floored[1]).toBeCloseTo(free[1]!, 6);
  });

  it('refuses mismatched block lists', () => {
    const i = inputs();
    expect(() => rvptLoss(ops, { ...i, frozenCls: i.frozenCls.slice(0, 1), alpha: 2 })).toThrow(
      /2 prompted vs 1 frozen/,
    );
  });
});
