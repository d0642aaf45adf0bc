/**
 * What the metric keys the runs record mean, for people: spelled-out names, whether a rise is good, and the
 * clean-accuracy drop that earns a warning.
 */

/** More clean-accuracy loss than this (percentage points) is called out (the verdict's maxCaDrop). */
export const CA_DROP_WARNING = 5;

const TITLES: Readonly<Record<string, string>> = {
  ca: 'clean accuracy (CA, %)',
  ca_before: 'clean accuracy before (CA, %)',
  asr: 'attack success rate (ASR, %)',
  asr_before: 'attack success rate before (ASR, %)',
  asr_all: 'ASR over all test images (%)',
  pa: 'accuracy on triggered images (PA, %)',
  pa_before: 'accuracy on triggered images before (PA, %)',
  der: 'defense effectiveness rating (DER, 0-1)',
  loss: 'training loss',
  bn: 'CBPT loss term L_bn',
  adv: 'adversarial loss term',
  anomaly_index: 'largest anomaly index (inversion scan)',
  probe_top_share: "largest share of other classes' images one class takes (family probe)",
};

/** "attack success rate (ASR, %)" for `asr`; unknown keys as they are. */
export function metricTitle(key: string): string {
  return TITLES[key.toLowerCase()] ?? key;
}

const HIGHER_IS_BETTER = new Set(['ca', 'pa', 'der']);
const LOWER_IS_BETTER = new Set(['asr', 'asr_all', 'loss']);

/** Whether a change of this metric is good, bad, or neither (unknown direction, or no change). */
export function deltaQuality(key: string, delta: number): 'good' | 'bad' | 'neutral' {
  const k = key.toLowerCase();
  if (delta === 0) return 'neutral';
  if (HIGHER_IS_BETTER.has(k)) return delta > 0 ? 'good' : 'bad';
  if (LOWER_IS_BETTER.has(k)) return delta < 0 ? 'good' : 'bad';
  return 'neutral';
}

/** A warning when clean accuracy fell by more than CA_DROP_WARNING points, else null. */
export function caDropWarning(key: string, delta: number): string | null {
  return key.toLowerCase() === 'ca' && -delta > CA_DROP_WARNING
    ? `clean accuracy fell ${(-delta).toFixed(1)} points (more than ${CA_DROP_WARNING})`
    : null;
}
