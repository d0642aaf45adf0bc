import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEncoder, type ClipEncoder } from '../../engine/clip/clip-encoder.js';
import { encodeImage } from '../../engine/clip/clip-forward.js';
import { loadClipWeights } from '../../engine/clip/load-weights.js';
import { OnnxClip } from '../../engine/clip/onnx-clip.js';
import { TfjsClip, toTf } from '../../engine/clip/tfjs-clip.js';
import { ClipTokenizer } from '../../engine/clip/tokenizer.js';
import type { ClipWeights } from '../../engine/clip/weights.js';
import {
  buildZeroShotHead,
  classify,
  fillTemplate,
  zeroShotPromptSets,
} from '../../engine/clip/zero-shot.js';
import { readNpyFloat32 } from '../../engine/tensor/npy.js';
import { expectClose, FIXTURE_DIR } from '../helpers/compare.js';

let weights: ClipWeights;
let onnx: ClipEncoder;
let wasm: ClipEncoder;
beforeAll(async () => {
  weights = await loadClipWeights(`${FIXTURE_DIR}model.safetensors`);
  onnx = await createEncoder(weights, 'onnx');
  wasm = await createEncoder(weights, 'wasm');
});
afterAll(async () => {
  await onnx.dispose();
  await wasm.dispose();
});

function unitRow(t: { data: Float32Array; shape: readonly number[] }, row: number): Float32Array {
  const w = t.shape[1] as number;
  const r = t.data.slice(row * w, (row + 1) * w);
  const n = Math.hypot(...r);
  return r.map((v) => v / n);
}

describe('zero-shot head', () => {
  it('with one template equals the normalised PyTorch text embedding', async () => {
    const ref = await readNpyFloat32(`${FIXTURE_DIR}text_embeds.npy`);
    const head = await buildZeroShotHead(onnx, ['banana', 'accordion'], ['a photo of a {}.']);
    // expected.json texts: row 0 "a photo of a banana.", row 2 "a photo of an accordion." (different article)
    expectClose(
      { data: head.embeddings.data.slice(0, 32), shape: [32] },
      { data: unitRow(ref, 0), shape: [32] },
      1e-4,
      'banana',
    );
  });

  it('averages normalised template embeddings, the same on both executors', async () => {
    const templates = ['a photo of a {}.', 'a blurry photo of the {}.', 'art of a {}.'];
    const classes = ['goldfish', 'samoyed'];
    const [a, b] = await Promise.all([
      buildZeroShotHead(onnx, classes, templates),
      buildZeroShotHead(wasm, classes, templates),
    ]);
    expectClose(a.embeddings, b.embeddings, 1e-5, 'onnx vs wasm head');
    // By hand: mean of unit embeddings per class, normalised.
    const single = await Promise.all(templates.map((t) => buildZeroShotHead(onnx, ['samoyed'], [t])));
    const mean = new Float32Array(32);
    for (const h of single) h.embeddings.data.forEach((v, j) => (mean[j] = (mean[j] as number) + v));
    const norm = Math.hypot(...mean);
    expectClose(
      { data: a.embeddings.data.slice(32, 64), shape: [32] },
      { data: mean.map((v) => v / norm), shape: [32] },
      1e-5,
      'samoyed',
    );
  });

  it('classifies with the model logit scale and ships the 27 prompt sets', async () => {
    const sets = zeroShotPromptSets();
    expect(Object.keys(sets)).toHaveLength(27);
    expect(sets.ImageNet!.templates).toHaveLength(80);
    expect(fillTemplate('a photo of a {}.', 'car side')).toBe('a photo of a car side.');
    const head = await buildZeroShotHead(onnx, ['banana', 'samoyed'], ['a photo of a {}.']);
    const image = await readNpyFloat32(`${FIXTURE_DIR}image_embeds.npy`);
    const { logits, predictions } = classify(head, image, weights.logitScale);
    expect(logits.shape).toEqual([3, 2]);
    const ref = await readNpyFloat32(`${FIXTURE_DIR}logits_per_image.npy`); // column 0 is the banana text
    for (let i = 0; i < 3; i++) expect(logits.data[i * 2]).toBeCloseTo(ref.data[i * 4] as number, 3);
    expect([...predictions].every((p) => p === 0 || p === 1)).toBe(true);
  });
});

describe('ONNX sessions', () => {
  it('one session serves every text batch of the same shape (token ids are graph inputs)', async () => {
    const clip = new OnnxClip(weights);
    const tokenizer = ClipTokenizer.default();
    const encode = (texts: string[]) =>
      clip.encode({
        text: { ids: tokenizer.tokenizeBatch(texts, 77), rows: texts.length },
        outputs: ['text_embeds'],
      });
    const a = await encode(['a photo of a banana.', 'a photo of a goldfish.']);
    const b = await encode(['art of a samoyed.', 'a dog.']);
    expect(clip.sessionCount).toBe(1);
    expect(a.text_embeds!.data).not.toEqual(b.text_embeds!.data);
    await encode(['a single row.']);
    expect(clip.sessionCount).toBe(2);
    await clip.dispose();
  });
});

describe('memory', () => {
  it('repeated forward calls and gradient steps hold no extra tensors', async () => {
    const pixels = await readNpyFloat32(`${FIXTURE_DIR}pixels.npy`);
    await wasm.encode({ pixels, outputs: ['image_embeds'] });
    const before = tf.memory().numTensors;
    for (let i = 0; i < 30; i++)
      await wasm.encode({ pixels, outputs: ['image_embeds', 'vision_cls_per_layer'] });
    expect(tf.memory().numTensors).toBe(before);

    const model = new TfjsClip(weights);
    const x = toTf(pixels);
    const step = (): void => {
      const g = tf.grad((p: tf.Tensor) => tf.sum(encodeImage(model.graph, p).embeds))(x);
      g.dispose();
    };
    step();
    const afterFirst = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) step();
    expect(tf.memory().numTensors).toBe(afterFirst);
    x.dispose();
    model.dispose();
    // A model frees everything it held: weights and the transposed copies of frozen linear weights.
    const beforeModel = tf.memory().numTensors;
    const fresh = new TfjsClip(weights);
    expect(tf.memory().numTensors).toBeGreaterThan(beforeModel);
    fresh.dispose();
    expect(tf.memory().numTensors).toBe(beforeModel);
  });
});
