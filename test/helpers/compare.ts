import { expect } from 'vitest';
import type { HostTensor } from '../../engine/tensor/host-tensor.js';

/** Relative error as the fixtures define it: max |a - b| / max |ref|. */
export function relativeError(actual: ArrayLike<number>, reference: ArrayLike<number>): number {
  if (actual.length !== reference.length) return Infinity;
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < reference.length; i++) {
    const a = actual[i] as number;
    const r = reference[i] as number;
    if (!Number.isFinite(a)) return Infinity;
    maxDiff = Math.max(maxDiff, Math.abs(a - r));
    maxRef = Math.max(maxRef, Math.abs(r));
  }
  return maxRef === 0 ? maxDiff : maxDiff / maxRef;
}

export function expectClose(
  actual: HostTensor,
  reference: HostTensor,
  tolerance: number,
  label: string,
): number {
  expect(actual.shape, `${label} shape`).toEqual(reference.shape);
  const err = relativeError(actual.data, reference.data);
  expect(err, `${label} relative error ${err.toExponential(2)} > ${tolerance}`).toBeLessThanOrEqual(
    tolerance,
  );
  return err;
}

/** Selects the sub-array [:, from:, :] of a [N, K, W] tensor. */
export function sliceMiddle(t: HostTensor, from: number): HostTensor {
  const [n, k, w] = t.shape as [number, number, number];
  const out = new Float32Array(n * (k - from) * w);
  for (let i = 0; i < n; i++)
    out.set(t.data.subarray((i * k + from) * w, (i + 1) * k * w), i * (k - from) * w);
  return { data: out, shape: [n, k - from, w] };
}

export const FIXTURE_DIR = new URL('../../../shared/fixtures/clip-tiny-a/', import.meta.url).pathname;
