import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ClipConfig } from '../../engine/clip/config.js';
import { initClipWeights } from '../../engine/clip/init-weights.js';
import type { ClipWeights } from '../../engine/clip/weights.js';
import type { Dataset } from '../../engine/datasets/dataset.js';
import { importDataset } from '../../engine/datasets/import-dataset.js';
import { cbptDefense } from '../../engine/defenses/cbpt/cbpt.js';
import type { MethodProgress } from '../../engine/defenses/defense.js';
import { encodePng } from '../../engine/demo/png.js';
import { resolveParams } from '../../engine/methods/params.js';
import { Rng } from '../../engine/util/rng.js';

// Three colour classes of 16x16 images and a very small random CLIP: the whole bi-level loop runs in seconds.
const COLOURS: [string, [number, number, number]][] = [
  ['red', [220, 30, 30]],
  ['green', [30, 200, 40]],
  ['blue', [30, 50, 220]],
];
const config: ClipConfig = {
  embedDim: 16,
  vision: { width: 64, layers: 1, heads: 1, patchSize: 4, imageResolution: 16 },
  // "X X X X green." is 8 tokens with start and end.
  text: { width: 64, layers: 1, heads: 1, contextLength: 8, vocabSize: 49408 },
};

function writeToyDataset(): string {
  const root = mkdtempSync(join(tmpdir(), 'vetbench-cbpt-'));
  const rng = new Rng(3);
  for (const [name, rgb] of COLOURS) {
    mkdirSync(join(root, 'train', name), { recursive: true });
    for (let i = 0; i < 6; i++) {
      const px = new Uint8Array(16 * 16 * 3);
      for (let p = 0; p < 256; p++)
        for (let c = 0; c < 3; c++) px[p * 3 + c] = Math.max(0, Math.min(255, rgb[c]! + rng.normal() * 20));
      writeFileSync(join(root, 'train', name, `${name}_${i}.png`), encodePng(16, 16, px));
    }
  }
  return root;
}

// 4 shots x 3 classes in batches of 4: three bi-level steps per epoch, warm-up for the first two epochs.
const PARAMS = { epochs: 5, warmupEpochs: 2, batchSize: 4, lr: 0.1, inversionSteps: 3 };

describe('CBPT run: prompts, metrics, progress, cancellation and exact resume', () => {
  let dataset: Dataset;
  let weights: ClipWeights;
  beforeAll(async () => {
    dataset = await importDataset(writeToyDataset());
    weights = initClipWeights(config, new Rng(4));
  });

  it('writes class-wise prompts and resumes bit for bit after a cancellation', async () => {
    const params = resolveParams('cbpt', cbptDefense.params, PARAMS);
    const series: string[] = [];
    const progress: MethodProgress[] = [];
    const straight = await cbptDefense.run(
      {
        weights,
        dataset,
        shots: 4,
        seed: 5,
        onMetric: (name, epoch) => series.push(`${name}@${epoch}`),
        onProgress: (p) => progress.push(p),
      },
      params,
    );
    if (straight.output.kind !== 'prompts') throw new Error('CBPT must produce prompts');
    const file = straight.output.file;
    expect(file.kind).toBe('class-wise');
    expect(file.tensors.context!.shape).toEqual([3, 4, 64]);
    expect(file.classNames).toEqual(['blue', 'green', 'red']);
    expect(file.modelFingerprint).toBe(weights.source.fingerprint);
    expect(straight.trainImages).toBe(12);
    expect(straight.epochMetrics).toHaveLength(5);
    // The warm-up trains L_bn only: its loss is exactly L_bn; afterwards L_adv and L_align join in.
    for (const e of straight.epochMetrics.slice(0, 2)) expect(e.loss).toBeCloseTo(e.bn!, 5);
    const late = straight.epochMetrics[4]!;
    expect(late.loss).toBeCloseTo(late.bn! + 0.4 * late.adv! + 0.4 * late.align!, 4);
    expect(series).toEqual(expect.arrayContaining(['loss@0', 'bn@4', 'adv@4', 'align@4', 'cl@4', 'flip@4']));
    expect(progress.at(-1)).toMatchObject({ step: 15, totalSteps: 15, epoch: 4, epochs: 5, etaMs: 0 });
    // The prompts moved from their "a photo of a" initialisation.
    const init = resolveParams('cbpt', cbptDefense.params, { ...PARAMS, epochs: 1, lr: 0 });
    const untouched = await cbptDefense.run({ weights, dataset, shots: 4, seed: 5 }, init);
    if (untouched.output.kind !== 'prompts') throw new Error('CBPT must produce prompts');
    expect([...untouched.output.file.tensors.context!.data]).not.toEqual([...file.tensors.context!.data]);

    // Cancelled during epoch 3 (after the epoch-2 checkpoint), then resumed from the same folder.
    const checkpointDir = mkdtempSync(join(tmpdir(), 'vetbench-cbpt-ckpt-'));
    const controller = new AbortController();
    await expect(
      cbptDefense.run(
        {
          weights,
          dataset,
          shots: 4,
          seed: 5,
          checkpointDir,
          signal: controller.signal,
          onMetric: (name, epoch) => {
            if (name === 'loss' && epoch === 2) controller.abort();
          },
        },
        params,
      ),
    ).rejects.toMatchObject({ code: 'cancelled' });
    const resumedSeries: string[] = [];
    const resumed = await cbptDefense.run(
      {
        weights,
        dataset,
        shots: 4,
        seed: 5,
        checkpointDir,
        onMetric: (name, epoch) => resumedSeries.push(`${name}@${epoch}`),
      },
      params,
    );
    if (resumed.output.kind !== 'prompts') throw new Error('CBPT must produce prompts');
    expect([...resumed.output.file.tensors.context!.data]).toEqual([...file.tensors.context!.data]);
    expect(resumed.epochMetrics).toEqual(straight.epochMetrics);
    expect(resumedSeries).not.toContain('loss@2');
    expect(resumedSeries).toContain('loss@3');

    // Other settings on the same checkpoint folder are refused rather than silently mixed.
    const other = resolveParams('cbpt', cbptDefense.params, { ...PARAMS, lr: 0.2 });
    await expect(
      cbptDefense.run({ weights, dataset, shots: 4, seed: 5, checkpointDir }, other),
    ).rejects.toMatchObject({ code: 'checkpoint-mismatch' });
  }, 300_000);
});
