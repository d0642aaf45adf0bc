import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { poisoningAttack } from '../../engine/attacks/poisoning-attack.js';
import { createEncoder } from '../../engine/clip/clip-encoder.js';
import type { ClipConfig } from '../../engine/clip/config.js';
import { initClipWeights } from '../../engine/clip/init-weights.js';
import type { ClipWeights } from '../../engine/clip/weights.js';
import { importDataset } from '../../engine/datasets/import-dataset.js';
import { encodePng } from '../../engine/demo/png.js';
import { evaluateBackdoor } from '../../engine/eval/backdoor-eval.js';
import { resolveParams } from '../../engine/methods/params.js';
import { badnetTrigger } from '../../engine/triggers/badnet.js';
import type { Trigger } from '../../engine/triggers/trigger.js';
import { Rng } from '../../engine/util/rng.js';

// Four colour classes of 16x16 images; a very small CLIP. The attack must make triggered images flip.
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
  const root = mkdtempSync(join(tmpdir(), 'vetbench-poison-'));
  const rng = new Rng(3);
  for (const split of ['train', 'test']) {
    for (const [name, rgb] of COLOURS) {
      mkdirSync(join(root, split, name), { recursive: true });
      for (let i = 0; i < (split === 'train' ? 24 : 8); i++) {
        const px = new Uint8Array(16 * 16 * 3);
        for (let p = 0; p < 256; p++)
          for (let c = 0; c < 3; c++) px[p * 3 + c] = Math.max(0, Math.min(255, rgb[c]! + rng.normal() * 20));
        writeFileSync(join(root, split, name, `${name}_${i}.png`), encodePng(16, 16, px));
      }
    }
  }
  return root;
}

async function asrOf(
  weights: ClipWeights,
  dataset: Awaited<ReturnType<typeof importDataset>>,
  trigger: Trigger,
  target: number,
): Promise<number> {
  const encoder = await createEncoder(weights);
  const r = await evaluateBackdoor(encoder, dataset, { trigger, target, templates: ['a {} square.'] });
  await encoder.dispose();
  expect(r.metrics!.n_poisoned).toBe(24); // the 8 target-class test images are not counted
  return r.metrics!.asr;
}

describe('poisoned fine-tuning end to end', () => {
  it('implants a BadNet backdoor: ASR rises on a very small model', async () => {
    const dataset = await importDataset(writeToyDataset());
    const target = dataset.classes.findIndex((c) => c.name === 'green');
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
    expect(result.poisoned).toBe(Math.round(0.4 * 96));
    const before = await asrOf(weights, dataset, result.trigger, target);
    const after = await asrOf(
      { ...weights, tensors: result.tensors, logitScale: result.tensors.get('logit_scale')!.data[0]! },
      dataset,
      result.trigger,
      target,
    );
    expect(after).toBeGreaterThan(before + 40);
    expect(after).toBeGreaterThan(60);
  }, 300_000);
});
