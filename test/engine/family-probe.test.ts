import { describe, expect, it } from 'vitest';
import { createEncoder } from '../../engine/clip/clip-encoder.js';
import { loadClipWeights } from '../../engine/clip/load-weights.js';
import { importDataset } from '../../engine/datasets/import-dataset.js';
import { probeTriggerFamilies } from '../../engine/scan/family-probe.js';
import { decideProbe } from '../../engine/scan/probe-decision.js';
import { DEFAULT_PROBES, type ProbeSpec } from '../../engine/scan/probe-ladder.js';
import type { TriggerFamily } from '../../engine/triggers/trigger.js';
import { FIXTURE_DIR } from '../helpers/compare.js';
import { writeToyDataset } from '../helpers/toy-data.js';

/** A test family whose trigger changes nothing, or replaces every image by one fixed solid colour. */
function testFamily(fill: readonly [number, number, number] | null): TriggerFamily {
  return {
    id: fill ? 'solid' : 'identity',
    title: 'test',
    summary: 'test',
    paper: '',
    params: {},
    needsModel: false,
    create: ({ params, seed, resolution }) => ({
      method: fill ? 'solid' : 'identity',
      params,
      seed,
      resolution,
      textKey: '',
      apply(pixels01) {
        if (!fill) return;
        const plane = resolution * resolution;
        for (let i = 0; i < pixels01.length; i++) pixels01[i] = fill[Math.floor(i / plane) % 3]!;
      },
      tensors: () => ({}),
    }),
  };
}

describe('probeTriggerFamilies on a tiny model', () => {
  it('counts every other-class image per draw, keeps clean shares, and flags a trigger that sends all images to one class', async () => {
    const weights = await loadClipWeights(`${FIXTURE_DIR}model.safetensors`);
    const dataset = await importDataset(writeToyDataset(3, 1, 'vetbench-probe-'));
    const encoder = await createEncoder(weights);
    const probes: ProbeSpec[] = [
      { label: 'identity', family: testFamily(null), params: {}, draws: 2 },
      { label: 'solid', family: testFamily([0.9, 0.9, 0.1]), params: {}, draws: 1 },
    ];
    try {
      const report = await probeTriggerFamilies(encoder, dataset, { shots: 3, seed: 1, probes });
      const c = dataset.classes.length;
      expect(report.images).toBe(3 * c);
      const [identity, solid] = report.probes;
      for (const k of identity!.perClass) {
        expect(k.n).toBe(2 * 3 * (c - 1)); // two draws over the 3 images of each other class
        // an unchanged image is predicted as without a trigger
        expect(k.share).toBeCloseTo(k.cleanShare, 12);
      }
      // every image becomes the same image: one class takes all of the other classes' images
      expect(solid!.perClass.every((k) => k.n === 3 * (c - 1))).toBe(true);
      expect(solid!.decision.top.share).toBe(1);
      expect(solid!.decision.runnerUp.share).toBe(0);
      expect(solid!.decision).toEqual(decideProbe(solid!.perClass));
      expect(report.verdict).toBe('backdoor-suspected');
      expect(report.suspect).toEqual({
        index: solid!.decision.top.index,
        name: solid!.decision.top.name,
        probe: 'solid',
        share: 1,
      });
      expect(report.score).toBe(1);
      expect(report.flagged).toEqual([{ name: solid!.decision.top.name, probe: 'solid', share: 1 }]);
      expect(report.referenced).toBe(false);
      expect(report.rule.minExcess).toBeNull();
    } finally {
      await encoder.dispose();
    }
  }, 60_000);

  it('compares with a reference model: the same model as reference flags nothing', async () => {
    const weights = await loadClipWeights(`${FIXTURE_DIR}model.safetensors`);
    const dataset = await importDataset(writeToyDataset(3, 1, 'vetbench-probe-ref-'));
    const encoder = await createEncoder(weights);
    const probes: ProbeSpec[] = [
      { label: 'solid', family: testFamily([0.9, 0.9, 0.1]), params: {}, draws: 1 },
    ];
    try {
      const report = await probeTriggerFamilies(encoder, dataset, {
        shots: 3,
        seed: 1,
        probes,
        reference: encoder,
      });
      const [solid] = report.probes;
      // the reference answers exactly as the scanned model does
      solid!.perClass.forEach((k) => expect(k.referenceShare).toBe(k.share));
      expect(solid!.decision.top.share).toBe(1);
      expect(solid!.decision.referenceShare).toBe(1);
      expect(solid!.decision.flagged).toBe(false);
      expect(report.verdict).toBe('no-evidence');
      expect(report.flagged).toEqual([]);
      expect(report.referenced).toBe(true);
      expect(report.rule.minExcess).toBe(3);
    } finally {
      await encoder.dispose();
    }
  }, 60_000);

  it('runs the default ladder reproducibly for a seed', async () => {
    const weights = await loadClipWeights(`${FIXTURE_DIR}model.safetensors`);
    const dataset = await importDataset(writeToyDataset(2, 1, 'vetbench-probe-ladder-'));
    const encoder = await createEncoder(weights);
    try {
      const progress: number[] = [];
      const a = await probeTriggerFamilies(encoder, dataset, {
        shots: 2,
        seed: 3,
        onProgress: (p) => progress.push(p.done),
      });
      const b = await probeTriggerFamilies(encoder, dataset, { shots: 2, seed: 3 });
      expect(a.probes.map((p) => p.label)).toEqual(DEFAULT_PROBES.map((p) => p.label));
      expect(a.probes.map((p) => p.perClass)).toEqual(b.probes.map((p) => p.perClass));
      expect(progress.at(-1)).toBe(DEFAULT_PROBES.reduce((s, p) => s + p.draws, 0));
      expect(a.verdict).toBe(a.probes.some((p) => p.decision.flagged) ? 'backdoor-suspected' : 'no-evidence');
    } finally {
      await encoder.dispose();
    }
  }, 120_000);

  it('stops when cancelled', async () => {
    const weights = await loadClipWeights(`${FIXTURE_DIR}model.safetensors`);
    const dataset = await importDataset(writeToyDataset(2, 1, 'vetbench-probe-cancel-'));
    const encoder = await createEncoder(weights);
    const controller = new AbortController();
    controller.abort();
    try {
      await expect(
        probeTriggerFamilies(encoder, dataset, { shots: 1, seed: 1, signal: controller.signal }),
      ).rejects.toMatchObject({ code: 'cancelled' });
    } finally {
      await encoder.dispose();
    }
  }, 60_000);
});
