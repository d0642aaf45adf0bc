import { beforeAll, describe, expect, it } from 'vitest';
import { createEncoder, type ClipEncoder } from '../../engine/clip/clip-encoder.js';
import { loadClipWeights } from '../../engine/clip/load-weights.js';
import {
  classTokenCosines,
  columnStats,
  perturbationResistivity,
  type PrBatch,
} from '../../engine/metrics/perturbation-resistivity.js';
import {
  colorJitter,
  hsvToRgb,
  rgbToHsv,
  shiftHue,
} from '../../engine/metrics/perturbations/color-jitter.js';
import { gaussianBlur, gaussianKernel } from '../../engine/metrics/perturbations/gaussian-blur.js';
import { gaussianNoise } from '../../engine/metrics/perturbations/gaussian-noise.js';
import { horizontalFlip } from '../../engine/metrics/perturbations/horizontal-flip.js';
import {
  standardPerturbations,
  triggerPerturbation,
} from '../../engine/metrics/perturbations/standard-perturbations.js';
import { badnetTrigger } from '../../engine/triggers/badnet.js';
import { defaults } from '../../engine/methods/params.js';
import type { HostTensor } from '../../engine/tensor/host-tensor.js';
import { Rng } from '../../engine/util/rng.js';
import { FIXTURE_DIR } from '../helpers/compare.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDeepPrompts } from '../../engine/explain/deep-prompts.js';
import { savePromptFile } from '../../engine/prompts/prompt-file.js';
import { VetbenchError } from '../../engine/errors.js';

describe('perturbations', () => {
  it('Gaussian kernel 3, sigma 5 equals the hand-computed weights', () => {
    // exp(-0.5 * (1/5)^2) = exp(-0.02) = 0.98019867; sum = 2.96039735
    const k = gaussianKernel(3, 5);
    expect(k[0]).toBeCloseTo(0.98019867 / 2.96039735, 6);
    expect(k[1]).toBeCloseTo(1 / 2.96039735, 6);
    expect(k[2]).toBeCloseTo(k[0]!, 7);
  });

  it('blur spreads a single bright pixel by the outer product of the kernel, with reflect padding', () => {
    const r = 5;
    const k = gaussianKernel(3, 5);
    const img = new Float32Array(3 * r * r);
    img[12] = 1; // channel 0, centre (2, 2)
    gaussianBlur(3, 5).apply(img, ['a'], r);
    expect(img[6]).toBeCloseTo(k[0]! * k[0]!, 6); // (1, 1)
    expect(img[7]).toBeCloseTo(k[0]! * k[1]!, 6); // (1, 2)
    expect(img[12]).toBeCloseTo(k[1]! * k[1]!, 6);
    expect(img[0]).toBe(0);
    // reflect padding: a pixel at (0, 1) is seen twice from (0, 0) (x = -1 reflects to x = 1)
    const edge = new Float32Array(3 * r * r);
    edge[1] = 1;
    gaussianBlur(3, 5).apply(edge, ['a'], r);
    expect(edge[0]).toBeCloseTo(2 * k[0]! * k[1]!, 6);
    // a constant image is unchanged (the kernel sums to 1, reflect padding)
    const flat = new Float32Array(3 * 16).fill(0.3);
    gaussianBlur(3, 5).apply(flat, ['a'], 4);
    for (const v of flat) expect(v).toBeCloseTo(0.3, 6);
  });

  it('horizontal flip mirrors each row, twice is the identity', () => {
    const img = Float32Array.from({ length: 3 * 4 }, (_, i) => i);
    const flipped = Float32Array.from(img);
    horizontalFlip.apply(flipped, ['a'], 2);
    expect(Array.from(flipped.subarray(0, 4))).toEqual([1, 0, 3, 2]);
    horizontalFlip.apply(flipped, ['a'], 2);
    expect(Array.from(flipped)).toEqual(Array.from(img));
  });

  it('hue rotation by 1/3 turns pure red into pure green; HSV round trips', () => {
    const img = Float32Array.from([1, 0, 0]); // one pixel, planes r, g, b
    shiftHue(img, 1, 1 / 3);
    expect(img[0]).toBeCloseTo(0, 6);
    expect(img[1]).toBeCloseTo(1, 6);
    expect(img[2]).toBeCloseTo(0, 6);
    for (const rgb of [
      [0.2, 0.5, 0.9],
      [0.9, 0.1, 0.4],
      [0.3, 0.3, 0.3],
    ] as const) {
      const back = hsvToRgb(...rgbToHsv(rgb[0], rgb[1], rgb[2]));
      back.forEach((v, c) => expect(v).toBeCloseTo(rgb[c]!, 6));
    }
  });

  it('colour jitter is seeded per image key, and changes images within its ranges', () => {
    const r = 4;
    const base = Float32Array.from({ length: 2 * 3 * r * r }, (_, i) => ((i * 37) % 100) / 100);
    const a = Float32Array.from(base);
    const b = Float32Array.from(base);
    colorJitter(0.5, 0.3, 1).apply(a, ['x', 'y'], r);
    colorJitter(0.5, 0.3, 1).apply(b, ['x', 'y'], r);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(base));
    for (const v of a) expect(v >= 0 && v <= 1).toBe(true);
    const swapped = Float32Array.from(base);
    colorJitter(0.5, 0.3, 1).apply(swapped, ['y', 'x'], r);
    expect(Array.from(swapped)).not.toEqual(Array.from(a));
  });

  it('Gaussian noise has the asked standard deviation and stays in [0, 1]', () => {
    const img = new Float32Array(3 * 64 * 64).fill(0.5);
    gaussianNoise(0.01, 3).apply(img, ['k'], 64);
    const mean = img.reduce((s, v) => s + v, 0) / img.length;
    const sd = Math.sqrt(img.reduce((s, v) => s + (v - mean) ** 2, 0) / img.length);
    expect(sd).toBeGreaterThan(0.0095);
    expect(sd).toBeLessThan(0.0105);
    expect(standardPerturbations(1).map((p) => p.id)).toEqual([
      'gaussian-noise',
      'gaussian-blur',
      'color-jitter',
      'horizontal-flip',
    ]);
  });
});

describe('PR arithmetic', () => {
  it('cosines per block skip the ln_pre entry (hand-computed)', () => {
    // 1 image, K = 3 entries (ln_pre, block 0, block 1), W = 2
    const clean = { data: Float32Array.from([5, 5, 1, 0, 1, 1]), shape: [1, 3, 2] };
    const perturbed = { data: Float32Array.from([-5, 5, 0, 1, 2, 2]), shape: [1, 3, 2] };
    expect(Array.from(classTokenCosines(clean, perturbed).data)).toEqual([0, 1]);
  });

  it('column statistics over batches give the mean and population sd', () => {
    const s = columnStats([
      { data: Float32Array.from([1, 0.5]), shape: [1, 2] },
      { data: Float32Array.from([0, 0.5, 0.5, 0.5]), shape: [2, 2] },
    ]);
    expect(s.n).toBe(3);
    expect(s.mean[0]).toBeCloseTo(0.5, 9);
    expect(s.sd[0]).toBeCloseTo(Math.sqrt(1 / 6), 9);
    expect(s.sd[1]).toBeCloseTo(0, 9);
  });
});

describe('perturbation resistivity on a tiny CLIP', () => {
  let encoder: ClipEncoder;
  beforeAll(async () => {
    encoder = await createEncoder(await loadClipWeights(`${FIXTURE_DIR}model.safetensors`));
  });

  function batchOf(pixels: HostTensor): AsyncIterable<PrBatch> {
    return (async function* () {
      yield { pixels01: pixels, keys: Array.from({ length: pixels.shape[0]! }, (_, i) => `img${i}.png`) };
    })();
  }

  it('is exactly 1 for a flip of mirror-symmetric images and below 1 for asymmetric ones', async () => {
    const r = 32;
    const rng = new Rng(5);
    const symmetric = new Float32Array(2 * 3 * r * r);
    for (let row = 0; row < 2 * 3 * r; row++) {
      for (let x = 0; x < r / 2; x++) {
        const v = rng.uniform();
        symmetric[row * r + x] = v;
        symmetric[row * r + r - 1 - x] = v;
      }
    }
    const sym = await perturbationResistivity(encoder, batchOf({ data: symmetric, shape: [2, 3, r, r] }), [
      horizontalFlip,
    ]);
    expect(sym.layers).toBe(3);
    expect(sym.images).toBe(2);
    for (const v of sym.rows[0]!.pr) expect(v).toBeCloseTo(1, 5);
    const random = Float32Array.from({ length: 2 * 3 * r * r }, () => rng.uniform());
    const asym = await perturbationResistivity(encoder, batchOf({ data: random, shape: [2, 3, r, r] }), [
      horizontalFlip,
      gaussianNoise(0.001, 1),
      triggerPerturbation(
        badnetTrigger.create({
          params: { ...defaults(badnetTrigger.params), patchSize: 112 },
          seed: 1,
          resolution: r,
        }),
      ),
    ]);
    const [flip, noise, trigger] = asym.rows;
    expect(Math.min(...flip!.pr)).toBeLessThan(0.999);
    // tiny noise barely moves the class token; a half-image patch moves it more
    for (let d = 0; d < 3; d++) {
      expect(noise!.pr[d]).toBeGreaterThan(0.999);
      expect(trigger!.pr[d]).toBeLessThan(noise!.pr[d]!);
    }
    expect(trigger!.id).toBe('trigger:badnet');
  });

  it('with deep prompts from a prompt file: blocks before the depth are unchanged, later ones differ', async () => {
    const weights = encoder.weights;
    const width = weights.config.vision.width;
    const rng = new Rng(12);
    const dir = mkdtempSync(join(tmpdir(), 'vb-pr-'));
    const base = {
      modelFingerprint: weights.source.fingerprint,
      classNames: ['a', 'b'],
      templates: ['a photo of a {}.'],
      method: { id: 'rvpt', params: { alpha: 2 }, seed: 1 },
      metrics: {},
    };
    const path = join(dir, 'rvpt.prompts.safetensors');
    await savePromptFile(path, {
      ...base,
      kind: 'visual-deep',
      depth: 2,
      tensors: {
        prompts: { data: Float32Array.from({ length: 4 * width }, () => rng.normal()), shape: [1, 4, width] },
      },
    });
    const prompts = await loadDeepPrompts(path, weights);
    expect(prompts.depth).toBe(2);
    const r = 32;
    const pixels = {
      data: Float32Array.from({ length: 2 * 3 * r * r }, () => rng.uniform()),
      shape: [2, 3, r, r],
    };
    const plain = await perturbationResistivity(encoder, batchOf(pixels), [horizontalFlip]);
    const prompted = await perturbationResistivity(encoder, batchOf(pixels), [horizontalFlip], { prompts });
    expect(prompted.rows[0]!.pr[0]).toBeCloseTo(plain.rows[0]!.pr[0]!, 6);
    expect(prompted.rows[0]!.pr[1]).toBeCloseTo(plain.rows[0]!.pr[1]!, 6);
    expect(Math.abs(prompted.rows[0]!.pr[2]! - plain.rows[0]!.pr[2]!)).toBeGreaterThan(1e-4);
    // text-side prompt files do not change the image tower: refused with a reason
    const text = join(dir, 'coop.prompts.safetensors');
    await savePromptFile(text, {
      ...base,
      kind: 'text-context',
      tensors: {
        context: {
          data: new Float32Array(4 * weights.config.text.width),
          shape: [4, weights.config.text.width],
        },
      },
    });
    await expect(loadDeepPrompts(text, weights)).rejects.toThrow(/deep visual prompts/);
    await expect(loadDeepPrompts(text, weights)).rejects.toBeInstanceOf(VetbenchError);
  });
});
