import type { Rng } from '../../util/rng.js';
import {
  box,
  circle,
  ellipse,
  minus,
  polygon,
  union,
  type Canvas,
  type Inside,
  type Point,
  type Pose,
  type Rgb,
} from '../raster.js';
import { DEMO_CLASSES, fill, hsv, jitter, type DemoClass } from '../shapes.js';

/**
 * The object concepts of the demo world (issue "A demo world..."): the 12 objects of the first demo plus 36
 * more, so the pretrained model knows far more than any downstream task asks of it. Each is a family of
 * silhouettes and colours in a unit frame; `draw` returns the colour word that describes what it drew.
 */
export interface Concept extends DemoClass {
  /** Plural for counted captions ("two small red stars"). */
  readonly plural: string;
}

type Paint = readonly [word: string, h: number, s: number, v: number];

function shade(rng: Rng, paint: Paint): Rgb {
  return jitter(rng, paint[1], paint[2], paint[3]);
}

const RED: Paint = ['red', 0, 0.85, 0.85];
const BLUE: Paint = ['blue', 220, 0.8, 0.8];
const GREEN: Paint = ['green', 120, 0.75, 0.65];
const YELLOW: Paint = ['yellow', 52, 0.85, 0.95];
const ORANGE: Paint = ['orange', 28, 0.9, 0.95];
const PURPLE: Paint = ['purple', 280, 0.65, 0.7];
const PINK: Paint = ['pink', 330, 0.45, 0.95];
const WHITE: Paint = ['white', 40, 0.05, 0.97];
const BLACK: Paint = ['black', 0, 0, 0.12];
const BROWN: Paint = ['brown', 28, 0.6, 0.45];
const GRAY: Paint = ['gray', 0, 0, 0.55];
const GOLD: Paint = ['gold', 45, 0.8, 0.85];
const CYAN: Paint = ['cyan', 185, 0.7, 0.9];
const DARK: Rgb = [0.08, 0.07, 0.06];

function regular(points: number, radius = 1, rotation = -Math.PI / 2): Point[] {
  return Array.from({ length: points }, (_, i) => {
    const a = rotation + (2 * Math.PI * i) / points;
    return [radius * Math.cos(a), radius * Math.sin(a)] as const;
  });
}

/** A thick segment from a to b (a capsule). */
function segment(ax: number, ay: number, bx: number, by: number, width: number): Inside {
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  return (x, y) => {
    const t = Math.max(0, Math.min(1, ((x - ax) * dx + (y - ay) * dy) / len2));
    return (x - ax - t * dx) ** 2 + (y - ay - t * dy) ** 2 <= (width / 2) ** 2;
  };
}

function ring(cx: number, cy: number, r: number, width: number): Inside {
  return minus(circle(cx, cy, r), circle(cx, cy, r - width));
}

/** A concept drawn in one paint picked from its palette, by one shape function. */
function painted(
  name: string,
  plural: string,
  palette: readonly Paint[],
  draw: (canvas: Canvas, rng: Rng, pose: Pose, color: Rgb) => void,
): Concept {
  return {
    name,
    plural,
    colorWords: palette.map((p) => p[0]),
    draw(canvas, rng, pose) {
      const paint = rng.pick(palette);
      draw(canvas, rng, pose, shade(rng, paint));
      return paint[0];
    },
  };
}

const PLURALS: Readonly<Record<string, string>> = {
  strawberry: 'strawberries',
  fish: 'fish',
  house: 'houses',
};

const FIRST_DEMO: readonly Concept[] = DEMO_CLASSES.map((c) => ({
  ...c,
  plural: PLURALS[c.name] ?? `${c.name}s`,
}));

const NEW_CONCEPTS: readonly Concept[] = [
  painted('ball', 'balls', [RED, BLUE, GREEN, YELLOW], (canvas, rng, pose, color) => {
    fill(canvas, pose, circle(0, 0, 0.85), color);
    fill(
      canvas,
      pose,
      minus(ring(0, 0.9, 0.75, 0.14), minus(circle(0, 0, 2), circle(0, 0, 0.85))),
      [0.95, 0.95, 0.95],
    );
    fill(canvas, pose, circle(-0.3, -0.35, 0.14), [1, 1, 1]);
  }),
  painted('cup', 'cups', [RED, BLUE, WHITE, GREEN], (canvas, _rng, pose, color) => {
    fill(canvas, pose, union(box(-0.55, -0.6, 0.35, 0.7, 0.1), ring(0.45, 0.05, 0.38, 0.13)), color);
    fill(canvas, pose, box(-0.48, -0.6, 0.28, -0.48), [0.35, 0.2, 0.1]);
  }),
  painted('key', 'keys', [GOLD, GRAY], (canvas, _rng, pose, color) => {
    fill(
      canvas,
      pose,
      union(
        ring(-0.55, 0, 0.4, 0.16),
        box(-0.18, -0.08, 0.95, 0.08),
        box(0.55, 0.05, 0.67, 0.35),
        box(0.8, 0.05, 0.92, 0.3),
      ),
      color,
    );
  }),
  painted('bell', 'bells', [GOLD, YELLOW], (canvas, _rng, pose, color) => {
    fill(
      canvas,
      pose,
      union(
        polygon([
          [-0.2, -0.8],
          [0.2, -0.8],
          [0.45, -0.3],
          [0.55, 0.45],
          [0.8, 0.6],
          [-0.8, 0.6],
          [-0.55, 0.45],
          [-0.45, -0.3],
        ]),
        circle(0, -0.85, 0.14),
      ),
      color,
    );
    fill(canvas, pose, circle(0, 0.72, 0.16), [0.3, 0.25, 0.15]);
  }),
  painted('mushroom', 'mushrooms', [RED, BROWN], (canvas, rng, pose, color) => {
    fill(canvas, pose, box(-0.22, -0.05, 0.22, 0.85, 0.08), [0.95, 0.92, 0.85]);
    fill(canvas, pose, minus(ellipse(0, 0, 0.9, 0.7), box(-1, 0, 1, 1)), color);
    for (let i = 0; i < 4; i++)
      fill(canvas, pose, circle(rng.range(-0.6, 0.6), rng.range(-0.5, -0.15), 0.1), [1, 1, 1]);
  }),
  painted('flower', 'flowers', [PINK, RED, PURPLE, YELLOW], (canvas, _rng, pose, color) => {
    fill(canvas, pose, box(-0.05, 0.2, 0.05, 1), [0.2, 0.55, 0.2]);
    const petals = regular(5, 0.45).map(([x, y]) => circle(x, y - 0.2, 0.32));
    fill(canvas, pose, union(...petals), color);
    fill(canvas, pose, circle(0, -0.2, 0.22), [0.95, 0.8, 0.15]);
  }),
  painted('leaf', 'leaves', [GREEN, ORANGE, BROWN], (canvas, _rng, pose, color) => {
    fill(
      canvas,
      pose,
      minus(circle(-0.45, 0.45, 1.05), union(circle(0.5, 1.25, 1.05), box(-2, -2, -0.75, 2))),
      color,
    );
    fill(canvas, pose, segment(-0.7, 0.75, 0.55, -0.55, 0.07), [0.25, 0.3, 0.1]);
  }),
  painted('cloud', 'clouds', [WHITE, GRAY], (canvas, _rng, pose, color) => {
    fill(
      canvas,
      pose,
      union(
        circle(-0.45, 0.1, 0.38),
        circle(0, -0.15, 0.5),
        circle(0.45, 0.1, 0.4),
        box(-0.5, 0.05, 0.5, 0.48, 0.2),
      ),
      color,
    );
  }),
  painted('kite', 'kites', [RED, BLUE, PURPLE, GREEN], (canvas, _rng, pose, color) => {
    fill(
      canvas,
      pose,
      polygon([
        [0, -0.95],
        [0.5, -0.25],
        [0, 0.5],
        [-0.5, -0.25],
      ]),
      color,
    );
    fill(canvas, pose, union(segment(0, 0.5, 0.2, 0.75, 0.05), segment(0.2, 0.75, -0.1, 0.98, 0.05)), DARK);
  }),
  painted('boat', 'boats', [RED, BLUE, BROWN], (canvas, _rng, pose, color) => {
    fill(
      canvas,
      pose,
      polygon([
        [-0.9, 0.3],
        [0.9, 0.3],
        [0.6, 0.7],
        [-0.6, 0.7],
      ]),
      color,
    );
    fill(canvas, pose, box(-0.04, -0.9, 0.04, 0.3), DARK);
    fill(
      canvas,
      pose,
      polygon([
        [0.08, -0.85],
        [0.7, 0.2],
        [0.08, 0.2],
      ]),
      [0.97, 0.97, 0.95],
    );
  }),
  painted('bird', 'birds', [BLUE, RED, YELLOW, BLACK], (canvas, _rng, pose, color) => {
    fill(canvas, pose, union(ellipse(0, 0.1, 0.6, 0.38), circle(0.5, -0.25, 0.28)), color);
    fill(
      canvas,
      pose,
      polygon([
        [0.72, -0.32],
        [1, -0.2],
        [0.72, -0.12],
      ]),
      [0.95, 0.65, 0.1],
    );
    fill(
      canvas,
      pose,
      polygon([
        [-0.55, 0.05],
        [-0.95, -0.2],
        [-0.9, 0.3],
      ]),
      color,
    );
    fill(canvas, pose, circle(0.55, -0.3, 0.06), DARK);
  }),
  painted('cat', 'cats', [ORANGE, GRAY, BLACK, WHITE], (canvas, _rng, pose, color) => {
    fill(
      canvas,
      pose,
      union(
        circle(0, 0.1, 0.7),
        polygon([
          [-0.65, -0.1],
          [-0.6, -0.9],
          [-0.15, -0.5],
        ]),
        polygon([
          [0.65, -0.1],
          [0.6, -0.9],
          [0.15, -0.5],
        ]),
      ),
      color,
    );
    fill(canvas, pose, union(ellipse(-0.25, 0, 0.1, 0.15), ellipse(0.25, 0, 0.1, 0.15)), [0.3, 0.75, 0.2]);
    fill(canvas, pose, circle(0, 0.3, 0.08), [0.9, 0.5, 0.6]);
  }),
  painted('sun', 'suns', [YELLOW, ORANGE], (canvas, _rng, pose, color) => {
    const rays = regular(8, 0.9, 0).map(([x, y]) => segment(x * 0.6, y * 0.6, x, y, 0.14));
    fill(canvas, pose, union(circle(0, 0, 0.5), ...rays), color);
  }),
  painted('lightning bolt', 'lightning bolts', [YELLOW], (canvas, _rng, pose, color) => {
    fill(
      canvas,
      pose,
      polygon([
        [0.2, -1],
        [-0.5, 0.1],
        [-0.05, 0.1],
        [-0.25, 1],
        [0.5, -0.2],
        [0.05, -0.2],
        [0.35, -1],
      ]),
      color,
    );
  }),
  painted('arrow', 'arrows', [RED, BLUE, GREEN, BLACK], (canvas, _rng, pose, color) => {
    fill(
      canvas,
      pose,
      union(
        box(-0.9, -0.13, 0.3, 0.13),
        polygon([
          [0.2, -0.5],
          [0.95, 0],
          [0.2, 0.5],
        ]),
      ),
      color,
    );
  }),
  painted('cross', 'crosses', [RED, GREEN, BLUE], (canvas, _rng, pose, color) => {
    fill(canvas, pose, union(box(-0.25, -0.8, 0.25, 0.8), box(-0.8, -0.25, 0.8, 0.25)), color);
  }),
  painted('diamond', 'diamonds', [CYAN, BLUE, PINK], (canvas, _rng, pose, color) => {
    fill(
      canvas,
      pose,
      polygon([
        [-0.75, -0.3],
        [-0.4, -0.7],
        [0.4, -0.7],
        [0.75, -0.3],
        [0, 0.85],
      ]),
      color,
    );
    fill(
      canvas,
      pose,
      polygon([
        [-0.75, -0.3],
        [0.75, -0.3],
        [0, 0.85],
      ]),
      hsv(190, 0.3, 1),
    );
  }),
  painted('ring', 'rings', [GOLD, GRAY], (canvas, _rng, pose, color) => {
    fill(canvas, pose, ring(0, 0.15, 0.7, 0.18), color);
    fill(
      canvas,
      pose,
      polygon([
        [-0.2, -0.55],
        [0.2, -0.55],
        [0.28, -0.75],
        [0, -0.98],
        [-0.28, -0.75],
      ]),
      hsv(190, 0.4, 1),
    );
  }),
  painted('hat', 'hats', [BLACK, BROWN, BLUE], (canvas, _rng, pose, color) => {
    fill(canvas, pose, union(box(-0.95, 0.35, 0.95, 0.55, 0.08), box(-0.5, -0.75, 0.5, 0.4, 0.06)), color);
    fill(canvas, pose, box(-0.5, 0.12, 0.5, 0.3), [0.8, 0.15, 0.15]);
  }),
  painted('shirt', 'shirts', [RED, BLUE, GREEN, WHITE, YELLOW], (canvas, _rng, pose, color) => {
    fill(
      canvas,
      pose,
      polygon([
        [-0.3, -0.8],
        [0.3, -0.8],
        [0.95, -0.4],
        [0.75, -0.05],
        [0.5, -0.2],
        [0.5, 0.85],
        [-0.5, 0.85],
        [-0.5, -0.2],
        [-0.75, -0.05],
        [-0.95, -0.4],
      ]),
      color,
    );
  }),
  painted('bottle', 'bottles', [GREEN, BROWN, BLUE], (canvas, _rng, pose, color) => {
    fill(canvas, pose, union(box(-0.35, -0.25, 0.35, 0.95, 0.12), box(-0.12, -0.9, 0.12, -0.2)), color);
    fill(canvas, pose, box(-0.3, 0.15, 0.3, 0.5), [0.95, 0.92, 0.8]);
  }),
  painted('candle', 'candles', [WHITE, RED, BLUE], (canvas, _rng, pose, color) => {
    fill(canvas, pose, box(-0.25, -0.3, 0.25, 0.95), color);
    fill(canvas, pose, ellipse(0, -0.62, 0.15, 0.3), [1, 0.7, 0.1]);
    fill(canvas, pose, ellipse(0, -0.55, 0.07, 0.15), [1, 0.95, 0.6]);
  }),
  painted('clock', 'clocks', [WHITE, YELLOW], (canvas, _rng, pose, color) => {
    fill(canvas, pose, circle(0, 0, 0.9), DARK);
    fill(canvas, pose, circle(0, 0, 0.78), color);
    fill(canvas, pose, union(segment(0, 0, 0, -0.6, 0.1), segment(0, 0, 0.42, 0.1, 0.1)), DARK);
  }),
  painted('lamp', 'lamps', [YELLOW, WHITE, GREEN], (canvas, _rng, pose, color) => {
    fill(
      canvas,
      pose,
      polygon([
        [-0.3, -0.85],
        [0.3, -0.85],
        [0.6, -0.2],
        [-0.6, -0.2],
      ]),
      color,
    );
    fill(canvas, pose, union(box(-0.05, -0.2, 0.05, 0.75), box(-0.45, 0.75, 0.45, 0.9)), [0.25, 0.22, 0.2]);
  }),
  painted('chair', 'chairs', [BROWN, RED, BLUE], (canvas, _rng, pose, color) => {
    fill(
      canvas,
      pose,
      union(
        box(-0.5, -0.9, -0.35, 0.9),
        box(-0.5, 0.05, 0.55, 0.2),
        box(0.4, 0.05, 0.55, 0.9),
        box(-0.5, -0.9, 0.1, -0.75),
      ),
      color,
    );
  }),
  painted('table', 'tables', [BROWN, WHITE], (canvas, _rng, pose, color) => {
    fill(
      canvas,
      pose,
      union(box(-0.95, -0.3, 0.95, -0.12), box(-0.8, -0.15, -0.65, 0.75), box(0.65, -0.15, 0.8, 0.75)),
      color,
    );
  }),
  painted('bus', 'buses', [YELLOW, RED], (canvas, _rng, pose, color) => {
    fill(canvas, pose, box(-0.95, -0.5, 0.95, 0.45, 0.1), color);
    for (let i = 0; i < 4; i++)
      fill(canvas, pose, box(-0.8 + i * 0.42, -0.38, -0.5 + i * 0.42, -0.08), hsv(200, 0.3, 0.9));
    fill(canvas, pose, union(circle(-0.55, 0.48, 0.18), circle(0.55, 0.48, 0.18)), DARK);
  }),
  painted('rocket', 'rockets', [WHITE, RED, GRAY], (canvas, _rng, pose, color) => {
    fill(canvas, pose, union(ellipse(0, -0.1, 0.3, 0.85)), color);
    fill(
      canvas,
      pose,
      union(
        polygon([
          [-0.28, 0.3],
          [-0.6, 0.85],
          [-0.2, 0.65],
        ]),
        polygon([
          [0.28, 0.3],
          [0.6, 0.85],
          [0.2, 0.65],
        ]),
      ),
      [0.85, 0.15, 0.1],
    );
    fill(canvas, pose, circle(0, -0.25, 0.14), hsv(200, 0.6, 0.9));
  }),
  painted('airplane', 'airplanes', [WHITE, GRAY, BLUE], (canvas, _rng, pose, color) => {
    fill(
      canvas,
      pose,
      union(
        ellipse(0, 0, 0.95, 0.14),
        polygon([
          [-0.1, 0],
          [0.25, 0],
          [-0.25, -0.8],
          [-0.4, -0.8],
        ]),
        polygon([
          [-0.1, 0],
          [0.25, 0],
          [-0.25, 0.8],
          [-0.4, 0.8],
        ]),
        polygon([
          [-0.95, 0],
          [-0.7, 0],
          [-0.85, -0.4],
          [-0.95, -0.4],
        ]),
      ),
      color,
    );
  }),
  painted('snowman', 'snowmen', [WHITE], (canvas, _rng, pose, color) => {
    fill(canvas, pose, union(circle(0, 0.5, 0.45), circle(0, -0.1, 0.33), circle(0, -0.55, 0.24)), color);
    fill(
      canvas,
      pose,
      union(circle(-0.08, -0.6, 0.04), circle(0.08, -0.6, 0.04), circle(0, -0.1, 0.05), circle(0, 0.1, 0.05)),
      DARK,
    );
    fill(canvas, pose, ellipse(0.12, -0.52, 0.12, 0.04), [1, 0.5, 0.1]);
  }),
  painted('pumpkin', 'pumpkins', [ORANGE], (canvas, _rng, pose, color) => {
    fill(
      canvas,
      pose,
      union(ellipse(-0.4, 0.1, 0.45, 0.65), ellipse(0.4, 0.1, 0.45, 0.65), ellipse(0, 0.1, 0.5, 0.7)),
      color,
    );
    fill(
      canvas,
      pose,
      union(segment(-0.22, -0.35, -0.22, 0.6, 0.05), segment(0.22, -0.35, 0.22, 0.6, 0.05)),
      hsv(25, 0.9, 0.6),
    );
    fill(canvas, pose, box(-0.08, -0.85, 0.08, -0.5), [0.3, 0.45, 0.15]);
  }),
  painted('cherry', 'cherries', [RED], (canvas, _rng, pose, color) => {
    fill(
      canvas,
      pose,
      union(segment(-0.35, 0.35, 0.1, -0.8, 0.06), segment(0.4, 0.3, 0.1, -0.8, 0.06)),
      [0.3, 0.45, 0.15],
    );
    fill(canvas, pose, union(circle(-0.4, 0.5, 0.35), circle(0.42, 0.45, 0.35)), color);
  }),
  painted('grapes', 'bunches of grapes', [PURPLE, GREEN], (canvas, _rng, pose, color) => {
    const berries: Inside[] = [];
    for (let row = 0; row < 4; row++)
      for (let i = 0; i <= 3 - row; i++)
        berries.push(circle((i - (3 - row) / 2) * 0.38, -0.4 + row * 0.33, 0.2));
    fill(canvas, pose, union(...berries), color);
    fill(canvas, pose, box(-0.04, -0.85, 0.04, -0.55), [0.35, 0.25, 0.1]);
  }),
  painted('carrot', 'carrots', [ORANGE], (canvas, _rng, pose, color) => {
    fill(
      canvas,
      pose,
      polygon([
        [-0.28, -0.5],
        [0.28, -0.5],
        [0, 0.95],
      ]),
      color,
    );
    fill(
      canvas,
      pose,
      union(
        segment(0, -0.5, -0.3, -0.95, 0.12),
        segment(0, -0.5, 0.3, -0.95, 0.12),
        segment(0, -0.5, 0, -1, 0.12),
      ),
      [0.2, 0.6, 0.2],
    );
  }),
  painted('egg', 'eggs', [WHITE, BROWN], (canvas, _rng, pose, color) => {
    fill(canvas, pose, union(ellipse(0, 0.15, 0.55, 0.62), ellipse(0, -0.1, 0.45, 0.75)), color);
  }),
  painted('butterfly', 'butterflies', [BLUE, ORANGE, PURPLE, YELLOW], (canvas, _rng, pose, color) => {
    fill(
      canvas,
      pose,
      union(
        ellipse(-0.45, -0.3, 0.42, 0.38),
        ellipse(0.45, -0.3, 0.42, 0.38),
        ellipse(-0.35, 0.35, 0.3, 0.28),
        ellipse(0.35, 0.35, 0.3, 0.28),
      ),
      color,
    );
    fill(canvas, pose, ellipse(0, 0, 0.08, 0.6), DARK);
  }),
];

export const WORLD_CONCEPTS: readonly Concept[] = [...FIRST_DEMO, ...NEW_CONCEPTS];
