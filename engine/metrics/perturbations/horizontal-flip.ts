import type { Perturbation } from './perturbation.js';

/** Mirror every image left-right. */
export const horizontalFlip: Perturbation = {
  id: 'horizontal-flip',
  title: 'Horizontal flip',
  apply(pixels01, keys, r) {
    for (let row = 0; row < keys.length * 3 * r; row++) pixels01.subarray(row * r, (row + 1) * r).reverse();
  },
};
