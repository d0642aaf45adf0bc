import { createHash } from 'node:crypto';
import { VetbenchError } from '../errors.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import { formatShape, sameShape } from '../tensor/host-tensor.js';
import { Rng } from '../util/rng.js';
import type { TriggerImage } from './trigger.js';

/**
 * Helpers shared by the trigger families: seeded streams, batch checks, patch placement and pasting. Every
 * batch is `[N, 3, R, R]` float32 [0, 1] pixels, row-major (image, channel, row, column).
 */

/**
 * The uint32 seed of a named stream: the first four bytes (little-endian) of SHA-256(`${seed}:${name}`). Per-image
 * streams use the image key as the name, so an image's trigger depends only on the seed and its key, never on
 * the batch it is in or on the order of the images.
 */
export function streamSeed(seed: number, name: string): number {
  return createHash('sha256').update(`${seed}:${name}`).digest().readUInt32LE(0);
}

/** The seeded stream of one image (BadNet's place and noise, Blended's fresh noise). */
export function imageRng(seed: number, key: string): Rng {
  return new Rng(streamSeed(seed, key));
}

/**
 * The stream of a trigger's fixed arrays (Blended's noise image, WaNet's grid): the name is prefixed with
 * `trigger:` so it can never coincide with an image key's stream.
 */
export function fixedRng(seed: number, name: string): Rng {
  return new Rng(streamSeed(seed, `trigger:${name}`));
}

/** Checks that `pixels01` holds `images.length` images of [3, R, R]; returns N. */
export function checkBatch(
  method: string,
  pixels01: Float32Array,
  images: readonly TriggerImage[],
  resolution: number,
): number {
  const size = 3 * resolution * resolution;
  if (pixels01.length !== images.length * size) {
    throw new VetbenchError(
      'trigger-batch-mismatch',
      `${method}: the batch holds ${pixels01.length} values but ${images.length} image(s) of 3x${resolution}x${resolution} need ${images.length * size}`,
      `Pass [N, 3, ${resolution}, ${resolution}] pixels in [0, 1] (the trigger's resolution) with one key per image.`,
    );
  }
  return images.length;
}

/** Pixel values: what saved noise images and patches hold. */
export const PIXEL_RANGE = { min: 0, max: 1 } as const;

export function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

/** The side of a square patch at `resolution`, given its side at 224: round(size * R / 224), at least 1, at most R. */
export function scaledPatchSize(sizeAt224: number, resolution: number): number {
  return Math.min(resolution, Math.max(1, Math.round((sizeAt224 * resolution) / 224)));
}

export type PatchLocation = 'random' | 'corner' | 'center';
export const PATCH_LOCATIONS: readonly PatchLocation[] = ['random', 'corner', 'center'];

/**
 * Top-left corner of a `size` patch, fully inside an R x R image. 'random' draws the row then the column, each
 * uniform over the R - size + 1 places (two draws from `rng`); 'corner' is the bottom-right corner; 'center' is
 * floor((R - size) / 2) on both axes (the patch's centre is the image's centre, rounded up-left).
 */
export function patchPosition(
  location: PatchLocation,
  size: number,
  resolution: number,
  rng: Rng,
): { readonly top: number; readonly left: number } {
  const room = resolution - size;
  switch (location) {
    case 'random': {
      const top = rng.int(room + 1);
      const left = rng.int(room + 1);
      return { top, left };
    }
    case 'corner':
      return { top: room, left: room };
    case 'center':
      return { top: Math.floor(room / 2), left: Math.floor(room / 2) };
  }
}

/** Mean of each channel of image `n` (double precision sums of the float32 values). */
export function channelMeans(
  pixels01: Float32Array,
  n: number,
  resolution: number,
): [number, number, number] {
  const plane = resolution * resolution;
  const out: [number, number, number] = [0, 0, 0];
  for (let c = 0; c < 3; c++) {
    const base = (n * 3 + c) * plane;
    let sum = 0;
    for (let i = 0; i < plane; i++) sum += pixels01[base + i]!;
    out[c] = sum / plane;
  }
  return out;
}

/** Copies a [3, size, size] patch into image `n` at (top, left), in place. */
export function pastePatch(
  pixels01: Float32Array,
  n: number,
  resolution: number,
  patch: Float32Array,
  size: number,
  top: number,
  left: number,
): void {
  if (patch.length !== 3 * size * size) {
    throw new RangeError(`pastePatch: ${patch.length} values for a 3x${size}x${size} patch`);
  }
  if (top < 0 || left < 0 || top + size > resolution || left + size > resolution) {
    throw new RangeError(
      `pastePatch: a ${size}px patch at (${top}, ${left}) leaves the ${resolution}px image`,
    );
  }
  const plane = resolution * resolution;
  for (let c = 0; c < 3; c++) {
    const base = (n * 3 + c) * plane;
    for (let y = 0; y < size; y++) {
      const src = (c * size + y) * size;
      pixels01.set(patch.subarray(src, src + size), base + (top + y) * resolution + left);
    }
  }
}

/** A saved tensor given back to `create`, checked for its expected shape and value range (default: pixels). */
export function restoredTensor(
  method: string,
  restore: Readonly<Record<string, HostTensor>> | undefined,
  name: string,
  shape: readonly number[],
  range: { readonly min: number; readonly max: number } = PIXEL_RANGE,
): HostTensor | undefined {
  const t = restore?.[name];
  if (t === undefined) return undefined;
  if (!sameShape(t.shape, shape) || t.data.length !== shape.reduce((a, b) => a * b, 1)) {
    throw new VetbenchError(
      'trigger-tensor-mismatch',
      `${method}: the saved tensor '${name}' has shape ${formatShape(t.shape)}, expected ${formatShape(shape)}`,
      'The trigger file was made for another resolution or is damaged: create the trigger again.',
    );
  }
  // NaN fails both comparisons, so it is refused with the out-of-range values.
  const bad = t.data.findIndex((v) => !(v >= range.min && v <= range.max));
  if (bad >= 0) {
    throw new VetbenchError(
      'trigger-tensor-invalid',
      `${method}: the saved tensor '${name}' holds ${t.data[bad]} at index ${bad}, outside [${range.min}, ${range.max}] (a damaged trigger would make every measurement with it meaningless)`,
      'The trigger file is damaged or not from Vetbench: create the trigger again.',
    );
  }
  return t;
}
