import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  scanTorchCheckpoint,
  readTorchCheckpoint,
} from '../../../engine/clip/checkpoints/torch-checkpoint.js';
import { VetbenchError } from '../../../engine/errors.js';
import { Rng } from '../../../engine/util/rng.js';

const CHECKPOINTS = new URL('../../../../shared/fixtures/checkpoints/', import.meta.url).pathname;

/** Flips, overwrites or truncates bytes at seeded places. */
function mutate(bytes: Uint8Array, rng: Rng, from: number, to: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  const edits = 1 + Math.floor(rng.uniform() * 4);
  for (let e = 0; e < edits; e++) {
    const at = from + Math.floor(rng.uniform() * (to - from));
    out[at] = Math.floor(rng.uniform() * 256);
  }
  return rng.uniform() < 0.2 ? out.subarray(0, from + Math.floor(rng.uniform() * (to - from))) : out;
}

/** Either it loads, or it fails with a VetbenchError: never a TypeError/RangeError or a hang. */
function expectCleanOutcome(run: () => unknown): 'ok' | 'refused' {
  try {
    run();
    return 'ok';
  } catch (e) {
    if (!(e instanceof VetbenchError)) throw e;
    expect(e.message).not.toContain('\n');
    return 'refused';
  }
}

describe('mutated checkpoints fail cleanly', () => {
  // The legacy file is one stream: its pickles come first (about 12 kB), then the storages.
  const legacy = new Uint8Array(readFileSync(`${CHECKPOINTS}clip-tiny-a.legacy.pt`));
  const evil = new Uint8Array(readFileSync(`${CHECKPOINTS}runs-code-when-unpickled.pt`));

  it('60 mutations of the legacy stream pickles', () => {
    const rng = new Rng(7);
    const outcomes = { ok: 0, refused: 0 };
    for (let i = 0; i < 60; i++) {
      const bytes = mutate(legacy, rng, 0, 12_100);
      outcomes[expectCleanOutcome(() => readTorchCheckpoint(bytes, 'mutated.pt'))]++;
    }
    expect(outcomes.refused).toBeGreaterThan(0);
  });

  it('300 mutations of a small zip checkpoint, loaded and scanned', () => {
    const rng = new Rng(11);
    for (let i = 0; i < 300; i++) {
      const bytes = mutate(evil, rng, 0, evil.length);
      expectCleanOutcome(() => readTorchCheckpoint(bytes, 'mutated.pt'));
      // The scan reports problems as a verdict, never a throw.
      expect(['torch-zip', 'torchscript', 'torch-legacy']).toContain(
        scanTorchCheckpoint(bytes, 'mutated.pt').format,
      );
    }
  });
});
