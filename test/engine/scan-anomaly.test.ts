import { describe, expect, it } from 'vitest';
import { anomalyIndices, median } from '../../engine/scan/anomaly-index.js';
import { applyClipped } from '../../engine/scan/universal-inversion.js';

describe('robust anomaly index (median / MAD)', () => {
  it('median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('matches a hand computation and is not inflated by the outlier itself', () => {
    // median 2; |x - 2| = 1, 0, 1, 0, 8 -> MAD 1; sigma = 1.4826
    const idx = anomalyIndices([1, 2, 3, 2, 10], 0.01);
    expect(idx[4]).toBeCloseTo(8 / 1.4826, 6);
    expect(idx[0]).toBeCloseTo(-1 / 1.4826, 6);
    expect(idx[1]).toBe(0);
  });

  it('floors the spread: identical classes and a tiny difference are not outliers', () => {
    const idx = anomalyIndices([-3, -3, -3, -3, -2.9], 0.25);
    // MAD 0 -> sigma floored at 0.25: (−2.9 + 3) / 0.25 = 0.4
    expect(idx[4]).toBeCloseTo(0.4, 6);
  });
});

describe('universal trigger application', () => {
  it('adds one perturbation to every image and clips to [0, 1]', () => {
    const pixels = { data: Float32Array.from([0.5, 0.95, 0.1, 0.5, 0.2, 0.05]), shape: [3, 2] };
    const out = applyClipped(pixels, Float32Array.from([0.1, -0.1]));
    [0.6, 0.85, 0.2, 0.4, 0.3, 0].forEach((v, i) => expect(out.data[i]).toBeCloseTo(v, 6));
    expect(out.shape).toEqual([3, 2]);
  });
});
