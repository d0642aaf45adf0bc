import type { Rng } from '../util/rng.js';

/**
 * Random translation of up to `shift` pixels with edges replicated, in place on a [N,3,R,R] batch of [0,1]
 * pixels: cheap augmentation that keeps object and caption consistent (no flips: captions may say "left").
 */
export function randomShiftInPlace(
  pixels: Float32Array,
  count: number,
  resolution: number,
  shift: number,
  rng: Rng,
): void {
  if (shift <= 0) return;
  const r = resolution;
  const plane = r * r;
  const copy = new Float32Array(3 * plane);
  for (let n = 0; n < count; n++) {
    const img = pixels.subarray(n * 3 * plane, (n + 1) * 3 * plane);
    copy.set(img);
    const dx = rng.int(2 * shift + 1) - shift;
    const dy = rng.int(2 * shift + 1) - shift;
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < r; y++) {
        const sy = Math.min(r - 1, Math.max(0, y + dy));
        for (let x = 0; x < r; x++) {
          const sx = Math.min(r - 1, Math.max(0, x + dx));
          img[c * plane + y * r + x] = copy[c * plane + sy * r + sx] as number;
        }
      }
    }
  }
}
