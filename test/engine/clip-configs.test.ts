import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clipLogits, encodeImage, encodeText } from '../../engine/clip/clip-forward.js';
import type { ClipConfig } from '../../engine/clip/config.js';
import { ENCODE_OUTPUTS } from '../../engine/clip/encode-program.js';
import { loadClipWeights } from '../../engine/clip/load-weights.js';
import { OnnxClip } from '../../engine/clip/onnx-clip.js';
import { TfjsClip, toHost, toTf } from '../../engine/clip/tfjs-clip.js';
import { encodeWithTfjs } from '../../engine/clip/tfjs-encode.js';
import type { ClipWeights, WeightDtype, WeightNaming } from '../../engine/clip/weights.js';
import { initTfBackend, type TfBackendChoice } from '../../engine/tensor/backend.js';
import type { HostTensor } from '../../engine/tensor/host-tensor.js';
import { readNpyFloat32, readNpyInt32 } from '../../engine/tensor/npy.js';
import { expectClose, sliceMiddle } from '../helpers/compare.js';

/**
 * The engine against PyTorch (openai/CLIP model.py) on architectures other than clip-tiny-a and on both weight
 * namings: test/fixtures/clip-configs/{a,b,c}, made by make_reference.py there. Set CLIP_CONFIGS_REPORT=1 to
 * print the relative errors.
 */

interface WeightFile {
  file: string;
  naming: WeightNaming;
  dtype: WeightDtype;
  config?: string;
}
interface Expected {
  name: string;
  engine_config: ClipConfig;
  logit_scale: number;
  weights: WeightFile[];
  prompts: { D: number; b: number };
  ctx: { M: number };
  tolerance: { forward: number; gradient: number };
}

const ROOT = new URL('../fixtures/clip-configs/', import.meta.url).pathname;
const CONFIG_NAMES = ['a', 'b', 'c'];
const FWD = 1e-4;
const GRAD = 1e-3;
// wasm is what the app uses; the pure-JS cpu backend is cheap at these sizes and checks the kernels independently.
const backends: TfBackendChoice[] = ['wasm', 'cpu'];

const fixtures = CONFIG_NAMES.map((name) => {
  const expected = JSON.parse(readFileSync(`${ROOT}${name}/expected.json`, 'utf8')) as Expected;
  // The tolerances are the contract: the fixture must not loosen them.
  if (expected.tolerance.forward > FWD || expected.tolerance.gradient > GRAD)
    throw new Error(`${name}: loose tolerance`);
  return { dir: `${ROOT}${name}/`, expected };
});
const cases = fixtures.flatMap(({ dir, expected }) =>
  expected.weights.map((w) => ({
    dir,
    expected,
    weights: w,
    label: `${expected.name} ${w.naming} ${w.dtype}`,
  })),
);

const errors: { label: string; output: string; executor: string; error: number }[] = [];
afterAll(() => {
  if (!process.env.CLIP_CONFIGS_REPORT) return;
  console.log(
    errors.map((e) => `${e.label}\t${e.executor}\t${e.output}\t${e.error.toExponential(2)}`).join('\n'),
  );
});

describe.each(cases)('$label', ({ dir, expected, weights: file, label }) => {
  const ref = (name: string): Promise<HostTensor> => readNpyFloat32(`${dir}${name}.npy`);
  const ids = async (): Promise<{ ids: Int32Array; rows: number }> => {
    const t = await readNpyInt32(`${dir}input_ids.npy`);
    return { ids: t.data, rows: t.shape[0] as number };
  };
  const check = (
    executor: string,
    output: string,
    actual: HostTensor,
    reference: HostTensor,
    tol: number,
  ): void => {
    const error = expectClose(actual, reference, tol, `${label} ${executor} ${output}`);
    errors.push({ label, output, executor, error });
  };
  const D = expected.prompts.D;

  let weights: ClipWeights;
  beforeAll(async () => {
    // A Hugging Face file finds its config.json beside it (hf/config.json) without being told.
    weights = await loadClipWeights(`${dir}${file.file}`);
  });

  it('loads with the right naming and infers the architecture', () => {
    expect(weights.config).toEqual(expected.engine_config);
    expect(weights.source.naming).toBe(file.naming);
    expect(weights.source.dtypes).toEqual([file.dtype]);
    expect(weights.source.warnings).toEqual([]);
    expect(weights.logitScale).toBe(Math.fround(expected.logit_scale));
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
        text: await ids(),
        outputs: ENCODE_OUTPUTS,
      });
      for (const name of ENCODE_OUTPUTS) check('onnx', name, out[name]!, await ref(name), FWD);
    });

    it('deep visual prompts forward', async () => {
      const out = await onnx.encode({
        pixels: await ref('pixels'),
        prompts: { depth: D, tensors: await ref('prompts') },
        outputs: ['image_embeds', 'vision_cls_per_layer'],
      });
      check('onnx', 'prompted_image_embeds', out.image_embeds!, await ref('prompted_image_embeds'), FWD);
      const cls = sliceMiddle(out.vision_cls_per_layer!, 1);
      check('onnx', 'prompted_cls_per_block', cls, await ref('prompted_cls_per_block'), FWD);
    });

    it('text context forward', async () => {
      const out = await onnx.encode({
        text: await ids(),
        context: await ref('ctx_vectors'),
        outputs: ['text_embeds'],
      });
      check('onnx', 'ctx_text_embeds', out.text_embeds!, await ref('ctx_text_embeds'), FWD);
    });
  });

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
        text: await ids(),
        outputs: ENCODE_OUTPUTS,
      });
      for (const name of ENCODE_OUTPUTS) check(backend, name, out[name]!, await ref(name), FWD);
    });

    it('gradient of sum_n logits[n, 0] w.r.t. pixels', async () => {
      const pixels = toTf(await ref('pixels'));
      const text = await ids();
      const g = tf.grad((x: tf.Tensor) => {
        const logits = clipLogits(
          model.ops,
          encodeImage(model.graph, x).embeds,
          encodeText(model.graph, text),
          weights.logitScale,
        );
        return tf.sum(tf.slice(logits, [0, 0], [-1, 1]));
      })(pixels);
      check(backend, 'grad_pixels_logit0', await toHost(g), await ref('grad_pixels_logit0'), GRAD);
      tf.dispose([g, pixels]);
    });

    it('deep visual prompts forward and gradient', async () => {
      const pixels = toTf(await ref('pixels'));
      const prompts = toTf(await ref('prompts'));
      const vision = encodeImage(model.graph, pixels, {
        prompts: { depth: D, tensors: prompts },
        collectCls: true,
      });
      check(
        backend,
        'prompted_image_embeds',
        await toHost(vision.embeds),
        await ref('prompted_image_embeds'),
        FWD,
      );
      const cls = tf.stack(vision.cls.slice(1), 1);
      check(backend, 'prompted_cls_per_block', await toHost(cls), await ref('prompted_cls_per_block'), FWD);
      const g = tf.grad((p: tf.Tensor) => {
        const embeds = encodeImage(model.graph, pixels, { prompts: { depth: D, tensors: p } }).embeds;
        return tf.sum(tf.slice(embeds, [0, 0], [-1, 1]));
      })(prompts);
      check(backend, 'grad_prompts', await toHost(g), await ref('grad_prompts'), GRAD);
      tf.dispose([pixels, prompts, vision.embeds, ...vision.cls, cls, g]);
    });

    it('text context forward and gradient', async () => {
      const text = await ids();
      const ctx = toTf(await ref('ctx_vectors'));
      const embeds = encodeText(model.graph, text, { vectors: ctx });
      check(backend, 'ctx_text_embeds', await toHost(embeds), await ref('ctx_text_embeds'), FWD);
      const g = tf.grad((c: tf.Tensor) =>
        tf.sum(tf.slice(encodeText(model.graph, text, { vectors: c }), [0, 0], [-1, 1])),
      )(ctx);
      check(backend, 'ctx_grad', await toHost(g), await ref('ctx_grad'), GRAD);
      tf.dispose([ctx, embeds, g]);
    });
  });
});

describe('both namings of one model', () => {
  it('b: Hugging Face F16 names load to exactly the OpenAI F32 tensors', async () => {
    const openai = await loadClipWeights(`${ROOT}b/model.safetensors`);
    const hf = await loadClipWeights(`${ROOT}b/hf/model.safetensors`);
    expect(hf.config).toEqual(openai.config);
    expect([...hf.tensors.keys()]).toEqual([...openai.tensors.keys()]);
    for (const [name, t] of openai.tensors) {
      const other = hf.tensors.get(name)!;
      expect(other.shape, name).toEqual(t.shape);
      expect(
        Buffer.from(other.data.buffer, other.data.byteOffset, other.data.byteLength).equals(
          Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
        ),
        name,
      ).toBe(true);
    }
  });

  it('c: without its config.json the heads of 32 cannot be inferred, and the loader says so', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vetbench-clip-c-'));
    try {
      await copyFile(`${ROOT}c/hf/model.safetensors`, join(dir, 'model.safetensors'));
      await expect(loadClipWeights(join(dir, 'model.safetensors'))).rejects.toMatchObject({
        code: 'weights-heads-unknown',
      });
      // An explicit config path works as well as one beside the file.
      const w = await loadClipWeights(join(dir, 'model.safetensors'), {
        hfConfigPath: `${ROOT}c/hf/config.json`,
      });
      expect(w.config.vision.heads).toBe(3);
      expect(w.config.text.heads).toBe(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
