import { createHash } from 'node:crypto';
import { Rng } from '../util/rng.js';
import { encodePng } from './png.js';
import { writeGeneratedDataset, type GeneratedImage } from './write-dataset.js';
import { Canvas, circle, type Rgb } from './raster.js';
import { DEMO_CLASSES, hsv, type DemoClass } from './shapes.js';

/**
 * The built-in demo dataset: procedurally drawn objects on varied backgrounds, with captions, generated
 * deterministically (seeded per image) into an ImageFolder layout with a captions CSV.
 */
export const DEMO_DATASET_VERSION = 1;
export const DEMO_IMAGE_SIZE = 32;
export const DEMO_TRAIN_PER_CLASS = 250;
export const DEMO_TEST_PER_CLASS = 60;
const SEED = 20261121;

export type DemoImage = GeneratedImage;

export interface Background {
  readonly word: string;
  paint(canvas: Canvas, rng: Rng): void;
}

export const BACKGROUNDS: readonly Background[] = [
  {
    word: 'blue sky',
    paint(canvas, rng) {
      const top = hsv(rng.range(195, 220), rng.range(0.4, 0.7), rng.range(0.8, 1));
      const bottom = hsv(rng.range(195, 220), rng.range(0.1, 0.3), 1);
      canvas.paint((_x, y) => mix(top, bottom, y / canvas.height));
    },
  },
  {
    word: 'grass',
    paint(canvas, rng) {
      const sky = hsv(rng.range(190, 215), rng.range(0.2, 0.5), rng.range(0.85, 1));
      const grass = hsv(rng.range(85, 125), rng.range(0.5, 0.8), rng.range(0.4, 0.7));
      const horizon = rng.range(0.45, 0.8) * canvas.height;
      canvas.paint((_x, y) => (y < horizon ? sky : grass));
    },
  },
  {
    word: 'dark',
    paint(canvas, rng) {
      const c = hsv(rng.range(200, 260), rng.range(0.3, 0.7), rng.range(0.08, 0.25));
      canvas.paint(() => c);
    },
  },
  {
    word: 'gray',
    paint(canvas, rng) {
      const v = rng.range(0.35, 0.75);
      canvas.paint(() => [v, v, v]);
    },
  },
  {
    word: 'striped',
    paint(canvas, rng) {
      const a = hsv(rng.range(0, 360), rng.range(0.1, 0.4), rng.range(0.6, 0.95));
      const b = hsv(rng.range(0, 360), rng.range(0.1, 0.4), rng.range(0.4, 0.8));
      const period = rng.range(4, 9);
      const angle = rng.range(0, Math.PI);
      canvas.paint((x, y) =>
        Math.sin(((x * Math.cos(angle) + y * Math.sin(angle)) * 2 * Math.PI) / period) > 0 ? a : b,
      );
    },
  },
  {
    word: 'colorful',
    paint(canvas, rng) {
      const a = hsv(rng.range(0, 360), rng.range(0.3, 0.8), rng.range(0.5, 1));
      const b = hsv(rng.range(0, 360), rng.range(0.3, 0.8), rng.range(0.5, 1));
      canvas.paint((x, y) => mix(a, b, (x + y) / (canvas.width + canvas.height)));
    },
  },
];

export function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] * (1 - t) + b[0] * t, a[1] * (1 - t) + b[1] * t, a[2] * (1 - t) + b[2] * t];
}

/** "a" or "an" before a word, as a caption writer would. */
export function withArticle(phrase: string): string {
  return `${/^[aeiou]/i.test(phrase) ? 'an' : 'a'} ${phrase}`;
}

interface CaptionParts {
  readonly name: string;
  readonly color: string;
  readonly bg: string;
  readonly size: string;
  readonly side: string;
}

const TEMPLATES: readonly ((c: CaptionParts) => string)[] = [
  (c) => `a photo of ${withArticle(c.name)}.`,
  (c) => `${withArticle(`${c.color} ${c.name}`)}.`,
  (c) => `a photo of ${withArticle(`${c.color} ${c.name}`)} on ${withArticle(c.bg)} background.`,
  (c) => `${withArticle(`${c.size} ${c.name}`)}.`,
  (c) => `a drawing of ${withArticle(c.name)}.`,
  (c) => `a picture of ${withArticle(c.name)} on the ${c.side}.`,
  (c) => `${withArticle(c.name)} in front of ${withArticle(c.bg)} background.`,
  (c) => `a close-up photo of the ${c.name}.`,
];

function seedFor(split: string, classIndex: number, index: number): number {
  const h = createHash('sha256').update(`${SEED}:${split}:${classIndex}:${index}`).digest();
  return h.readUInt32LE(0);
}

export function renderDemoImage(
  cls: DemoClass,
  classIndex: number,
  split: 'train' | 'test',
  index: number,
): DemoImage {
  const rng = new Rng(seedFor(split, classIndex, index));
  const size = DEMO_IMAGE_SIZE;
  const canvas = new Canvas(size, size);
  const background = rng.pick(BACKGROUNDS);
  background.paint(canvas, rng);
  // Distractors: small blobs that carry no class information.
  const distractors = rng.int(3);
  for (let i = 0; i < distractors; i++) {
    const r = rng.range(1.2, 2.6);
    canvas.fill(
      circle(rng.range(0, size), rng.range(0, size), r),
      hsv(rng.range(0, 360), rng.range(0.2, 0.9), rng.range(0.3, 1)),
    );
  }
  const scale = rng.range(0.22, 0.36) * size;
  const pose = {
    cx: size / 2 + rng.range(-0.17, 0.17) * size,
    cy: size / 2 + rng.range(-0.17, 0.17) * size,
    scale,
    angle: rng.range(-0.6, 0.6),
  };
  const color = cls.draw(canvas, rng, pose);
  // Sensor noise.
  for (let i = 0; i < canvas.data.length; i++)
    canvas.data[i] = (canvas.data[i] as number) + rng.normal() * 0.02;
  const caption = rng.pick(TEMPLATES)({
    name: cls.name,
    color,
    bg: background.word,
    size: scale > 0.29 * size ? 'big' : 'small',
    side: pose.cx < size / 2 ? 'left' : 'right',
  });
  const relativePath = `${split}/${cls.name}/${cls.name}_${String(index).padStart(4, '0')}.png`;
  return { split, className: cls.name, relativePath, caption, png: encodePng(size, size, canvas.toBytes()) };
}

export function* demoImages(): Generator<DemoImage> {
  for (const split of ['train', 'test'] as const) {
    const count = split === 'train' ? DEMO_TRAIN_PER_CLASS : DEMO_TEST_PER_CLASS;
    for (let c = 0; c < DEMO_CLASSES.length; c++) {
      for (let i = 0; i < count; i++) yield renderDemoImage(DEMO_CLASSES[c]!, c, split, i);
    }
  }
}

/** Writes the demo dataset into `root` (see writeGeneratedDataset). */
export async function writeDemoDataset(root: string): Promise<{ images: number; digest: string }> {
  return writeGeneratedDataset(root, demoImages(), DEMO_DATASET_VERSION);
}
