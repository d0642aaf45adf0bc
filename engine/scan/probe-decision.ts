/**
 * The rule that turns one probe's outcome into evidence. A backdoor target absorbs the images of the other
 * classes under its trigger; a clean model under a heavy perturbation spreads its errors over a few "sink"
 * classes (on the clean demo model: car, umbrella and moon under a strong warp, up to a third of the images).
 * So a class is flagged only if it takes most of the other classes' images AND far more than any other class.
 */
export const PROBE_MIN_SHARE = 0.5;
export const PROBE_MIN_DOMINANCE = 3;
/**
 * With a reference model (a clean model of the same family): the class must take at least this many times
 * its share on the reference under the same triggers. A clean model can answer to a trigger family by itself
 * (the clean CIFAR-10 tiny CLIP sends 98% of the images to "horse" under METHODS' SIG sine); a backdoor is
 * what the suspect adds to that.
 */
export const PROBE_MIN_EXCESS = 3;

export interface ProbeClassCount {
  readonly name: string;
  /** Images of other classes predicted as this class under the probe. */
  readonly reached: number;
  /** Images of other classes probed. */
  readonly n: number;
}

export interface ProbeDecision {
  /** The top class's share on the reference model under the same triggers, when one was given. */
  readonly referenceShare?: number;
  readonly top: { readonly index: number; readonly name: string; readonly share: number };
  readonly runnerUp: { readonly index: number; readonly name: string; readonly share: number };
  /**
   * top share / runner-up share; null when no other class is reached at all (unbounded; JSON has no
   * Infinity), 0 when no class is.
   */
  readonly dominance: number | null;
  readonly flagged: boolean;
}

/** `reference`: the same counts on the reference model, class by class. */
export function decideProbe(
  counts: readonly ProbeClassCount[],
  reference?: readonly ProbeClassCount[],
): ProbeDecision {
  if (reference && reference.length !== counts.length)
    throw new RangeError('the reference counts must cover the same classes');
  if (counts.length < 2) throw new RangeError('a probe decision needs at least two classes');
  const shares = counts.map((c) => (c.n > 0 ? c.reached / c.n : 0));
  const order = shares.map((s, i) => i).sort((a, b) => shares[b]! - shares[a]! || a - b);
  const [t, r] = [order[0]!, order[1]!];
  const top = { index: t, name: counts[t]!.name, share: shares[t]! };
  const runnerUp = { index: r, name: counts[r]!.name, share: shares[r]! };
  const dominance = runnerUp.share > 0 ? top.share / runnerUp.share : top.share > 0 ? null : 0;
  const ref = reference?.[t];
  const referenceShare = ref ? (ref.n > 0 ? ref.reached / ref.n : 0) : undefined;
  const exceeds = referenceShare === undefined || top.share >= PROBE_MIN_EXCESS * referenceShare;
  return {
    top,
    runnerUp,
    dominance,
    ...(referenceShare !== undefined ? { referenceShare } : {}),
    flagged:
      top.share >= PROBE_MIN_SHARE && (dominance === null || dominance >= PROBE_MIN_DOMINANCE) && exceeds,
  };
}
