import { createHash } from 'node:crypto';
import { Rng } from '../../util/rng.js';
import { encodePng } from '../png.js';
import type { GeneratedImage } from '../write-dataset.js';
import { WORLD_CONCEPTS, type Concept } from './concepts.js';
import { renderScene } from './scene.js';

/**
 * The demo world's three datasets, a small copy of the papers' pipeline (issue "A demo world..."):
 * - `corpus`: the broad captioned pretraining corpus over every concept (the "web" CLIP is trained on);
 * - `task`: the downstream classification task, a subset of the concepts rendered from held-out seeds
 *   (its images are never in the corpus): the defender's shots come from its train split, CA/ASR from test;
 * - `poison`: a separate captioned corpus on which attacks fine-tune (the attacker's web scrape).
 * Every image has its own seed (SHA-256 of the world seed, the dataset, split, concept and index).
 */
export const WORLD_VERSION = 1;
export const WORLD_IMAGE_SIZE = 64;
const WORLD_SEED = 20261207;

export type WorldDatasetName = 'corpus' | 'task' | 'poison';

/** The downstream task's classes (banana, the demo attacks' target, among them). */
export const WORLD_TASK_CLASSES = [
  'banana',
  'apple',
  'car',
  'fish',
  'star',
  'house',
  'tree',
  'umbrella',
  'cup',
  'key',
  'bird',
  'cat',
  'boat',
  'flower',
  'clock',
  'rocket',
] as const;

interface SplitPlan {
  readonly train: number;
  readonly test: number;
}

/** Images per concept and split. */
export const WORLD_SIZES: Readonly<Record<WorldDatasetName, SplitPlan>> = {
  corpus: { train: 500, test: 10 },
  task: { train: 50, test: 50 },
  poison: { train: 100, test: 0 },
};

export function worldConcepts(name: WorldDatasetName): readonly Concept[] {
  if (name !== 'task') return WORLD_CONCEPTS;
  return WORLD_TASK_CLASSES.map((n) => WORLD_CONCEPTS.find((c) => c.name === n) as Concept);
}

function seedFor(name: WorldDatasetName, split: string, concept: string, index: number): number {
  return createHash('sha256')
    .update(`${WORLD_SEED}:${name}:${split}:${concept}:${index}`)
    .digest()
    .readUInt32LE(0);
}

export function renderWorldImage(
  name: WorldDatasetName,
  split: 'train' | 'test',
  concept: Concept,
  index: number,
  size = WORLD_IMAGE_SIZE,
): GeneratedImage {
  const rng = new Rng(seedFor(name, split, concept.name, index));
  const scene = renderScene(rng, {
    size,
    concept,
    others: WORLD_CONCEPTS.filter((c) => c !== concept),
    varied: name !== 'task',
  });
  const folder = concept.name.replace(/ /g, '_');
  return {
    split,
    className: concept.name,
    relativePath: `${split}/${folder}/${folder}_${String(index).padStart(4, '0')}.png`,
    caption: scene.caption,
    png: encodePng(size, size, scene.bytes),
  };
}

export function* worldImages(name: WorldDatasetName): Generator<GeneratedImage> {
  const plan = WORLD_SIZES[name];
  for (const split of ['train', 'test'] as const) {
    for (const concept of worldConcepts(name)) {
      for (let i = 0; i < plan[split]; i++) yield renderWorldImage(name, split, concept, i);
    }
  }
}
