import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClipConfig } from '../../engine/clip/config.js';
import { initClipWeights } from '../../engine/clip/init-weights.js';
import { saveClipWeights } from '../../engine/clip/save-weights.js';
import { encodePng } from '../../engine/demo/png.js';
import { Rng } from '../../engine/util/rng.js';

/** Shared by the job host and serve-mode tests: a very small CLIP and a four-class colour dataset. */
const COLOURS: [string, [number, number, number]][] = [
  ['red', [220, 30, 30]],
  ['green', [30, 200, 40]],
  ['blue', [30, 50, 220]],
  ['yellow', [230, 220, 30]],
];
const CONFIG: ClipConfig = {
  embedDim: 16,
  vision: { width: 64, layers: 1, heads: 1, patchSize: 4, imageResolution: 16 },
  text: { width: 64, layers: 1, heads: 1, contextLength: 8, vocabSize: 49408 },
};

/** A very small CLIP and four colour classes (24 train, 8 test images each, 16x16). */
export async function writeJobFixtures(dir: string): Promise<{ model: string; dataset: string }> {
  const dataset = join(dir, 'colours');
  const rng = new Rng(3);
  for (const split of ['train', 'test']) {
    for (const [name, rgb] of COLOURS) {
      mkdirSync(join(dataset, split, name), { recursive: true });
      for (let i = 0; i < (split === 'train' ? 24 : 8); i++) {
        const px = new Uint8Array(16 * 16 * 3);
        for (let p = 0; p < 256; p++)
          for (let c = 0; c < 3; c++) px[p * 3 + c] = Math.max(0, Math.min(255, rgb[c]! + rng.normal() * 20));
        writeFileSync(join(dataset, split, name, `${name}_${i}.png`), encodePng(16, 16, px));
      }
    }
  }
  const weights = initClipWeights(CONFIG, new Rng(4));
  const model = join(dir, 'tiny.safetensors');
  await saveClipWeights(model, CONFIG, weights.tensors);
  return { model, dataset };
}
