import { describe, it } from 'vitest';
import { runFuzz } from './harness/run-fuzz.js';
import { expectClean } from './fuzz-report.js';
import { npyKind } from './kinds/npy.js';

describe('fuzz: npy', () => {
  it('refuses every crafted and mutated input cleanly or reads it correctly, within bounded memory', async () => {
    expectClean(await runFuzz(npyKind, { mutants: 400, seed: 14 }), 400);
  });
});
