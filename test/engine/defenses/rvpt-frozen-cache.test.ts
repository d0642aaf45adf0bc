import { describe, expect, it } from 'vitest';
import { loadClipWeights } from '../../../engine/clip/load-weights.js';
import { importDataset } from '../../../engine/datasets/import-dataset.js';
import type { DefenseResult } from '../../../engine/defenses/defense.js';
import { rvptDefense, vptDefense } from '../../../engine/defenses/rvpt/rvpt-defense.js';
import { resolveParams, type ParamValues } from '../../../engine/methods/params.js';
import { FIXTURE_DIR } from '../../helpers/compare.js';
import { writeToyDataset } from '../../helpers/toy-data.js';

function prompts(r: DefenseResult): Float32Array {
  if (r.output.kind !== 'prompts') throw new Error('prompts expected');
  return r.output.file.tensors.prompts!.data;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

// The tiny fixture CLIP (3 vision blocks, width 128, 32 px) on four colour classes: RVPT and VPT with the
// frozen prefix and class tokens stored once must train exactly as when every step recomputes them.
describe('RVPT in-run cache of the frozen tower', () => {
  it.each([
    ['rvpt', 1, 2],
    ['vpt', 0, 0],
  ])(
    '%s at depth %i: same losses and prompts (1e-6) with and without the cache',
    async (id, depth, alpha) => {
      const weights = await loadClipWeights(`${FIXTURE_DIR}model.safetensors`);
      const dataset = await importDataset(writeToyDataset(4, 1, 'vetbench-rvpt-cache-'));
      const method = id === 'rvpt' ? rvptDefense : vptDefense;
      const run = async (cacheFrozen: boolean, log: string[]): Promise<DefenseResult> => {
        const given: ParamValues = {
          depth,
          alpha,
          augment: false,
          cacheFrozen,
          promptLength: 3,
          epochs: 3,
          lr: 0.05,
          batchSize: 6, // 16 images: steps of 6, 6 and 4 rows
          template: 'a {} square.',
        };
        return method.run(
          { weights, dataset, shots: 4, seed: 3, log: (l) => log.push(l) },
          resolveParams(method.id, method.params, given),
        );
      };
      const cachedLog: string[] = [];
      const plainLog: string[] = [];
      const cached = await run(true, cachedLog);
      const plain = await run(false, plainLog);
      expect(cachedLog.join('\n')).toMatch(/in-run cache on: .* computed once for 16 images/);
      expect(plainLog.join('\n')).toMatch(/in-run cache off \(cacheFrozen=false\)/);
      expect(cached.epochMetrics).toHaveLength(3);
      cached.epochMetrics.forEach((e, i) => {
        for (const k of ['loss', 'ce', 'fr'])
          expect(Math.abs(e[k]! - plain.epochMetrics[i]![k]!)).toBeLessThan(1e-6);
      });
      expect(maxAbsDiff(prompts(cached), prompts(plain))).toBeLessThan(1e-6);
      // The prompts did move: the comparison is not between two untouched initialisations.
      expect(cached.epochMetrics[2]!.loss).not.toBe(cached.epochMetrics[0]!.loss);
    },
    120_000,
  );

  it('stays off with augmentation, which changes the images every step', async () => {
    const weights = await loadClipWeights(`${FIXTURE_DIR}model.safetensors`);
    const dataset = await importDataset(writeToyDataset(2, 1, 'vetbench-rvpt-cache-'));
    const log: string[] = [];
    await rvptDefense.run(
      { weights, dataset, shots: 2, seed: 1, log: (l) => log.push(l) },
      resolveParams('rvpt', rvptDefense.params, { augment: true, epochs: 1, promptLength: 2, batchSize: 8 }),
    );
    expect(log.join('\n')).toMatch(/in-run cache off \(augment changes the images every step\)/);
  }, 60_000);
});
