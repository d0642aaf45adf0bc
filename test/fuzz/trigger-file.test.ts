import { describe, it } from 'vitest';
import { runFuzz } from './harness/run-fuzz.js';
import { expectClean } from './fuzz-report.js';
import { triggerFileKind } from './kinds/trigger-file.js';

describe('fuzz: trigger-file', () => {
  it('refuses every crafted and mutated input cleanly or reads it correctly, within bounded memory', async () => {
    expectClean(await runFuzz(triggerFileKind, { mutants: 450, seed: 13 }), 450);
  });
});
