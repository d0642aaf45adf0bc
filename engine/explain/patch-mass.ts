import { num, str } from '../methods/params.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import { badnetPatch } from '../triggers/badnet.js';
import { scaledPatchSize, type PatchLocation } from '../triggers/patch.js';
import type { Trigger } from '../triggers/trigger.js';
import { upsampleBilinear } from './overlay.js';

/**
 * Does an explanation point at the trigger? The share of a heat map's mass (upsampled to the image, as it is
 * drawn) that falls inside the trigger's pixels. Chance level is the trigger's share of the image area.
 */

/** Per image, sum of the upsampled map inside the mask / sum over the image (0 for an all-zero map). */
export function massInside(maps: HostTensor, masks: readonly Uint8Array[], resolution: number): number[] {
  const [n, grid] = maps.shape as [number, number, number];
  const shares: number[] = [];
  for (let i = 0; i < n; i++) {
    const fine = upsampleBilinear(
      maps.data.subarray(i * grid * grid, (i + 1) * grid * grid),
      grid,
      resolution,
    );
    let inside = 0;
    let total = 0;
    fine.forEach((v, p) => {
      total += v;
      if (masks[i]![p]) inside += v;
    });
    shares.push(total > 0 ? inside / total : 0);
  }
  return shares;
}

/** Pixels a trigger changed in each image ([N, 3, R, R] clean vs triggered): 1 where any channel differs. */
export function changedPixels(clean: HostTensor, triggered: HostTensor): Uint8Array[] {
  const [n, , r] = clean.shape as [number, number, number, number];
  const plane = r * r;
  return Array.from({ length: n }, (_, i) => {
    const mask = new Uint8Array(plane);
    for (let c = 0; c < 3; c++) {
      const base = (i * 3 + c) * plane;
      for (let p = 0; p < plane; p++) if (clean.data[base + p] !== triggered.data[base + p]) mask[p] = 1;
    }
    return mask;
  });
}

/**
 * The square a BadNet trigger pastes into each image (its placement is drawn per image from the seed and the
 * key, engine/triggers/badnet.ts), as masks; null for other trigger families.
 */
export function badnetPatchMasks(
  trigger: Trigger,
  clean: HostTensor,
  keys: readonly string[],
): Uint8Array[] | null {
  if (trigger.method !== 'badnet') return null;
  const r = trigger.resolution;
  const size = scaledPatchSize(num(trigger.params, 'patchSize'), r);
  const location = str(trigger.params, 'location') as PatchLocation;
  return keys.map((key, n) => {
    const { top, left } = badnetPatch(clean.data, n, r, key, trigger.seed, { size, location });
    const mask = new Uint8Array(r * r);
    for (let y = top; y < top + size; y++) mask.fill(1, y * r + left, y * r + left + size);
    return mask;
  });
}
