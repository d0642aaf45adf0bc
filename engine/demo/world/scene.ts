import type { Rng } from '../../util/rng.js';
import { BACKGROUNDS, mix, withArticle, type Background } from '../demo-dataset.js';
import { Canvas, circle, type Pose } from '../raster.js';
import { hsv } from '../shapes.js';
import type { Concept } from './concepts.js';

/**
 * One captioned scene of the demo world: one to three objects of a concept (sometimes a second concept
 * beside it) with attributes a caption composes: count, size, colour, position, background and style
 * ("two small red stars on a striped background", "a drawing of a cup on the left").
 */
export interface Scene {
  readonly bytes: Uint8Array;
  readonly caption: string;
  /** The concept the caption is about first (the dataset label). */
  readonly concept: Concept;
}

export type SceneStyle = 'photo' | 'drawing' | 'black and white photo' | 'painting';

export interface SceneOptions {
  readonly size: number;
  readonly concept: Concept;
  /** Other concepts that may appear as a second object. */
  readonly others: readonly Concept[];
  /** Allow counts, styles and second objects (the corpus); a task image is one photo of one object. */
  readonly varied: boolean;
}

const EXTRA_BACKGROUNDS: readonly Background[] = [
  {
    word: 'water',
    paint(canvas, rng) {
      const deep = hsv(rng.range(195, 215), rng.range(0.6, 0.85), rng.range(0.45, 0.65));
      const light = hsv(rng.range(185, 200), rng.range(0.3, 0.5), rng.range(0.75, 0.9));
      const period = rng.range(5, 10);
      canvas.paint((x, y) => mix(deep, light, 0.5 + 0.5 * Math.sin((y + 2 * Math.sin(x / 4)) / period)));
    },
  },
  {
    word: 'sand',
    paint(canvas, rng) {
      const c = hsv(rng.range(35, 48), rng.range(0.3, 0.5), rng.range(0.75, 0.92));
      canvas.paint(() => c);
      for (let i = 0; i < canvas.data.length; i++)
        canvas.data[i] = (canvas.data[i] as number) + (rng.uniform() - 0.5) * 0.12;
    },
  },
  {
    word: 'checkered',
    paint(canvas, rng) {
      const a = hsv(rng.range(0, 360), rng.range(0, 0.3), rng.range(0.75, 0.95));
      const b = hsv(rng.range(0, 360), rng.range(0, 0.3), rng.range(0.35, 0.6));
      const cell = rng.range(5, 11);
      canvas.paint((x, y) => ((Math.floor(x / cell) + Math.floor(y / cell)) % 2 === 0 ? a : b));
    },
  },
  {
    word: 'white',
    paint(canvas, rng) {
      const v = rng.range(0.9, 1);
      canvas.paint(() => [v, v, v * rng.range(0.97, 1)]);
    },
  },
];

export const WORLD_BACKGROUNDS: readonly Background[] = [...BACKGROUNDS, ...EXTRA_BACKGROUNDS];

const COUNT_WORDS = ['', 'one', 'two', 'three'] as const;

interface Placed {
  readonly pose: Pose;
  readonly color: string;
}

function placeObjects(rng: Rng, size: number, count: number, big: boolean): Pose[] {
  if (count === 1) {
    const scale = (big ? rng.range(0.3, 0.38) : rng.range(0.17, 0.25)) * size;
    const margin = scale / size + 0.05;
    return [
      {
        cx: size * rng.range(margin, 1 - margin),
        cy: size * rng.range(margin, 1 - margin),
        scale,
        angle: rng.range(-0.6, 0.6),
      },
    ];
  }
  // Several objects: one per cell of a row, so they do not hide each other.
  const cell = size / count;
  const scale = (big ? 0.4 : 0.3) * cell;
  const cy = size * rng.range(0.35, 0.65);
  return Array.from({ length: count }, (_, i) => ({
    cx: cell * (i + 0.5) + rng.range(-0.1, 0.1) * cell,
    cy: cy + rng.range(-0.12, 0.12) * size,
    scale,
    angle: rng.range(-0.5, 0.5),
  }));
}

function positionWords(pose: Pose, size: number): string {
  const x = pose.cx / size;
  const y = pose.cy / size;
  if (Math.abs(x - 0.5) < 0.12 && Math.abs(y - 0.5) < 0.12) return 'in the center';
  if (Math.abs(x - 0.5) >= Math.abs(y - 0.5)) return x < 0.5 ? 'on the left' : 'on the right';
  return y < 0.5 ? 'at the top' : 'at the bottom';
}

function stylise(canvas: Canvas, style: SceneStyle, rng: Rng): void {
  const d = canvas.data;
  if (style === 'black and white photo') {
    for (let i = 0; i < d.length; i += 3) {
      const g = 0.299 * (d[i] as number) + 0.587 * (d[i + 1] as number) + 0.114 * (d[i + 2] as number);
      d[i] = g;
      d[i + 1] = g;
      d[i + 2] = g;
    }
  } else if (style === 'painting') {
    // Posterised colours with brush-like blotches.
    const levels = 5;
    const phase = rng.range(0, 6.28);
    for (let p = 0; p < d.length / 3; p++) {
      const x = p % canvas.width;
      const y = Math.floor(p / canvas.width);
      const blotch = 0.06 * Math.sin(x * 0.9 + phase) * Math.cos(y * 0.7 - phase);
      for (let c = 0; c < 3; c++) {
        const v = (d[p * 3 + c] as number) + blotch;
        d[p * 3 + c] = Math.round(v * levels) / levels;
      }
    }
  }
}

/** Renders a scene from its own random stream; the same stream gives the same bytes on every machine. */
export function renderScene(rng: Rng, options: SceneOptions): Scene {
  const { size, concept } = options;
  const style: SceneStyle = options.varied
    ? rng.pick<SceneStyle>(['photo', 'photo', 'photo', 'drawing', 'black and white photo', 'painting'])
    : 'photo';
  const count = options.varied ? rng.pick([1, 1, 1, 1, 2, 3]) : 1;
  const big = rng.uniform() < 0.5;
  const canvas = new Canvas(size, size);
  const background =
    style === 'drawing'
      ? (WORLD_BACKGROUNDS.find((b) => b.word === 'white') as Background)
      : rng.pick(WORLD_BACKGROUNDS);
  background.paint(canvas, rng);
  if (style !== 'drawing') {
    for (let i = rng.int(3); i > 0; i--) {
      canvas.fill(
        circle(rng.range(0, size), rng.range(0, size), rng.range(0.04, 0.08) * size),
        hsv(rng.range(0, 360), rng.range(0.2, 0.9), rng.range(0.3, 1)),
      );
    }
  }
  const second =
    options.varied && count === 1 && options.others.length > 0 && rng.uniform() < 0.2
      ? rng.pick(options.others)
      : null;
  const poses = placeObjects(rng, size, second ? 2 : count, second ? false : big);
  const placed: Placed[] = poses
    .slice(0, count)
    .map((pose) => ({ pose, color: concept.draw(canvas, rng, pose) }));
  const secondColor = second ? second.draw(canvas, rng, poses[1] as Pose) : '';
  stylise(canvas, style, rng);
  const noise = style === 'drawing' ? 0.005 : 0.02;
  for (let i = 0; i < canvas.data.length; i++)
    canvas.data[i] = (canvas.data[i] as number) + rng.normal() * noise;

  const first = placed[0] as Placed;
  const colorWord = style === 'black and white photo' ? '' : first.color;
  const words: string[] = [];
  if (!second && rng.uniform() < 0.4) words.push(big ? 'big' : 'small');
  if (colorWord && rng.uniform() < 0.6) words.push(colorWord);
  words.push(count > 1 ? concept.plural : concept.name);
  const noun = words.join(' ');
  let subject = count > 1 ? `${COUNT_WORDS[count]} ${noun}` : withArticle(noun);
  if (second) {
    const secondWords =
      secondColor && style !== 'black and white photo' && rng.uniform() < 0.5
        ? `${secondColor} ${second.name}`
        : second.name;
    subject += ` and ${withArticle(secondWords)}`;
  }
  const suffixes: string[] = [];
  if (count === 1 && !second && rng.uniform() < 0.3) suffixes.push(positionWords(first.pose, size));
  if (style !== 'drawing' && rng.uniform() < 0.4)
    suffixes.push(`on ${withArticle(background.word)} background`);
  const prefix =
    style === 'photo' ? rng.pick(['a photo of ', 'a picture of ', '', '']) : `${withArticle(style)} of `;
  const caption = `${prefix}${[subject, ...suffixes].join(' ')}.`;
  return { bytes: canvas.toBytes(), caption, concept };
}
