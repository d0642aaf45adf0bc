import { mkdirSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { Dataset } from '../../../engine/datasets/dataset.js';
import { importDataset } from '../../../engine/datasets/import-dataset.js';
import { encodePng } from '../../../engine/demo/png.js';
import { Rng } from '../../../engine/util/rng.js';
import type { FuzzKind } from '../harness/fuzz-kind.js';
import { BYTE_MUTATIONS } from '../harness/mutate.js';

/** The image the fuzz suite mutates, inside a class folder of an otherwise valid dataset. */
export const TARGET = join('train', 'cat', 'cat_0.png');

function image(seed: number): Uint8Array {
  const rng = new Rng(seed);
  return encodePng(
    6,
    6,
    Uint8Array.from({ length: 6 * 6 * 3 }, () => rng.int(256)),
  );
}

/** Writes a valid two-class dataset with train and test splits around the target image. */
export function writeValidDataset(root: string): void {
  for (const split of ['train', 'test']) {
    for (const name of ['cat', 'dog']) {
      mkdirSync(join(root, split, name), { recursive: true });
      for (let i = split === 'train' && name === 'cat' ? 1 : 0; i < 3; i++) {
        writeFileSync(join(root, split, name, `${name}_${i}.png`), image(i + 10 * name.length));
      }
    }
  }
}

const rootOf = (path: string): string => dirname(dirname(dirname(path)));

/**
 * Dataset folders with one damaged image, imported as `dataset inspect --verify` imports them. An image has no
 * integrity field; judged: every item is a regular file inside the root, and the damaged image is either an
 * item (it decodes) or listed as skipped, never silently dropped.
 */
export const datasetFolderKind: FuzzKind<Dataset> = {
  id: 'dataset-folder',
  fileName: TARGET,
  prepare: (caseDir) => writeValidDataset(caseDir),
  namedPath: rootOf,
  async seeds() {
    return [
      { name: 'png', bytes: image(1) },
      { name: 'png-2', bytes: image(2) },
    ];
  },
  crafted() {
    const cases: [string, Uint8Array][] = [
      ['empty file', new Uint8Array(0)],
      ['text named .png', new TextEncoder().encode('not an image')],
      ['png signature only', Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])],
      [
        'declares 100000x100000 pixels',
        (() => {
          const png = image(3).slice();
          const view = new DataView(png.buffer);
          view.setUint32(16, 100_000);
          view.setUint32(20, 100_000);
          return png;
        })(),
      ],
      ['jpeg header then garbage', Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 1, 2, 3])],
    ];
    return cases.map(([name, bytes]) => ({ name, bytes, expect: 'either' as const }));
  },
  mutations: BYTE_MUTATIONS,
  load: (path) => importDataset(rootOf(path), { verify: true }),
  judge(dataset, _input) {
    const realRoot = realpathSync(dataset.root);
    for (const item of dataset.items) {
      const real = realpathSync(join(dataset.root, item.relativePath));
      if (relative(realRoot, real).startsWith('..') || !statSync(real).isFile())
        return `item ${item.relativePath} is not a file inside the root`;
    }
    const target = TARGET.split('\\').join('/');
    const used = dataset.items.some((i) => i.relativePath === target);
    const skipped = dataset.skipped.some((s) => s.path === target || s.path.endsWith('cat_0.png'));
    return used || skipped ? null : 'the damaged image is neither an item nor listed as skipped';
  },
};
