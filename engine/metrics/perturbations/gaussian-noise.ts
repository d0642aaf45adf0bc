import { imageRng } from '../../triggers/patch.js';
import type { Perturbation } from './perturbation.js';

/** Additive Gaussian noise N(0, std^2) per pixel and channel, clamped to [0, 1] [choice: stay a valid image]. */
export function gaussianNoise(std: number, seed: number): Perturbation {
  return {
    id: 'gaussian-noise',
    title: `Gaussian noise (std ${std})`,
    apply(pixels01, keys, resolution) {
      const size = 3 * resolution * resolution;
      keys.forEach((key, n) => {
        const rng = imageRng(seed, `noise:${key}`);
        for (let i = n * size; i < (n + 1) * size; i++) {
          pixels01[i] = Math.min(1, Math.max(0, pixels01[i]! + std * rng.normal()));
        }
      });
    },
  };
}
