/**
 * A tiny deterministic rasterizer for the demo dataset: shapes are inside-tests in image coordinates,
 * drawn in order with supersampled coverage (anti-aliasing). Pure arithmetic, so the same code gives the
 * same pixels on every machine.
 */
export type Rgb = readonly [number, number, number];
export type Point = readonly [number, number];
/** True when (x, y), in pixels, is inside the shape. */
export type Inside = (x: number, y: number) => boolean;

export class Canvas {
  readonly data: Float32Array;

  constructor(
    readonly width: number,
    readonly height: number,
    private readonly samples = 4,
  ) {
    this.data = new Float32Array(width * height * 3);
  }

  /** Fills every pixel with a colour computed from its centre (backgrounds, gradients, textures). */
  paint(color: (x: number, y: number) => Rgb): void {
    for (let y = 0; y < this.height; y++) {
      for (let x = 0; x < this.width; x++) {
        const c = color(x + 0.5, y + 0.5);
        const o = (y * this.width + x) * 3;
        this.data[o] = c[0];
        this.data[o + 1] = c[1];
        this.data[o + 2] = c[2];
      }
    }
  }

  /** Blends a solid colour over the shape with its per-pixel coverage. */
  fill(inside: Inside, color: Rgb, bounds?: readonly [number, number, number, number]): void {
    const [x0, y0, x1, y1] = bounds ?? [0, 0, this.width, this.height];
    const s = this.samples;
    const xa = Math.max(0, Math.floor(x0));
    const ya = Math.max(0, Math.floor(y0));
    const xb = Math.min(this.width, Math.ceil(x1));
    const yb = Math.min(this.height, Math.ceil(y1));
    for (let y = ya; y < yb; y++) {
      for (let x = xa; x < xb; x++) {
        let hits = 0;
        for (let sy = 0; sy < s; sy++) {
          for (let sx = 0; sx < s; sx++) if (inside(x + (sx + 0.5) / s, y + (sy + 0.5) / s)) hits++;
        }
        if (hits === 0) continue;
        const a = hits / (s * s);
        const o = (y * this.width + x) * 3;
        for (let c = 0; c < 3; c++)
          this.data[o + c] = (this.data[o + c] as number) * (1 - a) + (color[c] as number) * a;
      }
    }
  }

  /** 8-bit RGB, HWC. */
  toBytes(): Uint8Array {
    const out = new Uint8Array(this.data.length);
    for (let i = 0; i < out.length; i++)
      out[i] = Math.max(0, Math.min(255, Math.round((this.data[i] as number) * 255)));
    return out;
  }
}

/** A placement: centre, scale (pixels per unit) and rotation; shapes are defined in unit coordinates. */
export interface Pose {
  readonly cx: number;
  readonly cy: number;
  readonly scale: number;
  readonly angle: number;
}

/** Maps an image point into the unit frame of a pose. */
export function toLocal(pose: Pose, x: number, y: number): Point {
  const dx = (x - pose.cx) / pose.scale;
  const dy = (y - pose.cy) / pose.scale;
  const c = Math.cos(-pose.angle);
  const s = Math.sin(-pose.angle);
  return [dx * c - dy * s, dx * s + dy * c];
}

export function posed(pose: Pose, local: Inside): Inside {
  return (x, y) => {
    const [u, v] = toLocal(pose, x, y);
    return local(u, v);
  };
}

export const circle =
  (cx: number, cy: number, r: number): Inside =>
  (x, y) =>
    (x - cx) ** 2 + (y - cy) ** 2 <= r * r;

export const ellipse =
  (cx: number, cy: number, rx: number, ry: number): Inside =>
  (x, y) =>
    ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1;

export const box =
  (x0: number, y0: number, x1: number, y1: number, radius = 0): Inside =>
  (x, y) => {
    if (x < x0 || x > x1 || y < y0 || y > y1) return false;
    if (radius <= 0) return true;
    const qx = Math.max(x0 + radius - x, 0, x - (x1 - radius));
    const qy = Math.max(y0 + radius - y, 0, y - (y1 - radius));
    return qx * qx + qy * qy <= radius * radius;
  };

/** Even-odd polygon test. */
export const polygon =
  (points: readonly Point[]): Inside =>
  (x, y) => {
    let inside = false;
    for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
      const [xi, yi] = points[i] as Point;
      const [xj, yj] = points[j] as Point;
      if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  };

export const union =
  (...parts: Inside[]): Inside =>
  (x, y) =>
    parts.some((p) => p(x, y));

export const minus =
  (a: Inside, b: Inside): Inside =>
  (x, y) =>
    a(x, y) && !b(x, y);

/** Bounding square of a pose whose shape fits in the unit disc of the given radius. */
export function poseBounds(pose: Pose, radius = 1.5): [number, number, number, number] {
  const r = pose.scale * radius;
  return [pose.cx - r, pose.cy - r, pose.cx + r, pose.cy + r];
}
