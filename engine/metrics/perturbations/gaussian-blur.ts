import type { Perturbation } from './perturbation.js';

/** The normalised 1-D Gaussian kernel of odd size `k` (torchvision's `_get_gaussian_kernel1d`). */
export function gaussianKernel(k: number, sigma: number): Float32Array {
  const half = (k - 1) / 2;
  const w = Float32Array.from({ length: k }, (_, i) => Math.exp(-0.5 * ((i - half) / sigma) ** 2));
  const sum = w.reduce((a, b) => a + b, 0);
  return w.map((v) => v / sum);
}

/** Reflect padding index (torch 'reflect': the edge pixel is not repeated). */
function reflect(i: number, n: number): number {
  if (n === 1) return 0;
  let j = i;
  while (j < 0 || j >= n) j = j < 0 ? -j : 2 * (n - 1) - j;
  return j;
}

/** Separable Gaussian blur with reflect padding, as torchvision's GaussianBlur(k, sigma) on a tensor. */
export function gaussianBlur(kernelSize: number, sigma: number): Perturbation {
  const kernel = gaussianKernel(kernelSize, sigma);
  const half = (kernelSize - 1) / 2;
  return {
    id: 'gaussian-blur',
    title: `Gaussian blur (kernel ${kernelSize}, sigma ${sigma})`,
    apply(pixels01, keys, r) {
      const plane = r * r;
      const tmp = new Float32Array(plane);
      for (let p = 0; p < keys.length * 3; p++) {
        const img = pixels01.subarray(p * plane, (p + 1) * plane);
        for (let y = 0; y < r; y++) {
          for (let x = 0; x < r; x++) {
            let s = 0;
            for (let k = 0; k < kernelSize; k++) s += kernel[k]! * img[y * r + reflect(x + k - half, r)]!;
            tmp[y * r + x] = s;
          }
        }
        for (let y = 0; y < r; y++) {
          for (let x = 0; x < r; x++) {
            let s = 0;
            for (let k = 0; k < kernelSize; k++) s += kernel[k]! * tmp[reflect(y + k - half, r) * r + x]!;
            img[y * r + x] = s;
          }
        }
      }
    },
  };
}
