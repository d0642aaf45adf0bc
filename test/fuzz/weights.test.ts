import { describe, it } from 'vitest';
import { runFuzz } from './harness/run-fuzz.js';
import { expectClean } from './fuzz-report.js';
import { weightsKind } from './kinds/weights.js';

describe('fuzz: weights', () => {
  it('refuses every crafted and mutated input cleanly or reads it correctly, within bounded memory', async () => {
    expectClean(await runFuzz(weightsKind, { mutants: 400, seed: 11 }), 400);
  });
});
