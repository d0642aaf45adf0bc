import { VetbenchError } from '../errors.js';

/**
 * The budgets a scan sweeps, smallest first: rho / 2^(levels-1), ..., rho / 2, rho. Log-spaced, because a
 * backdoor target differs from other classes in the order of magnitude of the trigger it needs (Neural
 * Cleanse's minimal norm), not by a fixed amount.
 */
export function budgetLadder(rho: number, levels: number): number[] {
  if (!Number.isInteger(levels) || levels < 1 || !(rho > 0)) {
    throw new VetbenchError(
      'scan-bad-budget',
      `the scan needs a positive budget and a whole number of levels >= 1 (got rho ${rho}, levels ${levels})`,
      'Pass e.g. --rho 0.125 --levels 4.',
    );
  }
  return Array.from({ length: levels }, (_, i) => rho / 2 ** (levels - 1 - i));
}

/**
 * A class's margin averaged over the budget levels: with log-spaced budgets, the area under its
 * margin-versus-log-budget curve. A class reached at the small budgets has a large area; at the largest budget
 * alone every class of a non-robust model is reached, and at the smallest alone none is.
 */
export function meanOverLevels(levels: readonly { readonly meanMargin: number }[]): number {
  if (levels.length === 0) return 0;
  return levels.reduce((a, l) => a + l.meanMargin, 0) / levels.length;
}
