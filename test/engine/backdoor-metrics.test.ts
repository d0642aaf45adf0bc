import { describe, expect, it } from 'vitest';
import { backdoorMetrics, defenseEffectivenessRating } from '../../engine/metrics/backdoor-metrics.js';

describe('backdoor metrics', () => {
  // 6 test images, target class 2; two of them are target-class images.
  const labels = [0, 1, 2, 2, 1, 0];
  it('counts ASR over non-target images only, asr_all and PA over all, with denominators', () => {
    const m = backdoorMetrics(
      { predictions: [0, 1, 2, 0, 1, 1], labels },
      { predictions: [2, 2, 2, 2, 1, 0], labels },
      2,
    );
    expect(m.n_clean).toBe(6);
    expect(m.ca).toBeCloseTo((4 / 6) * 100);
    expect(m.n_poisoned).toBe(4); // non-target images
    expect(m.asr).toBeCloseTo((2 / 4) * 100); // images 0 and 1 flipped to 2
    expect(m.n_triggered).toBe(6);
    expect(m.asr_all).toBeCloseTo((4 / 6) * 100);
    expect(m.pa).toBeCloseTo((4 / 6) * 100); // 2, 2 (target images) + 1 + 0 correct
  });

  it('DER follows BackdoorBench: (max(0, dASR) - max(0, dCA) + 1) / 2', () => {
    expect(defenseEffectivenessRating({ ca: 90, asr: 100 }, { ca: 88, asr: 2 })).toBeCloseTo(
      (0.98 - 0.02 + 1) / 2,
    );
    expect(defenseEffectivenessRating({ ca: 90, asr: 10 }, { ca: 92, asr: 20 })).toBeCloseTo(0.5);
  });
});
