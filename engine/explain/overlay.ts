import { encodePng } from '../demo/png.js';
import type { HostTensor } from '../tensor/host-tensor.js';

/**
 * Heat-map overlays: a coarse map (the patch grid) upsampled bilinearly to the image, coloured with a
 * jet-like colormap and blended over the input; a panel PNG shows each image beside its overlay.
 */

/** Bilinear resize of a [g, g] map to [size, size], pixel centres aligned (align_corners=False, as cv2.resize). */
export function upsampleBilinear(map: Float32Array, grid: number, size: number): Float32Array {
  const out = new Float32Array(size * size);
  const scale = grid / size;
  const coord = (i: number): [number, number, number] => {
    const src = Math.min(Math.max((i + 0.5) * scale - 0.5, 0), grid - 1);
    const lo = Math.floor(src);
    const hi = Math.min(lo + 1, grid - 1);
    return [lo, hi, src - lo];
  };
  for (let y = 0; y < size; y++) {
    const [y0, y1, fy] = coord(y);
    for (let x = 0; x < size; x++) {
      const [x0, x1, fx] = coord(x);
      const top = map[y0 * grid + x0]! * (1 - fx) + map[y0 * grid + x1]! * fx;
      const bottom = map[y1 * grid + x0]! * (1 - fx) + map[y1 * grid + x1]! * fx;
      out[y * size + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

/** Jet colormap: 0 -> dark blue, 0.5 -> green-yellow, 1 -> dark red; components in [0, 1]. */
export function heatColor(v: number): [number, number, number] {
  const t = Math.min(Math.max(v, 0), 1);
  const channel = (offset: number): number => Math.min(Math.max(1.5 - Math.abs(4 * t - offset), 0), 1);
  return [channel(3), channel(2), channel(1)];
}

/** Scales a map to [0, 1] by its maximum (all-zero maps stay zero). */
export function normalizeToMax(map: Float32Array): Float32Array {
  let max = 0;
  for (const v of map) if (v > max) max = v;
  return max > 0 ? map.map((v) => v / max) : new Float32Array(map.length);
}

/** One image [3, R, R] in [0, 1] as interleaved RGB floats. */
function imageRgb(pixels01: HostTensor, n: number): Float32Array {
  const r = pixels01.shape[2] as number;
  const plane = r * r;
  const rgb = new Float32Array(plane * 3);
  for (let c = 0; c < 3; c++) {
    const base = (n * 3 + c) * plane;
    for (let i = 0; i < plane; i++) rgb[i * 3 + c] = pixels01.data[base + i]!;
  }
  return rgb;
}

/** `alpha * heat + (1 - alpha) * image` for a [R, R] map already in [0, 1]. */
export function blendHeat(rgb: Float32Array, heat01: Float32Array, alpha = 0.5): Float32Array {
  const out = new Float32Array(rgb.length);
  for (let i = 0; i < heat01.length; i++) {
    const color = heatColor(heat01[i]!);
    for (let c = 0; c < 3; c++) out[i * 3 + c] = alpha * color[c]! + (1 - alpha) * rgb[i * 3 + c]!;
  }
  return out;
}

/**
 * A PNG with one row per image: the input, then one overlay per map set (e.g. clean and triggered), each
 * enlarged by `scale` (nearest neighbour) so tiny demo images stay visible. `maps[k]` is [N, g, g].
 */
export function overlayPanel(
  images: readonly HostTensor[],
  maps: readonly HostTensor[],
  options: { readonly scale?: number; readonly gap?: number } = {},
): Uint8Array {
  const n = maps[0]!.shape[0] as number;
  const r = images[0]!.shape[2] as number;
  const grid = maps[0]!.shape[1] as number;
  const scale = options.scale ?? Math.max(1, Math.ceil(96 / r));
  const gap = options.gap ?? 4;
  const cell = r * scale;
  const columns = images.length + maps.length;
  const width = columns * cell + (columns + 1) * gap;
  const height = n * cell + (n + 1) * gap;
  const canvas = new Uint8Array(width * height * 3).fill(255);
  const paint = (rgb: Float32Array, row: number, col: number): void => {
    const ox = gap + col * (cell + gap);
    const oy = gap + row * (cell + gap);
    for (let y = 0; y < cell; y++) {
      for (let x = 0; x < cell; x++) {
        const src = (Math.floor(y / scale) * r + Math.floor(x / scale)) * 3;
        const dst = ((oy + y) * width + ox + x) * 3;
        for (let c = 0; c < 3; c++)
          canvas[dst + c] = Math.round(Math.min(Math.max(rgb[src + c]!, 0), 1) * 255);
      }
    }
  };
  for (let i = 0; i < n; i++) {
    images.forEach((img, k) => paint(imageRgb(img, i), i, k));
    maps.forEach((m, k) => {
      const coarse = m.data.subarray(i * grid * grid, (i + 1) * grid * grid);
      const heat = normalizeToMax(upsampleBilinear(coarse, grid, r));
      const base = imageRgb(images[Math.min(k, images.length - 1)]!, i);
      paint(blendHeat(base, heat), i, images.length + k);
    });
  }
  return encodePng(width, height, canvas);
}
