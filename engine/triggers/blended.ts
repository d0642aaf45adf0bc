import { bool, num, type ParamSpecs } from '../methods/params.js';
import { hostTensor, type HostTensor } from '../tensor/host-tensor.js';
import type { Rng } from '../util/rng.js';
import { checkBatch, fixedRng, imageRng, restoredTensor } from './patch.js';
import type { Trigger, TriggerFamily, TriggerImage } from './trigger.js';

const PARAMS: ParamSpecs = {
  ratio: {
    kind: 'number',
    default: 0.2,
    min: 0,
    max: 1,
    help: "blend ratio a in x' = (1 - a) * x + a * u (METHODS: 0.8 x + 0.2 u)",
  },
  freshNoise: {
    kind: 'boolean',
    default: false,
    help: 'draw a new noise image per image from its own seeded stream (as the CleanCLIP code does) instead of one fixed noise image',
  },
};

/** A [3, R, R] noise image, U[0, 1) per value in channel, row, column order. */
export function blendNoise(rng: Rng, resolution: number): Float32Array {
  const out = new Float32Array(3 * resolution * resolution);
  for (let i = 0; i < out.length; i++) out[i] = rng.uniform();
  return out;
}

/** The fixed noise image of a seed: stream `trigger:blended:noise` (see patch.ts `fixedRng`). */
export function blendedFixedNoise(seed: number, resolution: number): Float32Array {
  return blendNoise(fixedRng(seed, 'blended:noise'), resolution);
}

/** The fresh noise image of one image (`freshNoise`): the image's own stream (seed + key). */
export function blendedImageNoise(seed: number, key: string, resolution: number): Float32Array {
  return blendNoise(imageRng(seed, key), resolution);
}

/**
 * Blended (Chen et al.; METHODS 2.1): x' = (1 - a) x + a u with a = 0.2. By default u is one noise image drawn
 * from the seed and saved with the run as tensor `noise` [3, R, R]; `freshNoise` draws u per image instead
 * (then nothing needs saving: each image's u follows from the seed and its key).
 */
export const blendedTrigger: TriggerFamily = {
  id: 'blended',
  title: 'Blended noise',
  summary: 'Blends a uniform-noise image into the picture: 0.8 x + 0.2 u, one fixed seeded noise image.',
  paper:
    'Chen, Liu, Li, Lu, Song. Targeted Backdoor Attacks on Deep Learning Systems Using Data Poisoning. arXiv:1712.05526, 2017.',
  params: PARAMS,
  needsModel: false,
  create({ params, seed, resolution, restore }): Trigger {
    const ratio = num(params, 'ratio');
    const fresh = bool(params, 'freshNoise');
    const keep = 1 - ratio;
    const saved = restoredTensor('blended', restore, 'noise', [3, resolution, resolution]);
    const noise = fresh ? null : (saved?.data.slice() ?? blendedFixedNoise(seed, resolution));
    const size = 3 * resolution * resolution;
    return {
      method: 'blended',
      params,
      seed,
      resolution,
      textKey: '',
      apply(pixels01: Float32Array, images: readonly TriggerImage[]): void {
        const count = checkBatch('blended', pixels01, images, resolution);
        for (let n = 0; n < count; n++) {
          const u = noise ?? blendedImageNoise(seed, images[n]!.key, resolution);
          const base = n * size;
          for (let i = 0; i < size; i++) pixels01[base + i] = keep * pixels01[base + i]! + ratio * u[i]!;
        }
      },
      tensors(): Readonly<Record<string, HostTensor>> {
        return noise ? { noise: hostTensor(noise.slice(), [3, resolution, resolution]) } : {};
      },
    };
  },
};
