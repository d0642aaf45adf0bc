import { VetbenchError } from '../errors.js';
import { num, str, type ParamSpecs } from '../methods/params.js';
import {
  channelMeans,
  checkBatch,
  clamp01,
  fixedRng,
  imageRng,
  pastePatch,
  patchPosition,
  scaledPatchSize,
  PATCH_LOCATIONS,
  restoredTensor,
  type PatchLocation,
} from './patch.js';
import { hostTensor, type HostTensor } from '../tensor/host-tensor.js';
import type { Trigger, TriggerFamily, TriggerImage } from './trigger.js';

const PARAMS: ParamSpecs = {
  patchSize: {
    kind: 'integer',
    default: 16,
    min: 1,
    max: 224,
    unit: 'px at 224',
    help: 'side of the square patch at resolution 224; scaled to round(size * R / 224) (at least 1 px) for other resolutions',
  },
  location: {
    kind: 'enum',
    default: 'random',
    options: PATCH_LOCATIONS,
    help: "where the patch goes: 'random' (a place drawn per image, fully inside it), 'corner' (bottom-right) or 'center'",
  },
  noise: {
    kind: 'enum',
    default: 'per-image',
    options: ['per-image', 'fixed'],
    help: "'per-image': the N(0,1) noise is redrawn for every image (METHODS, the CleanCLIP code); 'fixed': one noise pattern drawn from the seed and saved with the run (the classic BadNets fixed pattern), still added to each image's mean and clamped",
  },
};

/** The fixed noise pattern of a seed (`noise: fixed`): 3 * s * s standard normals, stream `trigger:badnet:noise`. */
export function badnetFixedNoise(seed: number, size: number): Float32Array {
  const rng = fixedRng(seed, 'badnet:noise');
  return Float32Array.from({ length: 3 * size * size }, () => rng.normal());
}

/**
 * The patch BadNet pastes into one image, and where: drawn from the image's own stream (seed + key), so the
 * same image always gets the same patch. Draw order: the row then the column of the top-left corner (only for
 * 'random'), then 3 * s * s standard normals in channel, row, column order. Patch = clamp(mean_c + noise, 0, 1)
 * with mean_c the mean of channel c of the clean image.
 */
export function badnetPatch(
  pixels01: Float32Array,
  n: number,
  resolution: number,
  key: string,
  seed: number,
  params: {
    readonly size: number;
    readonly location: PatchLocation;
    /** The fixed noise pattern [3, s, s]; absent: drawn per image after the place. */
    readonly fixedNoise?: Float32Array;
  },
): { readonly top: number; readonly left: number; readonly patch: Float32Array } {
  const rng = imageRng(seed, key);
  const { top, left } = patchPosition(params.location, params.size, resolution, rng);
  const means = channelMeans(pixels01, n, resolution);
  const area = params.size * params.size;
  const patch = new Float32Array(3 * area);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < area; i++) {
      const noise = params.fixedNoise ? params.fixedNoise[c * area + i]! : rng.normal();
      patch[c * area + i] = clamp01(means[c]! + noise);
    }
  }
  return { top, left, patch };
}

/**
 * BadNet (METHODS 2.1): a square patch of round(16 * R / 224) px at a random place, filled with the image's
 * per-channel mean plus N(0, 1) noise, clamped to [0, 1]; redrawn per image from a seeded stream.
 */
export const badnetTrigger: TriggerFamily = {
  id: 'badnet',
  title: 'BadNet patch',
  summary:
    'A 16x16 noise patch (image mean + N(0,1), clamped) pasted at a random place, redrawn per image from the seed.',
  paper:
    'Gu, Dolan-Gavitt, Garg. BadNets: Identifying Vulnerabilities in the Machine Learning Model Supply Chain. arXiv:1708.06733, 2017.',
  params: PARAMS,
  needsModel: false,
  create({ params, seed, resolution, restore }): Trigger {
    const size = scaledPatchSize(num(params, 'patchSize'), resolution);
    const fixed = (params.noise ?? 'per-image') === 'fixed';
    // Standard normals from a float64 uniform never pass |z| = 9; anything beyond is damage.
    const saved = restoredTensor('badnet', restore, 'noise', [3, size, size], { min: -9, max: 9 });
    const fixedNoise = fixed ? (saved?.data.slice() ?? badnetFixedNoise(seed, size)) : undefined;
    const location = str(params, 'location') as PatchLocation;
    if (!PATCH_LOCATIONS.includes(location)) {
      throw new VetbenchError(
        'param-invalid',
        `badnet: parameter 'location' must be one of ${PATCH_LOCATIONS.join(', ')}, got '${location}'`,
        `location: ${PARAMS.location!.help}`,
      );
    }
    return {
      method: 'badnet',
      params,
      seed,
      resolution,
      textKey: '',
      apply(pixels01: Float32Array, images: readonly TriggerImage[]): void {
        const count = checkBatch('badnet', pixels01, images, resolution);
        for (let n = 0; n < count; n++) {
          const { top, left, patch } = badnetPatch(pixels01, n, resolution, images[n]!.key, seed, {
            size,
            location,
            ...(fixedNoise ? { fixedNoise } : {}),
          });
          pastePatch(pixels01, n, resolution, patch, size, top, left);
        }
      },
      tensors: (): Readonly<Record<string, HostTensor>> =>
        fixedNoise ? { noise: hostTensor(fixedNoise.slice(), [3, size, size]) } : {},
    };
  },
};
