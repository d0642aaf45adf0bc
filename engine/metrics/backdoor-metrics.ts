/**
 * Backdoor metrics (METHODS 2.3), with their denominators so every number can be audited:
 * CA over clean test images; ASR over triggered images whose true class is not the target; asr_all over all
 * triggered images; PA (poisoned accuracy) = accuracy against true labels on triggered images.
 */
export interface BackdoorMetrics {
  readonly ca: number;
  readonly asr: number;
  readonly asr_all: number;
  readonly pa: number;
  /** Clean images evaluated (denominator of CA). */
  readonly n_clean: number;
  /** Triggered images of non-target classes (denominator of ASR). */
  readonly n_poisoned: number;
  /** Triggered images of all classes (denominator of asr_all and PA). */
  readonly n_triggered: number;
  readonly target: number;
}

function percent(count: number, total: number): number {
  return total === 0 ? NaN : (100 * count) / total;
}

export function cleanAccuracy(
  predictions: ArrayLike<number>,
  labels: ArrayLike<number>,
): { ca: number; n: number } {
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predictions[i] === labels[i]) correct++;
  return { ca: percent(correct, labels.length), n: labels.length };
}

export function backdoorMetrics(
  clean: { predictions: ArrayLike<number>; labels: ArrayLike<number> },
  triggered: { predictions: ArrayLike<number>; labels: ArrayLike<number> },
  target: number,
): BackdoorMetrics {
  const { ca, n } = cleanAccuracy(clean.predictions, clean.labels);
  let hitsNonTarget = 0;
  let nonTarget = 0;
  let hitsAll = 0;
  let correct = 0;
  for (let i = 0; i < triggered.labels.length; i++) {
    const y = triggered.labels[i] as number;
    const p = triggered.predictions[i] as number;
    if (p === target) hitsAll++;
    if (p === y) correct++;
    if (y !== target) {
      nonTarget++;
      if (p === target) hitsNonTarget++;
    }
  }
  return {
    ca,
    asr: percent(hitsNonTarget, nonTarget),
    asr_all: percent(hitsAll, triggered.labels.length),
    pa: percent(correct, triggered.labels.length),
    n_clean: n,
    n_poisoned: nonTarget,
    n_triggered: triggered.labels.length,
    target,
  };
}

/** Defense effectiveness rating (BackdoorBench), in [0, 1]; inputs in percent. */
export function defenseEffectivenessRating(
  before: { ca: number; asr: number },
  after: { ca: number; asr: number },
): number {
  const asrDrop = Math.max(0, before.asr - after.asr) / 100;
  const caDrop = Math.max(0, before.ca - after.ca) / 100;
  return (asrDrop - caDrop + 1) / 2;
}
