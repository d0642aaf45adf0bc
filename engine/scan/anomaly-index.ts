/**
 * Robust outlier scores (Iglewicz & Hoaglin's modified z-score; the "anomaly index" of Neural Cleanse):
 * index_k = (x_k - median(x)) / (1.4826 * MAD(x)), MAD = median |x - median(x)|. The constant makes MAD a
 * consistent estimate of the standard deviation under normality, so an index reads like a z-score that one
 * extreme class cannot inflate. Iglewicz & Hoaglin recommend flagging |index| > 3.5.
 */
export const MAD_TO_SIGMA = 1.4826;
export const OUTLIER_THRESHOLD = 3.5;

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * Anomaly index of every value. `minSpread` floors the robust sigma so identical values (MAD 0) give finite
 * indices: a difference smaller than the floor is never called an outlier.
 */
export function anomalyIndices(values: readonly number[], minSpread: number): number[] {
  const m = median(values);
  const mad = median(values.map((v) => Math.abs(v - m)));
  const sigma = Math.max(MAD_TO_SIGMA * mad, minSpread);
  return values.map((v) => (v - m) / sigma);
}
