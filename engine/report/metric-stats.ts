/** Mean and sample standard deviation (n - 1; 0 for a single value) of per-seed values. */
export function meanSd(values: readonly number[]): { mean: number; sd: number; n: number } {
  const n = values.length;
  if (n === 0) return { mean: NaN, sd: NaN, n };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, n };
}

/**
 * Defense effectiveness rating (BackdoorBench; METHODS 2.3) from percentages:
 * (max(0, ASR_before - ASR_after) - max(0, CA_before - CA_after) + 1) / 2, with the rates as fractions.
 */
export function defenseEffectiveness(
  before: { readonly ca: number; readonly asr: number },
  after: { readonly ca: number; readonly asr: number },
): number {
  const asrDrop = Math.max(0, (before.asr - after.asr) / 100);
  const caDrop = Math.max(0, (before.ca - after.ca) / 100);
  return (asrDrop - caDrop + 1) / 2;
}
