import { imageRng } from '../../triggers/patch.js';
import type { Perturbation } from './perturbation.js';

/** RGB in [0, 1] to HSV in [0, 1] (torchvision's `_rgb2hsv`). */
export function rgbToHsv(r: number, g: number, b: number): [number, number, number] {
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const chroma = max - min;
  if (chroma === 0) return [0, 0, max];
  let h: number;
  if (max === r) h = (g - b) / chroma;
  else if (max === g) h = 2 + (b - r) / chroma;
  else h = 4 + (r - g) / chroma;
  h = (((h / 6) % 1) + 1) % 1;
  return [h, chroma / max, max];
}

export function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const h6 = h * 6;
  const sector = Math.floor(h6) % 6;
  const f = h6 - Math.floor(h6);
  const p = v * (1 - s);
  const q = v * (1 - s * f);
  const t = v * (1 - s * (1 - f));
  switch (sector) {
    case 0:
      return [v, t, p];
    case 1:
      return [q, v, p];
    case 2:
      return [p, v, t];
    case 3:
      return [p, q, v];
    case 4:
      return [t, p, v];
    default:
      return [v, p, q];
  }
}

function brighten(img: Float32Array, factor: number): void {
  for (let i = 0; i < img.length; i++) img[i] = Math.min(1, Math.max(0, img[i]! * factor));
}

/** Rotates the hue of a [3, R, R] image by `shift` turns. */
export function shiftHue(img: Float32Array, plane: number, shift: number): void {
  for (let i = 0; i < plane; i++) {
    const [h, s, v] = rgbToHsv(img[i]!, img[plane + i]!, img[2 * plane + i]!);
    const [r, g, b] = hsvToRgb((((h + shift) % 1) + 1) % 1, s, v);
    img[i] = r;
    img[plane + i] = g;
    img[2 * plane + i] = b;
  }
}

/**
 * torchvision ColorJitter(brightness=b, hue=h) per image: factor ~ U[1-b, 1+b] (x * factor, clamped), hue
 * shift ~ U[-h, h]; the two are applied in a random order, as torchvision permutes its transforms. Draw order
 * per image: order, brightness factor, hue shift.
 */
export function colorJitter(brightness: number, hue: number, seed: number): Perturbation {
  return {
    id: 'color-jitter',
    title: `Colour jitter (brightness ${brightness}, hue ${hue})`,
    apply(pixels01, keys, r) {
      const plane = r * r;
      keys.forEach((key, n) => {
        const rng = imageRng(seed, `jitter:${key}`);
        const hueFirst = rng.uniform() < 0.5;
        const factor = rng.range(1 - brightness, 1 + brightness);
        const shift = rng.range(-hue, hue);
        const img = pixels01.subarray(n * 3 * plane, (n + 1) * 3 * plane);
        if (hueFirst) shiftHue(img, plane, shift);
        brighten(img, factor);
        if (!hueFirst) shiftHue(img, plane, shift);
      });
    },
  };
}
