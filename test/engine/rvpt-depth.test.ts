import { describe, expect, it } from 'vitest';
import { promptDepth } from '../../engine/defenses/rvpt/rvpt-defense.js';
import { vetbenchErrorOf } from '../helpers/errors.js';

// D counts unprompted blocks from the input (METHODS 4.1); a negative D counts prompted blocks from the
// output, the way the RVPT paper's depth ablation counts them.
describe('RVPT prompt depth', () => {
  it('keeps D >= 0 and turns -k into the last k blocks', () => {
    expect(promptDepth('rvpt', 0, 4)).toBe(0);
    expect(promptDepth('rvpt', 3, 4)).toBe(3);
    expect(promptDepth('rvpt', -1, 4)).toBe(3);
    expect(promptDepth('rvpt', -4, 4)).toBe(0);
    expect(promptDepth('rvpt', -1, 12)).toBe(11);
  });

  it('refuses depths that leave no block to prompt or ask for more blocks than the model has', () => {
    const tooDeep = vetbenchErrorOf(() => promptDepth('rvpt', 4, 4));
    expect(tooDeep.code).toBe('param-invalid');
    expect(tooDeep.message).toMatch(/depth 4 leaves no block to prompt; this model has 4 vision blocks/);
    const tooMany = vetbenchErrorOf(() => promptDepth('vpt', -5, 4));
    expect(tooMany.message).toMatch(/depth -5 asks for the last 5 blocks; this model has 4/);
    expect(tooMany.hint).toMatch(/between -4 and 3/);
  });
});
