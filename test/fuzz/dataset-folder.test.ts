import { describe, it } from 'vitest';
import { runFuzz } from './harness/run-fuzz.js';
import { expectClean } from './fuzz-report.js';
import { datasetFolderKind } from './kinds/dataset-folder.js';

describe('fuzz: dataset-folder', () => {
  it('refuses every crafted and mutated input cleanly or reads it correctly, within bounded memory', async () => {
    expectClean(await runFuzz(datasetFolderKind, { mutants: 150, seed: 16 }), 150);
  });
});
