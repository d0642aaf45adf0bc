import { describe, expect, it } from 'vitest';
import { createEncoder } from '../../engine/clip/clip-encoder.js';
import { loadClipWeights } from '../../engine/clip/load-weights.js';
import { importDataset } from '../../engine/datasets/import-dataset.js';
import { MAD_TO_SIGMA, median } from '../../engine/scan/anomaly-index.js';
import { MARGIN_SPREAD_FLOOR, scanForBackdoor } from '../../engine/scan/backdoor-scan.js';
import { meanOverLevels } from '../../engine/scan/budget-sweep.js';
import { FIXTURE_DIR } from '../helpers/compare.js';
import { writeToyDataset } from '../helpers/toy-data.js';

describe('scanForBackdoor on a tiny model', () => {
  it('sweeps the budgets, scores the margin averaged over them and reports every level', async () => {
    const weights = await loadClipWeights(`${FIXTURE_DIR}model.safetensors`);
    const dataset = await importDataset(writeToyDataset(2, 1, 'vetbench-scan-engine-'));
    const encoder = await createEncoder(weights);
    try {
      const report = await scanForBackdoor(encoder, dataset, {
        shots: 1,
        seed: 1,
        steps: 1,
        rho: 0.2,
        levels: 2,
        radiusMode: 'rms',
        positive: 'class-text',
      });
      const c = dataset.classes.length;
      expect(report.perClass).toHaveLength(c);
      for (const k of report.perClass) {
        expect(k.n).toBe(c - 1); // one sampled image of every other class
        expect(k.levels.map((l) => l.rho)).toEqual([0.1, 0.2]);
        expect(k.flips).toBe(k.levels[1]!.flips);
        expect(k.meanMargin).toBeCloseTo(meanOverLevels(k.levels), 6);
        expect(k.budgetUsed).toBeLessThanOrEqual(1 + 1e-6);
      }
      const margins = report.perClass.map((k) => k.meanMargin);
      const m = median(margins);
      const sigma = Math.max(MAD_TO_SIGMA * median(margins.map((x) => Math.abs(x - m))), MARGIN_SPREAD_FLOOR);
      report.perClass.forEach((k) => expect(k.anomalyIndex).toBeCloseTo((k.meanMargin - m) / sigma, 6));
      expect(report.verdict).toBe(report.score > report.threshold ? 'backdoor-suspected' : 'no-evidence');
    } finally {
      await encoder.dispose();
    }
  }, 60_000);
});
