import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TOY_CONFIG, writeToyDataset } from '../helpers/toy-data.js';
import { poisoningAttack } from '../../engine/attacks/poisoning-attack.js';
import { createEncoder } from '../../engine/clip/clip-encoder.js';
import type { ClipConfig } from '../../engine/clip/config.js';
import { initClipWeights } from '../../engine/clip/init-weights.js';
import type { ClipWeights } from '../../engine/clip/weights.js';
import { importDataset } from '../../engine/datasets/import-dataset.js';
import type { Dataset } from '../../engine/datasets/dataset.js';
import { measurePromptDefense } from '../../engine/defenses/prompt-tuning-eval.js';
import { rvptDefense } from '../../engine/defenses/rvpt/rvpt-defense.js';
import { resolveParams } from '../../engine/methods/params.js';
import { badnetTrigger } from '../../engine/triggers/badnet.js';
import { Rng } from '../../engine/util/rng.js';

// Four colour classes of 16x16 images and a very small CLIP (2 vision blocks): backdoor it with a BadNet
// patch, then RVPT with 16 clean shots per class must bring the attack success down.
const config: ClipConfig = { ...TOY_CONFIG, vision: { ...TOY_CONFIG.vision, layers: 2 } };
const TEMPLATE = 'a {} square.';

async function backdooredToy(dataset: Dataset, target: number) {
  const weights = initClipWeights(config, new Rng(4));
  const attack = poisoningAttack(badnetTrigger);
  const params = resolveParams(attack.id, attack.params, {
    patchSize: 84, // 6 px at 16 px
    location: 'corner',
    poisonRate: 0.4,
    epochs: 30,
    lr: 3e-3,
    batchSize: 16,
    warmup: 2,
  });
  const result = await attack.run({ weights, dataset, target, seed: 9 }, params);
  const backdoored: ClipWeights = {
    ...weights,
    tensors: result.tensors,
    logitScale: result.tensors.get('logit_scale')!.data[0]!,
  };
  return { weights: backdoored, trigger: result.trigger };
}

describe('RVPT end to end on a very small backdoored CLIP', () => {
  it('lowers ASR, keeps CA, reports per-epoch metrics, and resumes exactly from a checkpoint', async () => {
    const dataset = await importDataset(writeToyDataset(24, 12, 'vetbench-rvpt-'));
    const target = dataset.classes.findIndex((c) => c.name === 'green');
    const { weights, trigger } = await backdooredToy(dataset, target);
    const params = resolveParams('rvpt', rvptDefense.params, {
      depth: 0, // 2 blocks: prompting both gives the prompts enough reach
      augment: true, // the setting this toy was tuned with (the demo default is off)
      promptLength: 4,
      epochs: 12,
      lr: 0.1,
      alpha: 1,
      batchSize: 16,
      template: TEMPLATE,
    });
    const series: string[] = [];
    const checkpointDir = mkdtempSync(join(tmpdir(), 'vetbench-rvpt-ckpt-'));
    // A run cancelled after its 4th epoch, then resumed, must end with the same prompts as an uninterrupted run.
    const controller = new AbortController();
    const cancelled = await rvptDefense
      .run(
        {
          weights,
          dataset,
          shots: 16,
          seed: 5,
          checkpointDir,
          signal: controller.signal,
          onMetric: (name, epoch) => {
            if (name === 'loss' && epoch === 3) controller.abort();
          },
        },
        params,
      )
      .catch((e: Error) => e);
    expect((cancelled as Error).message).toMatch(/cancelled/);
    expect(existsSync(join(checkpointDir, 'prompt-tuning.json'))).toBe(true);
    const resumed = await rvptDefense.run(
      {
        weights,
        dataset,
        shots: 16,
        seed: 5,
        checkpointDir,
        onMetric: (name, epoch) => series.push(`${name}@${epoch}`),
      },
      params,
    );
    const straight = await rvptDefense.run({ weights, dataset, shots: 16, seed: 5 }, params);
    expect(resumed.epochMetrics).toEqual(straight.epochMetrics);
    expect(series).toEqual(expect.arrayContaining(['loss@4', 'ce@4', 'fr@4', 'loss@11', 'fr@11']));
    expect(series).not.toContain('loss@3'); // epochs 0..3 were done before the resume
    if (resumed.output.kind !== 'prompts' || straight.output.kind !== 'prompts')
      throw new Error('prompts expected');
    expect(Array.from(resumed.output.file.tensors.prompts!.data)).toEqual(
      Array.from(straight.output.file.tensors.prompts!.data),
    );
    expect(straight.trainImages).toBe(64);
    for (const e of straight.epochMetrics) {
      expect(e.loss).toBeCloseTo(e.ce! + 1 * e.fr!, 5); // alpha = 1
      expect(Math.abs(e.fr!)).toBeLessThanOrEqual(1);
    }

    const encoder = await createEncoder(weights);
    const m = await measurePromptDefense(encoder, dataset, straight.output.file, { trigger, target });
    await encoder.dispose();
    const before = m.before.metrics!;
    const after = m.after.metrics!;
    expect(before.n_poisoned).toBe(36);
    // Measured (seed 5): CA 100 -> 100, ASR 55.6 -> 38.9 (20 -> 14 of 36). A weak backdoor on a toy model and
    // a modest drop: this checks the whole path moves ASR the right way, docs/defenses.md has the demo numbers.
    expect(before.asr).toBeGreaterThan(40);
    expect(after.asr).toBeLessThan(before.asr - 10);
    expect(m.after.ca).toBeGreaterThanOrEqual(m.before.ca - 5);
    expect(m.der!).toBeGreaterThan(0.5);
  }, 300_000);
});
