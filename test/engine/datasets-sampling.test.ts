import { describe, expect, it } from 'vitest';
import type { Dataset, DatasetClass, DatasetItem, SplitName } from '../../engine/datasets/dataset.js';
import { findDuplicates } from '../../engine/datasets/duplicates.js';
import { datasetFingerprint } from '../../engine/datasets/fingerprint.js';
import { sampleFewShot } from '../../engine/datasets/sampler.js';
import { stratifiedSplit } from '../../engine/datasets/stratified-split.js';
import { VetbenchError } from '../../engine/errors.js';
import { Rng } from '../../engine/util/rng.js';

const FOLDERS = ['ant', 'bee', 'cat', 'dog'];
const SIZES = [30, 7, 3, 12];

/** A dataset in memory: class c has SIZES[c] train images and 5 test images; no files are needed. */
function syntheticDataset(): Pick<Dataset, 'items' | 'classes'> {
  const items: DatasetItem[] = [];
  FOLDERS.forEach((folder, label) => {
    for (const [split, n] of [
      ['train', SIZES[label]!],
      ['test', 5],
    ] as const) {
      for (let i = 0; i < n; i++) {
        const relativePath = `${split}/${folder}/${String(i).padStart(3, '0')}.png`;
        items.push({
          path: `/data/${relativePath}`,
          relativePath,
          label,
          split,
          sha256: `${label}-${split}-${i}`.padEnd(64, '0'),
          bytes: 100,
          format: 'png',
        });
      }
    }
  });
  const classes: DatasetClass[] = FOLDERS.map((folder, index) => ({
    index,
    folder,
    name: folder,
    count: SIZES[index]! + 5,
    counts: { train: SIZES[index]!, val: 0, test: 5 },
  }));
  return { items, classes };
}

function shuffled<T>(values: readonly T[], seed: number): T[] {
  return new Rng(seed).shuffle([...values]);
}

describe('few-shot sampler', () => {
  const dataset = syntheticDataset();

  it('draws K images per class from the train split', () => {
    const sample = sampleFewShot(dataset, { shotsPerClass: 5, seed: 1 });
    const perClass = FOLDERS.map((_, label) => sample.items.filter((i) => i.label === label).length);
    expect(perClass).toEqual([5, 5, 3, 5]);
    expect(sample.items.every((i) => i.split === 'train')).toBe(true);
    expect(sample.shortfalls).toEqual([{ label: 2, folder: 'cat', available: 3, requested: 5 }]);
    expect(new Set(sample.items.map((i) => i.relativePath)).size).toBe(sample.items.length);
  });

  it('is deterministic given the seed, whatever the order of the items', () => {
    const a = sampleFewShot(dataset, { shotsPerClass: 4, seed: 42 });
    const b = sampleFewShot(
      { classes: dataset.classes, items: shuffled(dataset.items, 9) },
      { shotsPerClass: 4, seed: 42 },
    );
    expect(b.items.map((i) => i.relativePath)).toEqual(a.items.map((i) => i.relativePath));
    const other = sampleFewShot(dataset, { shotsPerClass: 4, seed: 43 });
    expect(other.items.map((i) => i.relativePath)).not.toEqual(a.items.map((i) => i.relativePath));
  });

  it("one class's draw does not change when another class gains files", () => {
    const grown = syntheticDataset();
    const extra: DatasetItem = { ...grown.items[0]!, relativePath: 'train/ant/999.png', path: '/data/x' };
    const before = sampleFewShot(grown, { shotsPerClass: 3, seed: 7 });
    const after = sampleFewShot({ ...grown, items: [...grown.items, extra] }, { shotsPerClass: 3, seed: 7 });
    const beeOf = (s: typeof before): string[] =>
      s.items.filter((i) => i.label === 1).map((i) => i.relativePath);
    expect(beeOf(after)).toEqual(beeOf(before));
  });

  it('can exclude a class by folder, name or label, and refuses an unknown one', () => {
    for (const exclude of ['dog', 3]) {
      const sample = sampleFewShot(dataset, { shotsPerClass: 2, seed: 1, excludeClass: exclude });
      expect(sample.excludedLabel).toBe(3);
      expect(sample.items.some((i) => i.label === 3)).toBe(false);
      expect(sample.items).toHaveLength(6);
    }
    expect(() => sampleFewShot(dataset, { shotsPerClass: 2, seed: 1, excludeClass: 'zebra' })).toThrow(
      VetbenchError,
    );
    expect(() => sampleFewShot(dataset, { shotsPerClass: 0, seed: 1 })).toThrow(/positive integer/);
  });

  it('draws from another split when asked', () => {
    const sample = sampleFewShot(dataset, { shotsPerClass: 2, seed: 1, split: 'test' });
    expect(sample.items.every((i) => i.split === 'test')).toBe(true);
    expect(sample.items).toHaveLength(8);
  });
});

describe('seeded stratified split', () => {
  const candidates = FOLDERS.flatMap((classKey, c) =>
    Array.from({ length: SIZES[c]! }, (_, i) => ({ relativePath: `${classKey}/${i}.png`, classKey })),
  );

  it('holds out round(n * fraction) per class, at least one on each side of a class with two or more files', () => {
    const split = stratifiedSplit(candidates, { seed: 3, testFraction: 0.2 });
    const testCount = (classKey: string): number =>
      candidates.filter((c) => c.classKey === classKey && split.get(c.relativePath) === 'test').length;
    expect(FOLDERS.map(testCount)).toEqual([6, 1, 1, 2]);
    const tiny = stratifiedSplit(
      [
        { relativePath: 'solo/1.png', classKey: 'solo' },
        { relativePath: 'pair/1.png', classKey: 'pair' },
        { relativePath: 'pair/2.png', classKey: 'pair' },
      ],
      { seed: 0, testFraction: 0.1 },
    );
    expect(tiny.get('solo/1.png')).toBe('train');
    expect([tiny.get('pair/1.png'), tiny.get('pair/2.png')].sort()).toEqual(['test', 'train']);
  });

  it('is deterministic given the seed and the file list, not the order', () => {
    const a = stratifiedSplit(candidates, { seed: 11, testFraction: 0.25 });
    const b = stratifiedSplit(shuffled(candidates, 5), { seed: 11, testFraction: 0.25 });
    expect([...b.entries()].sort()).toEqual([...a.entries()].sort());
    const c = stratifiedSplit(candidates, { seed: 12, testFraction: 0.25 });
    expect([...c.entries()].sort()).not.toEqual([...a.entries()].sort());
  });

  it('refuses a fraction outside [0, 1)', () => {
    expect(() => stratifiedSplit(candidates, { seed: 0, testFraction: 1 })).toThrow(/below 1/);
    expect(() => stratifiedSplit(candidates, { seed: 0, testFraction: -0.1 })).toThrow(VetbenchError);
    const none = stratifiedSplit(candidates, { seed: 0, testFraction: 0 });
    expect([...none.values()].every((s) => s === 'train')).toBe(true);
  });
});

describe('fingerprint and duplicates', () => {
  const entries = [
    { relativePath: 'a/1.png', classFolder: 'a', split: 'train', sha256: '1'.repeat(64) },
    { relativePath: 'b/2.png', classFolder: 'b', split: 'test', sha256: '2'.repeat(64) },
  ];

  it('depends on path, label, split and content, not on order', () => {
    const base = datasetFingerprint(entries);
    expect(datasetFingerprint([...entries].reverse())).toBe(base);
    const changed = (patch: Partial<(typeof entries)[number]>): string =>
      datasetFingerprint([{ ...entries[0]!, ...patch }, entries[1]!]);
    expect(changed({ classFolder: 'b' })).not.toBe(base);
    expect(changed({ split: 'test' })).not.toBe(base);
    expect(changed({ sha256: '3'.repeat(64) })).not.toBe(base);
    expect(changed({ relativePath: 'a/1b.png' })).not.toBe(base);
  });

  it('groups identical content and flags cross-split and cross-label copies', () => {
    const item = (relativePath: string, label: number, split: SplitName, sha256: string): DatasetItem => ({
      path: relativePath,
      relativePath,
      label,
      split,
      sha256,
      bytes: 1,
      format: 'png',
    });
    const groups = findDuplicates([
      item('a/1.png', 0, 'train', 'x'),
      item('a/2.png', 0, 'test', 'x'),
      item('a/3.png', 0, 'train', 'y'),
      item('b/3.png', 1, 'train', 'y'),
      item('c/9.png', 2, 'train', 'z'),
    ]);
    expect(groups).toEqual([
      { sha256: 'x', paths: ['a/1.png', 'a/2.png'], crossSplit: true, labelsDiffer: false },
      { sha256: 'y', paths: ['a/3.png', 'b/3.png'], crossSplit: false, labelsDiffer: true },
    ]);
  });
});
