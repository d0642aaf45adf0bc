import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/shared-folder.js';

// bench/ is plain JavaScript outside the TypeScript build: load it by URL with its one function's type.
const { checkNumbers } = (await import(pathToFileURL(join(REPO_ROOT, 'bench', 'check-numbers.js')).href)) as {
  checkNumbers: (root?: string) => string[];
};

describe('bench/check-numbers.js', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vetbench-numbers-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds every number of README.md and docs/ that cites bench/results in the file it cites', () => {
    expect(checkNumbers()).toEqual([]);
  });

  it('reports a number that is not in the cited file, a missing file and an unsourced README row', () => {
    mkdirSync(join(dir, 'docs'));
    mkdirSync(join(dir, 'bench', 'results'), { recursive: true });
    writeFileSync(join(dir, 'bench', 'results', 't.json'), '{"ca": 92.3611, "share": 0.979}\n');
    writeFileSync(
      join(dir, 'docs', 'a.md'),
      [
        'CA 92.36, 97.9% of images (`bench/results/t.json`), `--param lr=0.05` is a command.',
        'CA 92.40 (`bench/results/t.json`).',
        'See `bench/results/gone.md`.',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'README.md'),
      [
        '### Where the methods stand',
        '',
        '| what | result | doc |',
        '| ---- | ------ | --- |',
        '| A    | ASR 95.6 | `docs/a.md` |',
        '| B    | ASR 74.7 | unrecorded: re-measure with `node bench/x.js` |',
      ].join('\n'),
    );
    expect(checkNumbers(dir)).toEqual([
      'README.md:5: a row of results that cites no bench/results file',
      'docs/a.md:2: 92.40 is not in bench/results/t.json',
      'docs/a.md:3: cites bench/results/gone.md, which does not exist',
    ]);
  });
});
