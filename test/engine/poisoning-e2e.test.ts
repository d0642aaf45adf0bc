import { describe, expect, it } from 'vitest';
import { TOY_CONFIG, writeToyDataset } from '../helpers/toy-data.js';
import { poisoningAttack } from '../../engine/attacks/poisoning-attack.js';
import { createEncoder } from '../../engine/clip/clip-encoder.js';
import type { ClipConfig } from '../../engine/clip/config.js';
import { initClipWeights } from '../../engine/clip/init-weights.js';
import type { ClipWeights } from '../../engine/clip/weights.js';
import { importDataset } from '../../engine/datasets/import-dataset.js';
import { evaluateBackdoor } from '../../engine/eval/backdoor-eval.js';
import { resolveParams } from '../../engine/methods/params.js';
import { badnetTrigger } from '../../engine/triggers/badnet.js';
import type { Trigger } from '../../engine/triggers/trigger.js';
import { Rng } from '../../engine/util/rng.js';

// Four colour classes of 16x16 images; a very small CLIP. The attack must make triggered images flip.
const config: ClipConfig = TOY_CONFIG;

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
    const dataset = await importDataset(writeToyDataset(24, 8, 'vetbench-poison-'));
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
