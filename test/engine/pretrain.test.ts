import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ClipConfig } from '../../engine/clip/config.js';
import { initClipWeights } from '../../engine/clip/init-weights.js';
import { loadClipWeights } from '../../engine/clip/load-weights.js';
import { saveClipWeights } from '../../engine/clip/save-weights.js';
import { ClipTokenizer } from '../../engine/clip/tokenizer.js';
import type { HostTensor } from '../../engine/tensor/host-tensor.js';
import type { PairSource } from '../../engine/train/pretrain.js';
import { pretrainClip } from '../../engine/train/pretrain.js';
import { Rng } from '../../engine/util/rng.js';

// A very small CLIP and a toy task: 8 colours, each image a flat colour plus noise, captioned by its colour.
const config: ClipConfig = {
  embedDim: 16,
  vision: { width: 64, layers: 1, heads: 1, patchSize: 4, imageResolution: 8 },
  text: { width: 64, layers: 1, heads: 1, contextLength: 8, vocabSize: 49408 },
};
const COLOURS: [string, [number, number, number]][] = [
  ['red', [1, 0, 0]],
  ['green', [0, 1, 0]],
  ['blue', [0, 0, 1]],
  ['yellow', [1, 1, 0]],
  ['purple', [1, 0, 1]],
  ['cyan', [0, 1, 1]],
  ['white', [1, 1, 1]],
  ['black', [0, 0, 0]],
];

function toyPairs(count: number): PairSource {
  return {
    size: count,
    async load(indices: readonly number[], rng: Rng) {
      const plane = 64;
      const pixels = new Float32Array(indices.length * 3 * plane);
      const captions = indices.map((index, n) => {
        const [name, rgb] = COLOURS[index % COLOURS.length]!;
        for (let c = 0; c < 3; c++) {
          for (let p = 0; p < plane; p++)
            pixels[(n * 3 + c) * plane + p] = (rgb[c]! - 0.5) * 2 + rng.normal() * 0.3;
        }
        return `a ${name} square.`;
      });
      return { pixels: { data: pixels, shape: [indices.length, 3, 8, 8] }, captions };
    },
  };
}

const options = { batchSize: 8, lr: 1e-3, warmupSteps: 2, weightDecay: 0.1, seed: 5 };

function sameTensors(a: Map<string, HostTensor>, b: Map<string, HostTensor>): boolean {
  for (const [k, t] of a) {
    const u = b.get(k);
    if (!u || u.data.length !== t.data.length || u.data.some((v, i) => v !== t.data[i])) return false;
  }
  return true;
}

describe('contrastive pretraining', () => {
  it('lowers the loss, clamps the logit scale and writes loadable weights', async () => {
    const init = initClipWeights(config, new Rng(1));
    const progress: number[] = [];
    const r = await pretrainClip(init, toyPairs(32), ClipTokenizer.default(), {
      ...options,
      epochs: 10,
      onProgress: (p) => {
        progress.push(p.etaMs);
      },
    });
    expect(r.steps).toBe(40);
    expect(progress).toHaveLength(40);
    expect(progress.at(-1)).toBe(0);
    expect(r.epochLosses.at(-1)!).toBeLessThan(r.epochLosses[0]! * 0.8);
    expect(Math.exp(r.tensors.get('logit_scale')!.data[0]!)).toBeLessThanOrEqual(100);
    const file = join(mkdtempSync(join(tmpdir(), 'vetbench-pretrain-')), 'toy.safetensors');
    await saveClipWeights(file, config, r.tensors, { dtype: 'F16' });
    const loaded = await loadClipWeights(file);
    expect(loaded.config).toEqual(config);
    expect(loaded.source.dtypes).toContain('F16');
  });

  it('resumes from a checkpoint to exactly the same weights as an uninterrupted run', async () => {
    const tokenizer = ClipTokenizer.default();
    const straight = await pretrainClip(initClipWeights(config, new Rng(2)), toyPairs(24), tokenizer, {
      ...options,
      epochs: 3,
      executor: 'onnx',
    });
    const dir = mkdtempSync(join(tmpdir(), 'vetbench-ckpt-'));
    const controller = new AbortController();
    await expect(
      pretrainClip(initClipWeights(config, new Rng(2)), toyPairs(24), tokenizer, {
        ...options,
        epochs: 3,
        checkpointDir: dir,
        signal: controller.signal,
        onEpoch: ({ epoch }) => {
          if (epoch === 1) controller.abort(); // stop after two epochs were checkpointed
        },
      }),
    ).rejects.toThrow(/cancelled/);
    const resumed = await pretrainClip(initClipWeights(config, new Rng(2)), toyPairs(24), tokenizer, {
      ...options,
      epochs: 3,
      checkpointDir: dir,
    });
    expect(resumed.resumedFromStep).toBe(6);
    expect(resumed.epochLosses).toHaveLength(3);
    expect(resumed.epochLosses).toEqual(straight.epochLosses);
    expect(sameTensors(resumed.tensors, straight.tensors)).toBe(true);
  });
});
