import { describe, expect, it } from 'vitest';
import { createEncoder } from '../../../engine/clip/clip-encoder.js';
import { loadClipWeights } from '../../../engine/clip/load-weights.js';
import { importDataset } from '../../../engine/datasets/import-dataset.js';
import { evaluateBackdoor } from '../../../engine/eval/backdoor-eval.js';
import { zeroShotClassifier, type ImageClassifier } from '../../../engine/eval/image-classifier.js';
import { FIXTURE_DIR } from '../../helpers/compare.js';
import { TOY_COLOURS, writeToyDataset } from '../../helpers/toy-data.js';

describe('reduced-precision agreement check', () => {
  it('reports the top-1 agreement of int8 with fp32 on the first images, and refuses a classifier that disagrees', async () => {
    const weights = await loadClipWeights(`${FIXTURE_DIR}model.safetensors`);
    const dataset = await importDataset(writeToyDataset(1, 6, 'vetbench-int8-'));
    const names = TOY_COLOURS.map(([n]) => n);
    const fp32 = await createEncoder(weights);
    const int8 = await createEncoder(weights, 'onnx', 'int8');
    const reference = zeroShotClassifier(fp32, names);
    const r = await evaluateBackdoor(int8, dataset, {
      classifier: zeroShotClassifier(int8, names),
      batchSize: 8,
      agreementCheck: { reference, images: 16, minRate: 0, label: 'int8' },
    });
    expect(r.agreement!.checked).toBe(16);
    expect(r.agreement!.rate).toBe((100 * r.agreement!.agreeing) / 16);

    // A reference that always answers another class: 0% agreement, so the evaluation is refused.
    const contrary: ImageClassifier = {
      classNames: names,
      description: 'contrary',
      async logits(pixels, opts) {
        const l = await reference.logits(pixels, opts);
        const c = names.length;
        const data = new Float32Array(l.data.length);
        const own = await zeroShotClassifier(int8, names).logits(pixels, opts);
        for (let i = 0; i < l.data.length / c; i++) {
          let best = 0;
          for (let k = 1; k < c; k++) if (own.data[i * c + k]! > own.data[i * c + best]!) best = k;
          data[i * c + ((best + 1) % c)] = 1;
        }
        return { data, shape: l.shape };
      },
    };
    await expect(
      evaluateBackdoor(int8, dataset, {
        classifier: zeroShotClassifier(int8, names),
        batchSize: 8,
        agreementCheck: { reference: contrary, images: 8, minRate: 99.5, label: 'int8' },
      }),
    ).rejects.toThrow(
      /int8 predictions agree with fp32 on 0\.00% of the first 8 images .* under the 99\.5% required/,
    );
    await fp32.dispose();
    await int8.dispose();
  });
});
