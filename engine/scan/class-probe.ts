import type { ClipEncoder } from '../clip/clip-encoder.js';
import { classify, type ZeroShotHead } from '../clip/zero-shot.js';
import type { ImageLoader } from '../datasets/image-loader.js';
import { farthestPositives } from '../inversion/contrastive-pairs.js';
import { embedPixels01, type EmbeddedSample } from '../inversion/image-embeddings.js';
import { gatherRows, type HostTensor } from '../tensor/host-tensor.js';
import type { InversionChunk } from './universal-inversion.js';

/**
 * The pieces every inversion toward one class shares: the clean images of the other classes, in chunks, each
 * image paired with what it is pulled toward, and how a perturbation of them is measured afterwards.
 */

/** The positive of L_CL: class k's text embedding (the zero-shot direction) or CBPT's farthest image of k. */
export const SCAN_POSITIVES = ['class-text', 'farthest-image'] as const;
export type ScanPositive = (typeof SCAN_POSITIVES)[number];

/** The sampled images not of class k, in chunks of `batchSize`, paired with their positive for class k. */
export async function classChunks(
  clean: EmbeddedSample,
  loader: ImageLoader,
  head: ZeroShotHead,
  k: number,
  positive: ScanPositive,
  batchSize: number,
): Promise<InversionChunk[]> {
  const hasPositive = clean.labels.includes(k);
  const rows = clean.labels.flatMap((y, i) => (y !== k ? [i] : []));
  const chunks: InversionChunk[] = [];
  for (let start = 0; start < rows.length; start += batchSize) {
    const batchRows = rows.slice(start, start + batchSize);
    const loaded = await loader.load(batchRows.map((r) => clean.items[r]!));
    const kept = loaded.indices.map((i) => batchRows[i]!);
    const cleanEmbeds = gatherRows(clean.embeds, kept);
    // Without an image of k in the sample there is no image positive: the image itself stands in.
    const positives =
      positive === 'class-text'
        ? gatherRows(
            head.embeddings,
            kept.map(() => k),
          )
        : gatherRows(
            clean.embeds,
            hasPositive
              ? farthestPositives(
                  cleanEmbeds,
                  kept.map(() => k),
                  clean.embeds,
                  clean.labels,
                )
              : kept,
          );
    chunks.push({ pixels: loaded.pixels, clean: cleanEmbeds, positive: positives });
  }
  return chunks;
}

/** How a perturbation toward class k did on the images it was inverted on. */
export interface ProbeOutcome {
  /** Images the model now assigns to k. */
  readonly flips: number;
  readonly n: number;
  /** Mean of logit_k - max_{j != k} logit_j (negative: k not reached). */
  readonly meanMargin: number;
}

/** Classifies the perturbed chunks zero-shot and counts how many reach class k, and by what margin. */
export async function measureProbe(
  encoder: ClipEncoder,
  head: ZeroShotHead,
  chunks: readonly InversionChunk[],
  perturb: (pixels: HostTensor) => HostTensor,
  k: number,
): Promise<ProbeOutcome> {
  const c = head.classNames.length;
  let flips = 0;
  let marginSum = 0;
  let n = 0;
  for (const chunk of chunks) {
    const embeds = await embedPixels01(encoder, perturb(chunk.pixels));
    const { logits, predictions } = classify(head, embeds, encoder.weights.logitScale);
    for (let i = 0; i < predictions.length; i++) {
      if (predictions[i] === k) flips++;
      let other = -Infinity;
      for (let j = 0; j < c; j++) if (j !== k) other = Math.max(other, logits.data[i * c + j] as number);
      marginSum += (logits.data[i * c + k] as number) - other;
    }
    n += predictions.length;
  }
  return { flips, n, meanMargin: n ? marginSum / n : 0 };
}
