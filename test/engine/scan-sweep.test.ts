import { describe, expect, it } from 'vitest';
import { budgetLadder, meanOverLevels } from '../../engine/scan/budget-sweep.js';
import { applyPatch, centredPlacement, invertPatchTrigger } from '../../engine/scan/patch-inversion.js';
import { invertUniversalTrigger } from '../../engine/scan/universal-inversion.js';
import type { HostTensor } from '../../engine/tensor/host-tensor.js';
import type { StepResult, TrainingExecutor, Vars } from '../../engine/train/objective.js';

/** A trainer whose loss is sum_i <w, delta_i>: the gradient of every image's perturbation is w. */
function linearTrainer(w: Float32Array): TrainingExecutor & { seen: HostTensor[] } {
  const seen: HostTensor[] = [];
  return {
    kind: 'tfjs',
    seen,
    step(vars: Vars): Promise<StepResult> {
      const d = vars.delta!;
      seen.push({ data: Float32Array.from(d.data), shape: d.shape });
      const n = d.shape[0] as number;
      const g = new Float32Array(d.data.length);
      for (let i = 0; i < n; i++) g.set(w, i * w.length);
      return Promise.resolve({ loss: 0, metrics: {}, grads: { delta: { data: g, shape: d.shape } } });
    },
    evaluate: () => Promise.resolve({ loss: 0, metrics: {} }),
    dispose: () => Promise.resolve(),
  };
}

const embeds = (n: number): HostTensor => ({ data: new Float32Array(n), shape: [n, 1] });

describe('budget sweep', () => {
  it('halves the budget down from rho, smallest first', () => {
    expect(budgetLadder(32, 4)).toEqual([4, 8, 16, 32]);
    expect(budgetLadder(0.5, 1)).toEqual([0.5]);
  });

  it('refuses a non-positive budget or a fractional level count', () => {
    expect(() => budgetLadder(0, 3)).toThrow(/positive budget/);
    expect(() => budgetLadder(1, 2.5)).toThrow(/levels/);
  });

  it('scores a class by its margin averaged over the levels', () => {
    // -6, -2, 3, 5 -> 0 / 4 = 0
    expect(
      meanOverLevels([{ meanMargin: -6 }, { meanMargin: -2 }, { meanMargin: 3 }, { meanMargin: 5 }]),
    ).toBe(0);
    expect(meanOverLevels([{ meanMargin: 1.5 }, { meanMargin: 2.5 }])).toBe(2);
  });
});

describe('universal inversion, warm-started', () => {
  it('continues from the given trigger and stays inside the larger ball', async () => {
    // One image of 2 values at 0.5, gradient (1, 0): descent moves delta along -x only.
    const trainer = linearTrainer(Float32Array.from([1, 0]));
    const pixels = { data: Float32Array.from([0.5, 0.5]), shape: [1, 2] };
    const chunk = { pixels, clean: embeds(1), positive: embeds(1) };
    const start = Float32Array.from([0, 0.1]);
    // absolute radius 0.2, 1 step of 2.5 * 0.2 = 0.5 along -x: (-0.5, 0.1), norm 0.5099 -> scaled to 0.2
    const delta = await invertUniversalTrigger(
      trainer,
      [chunk],
      { steps: 1, rho: 0.2, radiusMode: 'absolute' },
      start,
    );
    expect(trainer.seen[0]!.data[1]).toBeCloseTo(0.1, 6); // the first step saw the start
    const norm = Math.hypot(-0.5, 0.1);
    expect(delta[0]).toBeCloseTo((-0.5 * 0.2) / norm, 5);
    expect(delta[1]).toBeCloseTo((0.1 * 0.2) / norm, 5);
  });
});

describe('patch inversion', () => {
  it('places a centred square', () => {
    expect(centredPlacement(32, 0.25)).toEqual({ size: 8, top: 12, left: 12 });
    expect(centredPlacement(5, 0.4)).toEqual({ size: 2, top: 1, left: 1 });
  });

  it('replaces the window of every image and nothing else', () => {
    // 2 images, 3 channels, 3x3; a 1x1 patch at (1, 2)
    const pixels = { data: new Float32Array(2 * 3 * 9).fill(0.2), shape: [2, 3, 3, 3] };
    const out = applyPatch(pixels, Float32Array.from([0.9, 0.8, 0.7]), { size: 1, top: 1, left: 2 });
    for (let i = 0; i < 2; i++)
      for (let c = 0; c < 3; c++)
        for (let p = 0; p < 9; p++) {
          const expected = p === 1 * 3 + 2 ? [0.9, 0.8, 0.7][c]! : 0.2;
          expect(out.data[(i * 3 + c) * 9 + p]).toBeCloseTo(expected, 6);
        }
  });

  it('steps the patch against the sign of the summed window gradient, from grey, inside [0,1]', async () => {
    // 2x2 images, 1x1 patch at (0, 0). Per-image gradient: +1 at channel 0, -2 at channel 1, 0 at channel 2
    // in the window; outside the window a large gradient that must be ignored.
    const w = new Float32Array(3 * 4).fill(100);
    w[0] = 1;
    w[4] = -2;
    w[8] = 0;
    const trainer = linearTrainer(w);
    const pixels = { data: new Float32Array(2 * 12).fill(0.3), shape: [2, 3, 2, 2] };
    const patch = await invertPatchTrigger(trainer, [{ pixels, clean: embeds(2), positive: embeds(2) }], {
      steps: 2,
      place: { size: 1, top: 0, left: 0 },
    });
    // step 2.5 * 0.5 / 2 = 0.625: channel 0 goes down 0.5 -> 0 (clipped), channel 1 up to 1, channel 2 stays
    expect(Array.from(patch)).toEqual([0, 1, 0.5]);
    // the objective saw d = paste - v inside the window (0.5 - 0.3) and 0 outside, on the first step
    const first = trainer.seen[0]!.data;
    expect(first[0]).toBeCloseTo(0.2, 6);
    expect(first[1]).toBe(0);
  });
});
