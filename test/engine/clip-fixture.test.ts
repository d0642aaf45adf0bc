import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clipLogits, encodeImage, encodeText } from '../../engine/clip/clip-forward.js';
import { ENCODE_OUTPUTS } from '../../engine/clip/encode-program.js';
import { loadClipWeights } from '../../engine/clip/load-weights.js';
import { OnnxClip } from '../../engine/clip/onnx-clip.js';
import { TfjsClip, toHost, toTf } from '../../engine/clip/tfjs-clip.js';
import { encodeWithTfjs } from '../../engine/clip/tfjs-encode.js';
import type { ClipWeights } from '../../engine/clip/weights.js';
import { rvptLoss } from '../../engine/defenses/rvpt/rvpt-loss.js';
import { initTfBackend, type TfBackendChoice } from '../../engine/tensor/backend.js';
import { crossEntropy, oneHot } from '../../engine/tensor/ops.js';
import { fixtureArray, fixtureText, pickRows } from '../helpers/fixture.js';
import { expectClose, FIXTURE_DIR, sliceMiddle } from '../helpers/compare.js';

interface Expected {
  rvpt: {
    D: number;
    alpha: number;
    labels: number[];
    text_rows: number[];
    ce: number;
    fr: number;
    loss: number;
  };
  ctx: { M: number; labels: number[]; ce: number };
  logit_scale_exp: number;
}
const expected = JSON.parse(readFileSync(`${FIXTURE_DIR}expected.json`, 'utf8')) as Expected;
const FWD = 1e-4;
const GRAD = 1e-3;

const ref = fixtureArray;
const ids = fixtureText;
const rows = pickRows;

let weights: ClipWeights;
beforeAll(async () => {
  weights = await loadClipWeights(`${FIXTURE_DIR}model.safetensors`);
});

describe('ONNX executor (onnxruntime CPU) equals PyTorch', () => {
  let onnx: OnnxClip;
  beforeAll(() => {
    onnx = new OnnxClip(weights);
  });
  afterAll(async () => onnx.dispose());

  it('forward outputs, per-layer class tokens and last attention', async () => {
    const out = await onnx.encode({
      pixels: await ref('pixels'),
      text: await ids('input_ids'),
      outputs: ENCODE_OUTPUTS,
    });
    for (const name of ENCODE_OUTPUTS) expectClose(out[name]!, await ref(name), FWD, `onnx ${name}`);
  });

  it('RVPT prompted forward', async () => {
    const out = await onnx.encode({
      pixels: await ref('pixels'),
      prompts: { depth: expected.rvpt.D, tensors: await ref('rvpt_prompts') },
      outputs: ['image_embeds', 'vision_cls_per_layer'],
    });
    expectClose(out.image_embeds!, await ref('rvpt_image_embeds'), FWD, 'onnx rvpt_image_embeds');
    expectClose(
      sliceMiddle(out.vision_cls_per_layer!, 1),
      await ref('rvpt_prompted_cls_per_block'),
      FWD,
      'onnx prompted cls',
    );
  });

  it('class-wise text context forward', async () => {
    const out = await onnx.encode({
      text: await ids('ctx_input_ids'),
      context: await ref('ctx_vectors'),
      outputs: ['text_embeds'],
    });
    expectClose(out.text_embeds!, await ref('ctx_text_embeds'), FWD, 'onnx ctx_text_embeds');
  });
});

// Every TF.js backend that CI has: wasm and the pure-JS cpu backend (tfjs-node only where installed).
const backends: TfBackendChoice[] = ['wasm', 'cpu'];
describe.each(backends)('TF.js executor on %s equals PyTorch', (backend) => {
  let model: TfjsClip;
  beforeAll(async () => {
    await initTfBackend(backend);
    model = new TfjsClip(weights);
  });
  afterAll(() => model.dispose());

  it('forward outputs, per-layer class tokens and last attention', async () => {
    const out = await encodeWithTfjs(model, {
      pixels: await ref('pixels'),
      text: await ids('input_ids'),
      outputs: ENCODE_OUTPUTS,
    });
    for (const name of ENCODE_OUTPUTS) expectClose(out[name]!, await ref(name), FWD, `${backend} ${name}`);
  });

  it('gradient of sum_n logits[n, 0] w.r.t. pixels', async () => {
    const pixels = toTf(await ref('pixels'));
    const text = await ids('input_ids');
    const grad = tf.grad((x: tf.Tensor) => {
      const img = encodeImage(model.graph, x).embeds;
      const txt = encodeText(model.graph, text);
      const logits = clipLogits(model.ops, img, txt, weights.logitScale);
      return tf.sum(tf.slice(logits, [0, 0], [-1, 1]));
    });
    const g = grad(pixels);
    expectClose(await toHost(g), await ref('grad_pixels_logit0'), GRAD, `${backend} grad_pixels`);
    tf.dispose([g, pixels]);
  });

  it('RVPT prompted forward, loss and prompt gradient', async () => {
    const { D, alpha, labels, text_rows } = expected.rvpt;
    const pixels = toTf(await ref('pixels'));
    const classText = toTf(rows(await ref('text_embeds'), text_rows));
    const frozen = encodeImage(model.graph, pixels, { collectCls: true }).cls.slice(1 + D);
    const prompts = toTf(await ref('rvpt_prompts'));
    let parts: { ce: number; fr: number; loss: number } = { ce: NaN, fr: NaN, loss: NaN };
    const { value, grad } = tf.valueAndGrad((p: tf.Tensor) => {
      const vision = encodeImage(model.graph, pixels, {
        prompts: { depth: D, tensors: p },
        collectCls: true,
      });
      const { loss, ce, fr } = rvptLoss(model.ops, {
        imageEmbeds: vision.embeds,
        classText,
        targets: model.ops.constant(oneHot(labels, text_rows.length)),
        promptedCls: vision.cls.slice(1 + D),
        frozenCls: frozen,
        alpha,
        logitScale: weights.logitScale,
      });
      parts = { ce: ce.dataSync()[0]!, fr: fr.dataSync()[0]!, loss: NaN };
      return loss as tf.Scalar;
    })(prompts);
    parts.loss = (await value.data())[0]!;
    expect(Math.abs(parts.ce - expected.rvpt.ce) / expected.rvpt.ce).toBeLessThan(FWD);
    expect(Math.abs(parts.fr - expected.rvpt.fr) / expected.rvpt.fr).toBeLessThan(FWD);
    expect(Math.abs(parts.loss - expected.rvpt.loss) / expected.rvpt.loss).toBeLessThan(FWD);
    expectClose(await toHost(grad), await ref('rvpt_grad_prompts'), GRAD, `${backend} rvpt_grad_prompts`);

    const vision = encodeImage(model.graph, pixels, {
      prompts: { depth: D, tensors: prompts },
      collectCls: true,
    });
    expectClose(
      await toHost(vision.embeds),
      await ref('rvpt_image_embeds'),
      FWD,
      `${backend} rvpt_image_embeds`,
    );
    const stacked = tf.stack(vision.cls.slice(1), 1);
    expectClose(
      await toHost(stacked),
      await ref('rvpt_prompted_cls_per_block'),
      FWD,
      `${backend} prompted cls`,
    );
    expectClose(
      await toHost(
        tf.stack(frozen.length ? encodeImage(model.graph, pixels, { collectCls: true }).cls.slice(1) : [], 1),
      ),
      await ref('rvpt_frozen_cls_per_block'),
      FWD,
      `${backend} frozen cls`,
    );
  });

  it('class-wise text context forward and gradient', async () => {
    const text = await ids('ctx_input_ids');
    const image = toTf(await ref('image_embeds'));
    const ctx = toTf(await ref('ctx_vectors'));
    const embeds = encodeText(model.graph, text, { vectors: ctx });
    expectClose(await toHost(embeds), await ref('ctx_text_embeds'), FWD, `${backend} ctx_text_embeds`);
    const { value, grad } = tf.valueAndGrad((c: tf.Tensor) => {
      const logits = clipLogits(
        model.ops,
        image,
        encodeText(model.graph, text, { vectors: c }),
        weights.logitScale,
      );
      return crossEntropy(model.ops, logits, expected.ctx.labels) as tf.Scalar;
    })(ctx);
    const ce = (await value.data())[0]!;
    expect(Math.abs(ce - expected.ctx.ce) / expected.ctx.ce).toBeLessThan(FWD);
    expectClose(await toHost(grad), await ref('ctx_grad'), GRAD, `${backend} ctx_grad`);
  });
});
