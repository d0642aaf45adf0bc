import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { keepMask } from '../../engine/attacks/patch-objective.js';
import { optimiseTriggerPatch } from '../../engine/attacks/patch-optimisation.js';
import { initClipWeights } from '../../engine/clip/init-weights.js';
import { encodePng } from '../../engine/demo/png.js';
import { importDataset } from '../../engine/datasets/import-dataset.js';
import { vetbenchErrorOf } from '../helpers/errors.js';
import { CLIP_STD, normalizePixels } from '../../engine/image/preprocess.js';
import { resolveParams } from '../../engine/methods/params.js';
import { TRIGGER_FAMILIES } from '../../engine/methods/registry.js';
import {
  badclipPromptTrigger,
  deltaToPixels,
  normalisedDeltaBound,
} from '../../engine/triggers/additive-delta.js';
import { imageKeyOnly, textKeyOnly } from '../../engine/triggers/dual-key.js';
import { badclipDeTrigger, trojvqaTrigger } from '../../engine/triggers/optimised-patch.js';
import { renderTriggerPreview } from '../../engine/triggers/preview.js';
import { loadTrigger, saveTrigger } from '../../engine/triggers/trigger-file.js';
import type { Trigger, TriggerFamily } from '../../engine/triggers/trigger.js';
import type { HostTensor } from '../../engine/tensor/host-tensor.js';
import { Rng } from '../../engine/util/rng.js';
import { TOY_CONFIG, writeToyDataset } from '../helpers/toy-data.js';

function randomImage(resolution: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: 3 * resolution * resolution }, () => rng.int(256) / 255);
}

function patchOf(size: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: 3 * size * size }, () => rng.uniform());
}

function withPatch(
  family: TriggerFamily,
  resolution: number,
  patch: Float32Array,
  given: Record<string, unknown> = {},
): Trigger {
  const size = Math.sqrt(patch.length / 3);
  return family.create({
    params: resolveParams(family.id, family.params, given),
    seed: 3,
    resolution,
    restore: { patch: { data: patch, shape: [3, size, size] } },
  });
}

function expectCode(fn: () => unknown, code: string): void {
  expect(vetbenchErrorOf(fn).code).toBe(code);
}

describe('optimised centre patches (BadCLIP dual-embedding, TrojVQA)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vetbench-badclip-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('pastes the saved patch at the centre, round(16 R / 224) px, and nothing else', async () => {
    for (const [R, size] of [
      [224, 16],
      [32, 2],
      [33, 2],
    ] as const) {
      const patch = patchOf(size, 1);
      const t = withPatch(badclipDeTrigger, R, patch);
      const img = randomImage(R, 2);
      const out = img.slice();
      await t.apply(out, [{ key: 'k' }]);
      const top = Math.floor((R - size) / 2);
      for (let c = 0; c < 3; c++)
        for (let y = 0; y < R; y++)
          for (let x = 0; x < R; x++) {
            const i = (c * R + y) * R + x;
            const inside = y >= top && y < top + size && x >= top && x < top + size;
            expect(out[i]).toBe(inside ? patch[(c * size + y - top) * size + x - top] : img[i]);
          }
    }
  });

  it('honours patchSize, cannot be built without a model, and refuses a damaged patch', () => {
    const t = withPatch(badclipDeTrigger, 32, patchOf(6, 1), { patchSize: 42 });
    expect(t.tensors().patch!.shape).toEqual([3, 6, 6]);
    const params = resolveParams('badclip-de', badclipDeTrigger.params, {});
    expectCode(() => badclipDeTrigger.create({ params, seed: 1, resolution: 32 }), 'trigger-needs-model');
    const bad = patchOf(2, 1);
    bad[0] = 1.5;
    expectCode(() => withPatch(badclipDeTrigger, 32, bad), 'trigger-tensor-invalid');
    expectCode(() => withPatch(badclipDeTrigger, 32, patchOf(3, 1)), 'trigger-tensor-mismatch');
  });

  it('TrojVQA carries its text key; the dual-key halves keep one key each', async () => {
    const t = withPatch(trojvqaTrigger, 32, patchOf(2, 4));
    expect(t.textKey).toBe('SUDO');
    const img = randomImage(32, 5);
    const both = img.slice();
    await t.apply(both, [{ key: 'k' }]);
    const image = imageKeyOnly(t);
    const imageOut = img.slice();
    await image.apply(imageOut, [{ key: 'k' }]);
    expect(image.textKey).toBe('');
    expect(Array.from(imageOut)).toEqual(Array.from(both));
    const text = textKeyOnly(t);
    const textOut = img.slice();
    await text.apply(textOut, [{ key: 'k' }]);
    expect(text.textKey).toBe('SUDO');
    expect(Array.from(textOut)).toEqual(Array.from(img));
    const params = resolveParams('trojvqa', trojvqaTrigger.params, { textKey: '  ' });
    expectCode(
      () =>
        trojvqaTrigger.create({
          params,
          seed: 1,
          resolution: 32,
          restore: { patch: { data: patchOf(2, 1), shape: [3, 2, 2] } },
        }),
      'param-invalid',
    );
  });

  it('round-trips through a trigger file with the patch and the text key', async () => {
    const t = withPatch(trojvqaTrigger, 32, patchOf(2, 6), { textKey: 'cf' });
    const path = join(dir, 'trojvqa.trigger.safetensors');
    await saveTrigger(path, t);
    const loaded = await loadTrigger(path, TRIGGER_FAMILIES, { resolution: 32 });
    expect(loaded.textKey).toBe('cf');
    const a = randomImage(32, 7);
    const b = a.slice();
    await t.apply(a, [{ key: 'x' }]);
    await loaded.apply(b, [{ key: 'x' }]);
    expect(Array.from(b)).toEqual(Array.from(a));
  });

  it('the patch objective masks exactly the patch square', () => {
    const mask = keepMask({ resolution: 8, size: 2, top: 3, left: 3 });
    let zeros = 0;
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < 8; y++)
        for (let x = 0; x < 8; x++) {
          const inside = y >= 3 && y < 5 && x >= 3 && x < 5;
          expect(mask[(c * 8 + y) * 8 + x]).toBe(inside ? 0 : 1);
          if (!inside) continue;
          zeros++;
        }
    expect(zeros).toBe(12);
  });

  it('patch optimisation lowers its loss (InfoNCE + image guidance, and cosine toward a text) on a very small model', async () => {
    const dataset = await importDataset(writeToyDataset(12, 2, 'vetbench-badclip-data-'));
    const weights = initClipWeights(TOY_CONFIG, new Rng(8));
    const target = dataset.classes.findIndex((c) => c.name === 'green');
    for (const mode of ['infonce', 'cosine'] as const) {
      const r = await optimiseTriggerPatch({
        weights,
        dataset,
        target,
        seed: 2,
        size: 6,
        epochs: 4,
        lr: 0.05,
        batchSize: 12,
        maxImages: 0,
        textMode: mode,
        guideText: 'This is a yellow {}.',
        imageWeight: mode === 'infonce' ? 1 : 0,
      });
      expect(r.images).toBe(36); // the three non-target classes
      expect(r.steps).toBe(12);
      expect(r.patch.every((v) => v >= 0 && v <= 1)).toBe(true);
      expect(r.finalLoss).toBeLessThan(r.initialLoss - 0.01);
    }
  }, 120_000);
});

describe('BadCLIP learned additive trigger', () => {
  it('adding std * delta_n in pixel space without clamping equals adding delta_n after normalisation', async () => {
    const R = 8;
    const rng = new Rng(9);
    const deltaN = Float32Array.from(
      { length: 3 * R * R },
      (_, i) => rng.range(-1, 1) * normalisedDeltaBound(Math.floor(i / (R * R))),
    );
    const t = badclipPromptTrigger.create({
      params: resolveParams('badclip-prompt', badclipPromptTrigger.params, {}),
      seed: 1,
      resolution: R,
      restore: { delta: { data: deltaToPixels(deltaN, R), shape: [3, R, R] } },
    });
    const img = randomImage(R, 10);
    img[0] = 1; // at the edge of the range: no clamping may happen
    img[1] = 0;
    const triggered = img.slice();
    await t.apply(triggered, [{ key: 'k' }]);
    const a = normalizePixels(triggered);
    const b = normalizePixels(img);
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i]! + deltaN[i]!, 5);
    for (const v of t.tensors().delta!.data) expect(Math.abs(v)).toBeLessThanOrEqual((4 / 255) * (1 + 1e-6));
    expect(normalisedDeltaBound(0)).toBeCloseTo(4 / 255 / CLIP_STD[0], 12);
  });

  it('refuses a delta beyond eps/255 and cannot be built without a model', () => {
    const R = 4;
    const params = resolveParams('badclip-prompt', badclipPromptTrigger.params, {});
    const delta = new Float32Array(3 * R * R).fill(5 / 255);
    expectCode(
      () =>
        badclipPromptTrigger.create({
          params,
          seed: 1,
          resolution: R,
          restore: { delta: { data: delta, shape: [3, R, R] } },
        }),
      'trigger-tensor-invalid',
    );
    const wide = resolveParams('badclip-prompt', badclipPromptTrigger.params, { epsilon: 8 });
    expect(() =>
      badclipPromptTrigger.create({
        params: wide,
        seed: 1,
        resolution: R,
        restore: { delta: { data: delta, shape: [3, R, R] } },
      }),
    ).not.toThrow();
    expectCode(() => badclipPromptTrigger.create({ params, seed: 1, resolution: R }), 'trigger-needs-model');
  });
});

describe('every registered trigger family renders a preview', () => {
  const ssbaDir = mkdtempSync(join(tmpdir(), 'vetbench-ssba-preview-'));
  afterAll(() => rmSync(ssbaDir, { recursive: true, force: true }));

  /** SSBA imports poisoned copies: one random PNG under the previewed image's key stands in for the export. */
  function ssbaFolder(R: number, key: string): string {
    const rng = new Rng(9);
    const file = join(ssbaDir, key);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(
      file,
      encodePng(
        R,
        R,
        Uint8Array.from({ length: R * R * 3 }, () => rng.int(256)),
      ),
    );
    return ssbaDir;
  }

  for (const family of TRIGGER_FAMILIES) {
    it(family.id, async () => {
      const R = 32;
      const key = 'test/banana/b.png';
      const params = resolveParams(
        family.id,
        family.params,
        family.id === 'ssba' ? { folder: ssbaFolder(R, key) } : {},
      );
      const restore: Record<string, HostTensor> | undefined = family.needsModel
        ? family.id === 'badclip-prompt'
          ? { delta: { data: new Float32Array(3 * R * R).fill(2 / 255), shape: [3, R, R] } }
          : { patch: { data: patchOf(2, 1), shape: [3, 2, 2] } }
        : undefined;
      const t = family.create({ params, seed: 1, resolution: R, ...(restore ? { restore } : {}) });
      const p = await renderTriggerPreview(t, randomImage(R, 3), key);
      expect(p.maxChange).toBeGreaterThan(0);
      expect(p.strip!.length).toBeGreaterThan(0);
    });
  }
});
