import type { Rng } from '../../util/rng.js';

/**
 * CleanCLIP's augmented caption, reduced to the two EDA operations METHODS 4.3 names [choice: no synonym
 * replacement or insertion, which need a thesaurus]: either swap random word pairs or delete words at
 * random. Deterministic given the RNG; a caption of one word comes back unchanged.
 */
export interface CaptionAugmentOptions {
  /** Share of words touched: round(share x words) swaps (at least one), or each word's deletion chance. */
  readonly share: number;
}

export function augmentCaption(
  caption: string,
  rng: Rng,
  options: CaptionAugmentOptions = { share: 0.1 },
): string {
  const words = caption
    .trim()
    .split(/\s+/)
    .filter((w) => w.length > 0);
  if (words.length < 2) return caption;
  const swap = rng.uniform() < 0.5;
  if (swap) {
    const swaps = Math.max(1, Math.round(options.share * words.length));
    for (let s = 0; s < swaps; s++) {
      const i = rng.int(words.length);
      let j = rng.int(words.length - 1);
      if (j >= i) j++; // a different position
      [words[i], words[j]] = [words[j]!, words[i]!];
    }
    return words.join(' ');
  }
  const kept = words.filter(() => rng.uniform() >= options.share);
  if (kept.length === words.length) kept.splice(rng.int(kept.length), 1); // change at least one word
  return kept.length > 0 ? kept.join(' ') : words[rng.int(words.length)]!;
}
