import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadClipWeights } from '../../engine/clip/load-weights.js';
import type { ClipWeights } from '../../engine/clip/weights.js';
import { rvptObjective } from '../../engine/defenses/rvpt/rvpt-objective.js';
import { initTfBackend } from '../../engine/tensor/backend.js';
import { oneHot } from '../../engine/tensor/ops.js';
import type { Objective, TrainingExecutor } from '../../engine/train/objective.js';
import { OnnxTrainer } from '../../engine/train/onnx-trainer.js';
import { TfjsTrainer } from '../../engine/train/tfjs-trainer.js';
import { expectClose, FIXTURE_DIR } from '../helpers/compare.js';
import { fixtureArray, pickRows } from '../helpers/fixture.js';

const expected = JSON.parse(readFileSync(`${FIXTURE_DIR}expected.json`, 'utf8')) as {
  rvpt: { D: number; labels: number[]; text_rows: number[] };
};

/**
 * Blocks 0..D-1 computed once and shared by the prompted and the frozen tower must give exactly what two
 * separate towers give: loss, CE, FR and the prompt gradient, on both executors, with and without a margin.
 */
describe('RVPT shared-prefix forward equals the unshared one', () => {
  let weights: ClipWeights;
  beforeAll(async () => {
    await initTfBackend('wasm');
    weights = await loadClipWeights(`${FIXTURE_DIR}model.safetensors`);
  });

  const executors: [string, (o: Objective) => TrainingExecutor][] = [
    ['onnx', (o) => new OnnxTrainer(o, weights)],
    ['tfjs', (o) => new TfjsTrainer(o, weights)],
  ];

  it.each(executors)(
    '%s: loss, metrics and gradients match (alpha 2, margin off and 0.2)',
    async (_n, make) => {
      const { D, labels, text_rows } = expected.rvpt;
      const batch = {
        pixels: await fixtureArray('pixels'),
        targets: oneHot(labels, text_rows.length),
        classText: pickRows(await fixtureArray('text_embeds'), text_rows),
      };
      const prompts = await fixtureArray('rvpt_prompts');
      for (const margin of [undefined, 0.2]) {
        const options = {
          depth: D,
          alpha: 2,
          logitScale: weights.logitScale,
          ...(margin !== undefined ? { margin } : {}),
        };
        const shared = make(rvptObjective({ ...options, sharedPrefix: true }));
        const separate = make(rvptObjective({ ...options, sharedPrefix: false }));
        const a = await shared.step({ prompts }, batch);
        const b = await separate.step({ prompts }, batch);
        expect(Math.abs(a.loss - b.loss) / Math.abs(b.loss)).toBeLessThan(1e-6);
        for (const m of ['ce', 'fr']) {
          const x = a.metrics[m]!.data[0]!;
          const y = b.metrics[m]!.data[0]!;
          expect(Math.abs(x - y)).toBeLessThan(1e-6 * Math.max(1, Math.abs(y)));
        }
        expectClose(a.grads.prompts!, b.grads.prompts!, 1e-5, `${margin} grad prompts`);
        await shared.dispose();
        await separate.dispose();
      }
    },
  );

  it('the traced shared-prefix graph is smaller: the prefix is in it once', async () => {
    const { D, labels, text_rows } = expected.rvpt;
    const batch = {
      pixels: await fixtureArray('pixels'),
      targets: oneHot(labels, text_rows.length),
      classText: pickRows(await fixtureArray('text_embeds'), text_rows),
    };
    const vars = { prompts: await fixtureArray('rvpt_prompts') };
    const sizeOf = (sharedPrefix: boolean): number =>
      new OnnxTrainer(
        rvptObjective({ depth: D, alpha: 2, logitScale: weights.logitScale, sharedPrefix }),
        weights,
      ).buildModel(vars, batch, {}, true).length;
    // Both graphs hold the same frozen weights once; only the duplicated prefix nodes differ.
    expect(sizeOf(true)).toBeLessThan(sizeOf(false));
  });
});
