import type { Rng } from '../util/rng.js';

/**
 * Train-time augmentation of prompt tuning (METHODS 4.1 [choice]): torchvision's RandomResizedCrop
 * (scale 0.08-1, aspect ratio 3/4-4/3, ten tries then a centre crop) followed by a horizontal flip with
 * probability 1/2. It works on [N,3,R,R] batches of [0,1] pixels already at model resolution, so the crop is
 * taken from the pre-processed image and resized back to R with bilinear interpolation (half-pixel centres,
 * edges clamped, as torch's `interpolate(..., align_corners=False)`).
 */
export interface CropBox {
  readonly top: number;
  readonly left: number;
  readonly height: number;
  readonly width: number;
}

export const CROP_SCALE: readonly [number, number] = [0.08, 1];
export const CROP_RATIO: readonly [number, number] = [3 / 4, 4 / 3];

/** torchvision.transforms.RandomResizedCrop.get_params for a square image of side `size`. */
export function randomCropBox(size: number, rng: Rng, scale = CROP_SCALE, ratio = CROP_RATIO): CropBox {
  const area = size * size;
  const logLo = Math.log(ratio[0]);
  const logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.range(scale[0], scale[1]);
    const aspect = Math.exp(rng.range(logLo, logHi));
    const width = Math.round(Math.sqrt(target * aspect));
    const height = Math.round(Math.sqrt(target / aspect));
    if (width > 0 && width <= size && height > 0 && height <= size) {
      return { top: rng.int(size - height + 1), left: rng.int(size - width + 1), height, width };
    }
  }
  return { top: 0, left: 0, height: size, width: size }; // square image: the fallback centre crop is all of it
}

/** Bilinear resize of one channel plane's crop box back to `size` x `size`, written into `out`. */
function resizeCropInto(
  plane: Float32Array,
  size: number,
  box: CropBox,
  flip: boolean,
  out: Float32Array,
): void {
  const sy = box.height / size;
  const sx = box.width / size;
  for (let y = 0; y < size; y++) {
    const fy = Math.min(box.height - 1, Math.max(0, (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(box.height - 1, y0 + 1);
    const wy = fy - y0;
    for (let x = 0; x < size; x++) {
      const fx = Math.min(box.width - 1, Math.max(0, (x + 0.5) * sx - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(box.width - 1, x0 + 1);
      const wx = fx - x0;
      const at = (yy: number, xx: number): number => plane[(box.top + yy) * size + box.left + xx] as number;
      const top = at(y0, x0) * (1 - wx) + at(y0, x1) * wx;
      const bottom = at(y1, x0) * (1 - wx) + at(y1, x1) * wx;
      out[y * size + (flip ? size - 1 - x : x)] = top * (1 - wy) + bottom * wy;
    }
  }
}

/** Random resized crop + horizontal flip of every image, in place; draws 3-30 numbers per image from `rng`. */
export function randomResizedCropFlipInPlace(
  pixels: Float32Array,
  count: number,
  resolution: number,
  rng: Rng,
): void {
  const plane = resolution * resolution;
  const source = new Float32Array(plane);
  for (let n = 0; n < count; n++) {
    const box = randomCropBox(resolution, rng);
    const flip = rng.uniform() < 0.5;
    for (let c = 0; c < 3; c++) {
      const channel = pixels.subarray((n * 3 + c) * plane, (n * 3 + c + 1) * plane);
      source.set(channel);
      resizeCropInto(source, resolution, box, flip, channel);
    }
  }
}
