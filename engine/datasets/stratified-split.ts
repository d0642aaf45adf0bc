import { VetbenchError } from '../errors.js';
import { Rng } from '../util/rng.js';
import { deriveSeed } from './derive-seed.js';
import { compareText } from './ordering.js';

export interface SplitCandidate {
  readonly relativePath: string;
  /** The class folder (or CSV label): items are split per class so every class keeps its share. */
  readonly classKey: string;
}

export function checkTestFraction(testFraction: number): void {
  if (!(Number.isFinite(testFraction) && testFraction >= 0 && testFraction < 1)) {
    throw new VetbenchError(
      'bad-test-fraction',
      `the test fraction must be at least 0 and below 1, got ${testFraction}`,
      'pass a share such as 0.2 (20% of each class held out for testing)',
    );
  }
}

/**
 * A seeded stratified train/test split: within each class (files sorted by path first, so the input order does
 * not matter) a seeded shuffle puts `round(n * testFraction)` files in test. A class with two or more files
 * keeps at least one on each side when the fraction is above 0; a single file stays in train.
 */
export function stratifiedSplit(
  candidates: readonly SplitCandidate[],
  options: { readonly seed: number; readonly testFraction: number },
): Map<string, 'train' | 'test'> {
  checkTestFraction(options.testFraction);
  const byClass = new Map<string, string[]>();
  for (const c of candidates) {
    const paths = byClass.get(c.classKey) ?? [];
    paths.push(c.relativePath);
    byClass.set(c.classKey, paths);
  }
  const assignment = new Map<string, 'train' | 'test'>();
  for (const [classKey, paths] of byClass) {
    paths.sort(compareText);
    new Rng(deriveSeed(options.seed, 'split', classKey)).shuffle(paths);
    let testCount = Math.round(paths.length * options.testFraction);
    if (options.testFraction > 0 && paths.length >= 2)
      testCount = Math.min(Math.max(testCount, 1), paths.length - 1);
    if (paths.length < 2) testCount = 0;
    paths.forEach((path, i) => assignment.set(path, i < testCount ? 'test' : 'train'));
  }
  return assignment;
}
