import type { HostTensor } from '../tensor/host-tensor.js';

/**
 * How the l2 budget rho of the inverted trigger is read (METHODS 4.2):
 * - `absolute`: ||delta||_2 <= rho over the whole image (the paper's 6/255; vanishingly small on real images);
 * - `rms`: ||delta||_2 <= rho * sqrt(numel), i.e. a per-pixel root-mean-square of rho [choice, the default].
 */
export const RADIUS_MODES = ['absolute', 'rms'] as const;
export type RadiusMode = (typeof RADIUS_MODES)[number];

/** The l2 radius one image's perturbation may have. */
export function l2Radius(rho: number, numelPerImage: number, mode: RadiusMode): number {
  return mode === 'rms' ? rho * Math.sqrt(numelPerImage) : rho;
}

/**
 * Projects each image's perturbation (rows of `delta` [N, ...]) onto the l2 ball of the radius, then clips it so
 * v + delta stays in [0, 1]. The clip only shrinks components toward 0, so the result stays in the ball.
 * Changes `delta` in place.
 */
export function projectPerturbation(
  delta: HostTensor,
  pixels01: HostTensor,
  rho: number,
  mode: RadiusMode,
): void {
  const n = delta.shape[0] as number;
  const per = delta.data.length / n;
  const radius = l2Radius(rho, per, mode);
  const d = delta.data;
  const v = pixels01.data;
  for (let i = 0; i < n; i++) {
    let sq = 0;
    for (let j = i * per; j < (i + 1) * per; j++) sq += (d[j] as number) ** 2;
    const norm = Math.sqrt(sq);
    const factor = norm > radius ? radius / norm : 1;
    for (let j = i * per; j < (i + 1) * per; j++) {
      const x = v[j] as number;
      d[j] = Math.min(1 - x, Math.max(-x, (d[j] as number) * factor));
    }
  }
}
