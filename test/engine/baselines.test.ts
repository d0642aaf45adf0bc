import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeSafetensors } from '../../engine/clip/safetensors.js';
import { cleanClipLoss, linearProbeLoss } from '../../engine/defenses/baselines/baseline-losses.js';
import { augmentCaption } from '../../engine/defenses/baselines/caption-augment.js';
import {
  applyOp,
  autoAugmentInPlace,
  cropFlipInPlace,
  PHOTOMETRIC_OPS,
} from '../../engine/defenses/baselines/image-augment.js';
import {
  loadLinearHead,
  requireSameClasses,
  saveLinearHead,
} from '../../engine/defenses/baselines/linear-head-file.js';
import { applyLinearHead, normalizeRows } from '../../engine/eval/linear-head-classifier.js';
import { VetbenchError } from '../../engine/errors.js';
import type { HostTensor } from '../../engine/tensor/host-tensor.js';
import { createTrainer, type TrainingExecutorKind } from '../../engine/train/create-trainer.js';
import type { Objective } from '../../engine/train/objective.js';
import { Rng } from '../../engine/util/rng.js';

const t = (rows: number[][]): HostTensor => ({
  data: Float32Array.from(rows.flat()),
  shape: [rows.length, rows[0]!.length],
});
const EXECUTORS: TrainingExecutorKind[] = ['onnx', 'tfjs'];

describe('linear-probe loss', () => {
  // x1 = [1,0] (class 0), x2 = [0,1] (class 2); W rows [1,0], [0,1], [0,0]; bias [0,0,1].
  // logits x1 = [1,0,1] -> CE = log(2e+1) - 1; logits x2 = [0,1,1] -> CE = log(1+2e) - 1.
  const features = t([
    [1, 0],
    [0, 1],
  ]);
  const targets = t([
    [1, 0, 0],
    [0, 0, 1],
  ]);
  const weight = t([
    [1, 0],
    [0, 1],
    [0, 0],
  ]);
  const bias: HostTensor = { data: Float32Array.from([0, 0, 1]), shape: [3] };
  const objective: Objective = {
    name: 'probe-test',
    build: ({ ops, vars, batch }) => ({
      loss: linearProbeLoss(ops, batch.features!, vars.weight!, vars.bias!, batch.targets!),
    }),
  };

  for (const kind of EXECUTORS) {
    it(`matches hand-computed CE and gradients (${kind})`, async () => {
      const trainer = await createTrainer(objective, null, kind);
      const r = await trainer.step({ weight, bias }, { features, targets });
      await trainer.dispose();
      const ce = Math.log(2 * Math.E + 1) - 1;
      expect(r.loss).toBeCloseTo(ce, 5);
      // dL/dlogits = (softmax - y)/N; softmax([1,0,1]) = [e, 1, e]/(2e+1).
      const z = 2 * Math.E + 1;
      const p1 = [Math.E / z - 1, 1 / z, Math.E / z];
      const p2 = [1 / z, Math.E / z, Math.E / z - 1];
      const gradBias = p1.map((v, k) => (v + p2[k]!) / 2);
      const gradWeight = [0, 1, 2].flatMap((k) => [p1[k]! / 2, p2[k]! / 2]);
      [...r.grads.bias!.data].forEach((g, k) => expect(g).toBeCloseTo(gradBias[k]!, 5));
      [...r.grads.weight!.data].forEach((g, k) => expect(g).toBeCloseTo(gradWeight[k]!, 5));
    });
  }

  it('the classifier applies the head to normalised embeddings', () => {
    const logits = applyLinearHead(normalizeRows(t([[3, 4]])), weight, bias);
    expect([...logits.data].map((v) => Number(v.toFixed(6)))).toEqual([0.6, 0.8, 1]);
  });
});

describe('CleanCLIP loss', () => {
  // s = 2. Images I = [1,0],[0,1]; augmented views [1,0],[1,0]: s I I~^T = [[2,2],[0,0]] -> CE log 2 per row.
  // Texts T = [3,4],[0,2] -> [.6,.8],[0,1]; augmented [0,5],[1,0] -> [0,1],[1,0]:
  // s T T~^T = [[1.6,1.2],[2,0]] -> row CEs log(e^1.6+e^1.2) - 1.6 and log(e^2+1).
  // Cross: s I T^T = [[1.2,0],[1.6,2]]: image->text CEs log(e^1.2+1) - 1.2, log(e^1.6+e^2) - 2;
  // text->image (transpose [[1.2,1.6],[0,2]]): log(e^1.2+e^1.6) - 1.2, log(1+e^2) - 2.
  const inImage = Math.log(2);
  const inText = (Math.log(Math.exp(1.6) + Math.exp(1.2)) - 1.6 + Math.log(Math.exp(2) + 1)) / 2;
  const i2t = (Math.log(Math.exp(1.2) + 1) - 1.2 + Math.log(Math.exp(1.6) + Math.exp(2)) - 2) / 2;
  const t2i = (Math.log(Math.exp(1.2) + Math.exp(1.6)) - 1.2 + Math.log(1 + Math.exp(2)) - 2) / 2;
  const cross = (i2t + t2i) / 2;
  const inModal = (inImage + inText) / 2;
  const batch = {
    images: t([
      [1, 0],
      [0, 1],
    ]),
    augmentedImages: t([
      [1, 0],
      [1, 0],
    ]),
    texts: t([
      [3, 4],
      [0, 2],
    ]),
    augmentedTexts: t([
      [0, 5],
      [1, 0],
    ]),
    logScale: { data: Float32Array.from([Math.log(2)]), shape: [1] },
  };
  const objective = (crossWeight: number, inModalWeight: number): Objective => ({
    name: 'cleanclip-test',
    build: ({ ops, batch: b }) => {
      const out = cleanClipLoss(ops, {
        images: b.images!,
        texts: b.texts!,
        augmentedImages: b.augmentedImages!,
        augmentedTexts: b.augmentedTexts!,
        scale: ops.exp(b.logScale!),
        crossWeight,
        inModalWeight,
      });
      return { loss: out.loss, metrics: { cross: out.cross, inModal: out.inModal } };
    },
  });

  for (const kind of EXECUTORS) {
    it(`cross-modal and in-modal terms match hand-computed values (${kind})`, async () => {
      const trainer = await createTrainer(objective(1, 0.5), null, kind);
      const r = await trainer.evaluate({}, batch);
      await trainer.dispose();
      expect(r.metrics.inModal!.data[0]).toBeCloseTo(inModal, 5);
      expect(r.metrics.cross!.data[0]).toBeCloseTo(cross, 5);
      expect(r.loss).toBeCloseTo(cross + 0.5 * inModal, 5);
    });
  }
});

describe('caption augmentation', () => {
  const caption = 'a photo of a yellow banana on a gray background.';
  it('is deterministic given the seed and only swaps or drops words', () => {
    const outputs = new Set<string>();
    for (let seed = 0; seed < 40; seed++) {
      const a = augmentCaption(caption, new Rng(seed));
      expect(augmentCaption(caption, new Rng(seed))).toBe(a);
      expect(a).not.toBe(caption);
      const words = caption.split(' ');
      const out = a.split(' ');
      const isPermutation = [...out].sort().join(' ') === [...words].sort().join(' ');
      const isSubsequence = out.length < words.length && out.every((w) => words.includes(w));
      expect(isPermutation || isSubsequence, a).toBe(true);
      outputs.add(a);
    }
    expect(outputs.size).toBeGreaterThan(10);
  });

  it('leaves a one-word caption as it is', () => {
    expect(augmentCaption('banana', new Rng(1))).toBe('banana');
  });
});

describe('image augmentation', () => {
  const r = 8;
  const base = (): Float32Array =>
    Float32Array.from({ length: 2 * 3 * r * r }, (_, i) => ((i * 37) % 101) / 100);

  it('is deterministic given the seed, stays in [0, 1] and changes the image', () => {
    const a = base();
    const b = base();
    autoAugmentInPlace(a, 2, r, new Rng(5), 0.5);
    autoAugmentInPlace(b, 2, r, new Rng(5), 0.5);
    expect(a).toEqual(b);
    expect(a).not.toEqual(base());
    for (const v of a) expect(v >= 0 && v <= 1).toBe(true);
  });

  it('a full-image crop with a flip mirrors the columns', () => {
    // Seeds where the crop covers the whole image: find one with a flip and check the exact mirror.
    const img = base().subarray(0, 3 * r * r);
    for (let seed = 0; seed < 200; seed++) {
      const copy = Float32Array.from(img);
      cropFlipInPlace(copy, 1, r, new Rng(seed), 1);
      if (copy.every((v, i) => Math.abs(v - (img[i] as number)) < 1e-6)) continue;
      const mirrored = copy.every((v, i) => {
        const x = i % r;
        return Math.abs(v - (img[i - x + (r - 1 - x)] as number)) < 1e-6;
      });
      expect(mirrored).toBe(true);
      return;
    }
    throw new Error('no seed flipped the image');
  });

  it('every operation keeps values in [0, 1]', () => {
    for (const op of PHOTOMETRIC_OPS) {
      const img = base().subarray(0, 3 * r * r);
      applyOp(img, r, op, new Rng(3));
      for (const v of img) expect(v >= 0 && v <= 1, op).toBe(true);
    }
  });
});

describe('linear-head file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vetbench-head-'));
  const fingerprint = 'a'.repeat(64);
  const head = {
    weight: t([
      [0.5, -1, 2],
      [1.5, 0, -0.25],
    ]),
    bias: { data: Float32Array.from([0.1, -0.2]), shape: [2] },
    modelFingerprint: fingerprint,
    classNames: ['apple', 'banana'],
    method: { id: 'linear-probe', params: { epochs: 40, lr: 0.01 }, seed: 3 },
    metrics: { ca: 91.5 },
  };

  it('round-trips tensors and header', async () => {
    const path = join(dir, 'head.safetensors');
    const saved = await saveLinearHead(path, head);
    const loaded = await loadLinearHead(path, { modelFingerprint: fingerprint, embedDim: 3 });
    expect(loaded.header).toEqual(saved);
    expect(loaded.header.classNames).toEqual(['apple', 'banana']);
    expect(loaded.header.method).toEqual(head.method);
    expect(loaded.weight).toEqual(head.weight);
    expect(loaded.bias).toEqual(head.bias);
    expect(() => requireSameClasses(loaded, ['apple', 'banana'])).not.toThrow();
    expect(() => requireSameClasses(loaded, ['banana', 'apple'])).toThrow(/classifies 2 classes/);
  });

  it('refuses another model unless forced, and a wrong embedding width', async () => {
    const path = join(dir, 'head2.safetensors');
    await saveLinearHead(path, head);
    await expect(loadLinearHead(path, { modelFingerprint: 'b'.repeat(64) })).rejects.toMatchObject({
      code: 'linear-head-model-mismatch',
    });
    const warnings: string[] = [];
    await loadLinearHead(path, {
      modelFingerprint: 'b'.repeat(64),
      force: true,
      warn: (m) => warnings.push(m),
    });
    expect(warnings[0]).toMatch(/applied anyway/);
    await expect(loadLinearHead(path, { embedDim: 4 })).rejects.toMatchObject({ code: 'linear-head-shape' });
  });

  it('refuses tampered tensors, other files and inconsistent heads', async () => {
    const path = join(dir, 'head3.safetensors');
    await saveLinearHead(path, head);
    const bytes = readFileSync(path);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0x40; // last byte of the bias data
    writeFileSync(path, bytes);
    await expect(loadLinearHead(path)).rejects.toMatchObject({ code: 'linear-head-tampered' });

    const plain = join(dir, 'plain.safetensors');
    await writeSafetensors(plain, [{ name: 'weight', shape: [2, 3], data: head.weight.data }]);
    await expect(loadLinearHead(plain)).rejects.toMatchObject({ code: 'linear-head-invalid' });

    const garbage = join(dir, 'garbage.safetensors');
    writeFileSync(garbage, 'not a safetensors file');
    await expect(loadLinearHead(garbage)).rejects.toBeInstanceOf(VetbenchError);

    await expect(
      saveLinearHead(join(dir, 'bad.safetensors'), { ...head, classNames: ['only-one'] }),
    ).rejects.toMatchObject({ code: 'linear-head-invalid' });
    const nan = { ...head, bias: { data: Float32Array.from([NaN, 0]), shape: [2] } };
    await expect(saveLinearHead(join(dir, 'nan.safetensors'), nan)).rejects.toMatchObject({
      code: 'linear-head-invalid',
    });
  });
});
