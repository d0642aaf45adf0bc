import type { Rng } from '../util/rng.js';
import {
  box,
  circle,
  ellipse,
  minus,
  polygon,
  posed,
  poseBounds,
  union,
  type Canvas,
  type Point,
  type Pose,
  type Rgb,
} from './raster.js';

/**
 * The demo classes: objects a CLIP prompt fits ("a photo of a banana."), each drawn from a family of
 * shapes and colours so a classifier has to learn both. Several pairs share a colour (banana/star/moon,
 * apple/strawberry/heart) or a silhouette (banana/moon, orange/apple), so neither cue alone suffices.
 */
export interface DemoClass {
  readonly name: string;
  /** Words that may describe it in captions. */
  readonly colorWords: readonly string[];
  draw(canvas: Canvas, rng: Rng, pose: Pose): string;
}

/** HSV (h in degrees, s and v in [0,1]) to RGB in [0,1]. */
export function hsv(h: number, s: number, v: number): Rgb {
  const hh = (((h % 360) + 360) % 360) / 60;
  const c = v * s;
  const x = c * (1 - Math.abs((hh % 2) - 1));
  const m = v - c;
  const [r, g, b] =
    hh < 1
      ? [c, x, 0]
      : hh < 2
        ? [x, c, 0]
        : hh < 3
          ? [0, c, x]
          : hh < 4
            ? [0, x, c]
            : hh < 5
              ? [x, 0, c]
              : [c, 0, x];
  return [r + m, g + m, b + m];
}

/** A colour near (h, s, v), drawn from the rng (hue +-dh degrees, saturation and value a little). */
export function jitter(rng: Rng, h: number, s: number, v: number, dh = 8): Rgb {
  return hsv(h + rng.range(-dh, dh), clamp01(s + rng.range(-0.12, 0.08)), clamp01(v + rng.range(-0.15, 0.1)));
}

function clamp01(v: number): number {
  return Math.min(1, Math.max(0, v));
}

function starPoints(points: number, inner: number): Point[] {
  const out: Point[] = [];
  for (let i = 0; i < points * 2; i++) {
    const r = i % 2 === 0 ? 1 : inner;
    const a = (Math.PI * i) / points - Math.PI / 2;
    out.push([r * Math.cos(a), r * Math.sin(a)]);
  }
  return out;
}

function heartPoints(): Point[] {
  const out: Point[] = [];
  for (let i = 0; i < 48; i++) {
    const t = (2 * Math.PI * i) / 48;
    const x = 16 * Math.sin(t) ** 3;
    const y = 13 * Math.cos(t) - 5 * Math.cos(2 * t) - 2 * Math.cos(3 * t) - Math.cos(4 * t);
    out.push([x / 17, -y / 17 + 0.1]);
  }
  return out;
}
const HEART = heartPoints();

/** Fills a shape given in a pose's unit frame. */
export const fill = (
  canvas: Canvas,
  pose: Pose,
  shape: (x: number, y: number) => boolean,
  color: Rgb,
): void => canvas.fill(posed(pose, shape), color, poseBounds(pose));

export const DEMO_CLASSES: readonly DemoClass[] = [
  {
    name: 'banana',
    colorWords: ['yellow', 'ripe yellow'],
    draw(canvas, rng, pose) {
      const body = minus(circle(0, 0, 0.95), circle(0.25, -0.3, 0.9));
      fill(canvas, pose, body, jitter(rng, 52, 0.85, 0.95));
      fill(
        canvas,
        pose,
        minus(circle(-0.62, 0.7, 0.12), circle(0.25, -0.3, 0.9)),
        jitter(rng, 30, 0.7, 0.35),
      );
      return 'yellow';
    },
  },
  {
    name: 'apple',
    colorWords: ['red', 'green'],
    draw(canvas, rng, pose) {
      const green = rng.uniform() < 0.3;
      const body = union(circle(-0.32, 0.05, 0.62), circle(0.32, 0.05, 0.62), circle(0, 0.3, 0.55));
      fill(canvas, pose, body, green ? jitter(rng, 95, 0.75, 0.75) : jitter(rng, 2, 0.85, 0.8));
      fill(canvas, pose, box(-0.06, -0.85, 0.06, -0.45), jitter(rng, 28, 0.7, 0.35));
      fill(canvas, pose, ellipse(0.25, -0.7, 0.22, 0.1), jitter(rng, 120, 0.8, 0.6));
      return green ? 'green' : 'red';
    },
  },
  {
    name: 'orange',
    colorWords: ['orange'],
    draw(canvas, rng, pose) {
      fill(canvas, pose, circle(0, 0, 0.85), jitter(rng, 30, 0.9, 0.95));
      fill(canvas, pose, circle(0.25, -0.25, 0.18), jitter(rng, 35, 0.6, 1));
      fill(canvas, pose, ellipse(0, -0.82, 0.12, 0.08), jitter(rng, 110, 0.7, 0.5));
      return 'orange';
    },
  },
  {
    name: 'strawberry',
    colorWords: ['red'],
    draw(canvas, rng, pose) {
      const body = union(
        polygon([
          [-0.75, -0.3],
          [0.75, -0.3],
          [0, 0.95],
        ]),
        circle(-0.38, -0.3, 0.38),
        circle(0.38, -0.3, 0.38),
      );
      fill(canvas, pose, body, jitter(rng, 355, 0.85, 0.85));
      for (let i = 0; i < 7; i++) {
        fill(
          canvas,
          pose,
          circle(rng.range(-0.35, 0.35), rng.range(-0.2, 0.4), 0.06),
          jitter(rng, 55, 0.5, 1),
        );
      }
      fill(
        canvas,
        pose,
        polygon(starPoints(5, 0.45).map(([x, y]) => [x * 0.45, y * 0.25 - 0.62] as const)),
        jitter(rng, 120, 0.8, 0.6),
      );
      return 'red';
    },
  },
  {
    name: 'tree',
    colorWords: ['green'],
    draw(canvas, rng, pose) {
      fill(canvas, pose, box(-0.14, 0.1, 0.14, 1), jitter(rng, 25, 0.7, 0.4));
      const pine = rng.uniform() < 0.4;
      const crown = pine
        ? polygon([
            [0, -1],
            [0.7, 0.4],
            [-0.7, 0.4],
          ])
        : union(circle(0, -0.3, 0.55), circle(-0.35, -0.05, 0.4), circle(0.35, -0.05, 0.4));
      fill(canvas, pose, crown, jitter(rng, pine ? 140 : 110, 0.75, 0.6, 15));
      return 'green';
    },
  },
  {
    name: 'house',
    colorWords: ['white', 'blue', 'brown'],
    draw(canvas, rng, pose) {
      const wall = rng.pick<[string, number, number, number]>([
        ['white', 40, 0.08, 0.95],
        ['blue', 215, 0.55, 0.8],
        ['brown', 28, 0.55, 0.55],
      ]);
      fill(canvas, pose, box(-0.65, -0.1, 0.65, 0.85), jitter(rng, wall[1], wall[2], wall[3]));
      fill(
        canvas,
        pose,
        polygon([
          [-0.85, -0.05],
          [0, -0.85],
          [0.85, -0.05],
        ]),
        jitter(rng, 8, 0.75, 0.6),
      );
      fill(canvas, pose, box(-0.15, 0.35, 0.15, 0.85), jitter(rng, 25, 0.6, 0.3));
      fill(canvas, pose, box(0.3, 0.1, 0.52, 0.32), jitter(rng, 200, 0.3, 0.95));
      return wall[0];
    },
  },
  {
    name: 'car',
    colorWords: ['red', 'blue', 'black', 'white'],
    draw(canvas, rng, pose) {
      const paint = rng.pick<[string, number, number, number]>([
        ['red', 0, 0.85, 0.85],
        ['blue', 220, 0.8, 0.8],
        ['black', 0, 0, 0.15],
        ['white', 0, 0, 0.95],
      ]);
      const color = jitter(rng, paint[1], paint[2], paint[3]);
      fill(canvas, pose, box(-0.95, -0.1, 0.95, 0.4, 0.12), color);
      fill(canvas, pose, box(-0.5, -0.5, 0.45, 0, 0.15), color);
      fill(canvas, pose, box(-0.38, -0.4, 0.33, -0.08, 0.05), jitter(rng, 200, 0.3, 0.9));
      fill(canvas, pose, union(circle(-0.55, 0.42, 0.22), circle(0.55, 0.42, 0.22)), [0.08, 0.08, 0.08]);
      return paint[0];
    },
  },
  {
    name: 'fish',
    colorWords: ['orange', 'blue'],
    draw(canvas, rng, pose) {
      const blue = rng.uniform() < 0.4;
      const color = blue ? jitter(rng, 205, 0.75, 0.85) : jitter(rng, 25, 0.9, 0.95);
      fill(canvas, pose, ellipse(-0.1, 0, 0.65, 0.38), color);
      fill(
        canvas,
        pose,
        polygon([
          [0.45, 0],
          [0.95, -0.4],
          [0.95, 0.4],
        ]),
        color,
      );
      fill(canvas, pose, circle(-0.45, -0.08, 0.08), [0.05, 0.05, 0.05]);
      return blue ? 'blue' : 'orange';
    },
  },
  {
    name: 'star',
    colorWords: ['yellow', 'gold'],
    draw(canvas, rng, pose) {
      fill(canvas, pose, polygon(starPoints(5, rng.range(0.38, 0.5))), jitter(rng, 48, 0.85, 0.95));
      return 'yellow';
    },
  },
  {
    name: 'heart',
    colorWords: ['red', 'pink'],
    draw(canvas, rng, pose) {
      const pink = rng.uniform() < 0.35;
      fill(canvas, pose, polygon(HEART), pink ? jitter(rng, 330, 0.45, 0.95) : jitter(rng, 355, 0.85, 0.85));
      return pink ? 'pink' : 'red';
    },
  },
  {
    name: 'moon',
    colorWords: ['pale yellow', 'white'],
    draw(canvas, rng, pose) {
      fill(canvas, pose, minus(circle(0, 0, 0.85), circle(0.42, -0.1, 0.72)), jitter(rng, 55, 0.3, 0.95));
      return 'pale yellow';
    },
  },
  {
    name: 'umbrella',
    colorWords: ['red', 'blue', 'purple'],
    draw(canvas, rng, pose) {
      const c = rng.pick<[string, number]>([
        ['red', 0],
        ['blue', 220],
        ['purple', 280],
      ]);
      const canopy = minus(circle(0, 0, 0.9), box(-1, 0, 1, 1));
      const scallops = union(circle(-0.6, 0, 0.3), circle(0, 0, 0.3), circle(0.6, 0, 0.3));
      fill(canvas, pose, minus(canopy, scallops), jitter(rng, c[1], 0.8, 0.8));
      fill(canvas, pose, box(-0.05, -0.05, 0.05, 0.8), [0.15, 0.12, 0.1]);
      fill(canvas, pose, minus(circle(-0.15, 0.8, 0.16), circle(-0.15, 0.8, 0.08)), [0.15, 0.12, 0.1]);
      return c[0];
    },
  },
];
