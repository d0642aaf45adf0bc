import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ClipConfig } from '../../engine/clip/config.js';
import { initClipWeights } from '../../engine/clip/init-weights.js';
import type { ClipWeights } from '../../engine/clip/weights.js';
import type { Dataset } from '../../engine/datasets/dataset.js';
import { importDataset } from '../../engine/datasets/import-dataset.js';
import { cleanClipDefense } from '../../engine/defenses/baselines/cleanclip.js';
import { finetuneDefense } from '../../engine/defenses/baselines/finetune.js';
import { linearProbeDefense } from '../../engine/defenses/baselines/linear-probe.js';
import type { DefenseContext, DefenseMethod, DefenseResult } from '../../engine/defenses/defense.js';
import { encodePng } from '../../engine/demo/png.js';
import { VetbenchError } from '../../engine/errors.js';
import { resolveParams } from '../../engine/methods/params.js';
import { Rng } from '../../engine/util/rng.js';

// Four colour classes of 16x16 images and a very small randomly initialised CLIP: every baseline must lower
// its training loss, and a run stopped after an epoch must resume to exactly the uninterrupted result.
const COLOURS: [string, [number, number, number]][] = [
  ['red', [220, 30, 30]],
  ['green', [30, 200, 40]],
  ['blue', [30, 50, 220]],
  ['yellow', [230, 220, 30]],
];
const config: ClipConfig = {
  embedDim: 16,
  vision: { width: 64, layers: 1, heads: 1, patchSize: 4, imageResolution: 16 },
  text: { width: 64, layers: 1, heads: 1, contextLength: 8, vocabSize: 49408 },
};

function writeToyDataset(): string {
  const root = mkdtempSync(join(tmpdir(), 'vetbench-baselines-'));
  const rng = new Rng(3);
  for (const [name, rgb] of COLOURS) {
    mkdirSync(join(root, 'train', name), { recursive: true });
    for (let i = 0; i < 10; i++) {
      const px = new Uint8Array(16 * 16 * 3);
      for (let p = 0; p < 256; p++)
        for (let c = 0; c < 3; c++) px[p * 3 + c] = Math.max(0, Math.min(255, rgb[c]! + rng.normal() * 20));
      writeFileSync(join(root, 'train', name, `${name}_${i}.png`), encodePng(16, 16, px));
    }
  }
  return root;
}

let dataset: Dataset;
let weights: ClipWeights;
beforeAll(async () => {
  dataset = await importDataset(writeToyDataset());
  weights = initClipWeights(config, new Rng(4));
});

const context = (extra: Partial<DefenseContext> = {}): DefenseContext => ({
  weights,
  dataset,
  shots: 8,
  seed: 7,
  ...extra,
});

async function run(method: DefenseMethod, params: Record<string, unknown>, extra?: Partial<DefenseContext>) {
  return method.run(context(extra), resolveParams(method.id, method.params, params));
}

function expectLossFalls(result: DefenseResult): void {
  const losses = result.epochMetrics.map((m) => m.loss!);
  expect(losses.every(Number.isFinite)).toBe(true);
  expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.9);
}

describe('baseline defenses end to end (tiny CLIP, 4 classes x 8 shots)', () => {
  it('linear probe: the loss falls, the head has one row per class, training accuracy rises', async () => {
    const metrics: [string, number, number][] = [];
    const result = await run(
      linearProbeDefense,
      { epochs: 30, lr: 0.5 },
      {
        onMetric: (s, step, v) => metrics.push([s, step, v]),
      },
    );
    expect(result.trainImages).toBe(32);
    expectLossFalls(result);
    expect(result.output.kind).toBe('linear-head');
    if (result.output.kind !== 'linear-head') return;
    expect(result.output.weight.shape).toEqual([4, config.embedDim]);
    expect(result.output.bias.shape).toEqual([4]);
    expect(result.epochMetrics.at(-1)!.accuracy!).toBeGreaterThan(result.epochMetrics[0]!.accuracy!);
    expect(metrics.filter(([s]) => s === 'loss').map(([, step]) => step)).toEqual(
      Array.from({ length: 30 }, (_, i) => i + 1),
    );
  });

  it('FT: the loss falls and only the image tower changes', async () => {
    const result = await run(finetuneDefense, { epochs: 6, lr: 3e-3, batchSize: 16, warmup: 1 });
    expectLossFalls(result);
    if (result.output.kind !== 'weights') throw new Error('FT must write weights');
    const tensors = result.output.tensors;
    expect([...tensors.keys()].sort()).toEqual([...weights.tensors.keys()].sort());
    const changed = [...tensors].filter(
      ([name, t]) => !t.data.every((v, i) => v === weights.tensors.get(name)!.data[i]),
    );
    expect(changed.length).toBeGreaterThan(0);
    expect(changed.every(([name]) => name.startsWith('visual.'))).toBe(true);
    expect(tensors.get('visual.conv1.weight')!.shape).toEqual(
      weights.tensors.get('visual.conv1.weight')!.shape,
    );
  });

  it('CleanCLIP: the loss falls and both towers change', async () => {
    const progress: number[] = [];
    const result = await run(
      cleanClipDefense,
      { epochs: 6, lr: 2e-3, batchSize: 16, warmup: 1 },
      {
        onProgress: (p) => progress.push(p.etaMs),
      },
    );
    expectLossFalls(result);
    expect(result.epochMetrics[0]!.cross).toBeGreaterThan(0);
    expect(result.epochMetrics[0]!.inModal).toBeGreaterThan(0);
    expect(progress).toHaveLength(12);
    expect(progress.at(-1)).toBe(0);
    if (result.output.kind !== 'weights') throw new Error('CleanCLIP must write weights');
    const tensors = result.output.tensors;
    const moved = (name: string): boolean =>
      !tensors.get(name)!.data.every((v, i) => v === weights.tensors.get(name)!.data[i]);
    expect(moved('visual.proj')).toBe(true);
    expect(moved('text_projection')).toBe(true);
  });

  // Every baseline shares the epoch loop's checkpoint: each, stopped during its second epoch and started again
  // with the same folder, must end bit for bit where an uninterrupted run ends.
  const resumeCases: [string, DefenseMethod, Record<string, unknown>][] = [
    ['FT', finetuneDefense, { epochs: 2, lr: 3e-3, batchSize: 16, warmup: 1 }],
    ['CleanCLIP', cleanClipDefense, { epochs: 2, lr: 2e-3, batchSize: 16, warmup: 1 }],
    ['linear probe', linearProbeDefense, { epochs: 2, lr: 0.5, batchSize: 16 }],
  ];
  it.each(resumeCases)(
    'a cancelled %s run resumes from its checkpoint to exactly the uninterrupted result (augmentation RNG included)',
    async (_name, method, params) => {
      const straight = await run(method, params);
      const checkpointDir = mkdtempSync(join(tmpdir(), 'vetbench-baseline-ckpt-'));
      const controller = new AbortController();
      await expect(
        run(method, params, {
          checkpointDir,
          signal: controller.signal,
          onProgress: (p) => {
            if (p.step === 3) controller.abort(); // during epoch 2, after epoch 1's checkpoint
          },
        }),
      ).rejects.toMatchObject({ code: 'cancelled' });
      const resumed = await run(method, params, { checkpointDir });
      expect(resumed.epochMetrics).toEqual(straight.epochMetrics);
      // Byte comparison: vitest's deep equality is far too slow for a 3M-value token embedding.
      const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
      const tensorsOf = (r: DefenseResult): [string, Float32Array][] =>
        r.output.kind === 'weights'
          ? [...r.output.tensors].map(([name, t]) => [name, t.data])
          : r.output.kind === 'linear-head'
            ? [
                ['weight', r.output.weight.data],
                ['bias', r.output.bias.data],
              ]
            : [];
      const want = tensorsOf(straight);
      expect(want.length).toBeGreaterThan(0);
      const got = new Map(tensorsOf(resumed));
      for (const [name, data] of want) expect(bytes(got.get(name)!).equals(bytes(data)), name).toBe(true);
    },
  );

  it('a checkpoint made with other settings is refused', async () => {
    const params = { epochs: 2, lr: 3e-3, batchSize: 16, warmup: 1 };
    const checkpointDir = mkdtempSync(join(tmpdir(), 'vetbench-baseline-ckpt-'));
    const controller = new AbortController();
    await expect(
      run(finetuneDefense, params, {
        checkpointDir,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.step === 3) controller.abort();
        },
      }),
    ).rejects.toMatchObject({ code: 'cancelled' });
    // Other settings must not resume from this checkpoint.
    await expect(run(finetuneDefense, { ...params, lr: 1e-3 }, { checkpointDir })).rejects.toBeInstanceOf(
      VetbenchError,
    );
  });
});
