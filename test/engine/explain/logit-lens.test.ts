import { beforeAll, describe, expect, it } from 'vitest';
import { createEncoder } from '../../../engine/clip/clip-encoder.js';
import { loadClipWeights } from '../../../engine/clip/load-weights.js';
import type { ClipWeights } from '../../../engine/clip/weights.js';
import type { ExplainContext, ExplainModel } from '../../../engine/explain/explainer.js';
import { lensPredictions, logitLensExplainer } from '../../../engine/explain/logit-lens.js';
import { normalizePixels } from '../../../engine/image/preprocess.js';
import type { HostTensor } from '../../../engine/tensor/host-tensor.js';
import { Rng } from '../../../engine/util/rng.js';
import { FIXTURE_DIR } from '../../helpers/compare.js';

let weights: ClipWeights;
let model: ExplainModel;
let pixels01: HostTensor;
const CLASSES = 4;
const IMAGES = 6;

beforeAll(async () => {
  weights = await loadClipWeights(`${FIXTURE_DIR}model.safetensors`);
  const rng = new Rng(3);
  const e = weights.config.embedDim;
  const head = Float32Array.from({ length: CLASSES * e }, () => rng.normal());
  for (let c = 0; c < CLASSES; c++) {
    const row = head.subarray(c * e, (c + 1) * e);
    const norm = Math.hypot(...row);
    row.forEach((v, j) => (row[j] = v / norm));
  }
  model = {
    label: 'fixture',
    weights,
    head: {
      classNames: ['a', 'b', 'c', 'd'],
      templates: ['{}'],
      embeddings: { data: head, shape: [CLASSES, e] },
    },
    prompts: null,
  };
  const r = weights.config.vision.imageResolution;
  pixels01 = {
    data: Float32Array.from({ length: IMAGES * 3 * r * r }, () => rng.uniform()),
    shape: [IMAGES, 3, r, r],
  };
});

/** The model's own zero-shot prediction: arg max of cos(image embedding, head row). */
async function modelPredictions(images: HostTensor): Promise<number[]> {
  const encoder = await createEncoder(weights);
  try {
    const plane = (images.shape[2] as number) * (images.shape[3] as number);
    const out = await encoder.encode({
      pixels: { data: normalizePixels(images.data, undefined, plane), shape: images.shape },
      outputs: ['image_embeds'],
    });
    const embeds = out.image_embeds!;
    const e = weights.config.embedDim;
    return Array.from({ length: IMAGES }, (_, i) => {
      const scores = Array.from({ length: CLASSES }, (_, c) => {
        let s = 0;
        for (let j = 0; j < e; j++)
          s += (embeds.data[i * e + j] as number) * (model.head.embeddings.data[c * e + j] as number);
        return s;
      });
      return scores.indexOf(Math.max(...scores));
    });
  } finally {
    await encoder.dispose();
  }
}

describe('logit lens', () => {
  it("the read-out after the last block is the model's own prediction", async () => {
    const encoder = await createEncoder(weights);
    const plane = (pixels01.shape[2] as number) * (pixels01.shape[3] as number);
    const cls = (
      await encoder.encode({
        pixels: { data: normalizePixels(pixels01.data, undefined, plane), shape: pixels01.shape },
        outputs: ['vision_cls_per_layer'],
      })
    ).vision_cls_per_layer!;
    await encoder.dispose();
    const perBlock = lensPredictions(weights, cls, model.head.embeddings);
    expect(perBlock).toHaveLength(weights.config.vision.layers + 1);
    expect(perBlock.at(-1)).toEqual(await modelPredictions(pixels01));
  });

  it('reports CA and ASR per block with denominators, and the last block matches the predictions', async () => {
    const labels = [0, 1, 2, 3, 0, 1];
    const target = 2;
    const triggered: HostTensor = {
      data: pixels01.data.map((v) => Math.min(1, v * 0.5 + 0.4)),
      shape: pixels01.shape,
    };
    const context: ExplainContext = {
      model,
      others: [],
      classNames: model.head.classNames,
      images: { clean: pixels01, triggered, keys: labels.map((_, i) => `img${i}`), labels },
      trigger: null,
      target,
      seed: 1,
    };
    const result = await logitLensExplainer.run(context, {});
    const curves = JSON.parse(
      new TextDecoder().decode(result.artifacts.find((a) => a.name === 'logit-lens.json')!.bytes),
    ) as {
      ca: number[];
      asr: number[];
      nClean: number;
      nTriggered: number;
    }[];
    const [curve] = curves;
    expect(curve!.nClean).toBe(IMAGES);
    expect(curve!.nTriggered).toBe(5);
    const clean = await modelPredictions(pixels01);
    expect(curve!.ca.at(-1)).toBeCloseTo(clean.filter((p, i) => p === labels[i]).length / IMAGES, 10);
    const trig = await modelPredictions(triggered);
    expect(curve!.asr.at(-1)).toBeCloseTo(
      trig.filter((p, i) => labels[i] !== target && p === target).length / 5,
      10,
    );
    expect(new TextDecoder().decode(result.artifacts[0]!.bytes)).toContain('<svg');
  });
});
