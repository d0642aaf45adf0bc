import type { Rng } from '../../util/rng.js';

/**
 * Seeded image augmentations on [N, 3, R, R] pixels in [0, 1] (before normalisation), in place. FT uses a
 * random resized crop and a flip; CleanCLIP's augmented views add an AutoAugment-like pair of photometric or
 * geometric operations (CleanCLIP itself uses torchvision's AutoAugment on PIL images).
 */

const GREY = 0.5;

/** Bilinear sample of one R x R plane at (x, y) in pixel-centre coordinates, edges replicated. */
function bilinear(plane: Float32Array, r: number, x: number, y: number): number {
  const cx = Math.min(r - 1, Math.max(0, x));
  const cy = Math.min(r - 1, Math.max(0, y));
  const x0 = Math.floor(cx);
  const y0 = Math.floor(cy);
  const x1 = Math.min(r - 1, x0 + 1);
  const y1 = Math.min(r - 1, y0 + 1);
  const fx = cx - x0;
  const fy = cy - y0;
  const top = (plane[y0 * r + x0] as number) * (1 - fx) + (plane[y0 * r + x1] as number) * fx;
  const bottom = (plane[y1 * r + x0] as number) * (1 - fx) + (plane[y1 * r + x1] as number) * fx;
  return top * (1 - fy) + bottom * fy;
}

/** The crop box of torchvision's RandomResizedCrop (10 tries, then the whole image). */
export function randomCropBox(
  r: number,
  rng: Rng,
  scale: readonly [number, number],
  ratio: readonly [number, number] = [3 / 4, 4 / 3],
): { top: number; left: number; height: number; width: number } {
  const area = r * r;
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.range(scale[0], scale[1]);
    const aspect = Math.exp(rng.range(Math.log(ratio[0]), Math.log(ratio[1])));
    const width = Math.round(Math.sqrt(target * aspect));
    const height = Math.round(Math.sqrt(target / aspect));
    if (width > 0 && width <= r && height > 0 && height <= r) {
      return { top: rng.int(r - height + 1), left: rng.int(r - width + 1), height, width };
    }
  }
  return { top: 0, left: 0, height: r, width: r };
}

function image(pixels: Float32Array, n: number, r: number): Float32Array {
  return pixels.subarray(n * 3 * r * r, (n + 1) * 3 * r * r);
}

/** Crop the box and resize it back to R x R (bilinear, half-pixel centres); optionally mirror. */
function cropResize(
  img: Float32Array,
  r: number,
  box: { top: number; left: number; height: number; width: number },
  flip: boolean,
): void {
  const plane = r * r;
  const copy = Float32Array.from(img);
  for (let c = 0; c < 3; c++) {
    const src = copy.subarray(c * plane, (c + 1) * plane);
    for (let y = 0; y < r; y++) {
      const sy = box.top + ((y + 0.5) * box.height) / r - 0.5;
      for (let x = 0; x < r; x++) {
        const ox = flip ? r - 1 - x : x;
        const sx = box.left + ((ox + 0.5) * box.width) / r - 0.5;
        img[c * plane + y * r + x] = bilinear(src, r, sx, sy);
      }
    }
  }
}

/** RandomResizedCrop(scale) + RandomHorizontalFlip(0.5), per image. */
export function cropFlipInPlace(
  pixels: Float32Array,
  count: number,
  r: number,
  rng: Rng,
  minScale: number,
): void {
  for (let n = 0; n < count; n++) {
    const box = randomCropBox(r, rng, [minScale, 1]);
    cropResize(image(pixels, n, r), r, box, rng.uniform() < 0.5);
  }
}

const luma = (img: Float32Array, plane: number, i: number): number =>
  0.299 * (img[i] as number) + 0.587 * (img[plane + i] as number) + 0.114 * (img[2 * plane + i] as number);

const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);

/** One AutoAugment-style operation with a magnitude drawn from its range (PIL ImageEnhance semantics). */
export const PHOTOMETRIC_OPS = [
  'brightness',
  'contrast',
  'color',
  'posterize',
  'solarize',
  'autocontrast',
  'rotate',
] as const;
export type AugmentOp = (typeof PHOTOMETRIC_OPS)[number];

export function applyOp(img: Float32Array, r: number, op: AugmentOp, rng: Rng): void {
  const plane = r * r;
  switch (op) {
    case 'brightness': {
      const f = rng.range(0.5, 1.5);
      for (let i = 0; i < img.length; i++) img[i] = clamp01((img[i] as number) * f);
      return;
    }
    case 'contrast': {
      const f = rng.range(0.5, 1.5);
      let mean = 0;
      for (let i = 0; i < plane; i++) mean += luma(img, plane, i);
      mean /= plane;
      for (let i = 0; i < img.length; i++) img[i] = clamp01(mean + f * ((img[i] as number) - mean));
      return;
    }
    case 'color': {
      const f = rng.range(0.3, 1.7);
      for (let i = 0; i < plane; i++) {
        const g = luma(img, plane, i);
        for (let c = 0; c < 3; c++)
          img[c * plane + i] = clamp01(g + f * ((img[c * plane + i] as number) - g));
      }
      return;
    }
    case 'posterize': {
      const step = 2 ** (1 + rng.int(4)); // PIL posterize keeping 4..7 bits: clear the low bits of the byte
      for (let i = 0; i < img.length; i++)
        img[i] = (Math.floor(Math.round((img[i] as number) * 255) / step) * step) / 255;
      return;
    }
    case 'solarize': {
      const threshold = rng.range(0.5, 1);
      for (let i = 0; i < img.length; i++)
        if ((img[i] as number) >= threshold) img[i] = 1 - (img[i] as number);
      return;
    }
    case 'autocontrast': {
      for (let c = 0; c < 3; c++) {
        let lo = 1;
        let hi = 0;
        for (let i = 0; i < plane; i++) {
          const v = img[c * plane + i] as number;
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
        if (hi - lo < 1e-6) continue;
        for (let i = 0; i < plane; i++)
          img[c * plane + i] = ((img[c * plane + i] as number) - lo) / (hi - lo);
      }
      return;
    }
    case 'rotate': {
      const angle = (rng.range(-20, 20) * Math.PI) / 180;
      const cos = Math.cos(angle);
      const sin = Math.sin(angle);
      const centre = (r - 1) / 2;
      const copy = Float32Array.from(img);
      for (let c = 0; c < 3; c++) {
        const src = copy.subarray(c * plane, (c + 1) * plane);
        for (let y = 0; y < r; y++) {
          for (let x = 0; x < r; x++) {
            const dx = x - centre;
            const dy = y - centre;
            const sx = cos * dx + sin * dy + centre;
            const sy = -sin * dx + cos * dy + centre;
            const inside = sx >= -0.5 && sx <= r - 0.5 && sy >= -0.5 && sy <= r - 0.5;
            img[c * plane + y * r + x] = inside ? bilinear(src, r, sx, sy) : GREY;
          }
        }
      }
      return;
    }
  }
}

/**
 * CleanCLIP's augmented view, AutoAugment-like [choice]: random resized crop (scale minScale..1) and a flip,
 * then two operations drawn from PHOTOMETRIC_OPS, each with a random magnitude.
 */
export function autoAugmentInPlace(
  pixels: Float32Array,
  count: number,
  r: number,
  rng: Rng,
  minScale: number,
): void {
  cropFlipInPlace(pixels, count, r, rng, minScale);
  for (let n = 0; n < count; n++) {
    const img = image(pixels, n, r);
    for (let k = 0; k < 2; k++) applyOp(img, r, PHOTOMETRIC_OPS[rng.int(PHOTOMETRIC_OPS.length)]!, rng);
  }
}
