import { describe, it } from 'vitest';
import { runFuzz } from './harness/run-fuzz.js';
import { expectClean } from './fuzz-report.js';
import { promptFileKind } from './kinds/prompt-file.js';

describe('fuzz: prompt-file', () => {
  it('refuses every crafted and mutated input cleanly or reads it correctly, within bounded memory', async () => {
    expectClean(await runFuzz(promptFileKind, { mutants: 450, seed: 12 }), 450);
  });
});
