import { describe, it } from 'vitest';
import { runFuzz } from './harness/run-fuzz.js';
import { expectClean } from './fuzz-report.js';
import { csvManifestKind } from './kinds/csv-manifest.js';

describe('fuzz: csv-manifest', () => {
  it('refuses every crafted and mutated input cleanly or reads it correctly, within bounded memory', async () => {
    expectClean(await runFuzz(csvManifestKind, { mutants: 300, seed: 15 }), 300);
  });
});
