import { beforeAll, describe, expect, it } from 'vitest';
import { ENCODE_OUTPUTS } from '../../../engine/clip/encode-program.js';
import { loadClipWeights } from '../../../engine/clip/load-weights.js';
import { OnnxClip } from '../../../engine/clip/onnx-clip.js';
import type { ClipWeights } from '../../../engine/clip/weights.js';
import { expectClose, FIXTURE_DIR } from '../../helpers/compare.js';
import { fixtureArray, fixtureText } from '../../helpers/fixture.js';

const CHECKPOINTS = new URL('../../../../shared/fixtures/checkpoints/', import.meta.url).pathname;

let reference: ClipWeights;
beforeAll(async () => {
  reference = await loadClipWeights(`${FIXTURE_DIR}model.safetensors`);
});

describe('PyTorch checkpoints of clip-tiny-a load to the same weights as its safetensors', () => {
  const cases: [file: string, format: string, naming: string][] = [
    ['clip-tiny-a.pt', 'torch-zip', 'openai'],
    ['clip-tiny-a.legacy.pt', 'torch-legacy', 'openai'],
    ['clip-tiny-a.jit.pt', 'torchscript', 'openai'],
    ['hf-tiny-a/pytorch_model.bin', 'torch-zip', 'huggingface'],
    ['hf-tiny-a', 'torch-zip', 'huggingface'],
  ];
  for (const [file, format, naming] of cases) {
    it(`${file} (${format}, ${naming} names)`, async () => {
      const weights = await loadClipWeights(`${CHECKPOINTS}${file}`);
      expect(weights.source.format).toBe(format);
      expect(weights.source.naming).toBe(naming);
      expect(weights.config).toEqual(reference.config);
      expect([...weights.tensors.keys()]).toEqual([...reference.tensors.keys()]);
      for (const [name, tensor] of reference.tensors) {
        const loaded = weights.tensors.get(name);
        expect(loaded?.shape, name).toEqual(tensor.shape);
        expectClose(loaded!, tensor, 0, name);
      }
    });
  }

  it('refuses the pickle that would run a command, naming posix.system', async () => {
    await expect(loadClipWeights(`${CHECKPOINTS}runs-code-when-unpickled.pt`)).rejects.toThrow(
      /runs-code-when-unpickled\.pt: the pickle calls posix\.system, which no weights checkpoint needs; refused without running it/,
    );
  });

  it('the TorchScript archive encodes to the fixture outputs on onnxruntime', async () => {
    const weights = await loadClipWeights(`${CHECKPOINTS}clip-tiny-a.jit.pt`);
    const onnx = new OnnxClip(weights);
    try {
      const out = await onnx.encode({
        pixels: await fixtureArray('pixels'),
        text: await fixtureText('input_ids'),
        outputs: ENCODE_OUTPUTS,
      });
      for (const name of ENCODE_OUTPUTS) expectClose(out[name]!, await fixtureArray(name), 1e-4, name);
    } finally {
      await onnx.dispose();
    }
  });
});
