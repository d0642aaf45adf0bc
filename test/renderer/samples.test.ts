import { describe, expect, it } from 'vitest';
import { spreadOverClasses } from '../../renderer/src/state/project.svelte.js';

describe('spreadOverClasses', () => {
  it('takes samples round-robin over the class folders, so every class shows', () => {
    const ids = ['a', 'b', 'c'].flatMap((c) => [1, 2, 3, 4].map((i) => `train/${c}/${i}.png`));
    expect(spreadOverClasses(ids, 4)).toEqual([
      'train/a/1.png',
      'train/b/1.png',
      'train/c/1.png',
      'train/a/2.png',
    ]);
    expect(spreadOverClasses(ids, 100)).toHaveLength(12);
  });
});
