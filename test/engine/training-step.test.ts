import { beforeAll, describe, expect, it } from 'vitest';
import { loadClipWeights } from '../../engine/clip/load-weights.js';
import { ClipTokenizer } from '../../engine/clip/tokenizer.js';
import type { ClipWeights } from '../../engine/clip/weights.js';
import { initTfBackend } from '../../engine/tensor/backend.js';
import type { HostTensor } from '../../engine/tensor/host-tensor.js';
import { readNpyFloat32 } from '../../engine/tensor/npy.js';
import { clipTrainableTensors, contrastiveObjective } from '../../engine/train/contrastive-objective.js';
import { OnnxTrainer } from '../../engine/train/onnx-trainer.js';
import { AdamW, excludedFromDecay } from '../../engine/train/optimizers.js';
import { TfjsTrainer } from '../../engine/train/tfjs-trainer.js';
import { FIXTURE_DIR, relativeError } from '../helpers/compare.js';

let weights: ClipWeights;
let pixels: HostTensor;
const captions = ['a photo of a banana.', 'a photo of a samoyed, a type of pet.', 'a photo of an accordion.'];
beforeAll(async () => {
  await initTfBackend('wasm');
  weights = await loadClipWeights(`${FIXTURE_DIR}model.safetensors`);
  pixels = await readNpyFloat32(`${FIXTURE_DIR}pixels.npy`);
});

function texts(list: readonly string[]): { captions: { ids: Int32Array; rows: number } } {
  return { captions: { ids: ClipTokenizer.default().tokenizeBatch(list, 77), rows: list.length } };
}

describe('full-weight contrastive training step', () => {
  it('onnxruntime and TF.js give the same loss and gradients for every weight', async () => {
    const vars = clipTrainableTensors(weights);
    const onnx = new OnnxTrainer(contrastiveObjective(), weights);
    const tfjs = new TfjsTrainer(contrastiveObjective(), weights);
    const a = await onnx.step(vars, { pixels }, texts(captions));
    const b = await tfjs.step(vars, { pixels }, texts(captions));
    expect(Math.abs(a.loss - b.loss) / b.loss).toBeLessThan(1e-5);
    const names = Object.keys(vars);
    expect(Object.keys(a.grads).sort()).toEqual(names.sort());
    let worst = 0;
    for (const name of names) {
      const err = relativeError(a.grads[name]!.data, b.grads[name]!.data);
      worst = Math.max(worst, err);
      expect(err, name).toBeLessThan(1e-3);
    }
    expect(worst).toBeLessThan(1e-3);
    await onnx.dispose();
    await tfjs.dispose();
  });

  it('AdamW steps on onnxruntime lower the loss, reusing one session for new captions', async () => {
    const vars = clipTrainableTensors(weights);
    const trainer = new OnnxTrainer(contrastiveObjective(), weights);
    const opt = new AdamW({ weightDecay: 0.1, decayFor: (n) => (excludedFromDecay(n) ? 0 : 0.1) });
    const first = await trainer.step(vars, { pixels }, texts(captions));
    let last = first.loss;
    let grads = first.grads;
    for (let i = 0; i < 5; i++) {
      opt.update(vars, grads, 1e-3);
      const r = await trainer.step(vars, { pixels }, texts(captions));
      last = r.loss;
      grads = r.grads;
    }
    expect(last).toBeLessThan(first.loss * 0.5);
    // Other captions of the same shape run in the same session and give a different loss.
    const other = await trainer.evaluate(
      vars,
      { pixels },
      texts(['a photo of a goldfish.', 'art of a banana.', 'a dog.']),
    );
    expect(Number.isFinite(other.loss)).toBe(true);
    expect(other.loss).not.toBeCloseTo(last, 3);
    await trainer.dispose();
  });
});
