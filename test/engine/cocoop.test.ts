import { describe, expect, it } from 'vitest';
import { badclipPromptAttack } from '../../engine/attacks/badclip-prompt.js';
import { createEncoder } from '../../engine/clip/clip-encoder.js';
import { initClipWeights } from '../../engine/clip/init-weights.js';
import { loadClipWeights } from '../../engine/clip/load-weights.js';
import { resolveModelPath } from '../../engine/clip/resolve-model.js';
import { resolveDataset } from '../../engine/datasets/resolve.js';
import { buildZeroShotHead, classify } from '../../engine/clip/zero-shot.js';
import { importDataset } from '../../engine/datasets/import-dataset.js';
import { evaluateBackdoor } from '../../engine/eval/backdoor-eval.js';
import { resolveParams } from '../../engine/methods/params.js';
import { cocoopClassifier } from '../../engine/prompts/cocoop-classifier.js';
import { initCocoopLearner, metaNetForward, metaNetHidden } from '../../engine/prompts/cocoop-learner.js';
import { Rng } from '../../engine/util/rng.js';
import { TOY_CONFIG } from '../helpers/toy-data.js';

function randomPixels(n: number, r: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n * 3 * r * r }, () => rng.normal());
}

describe('CoCoOp prompt learner', () => {
  const weights = initClipWeights(TOY_CONFIG, new Rng(11));

  it('starts from the token embeddings of "a photo of a" and a CoCoOp-sized meta-net', () => {
    const learner = initCocoopLearner(weights, 'a photo of a', new Rng(1));
    expect(learner.context.shape).toEqual([4, 64]);
    expect(metaNetHidden(16)).toBe(1);
    expect(metaNetHidden(512)).toBe(32);
    expect(learner['meta.linear1.weight'].shape).toEqual([1, 16]);
    expect(learner['meta.linear2.weight'].shape).toEqual([64, 1]);
    // PyTorch Linear init bound 1/sqrt(fan_in)
    for (const v of learner['meta.linear1.weight'].data) expect(Math.abs(v)).toBeLessThanOrEqual(0.25);
  });

  it('meta-net: Linear -> ReLU -> Linear on the host', () => {
    const learner = initCocoopLearner(weights, 'a photo of a', new Rng(2));
    const f = { data: Float32Array.from({ length: 16 }, (_, i) => (i - 8) / 10), shape: [1, 16] };
    const out = metaNetForward(f, learner);
    const w1 = learner['meta.linear1.weight'].data;
    let h = learner['meta.linear1.bias'].data[0]!;
    for (let j = 0; j < 16; j++) h += w1[j]! * f.data[j]!;
    h = Math.max(0, h);
    for (let o = 0; o < 64; o++) {
      const expected = learner['meta.linear2.bias'].data[o]! + learner['meta.linear2.weight'].data[o]! * h;
      expect(out.data[o]).toBeCloseTo(expected, 5);
    }
  });

  it('with a zero meta-net it equals zero-shot "a photo of a {}." (the context is those token embeddings)', async () => {
    const learner = initCocoopLearner(weights, 'a photo of a', new Rng(3));
    for (const name of ['meta.linear2.weight', 'meta.linear2.bias'] as const) learner[name].data.fill(0);
    const encoder = await createEncoder(weights);
    const names = ['red', 'green', 'blue', 'yellow'];
    const pixels = { data: randomPixels(5, 16, 4), shape: [5, 3, 16, 16] };
    const cocoop = await cocoopClassifier(encoder, names, learner, 'test').logits(pixels);
    const head = await buildZeroShotHead(encoder, names, ['a photo of a {}.']);
    const image = await encoder.encode({ pixels, outputs: ['image_embeds'] });
    const zeroShot = classify(head, image.image_embeds!, weights.logitScale).logits;
    await encoder.dispose();
    expect(cocoop.shape).toEqual([5, 4]);
    for (let i = 0; i < 20; i++) expect(cocoop.data[i]).toBeCloseTo(zeroShot.data[i]!, 3);
  });
});

describe('BadCLIP trigger-aware prompt learning end to end', () => {
  it('learns a bounded trigger and prompts on the demo model: ASR rises, clean accuracy holds', async () => {
    // The demo CLIP on a small slice of the demo data: 4 shots per class to learn, 10 test images per class.
    const full = await importDataset((await resolveDataset('demo')).root);
    const perClass = new Map<number, number>();
    const items = full.items.filter((item) => {
      if (item.split !== 'test') return true;
      const seen = perClass.get(item.label) ?? 0;
      perClass.set(item.label, seen + 1);
      return seen < 10;
    });
    const dataset = { ...full, items };
    const weights = await loadClipWeights(resolveModelPath('demo'));
    const target = dataset.classes.findIndex((c) => c.name === 'banana');
    const attack = badclipPromptAttack();
    const params = resolveParams(attack.id, attack.params, {
      shots: 4,
      warmupEpochs: 2,
      epochs: 2,
      epsilon: 16,
      warmupSign: true,
    });
    const result = await attack.run({ weights, dataset, target, seed: 2 }, params);
    expect(result.kind).toBe('prompts');
    expect(result.trainImages).toBe(48);
    for (const v of result.trigger.tensors().delta!.data) {
      expect(Math.abs(v)).toBeLessThanOrEqual((16 / 255) * (1 + 1e-6));
    }
    const encoder = await createEncoder(weights);
    const names = dataset.classes.map((c) => c.name);
    const zeroShot = await evaluateBackdoor(encoder, dataset, { trigger: result.trigger, target });
    const prompted = await evaluateBackdoor(encoder, dataset, {
      trigger: result.trigger,
      target,
      classifier: cocoopClassifier(encoder, names, result.tensors, 'test'),
    });
    await encoder.dispose();
    expect(prompted.metrics!.n_poisoned).toBe(110); // the 10 banana test images are not counted
    // The trigger alone moves few images; the learned prompts make it work (the attack's point).
    expect(result.epochLosses.at(-1)!).toBeLessThan(result.epochLosses[0]! / 2);
    expect(prompted.metrics!.asr).toBeGreaterThan(zeroShot.metrics!.asr + 15);
    expect(prompted.metrics!.ca).toBeGreaterThan(60);
  }, 300_000);
});
