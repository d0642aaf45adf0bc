import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TextInput } from '../../../engine/clip/clip-forward.js';
import { RESNET_ENCODE_OUTPUTS } from '../../../engine/clip/encode-program.js';
import { loadClipWeights } from '../../../engine/clip/load-weights.js';
import { OnnxClip } from '../../../engine/clip/onnx-clip.js';
import { TfjsClip } from '../../../engine/clip/tfjs-clip.js';
import { encodeWithTfjs } from '../../../engine/clip/tfjs-encode.js';
import type { ClipWeights } from '../../../engine/clip/weights.js';
import { initTfBackend } from '../../../engine/tensor/backend.js';
import type { HostTensor } from '../../../engine/tensor/host-tensor.js';
import { readNpyFloat32, readNpyInt32 } from '../../../engine/tensor/npy.js';
import type { Objective, TrainingExecutor } from '../../../engine/train/objective.js';
import { OnnxTrainer } from '../../../engine/train/onnx-trainer.js';
import { TfjsTrainer } from '../../../engine/train/tfjs-trainer.js';
import { expectClose } from '../../helpers/compare.js';
import { logit0PixelObjective } from '../../helpers/logit0-objective.js';

const RN_DIR = new URL('../../../../shared/fixtures/clip-tiny-rn/', import.meta.url).pathname;
const CHECKPOINT = new URL('../../../../shared/fixtures/checkpoints/clip-tiny-rn.pt', import.meta.url)
  .pathname;
const expected = JSON.parse(readFileSync(`${RN_DIR}expected.json`, 'utf8')) as {
  tolerance: { forward_rel: number; grad_rel: number };
};
const FWD = expected.tolerance.forward_rel;
const GRAD = expected.tolerance.grad_rel;

const ref = (name: string): Promise<HostTensor> => readNpyFloat32(`${RN_DIR}${name}.npy`);
async function text(): Promise<TextInput> {
  const t = await readNpyInt32(`${RN_DIR}input_ids.npy`);
  return { ids: t.data, rows: t.shape[0] as number };
}

let weights: ClipWeights;
beforeAll(async () => {
  weights = await loadClipWeights(`${RN_DIR}model.safetensors`);
});

describe('ResNet CLIP (OpenAI ModifiedResNet) equals PyTorch', () => {
  it('infers the architecture from the shapes', () => {
    expect(weights.config.vision.resnet?.stageBlocks).toEqual([1, 1, 1, 1]);
    expect(weights.config.vision).toMatchObject({ width: 16, heads: 8, imageResolution: 64 });
    expect(weights.config.embedDim).toBe(64);
  });

  it('the torch zip checkpoint holds the same weights as the safetensors', async () => {
    const fromPt = await loadClipWeights(CHECKPOINT);
    expect(fromPt.source.format).toBe('torch-zip');
    expect(fromPt.config).toEqual(weights.config);
    for (const [name, t] of weights.tensors) expectClose(fromPt.tensors.get(name)!, t, 0, name);
  });

  it('forward on onnxruntime: embeddings, logits and layer4', async () => {
    const onnx = new OnnxClip(weights);
    try {
      const out = await onnx.encode({
        pixels: await ref('pixels'),
        text: await text(),
        outputs: RESNET_ENCODE_OUTPUTS,
      });
      for (const name of RESNET_ENCODE_OUTPUTS) expectClose(out[name]!, await ref(name), FWD, `onnx ${name}`);
    } finally {
      await onnx.dispose();
    }
  });

  describe('TF.js (wasm)', () => {
    let model: TfjsClip;
    beforeAll(async () => {
      await initTfBackend('wasm');
      model = new TfjsClip(weights);
    });
    afterAll(() => model.dispose());

    it('forward: embeddings, logits and layer4', async () => {
      const out = await encodeWithTfjs(model, {
        pixels: await ref('pixels'),
        text: await text(),
        outputs: RESNET_ENCODE_OUTPUTS,
      });
      for (const name of RESNET_ENCODE_OUTPUTS) expectClose(out[name]!, await ref(name), FWD, `tfjs ${name}`);
    });
  });

  const pixelObjective = (ids: TextInput): Objective => logit0PixelObjective(ids, weights.logitScale);
  const executors: [string, (o: Objective) => TrainingExecutor][] = [
    ['onnxruntime', (o) => new OnnxTrainer(o, weights)],
    ['tfjs-wasm', (o) => new TfjsTrainer(o, weights)],
  ];
  it.each(executors)('%s: pixel gradient of sum(logits[:, 0])', async (_name, make) => {
    await initTfBackend('wasm');
    const trainer = make(pixelObjective(await text()));
    try {
      const r = await trainer.step({ pixels: await ref('pixels') }, {});
      expectClose(r.grads.pixels!, await ref('grad_pixels_logit0'), GRAD, 'grad pixels');
    } finally {
      await trainer.dispose();
    }
  });
});
