import { describe, expect, it } from 'vitest';
import { cbptPromptLoss, classProbabilities } from '../../engine/defenses/cbpt/cbpt-losses.js';
import { contrastiveInversionLoss } from '../../engine/inversion/inversion-loss.js';
import { farthestPositives, pseudoTargets } from '../../engine/inversion/contrastive-pairs.js';
import { l2Radius, projectPerturbation } from '../../engine/inversion/projection.js';
import type { HostTensor } from '../../engine/tensor/host-tensor.js';
import type { Objective, ObjectiveContext } from '../../engine/train/objective.js';
import { OnnxTrainer } from '../../engine/train/onnx-trainer.js';

const t = (rows: number[][]): HostTensor => ({
  data: Float32Array.from(rows.flat()),
  shape: [rows.length, rows[0]!.length],
});

/** Evaluates a loss program on onnxruntime (the executor training runs on) and returns its named outputs. */
async function evaluate(
  build: <T>(ctx: ObjectiveContext<T>) => Record<string, T>,
  batch: Record<string, HostTensor>,
): Promise<Record<string, number[]>> {
  const objective: Objective = {
    name: 'loss-under-test',
    build<T>(ctx: ObjectiveContext<T>) {
      const outputs = build(ctx);
      const first = Object.values(outputs)[0]!;
      return { loss: ctx.ops.shape(first).length === 0 ? first : ctx.ops.sum(first, [0]), metrics: outputs };
    },
  };
  const trainer = new OnnxTrainer(objective, null);
  try {
    const r = await trainer.evaluate({}, batch);
    return Object.fromEntries(Object.entries(r.metrics).map(([k, v]) => [k, [...v.data]]));
  } finally {
    await trainer.dispose();
  }
}

describe('CBPT losses against hand-computed values', () => {
  it('L_CL = cos(v+d, v) - cos(v+d, v_pos) per image', async () => {
    const out = await evaluate(
      ({ ops, batch }) => ({
        cl: contrastiveInversionLoss(ops, batch.perturbed!, batch.clean!, batch.positive!),
      }),
      {
        perturbed: t([
          [1, 0],
          [0, 1],
        ]),
        clean: t([
          [2, 0],
          [1, 1],
        ]),
        positive: t([
          [0, 3],
          [0, 2],
        ]),
      },
    );
    // row 0: cos = 1 and 0 -> 1; row 1: cos = 1/sqrt(2) and 1 -> 0.70711 - 1.
    expect(out.cl![0]).toBeCloseTo(1, 6);
    expect(out.cl![1]).toBeCloseTo(Math.SQRT1_2 - 1, 6);
  });

  it('f(v; .) is the softmax of s * cos with the given scale', async () => {
    const out = await evaluate(
      ({ ops, batch }) => ({ p: classProbabilities(ops, batch.image!, batch.text!, 2) }),
      {
        image: t([[3, 0]]),
        text: t([
          [1, 0],
          [0, 5],
        ]),
      },
    );
    // logits s*cos = [2, 0]: softmax = [e^2, 1] / (e^2 + 1) = [0.880797, 0.119203].
    expect(out.p![0]).toBeCloseTo(0.880797, 5);
    expect(out.p![1]).toBeCloseTo(0.119203, 5);
  });

  const probabilities = {
    // image 0: y = 0, y' = 1; image 1: y = 2, y' = 0
    cleanProbs: t([
      [0.7, 0.2, 0.1],
      [0.1, 0.1, 0.8],
    ]),
    perturbedProbs: t([
      [0.2, 0.5, 0.3],
      [0.3, 0.3, 0.4],
    ]),
    labels: t([
      [1, 0, 0],
      [0, 0, 1],
    ]),
    pseudoTargets: t([
      [0, 1, 0],
      [1, 0, 0],
    ]),
  };

  const promptLoss = (benignOnly: boolean, alpha = 1) =>
    evaluate(({ ops, batch }) => {
      const r = cbptPromptLoss(ops, {
        cleanProbs: batch.cleanProbs!,
        perturbedProbs: batch.perturbedProbs!,
        labels: batch.labels!,
        pseudoTargets: batch.pseudoTargets!,
        alpha,
        lambdas: [1, 0.4, 0.4],
        benignOnly,
      });
      return { loss: r.loss, bn: r.bn, adv: r.adv, align: r.align };
    }, probabilities);

  // Hand computation, image 0 then image 1:
  // L_bn    = -ln 0.7 - ln 0.2 = 1.966113;            -ln 0.8 - ln 0.4 = 1.139434;  mean 1.552774
  // L_adv   = -ln(1 - 0.5)     = 0.693147;            -ln(1 - 0.3)     = 0.356675;  mean 0.524911
  // L_align = 0.7 * (0.25 + 0.09 + 0.04) / 3 = 0.088667; 0.8 * (0.04 + 0.04 + 0.16) / 3 = 0.064; mean 0.076333
  it('L_bn, L_adv and L_align', async () => {
    const out = await promptLoss(false);
    expect(out.bn![0]).toBeCloseTo(1.552774, 5);
    expect(out.adv![0]).toBeCloseTo(0.524911, 5);
    expect(out.align![0]).toBeCloseTo(0.076333, 5);
    // L = 1 * 1.552774 + 0.4 * 0.524911 + 0.4 * 0.076333
    expect(out.loss![0]).toBeCloseTo(1.793272, 5);
  });

  it('alpha weighs the perturbed term of L_bn; the warm-up uses L_bn only', async () => {
    const out = await promptLoss(true, 0.5);
    // -ln 0.7 - 0.5 ln 0.2 = 1.161394; -ln 0.8 - 0.5 ln 0.4 = 0.681290; mean 0.921342
    expect(out.bn![0]).toBeCloseTo(0.921342, 5);
    expect(out.loss![0]).toBeCloseTo(0.921342, 5);
  });
});

function expectValues(actual: HostTensor, expected: readonly number[]): void {
  expect(actual.data.length).toBe(expected.length);
  expected.forEach((v, i) => expect(actual.data[i]).toBeCloseTo(v, 6));
}

describe('l2 projection of the inverted trigger', () => {
  const pixels = t([[0.9, 0.1, 0.5, 0.5]]);
  it('absolute radius: ||delta|| <= rho', () => {
    const delta = t([[1, 1, -1, 1]]); // norm 2
    projectPerturbation(delta, pixels, 0.5, 'absolute');
    // scaled to norm 0.5 -> +-0.25; pixel 0 may only rise by 0.1 (v + delta <= 1)
    expectValues(delta, [0.1, 0.25, -0.25, 0.25]);
  });

  it('per-pixel RMS radius: ||delta|| <= rho * sqrt(numel)', () => {
    expect(l2Radius(0.5, 4, 'rms')).toBe(1);
    const delta = t([[1, -1, -1, 1]]); // norm 2 -> radius 0.5 * sqrt(4) = 1 -> +-0.5
    projectPerturbation(delta, pixels, 0.5, 'rms');
    // pixel 0 rises at most 0.1; pixel 1 falls at most 0.1 (v + delta >= 0)
    expectValues(delta, [0.1, -0.1, -0.5, 0.5]);
  });

  it('leaves a perturbation inside the ball alone and treats images separately', () => {
    const twoPixels = t([
      [0.5, 0.5],
      [0.5, 0.5],
    ]);
    const delta = t([
      [0.03, 0.04], // norm 0.05: inside rho 0.1
      [0.3, 0.4], // norm 0.5 -> 0.1
    ]);
    projectPerturbation(delta, twoPixels, 0.1, 'absolute');
    expect(delta.data[0]).toBeCloseTo(0.03, 7);
    expect(delta.data[1]).toBeCloseTo(0.04, 7);
    expect(delta.data[2]).toBeCloseTo(0.06, 6);
    expect(delta.data[3]).toBeCloseTo(0.08, 6);
  });
});

describe('contrastive pairs', () => {
  it('the pseudo-target is the closest class other than the true one', () => {
    const image = t([
      [1, 0.2],
      [0, 1],
    ]);
    const text = t([
      [1, 0],
      [0.9, 0.5],
      [0, 1],
    ]);
    // image 0 (y=0): cos to class 1 0.97 > class 2 0.2; image 1 (y=2): class 1 0.49 > class 0 0
    expect(pseudoTargets(image, text, [0, 2])).toEqual([1, 1]);
  });

  it('the positive is the image of the wanted class farthest from the query', () => {
    const query = t([[1, 0]]);
    const pool = t([
      [1, 0.1], // class 1, close
      [0, 1], // class 1, far
      [-1, 0], // class 0, farthest overall but the wrong class
    ]);
    expect(farthestPositives(query, [1], pool, [1, 1, 0])).toEqual([1]);
    expect(farthestPositives(query, [2], pool, [1, 1, 0])).toEqual([-1]);
  });
});
