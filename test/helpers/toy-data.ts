import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClipConfig } from '../../engine/clip/config.js';
import { encodePng } from '../../engine/demo/png.js';
import { Rng } from '../../engine/util/rng.js';

/** Four colour classes of 16x16 noisy squares: a dataset a very small CLIP can learn in seconds. */
export const TOY_COLOURS: [string, [number, number, number]][] = [
  ['red', [220, 30, 30]],
  ['green', [30, 200, 40]],
  ['blue', [30, 50, 220]],
  ['yellow', [230, 220, 30]],
];

export const TOY_CONFIG: ClipConfig = {
  embedDim: 16,
  vision: { width: 64, layers: 1, heads: 1, patchSize: 4, imageResolution: 16 },
  text: { width: 64, layers: 1, heads: 1, contextLength: 8, vocabSize: 49408 },
};

/** Writes train/<class>/*.png and test/<class>/*.png; returns the root. */
export function writeToyDataset(trainPerClass = 24, testPerClass = 8, prefix = 'vetbench-toy-'): string {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const rng = new Rng(3);
  for (const split of ['train', 'test']) {
    for (const [name, rgb] of TOY_COLOURS) {
      mkdirSync(join(root, split, name), { recursive: true });
      for (let i = 0; i < (split === 'train' ? trainPerClass : testPerClass); i++) {
        const px = new Uint8Array(16 * 16 * 3);
        for (let p = 0; p < 256; p++)
          for (let c = 0; c < 3; c++) px[p * 3 + c] = Math.max(0, Math.min(255, rgb[c]! + rng.normal() * 20));
        writeFileSync(join(root, split, name, `${name}_${i}.png`), encodePng(16, 16, px));
      }
    }
  }
  return root;
}
