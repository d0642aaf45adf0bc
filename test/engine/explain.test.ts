import { beforeAll, describe, expect, it } from 'vitest';
import { loadClipWeights } from '../../engine/clip/load-weights.js';
import type { ClipWeights } from '../../engine/clip/weights.js';
import { VetbenchError } from '../../engine/errors.js';
import { classTokenAttention } from '../../engine/explain/attention-map.js';
import { collectAttention } from '../../engine/explain/collect-attention.js';
import { nearestLabels } from '../../engine/explain/embedding-map.js';
import type { ExplainModel } from '../../engine/explain/explainer.js';
import { computeGradCam, gradCamFromTokens } from '../../engine/explain/gradcam.js';
import { heatColor, upsampleBilinear } from '../../engine/explain/overlay.js';
import { badnetPatchMasks, changedPixels, massInside } from '../../engine/explain/patch-mass.js';
import { embeddingMapExplainer } from '../../engine/explain/embedding-map.js';
import { prExplainer } from '../../engine/explain/pr-curves.js';
import { badnetTrigger } from '../../engine/triggers/badnet.js';
import { EXPLAINERS, findExplainer } from '../../engine/explain/registry.js';
import { attentionRollout } from '../../engine/explain/rollout.js';
import { normalizedCopy } from '../../engine/explain/vit-inputs.js';
import { oneHot } from '../../engine/tensor/ops.js';
import { gradCamObjective } from '../../engine/explain/vit-probes.js';
import { defaults } from '../../engine/methods/params.js';
import { initTfBackend } from '../../engine/tensor/backend.js';
import type { HostTensor } from '../../engine/tensor/host-tensor.js';
import { OnnxTrainer } from '../../engine/train/onnx-trainer.js';
import { Rng } from '../../engine/util/rng.js';
import { FIXTURE_DIR, relativeError } from '../helpers/compare.js';

let weights: ClipWeights;
let model: ExplainModel;
let pixels01: HostTensor;
const CLASSES = 5;

function randomTensor(shape: number[], rng: Rng, draw: () => number = () => rng.uniform()): HostTensor {
  return { data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, draw), shape };
}

beforeAll(async () => {
  weights = await loadClipWeights(`${FIXTURE_DIR}model.safetensors`);
  const rng = new Rng(7);
  const e = weights.config.embedDim;
  // a random unit-row class head stands in for text embeddings: Grad-CAM only needs some class directions
  const head = randomTensor([CLASSES, e], rng, () => rng.normal());
  for (let c = 0; c < CLASSES; c++) {
    const row = head.data.subarray(c * e, (c + 1) * e);
    const norm = Math.hypot(...row);
    row.forEach((v, j) => (row[j] = v / norm));
  }
  model = {
    label: 'fixture',
    weights,
    head: { classNames: ['a', 'b', 'c', 'd', 'e'], templates: ['{}'], embeddings: head },
    prompts: null,
  };
  const r = weights.config.vision.imageResolution;
  pixels01 = randomTensor([3, 3, r, r], rng);
});

describe('Grad-CAM', () => {
  it('weights channels by the mean patch gradient and applies ReLU (hand-computed)', () => {
    // 1 image, grid 1x... use grid 2 => 4 patches + class token, width 2
    const activation = {
      data: Float32Array.from([9, 9, 1, 0, 0, 1, 1, 1, -1, 2]),
      shape: [1, 5, 2],
    };
    const gradient = {
      data: Float32Array.from([5, 5, 1, 2, 3, 2, 1, 2, 3, 2]),
      shape: [1, 5, 2],
    };
    // w = mean over patches 1..4 of the gradient = [(1+3+1+3)/4, (2+2+2+2)/4] = [2, 2]
    // maps: [1*2+0*2, 0*2+1*2, 1*2+1*2, -1*2+2*2] = [2, 2, 4, 2]; the class token (9, 9) is ignored
    const out = gradCamFromTokens(activation, gradient, 2);
    expect(Array.from(out.data)).toEqual([2, 2, 4, 2]);
    const negative = gradCamFromTokens(
      activation,
      { data: gradient.data.map((v) => -v), shape: [1, 5, 2] },
      2,
    );
    expect(Array.from(negative.data)).toEqual([0, 0, 0, 0]);
  });

  it('the probe gradient equals central finite differences of the class logit', async () => {
    const block = 1;
    const trainer = new OnnxTrainer(
      gradCamObjective({ block, logitScale: weights.logitScale, promptDepth: null }),
      weights,
    );
    const tokens = 17;
    const width = weights.config.vision.width;
    const zero = new Float32Array(3 * tokens * width);
    const batch = {
      pixels: normalizedCopy(pixels01),
      classText: model.head.embeddings,
      select: oneHot([0, 3, 1], CLASSES),
    };
    const step = await trainer.step({ probe: { data: zero, shape: [3, tokens, width] } }, batch);
    const grad = step.grads.probe!;
    const eps = 1e-2;
    const rng = new Rng(3);
    const analytic: number[] = [];
    const numeric: number[] = [];
    for (let k = 0; k < 6; k++) {
      // patch tokens only (the class token's gradient is not used by Grad-CAM)
      const image = k % 3;
      const index = (image * tokens + 1 + rng.int(16)) * width + rng.int(width);
      const at = async (v: number): Promise<number> => {
        const probe = new Float32Array(zero.length);
        probe[index] = v;
        return (await trainer.evaluate({ probe: { data: probe, shape: [3, tokens, width] } }, batch)).loss;
      };
      numeric.push(((await at(eps)) - (await at(-eps))) / (2 * eps));
      analytic.push(grad.data[index]!);
    }
    await trainer.dispose();
    expect(Math.max(...analytic.map(Math.abs))).toBeGreaterThan(1e-4);
    expect(relativeError(analytic, numeric)).toBeLessThan(2e-2);
  });

  it('gives the same maps on onnxruntime and TF.js, and an empty map at the last block', async () => {
    await initTfBackend('wasm');
    const classes = [0, 2, 4];
    const onnx = await computeGradCam(model, pixels01, classes, { block: -2 });
    const tfjs = await computeGradCam(model, pixels01, classes, { block: -2, executor: 'tfjs' });
    expect(onnx.maps.shape).toEqual([3, 4, 4]);
    expect(onnx.block).toBe(weights.config.vision.layers - 2);
    expect(onnx.maps.data.some((v) => v > 0)).toBe(true);
    expect(relativeError(onnx.maps.data, tfjs.maps.data)).toBeLessThan(1e-3);
    // the last block's patch outputs never reach the class token: zero gradient, zero map
    const last = await computeGradCam(model, pixels01, classes, { block: -1 });
    expect(last.maps.data.every((v) => v === 0)).toBe(true);
    await expect(computeGradCam(model, pixels01, classes, { block: 9 })).rejects.toBeInstanceOf(
      VetbenchError,
    );
  });
});

describe('Grad-CAM with deep visual prompts', () => {
  it('handles prompt tokens in the sequence and is equal on both executors', async () => {
    await initTfBackend('wasm');
    const rng = new Rng(11);
    const width = weights.config.vision.width;
    const prompted: ExplainModel = {
      ...model,
      prompts: { depth: 1, tensors: randomTensor([2, 3, width], rng, () => 0.02 * rng.normal()) },
    };
    const classes = [1, 1, 3];
    const onnx = await computeGradCam(prompted, pixels01, classes, { block: 1 });
    const tfjs = await computeGradCam(prompted, pixels01, classes, { block: 1, executor: 'tfjs' });
    const plain = await computeGradCam(model, pixels01, classes, { block: 1 });
    expect(relativeError(onnx.maps.data, tfjs.maps.data)).toBeLessThan(1e-3);
    expect(relativeError(onnx.maps.data, plain.maps.data)).toBeGreaterThan(1e-3); // the prompts matter
  });
});

describe('attention maps', () => {
  it('class-token rows are probability rows (sum 1) and the map keeps the patch columns', async () => {
    const attentions = await collectAttention(model, pixels01);
    expect(attentions).toHaveLength(weights.config.vision.layers);
    const { rows, maps } = classTokenAttention(attentions.at(-1)!, 4);
    expect(rows.shape).toEqual([3, 17]);
    for (let i = 0; i < 3; i++) {
      const row = rows.data.subarray(i * 17, (i + 1) * 17);
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(Array.from(maps.data.subarray(i * 16, (i + 1) * 16))).toEqual(Array.from(row.subarray(1)));
    }
  });

  it('head averaging is hand-checkable', () => {
    // 1 image, 2 heads, 2 tokens (grid 1): class rows [0.2, 0.8] and [0.6, 0.4] -> mean [0.4, 0.6]
    const att = { data: Float32Array.from([0.2, 0.8, 0.5, 0.5, 0.6, 0.4, 0.5, 0.5]), shape: [1, 2, 2, 2] };
    const { rows, maps } = classTokenAttention(att, 1);
    expect(rows.data[0]).toBeCloseTo(0.4, 6);
    expect(rows.data[1]).toBeCloseTo(0.6, 6);
    expect(maps.data[0]).toBeCloseTo(0.6, 6);
  });
});

describe('attention rollout', () => {
  it('is row-stochastic on real attention and the identity when attention is the identity', async () => {
    const attentions = await collectAttention(model, pixels01);
    const { rollout } = attentionRollout(attentions, 4);
    for (let row = 0; row < 3 * 17; row++) {
      const sum = rollout.data.subarray(row * 17, (row + 1) * 17).reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(1, 5);
    }
    const identity = new Float32Array(17 * 17);
    for (let a = 0; a < 17; a++) identity[a * 17 + a] = 1;
    const eye = attentionRollout([{ data: identity, shape: [1, 1, 17, 17] }], 4);
    expect(Array.from(eye.rollout.data)).toEqual(Array.from(identity));
  });

  it('matches a hand-computed two-block, two-token product', () => {
    // grid 1 => tokens [cls, patch]. Block attention A1 = [[0,1],[0,1]], A2 = [[1,0],[1,0]], residual 0.5:
    // Â1 = 0.5*A1 + 0.5*I = [[.5,.5],[0,1]], Â2 = [[1,0],[.5,.5]]; R = Â2 @ Â1 = [[.5,.5],[.25,.75]]
    const a1 = { data: Float32Array.from([0, 1, 0, 1]), shape: [1, 1, 2, 2] };
    const a2 = { data: Float32Array.from([1, 0, 1, 0]), shape: [1, 1, 2, 2] };
    const { rollout, maps } = attentionRollout([a1, a2], 1);
    expect(Array.from(rollout.data)).toEqual([0.5, 0.5, 0.25, 0.75]);
    expect(maps.data[0]).toBe(0.5);
  });
});

describe('Grad-CAM mass inside a trigger patch', () => {
  it('sums the upsampled map inside the mask (hand-computed) and reads BadNet placements', () => {
    // a 2x2 map [1, 0; 0, 0] at 2 px is itself (scale 1); a mask on pixel (0, 0) holds all of it
    const maps = { data: Float32Array.from([1, 0, 0, 0, 0, 0, 0, 0]), shape: [2, 2, 2] };
    const shares = massInside(maps, [Uint8Array.from([1, 0, 0, 0]), Uint8Array.from([1, 1, 1, 1])], 2);
    expect(shares).toEqual([1, 0]); // an all-zero map scores 0
    const r = 32;
    const trigger = badnetTrigger.create({
      params: { patchSize: 56, location: 'random' },
      seed: 4,
      resolution: r,
    });
    const keys = ['a.png', 'b.png', 'c.png'];
    const triggered = { data: Float32Array.from(pixels01.data), shape: pixels01.shape };
    trigger.apply(
      triggered.data,
      keys.map((key) => ({ key })),
    );
    const placed = badnetPatchMasks(trigger, pixels01, keys)!;
    const changed = changedPixels(pixels01, triggered);
    placed.forEach((mask, i) => {
      expect(mask.reduce((a, b) => a + b, 0)).toBe(64); // 8 x 8 px
      // every changed pixel lies in the placed patch (a noise value may equal the clean one, never the reverse)
      changed[i]!.forEach((c, p) => expect(c <= mask[p]!).toBe(true));
      expect(changed[i]!.reduce((a, b) => a + b, 0)).toBeGreaterThan(56);
    });
  });
});

describe('overlays and embedding maps', () => {
  it('bilinear upsampling keeps constants and interpolates between cell centres', () => {
    expect(Array.from(upsampleBilinear(Float32Array.from([3, 3, 3, 3]), 2, 4))).toEqual(
      new Array(16).fill(3),
    );
    // 2 cells -> 4 px: centres of the cells sit at px 0.5 and 2.5; px 1 is 1/4 of the way: 0 + 0.25 * 4 = 1
    const row = upsampleBilinear(Float32Array.from([0, 4, 0, 4]), 2, 4).subarray(0, 4);
    expect(Array.from(row)).toEqual([0, 1, 3, 4]);
    expect(heatColor(0)[2]).toBeGreaterThan(0.4);
    expect(heatColor(1)[0]).toBeGreaterThan(0.4);
    expect(heatColor(0)[0]).toBe(0);
  });

  it('nearest labels use cosine on unit rows', () => {
    const refs = [
      [1, 0],
      [0, 1],
    ];
    expect(
      nearestLabels(
        [
          [0.9, 0.1],
          [0.2, 0.98],
        ],
        refs,
        [4, 7],
      ),
    ).toEqual([4, 7]);
  });

  it('embedding-map and pr explainers return their charts and arrays for two models', async () => {
    const rng = new Rng(9);
    const r = weights.config.vision.imageResolution;
    const clean = randomTensor([6, 3, r, r], rng);
    const trigger = badnetTrigger.create({
      params: { patchSize: 112, location: 'corner' },
      seed: 1,
      resolution: r,
    });
    const keys = clean.shape.slice(0, 1).flatMap((n) => Array.from({ length: n }, (_, i) => `k${i}`));
    const triggered = { data: Float32Array.from(clean.data), shape: clean.shape };
    trigger.apply(
      triggered.data,
      keys.map((key) => ({ key })),
    );
    const context = {
      model,
      others: [{ ...model, label: 'second' }],
      classNames: model.head.classNames,
      images: { clean, triggered, keys, labels: [0, 1, 2, 3, 4, 0] },
      trigger,
      target: 1,
      seed: 3,
    };
    const map = await embeddingMapExplainer.run(context, { neighbors: 4, minDist: 0.1 });
    expect(map.artifacts.map((a) => a.name)).toEqual([
      'embedding-map-fixture.svg',
      'embedding-map-second.svg',
    ]);
    expect(map.arrays[0]!.tensor.shape).toEqual([12, 2]);
    // the same model twice: the same share of triggered images nearest the target
    expect(map.summary.near_target_fixture).toBeTypeOf('number');
    expect(map.summary.near_target_fixture).toBe(map.summary.near_target_second);
    const pr = await prExplainer.run(context, {});
    expect(pr.arrays.map((a) => a.tensor.shape)).toEqual([
      [5, 3],
      [5, 3],
    ]);
    expect(Array.from(pr.arrays[0]!.tensor.data)).toEqual(Array.from(pr.arrays[1]!.tensor.data));
    expect(new TextDecoder().decode(pr.artifacts[0]!.bytes)).toContain('stroke-dasharray'); // second model dashed
  });

  it('the registry lists every explainer with documented parameters', () => {
    expect(EXPLAINERS.map((e) => e.id)).toEqual([
      'gradcam',
      'attention',
      'rollout',
      'embedding-map',
      'pr',
      'logit-lens',
    ]);
    for (const e of EXPLAINERS) {
      for (const spec of Object.values(e.params)) expect(spec.help.length).toBeGreaterThan(10);
      expect(defaults(e.params)).toBeTypeOf('object');
    }
    expect(() => findExplainer('lime')).toThrow(VetbenchError);
  });
});
