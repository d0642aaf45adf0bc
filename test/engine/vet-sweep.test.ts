import { describe, expect, it } from 'vitest';
import { vetSweep } from '../../engine/methods/vet-sweep.js';

describe('vetSweep', () => {
  it("sweeps BadNet's patch sizes, the Attack wizard's 112 px default included", () => {
    const sweep = vetSweep('badnet');
    expect(sweep.map((p) => p.label)).toEqual(['patchSize=16', 'patchSize=56', 'patchSize=112']);
    expect(sweep.find((p) => p.params['patchSize'] === 112)?.label).toBe('patchSize=112');
  });

  it("adds an attack's defaults that the ladder lacks, once", () => {
    const labels = vetSweep('wanet').map((p) => p.label);
    expect(new Set(labels).size).toBe(labels.length);
    expect(labels).toContain('gridSize=0, strength=12');
  });

  it('has nothing to sweep for optimised triggers', () => {
    expect(vetSweep('badclip-de')).toEqual([]);
  });
});
