import { encodePng } from '../demo/png.js';
import { VetbenchError } from '../errors.js';
import type { Trigger } from './trigger.js';

export interface TriggerPreviewOptions {
  /** The smallest side of each panel in pixels (default 128): images are upscaled by an integer factor. */
  readonly minSize?: number;
  /** Factor on |x' - x| in the difference panel (default 4), clamped to [0, 1]. */
  readonly amplify?: number;
  /** Also build the strip clean | triggered | difference (default true). */
  readonly strip?: boolean;
  /** White gap between the strip's panels, in output pixels (default 4). */
  readonly gap?: number;
}

export interface TriggerPreview {
  /** PNG of the clean image. */
  readonly clean: Uint8Array;
  /** PNG of the triggered image. */
  readonly triggered: Uint8Array;
  /** PNG of |x' - x| * amplify, clamped, per channel. */
  readonly difference: Uint8Array;
  /** PNG of the three side by side; absent when `strip` is false. */
  readonly strip?: Uint8Array;
  /** Side of each panel in pixels (R times the upscale factor). */
  readonly size: number;
  /** The integer nearest-neighbour upscale factor. */
  readonly scale: number;
  /** Largest |x' - x| over all pixels and channels (0 means the trigger changed nothing). */
  readonly maxChange: number;
}

function toByte(v: number): number {
  return Math.round((v < 0 ? 0 : v > 1 ? 1 : v) * 255);
}

/** CHW [0, 1] -> HWC RGB bytes upscaled by `scale` (nearest neighbour). */
function rgbBytes(chw: Float32Array, resolution: number, scale: number): Uint8Array {
  const side = resolution * scale;
  const plane = resolution * resolution;
  const out = new Uint8Array(side * side * 3);
  for (let y = 0; y < side; y++) {
    const sy = Math.floor(y / scale);
    for (let x = 0; x < side; x++) {
      const p = sy * resolution + Math.floor(x / scale);
      const o = (y * side + x) * 3;
      out[o] = toByte(chw[p]!);
      out[o + 1] = toByte(chw[plane + p]!);
      out[o + 2] = toByte(chw[2 * plane + p]!);
    }
  }
  return out;
}

/**
 * Renders what a trigger does to one image so a person can see it: the clean image, the triggered one and the
 * amplified difference, each upscaled (nearest neighbour, integer factor) to at least `minSize` px, plus a
 * strip of the three. `pixels01` is one [3, R, R] image in [0, 1] at the trigger's resolution; it is not
 * modified. `key` identifies the image (per-image triggers depend on it).
 */
export async function renderTriggerPreview(
  trigger: Trigger,
  pixels01: Float32Array,
  key: string,
  options: TriggerPreviewOptions = {},
): Promise<TriggerPreview> {
  const resolution = trigger.resolution;
  if (pixels01.length !== 3 * resolution * resolution) {
    throw new VetbenchError(
      'trigger-preview-size',
      `trigger preview: the image holds ${pixels01.length} values, expected 3x${resolution}x${resolution}`,
      `Pre-process the image to the trigger's resolution (${resolution}) first.`,
    );
  }
  const minSize = options.minSize ?? 128;
  const amplify = options.amplify ?? 4;
  const gap = options.gap ?? 4;
  const scale = Math.max(1, Math.ceil(minSize / resolution));
  const side = resolution * scale;

  const triggered = pixels01.slice();
  await trigger.apply(triggered, [{ key }]);
  const difference = new Float32Array(pixels01.length);
  let maxChange = 0;
  for (let i = 0; i < pixels01.length; i++) {
    const d = Math.abs(triggered[i]! - pixels01[i]!);
    if (d > maxChange) maxChange = d;
    difference[i] = d * amplify;
  }

  const panels = [pixels01, triggered, difference].map((img) => rgbBytes(img, resolution, scale));
  const [clean, trig, diff] = panels.map((rgb) => encodePng(side, side, rgb)) as [
    Uint8Array,
    Uint8Array,
    Uint8Array,
  ];
  const preview: TriggerPreview = { clean, triggered: trig, difference: diff, size: side, scale, maxChange };
  if (options.strip === false) return preview;

  const width = 3 * side + 2 * gap;
  const strip = new Uint8Array(width * side * 3).fill(255);
  panels.forEach((rgb, k) => {
    const left = k * (side + gap);
    for (let y = 0; y < side; y++) {
      strip.set(rgb.subarray(y * side * 3, (y + 1) * side * 3), (y * width + left) * 3);
    }
  });
  return { ...preview, strip: encodePng(width, side, strip) };
}
