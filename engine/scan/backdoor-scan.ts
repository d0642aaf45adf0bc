import type { ClipEncoder } from '../clip/clip-encoder.js';
import { buildZeroShotHead, classify, DEFAULT_TEMPLATE } from '../clip/zero-shot.js';
import type { Dataset } from '../datasets/dataset.js';
import { ImageLoader } from '../datasets/image-loader.js';
import { sampleFewShot } from '../datasets/sampler.js';
import { farthestPositives, gatherRows } from '../defenses/cbpt/contrastive-pairs.js';
import { embedPixels01, embedSample } from '../defenses/cbpt/image-embeddings.js';
import { l2Radius, type RadiusMode } from '../defenses/cbpt/projection.js';
import { inversionObjective } from '../defenses/cbpt/trigger-inversion.js';
import { VetbenchError } from '../errors.js';
import { createTrainer, type TrainingExecutorKind } from '../train/create-trainer.js';
import { anomalyIndices, OUTLIER_THRESHOLD } from './anomaly-index.js';
import { applyClipped, invertUniversalTrigger, type InversionChunk } from './universal-inversion.js';

/**
 * Backdoor scan without a known trigger (METHODS 4.2, CBPT's inversion as a scanner), in the spirit of
 * Neural Cleanse: for every class k, one perturbation shared by the sampled clean images of all other classes
 * is inverted with CBPT's contrastive loss toward k (positive: k's text embedding, or CBPT's farthest image of
 * k; negative: the image itself) under one fixed l2 budget. A backdoor target is a shortcut: a small universal
 * pattern reaches it by a wider margin than any other class. Each class's mean margin after inversion is
 * scored against the other classes with a robust (median/MAD) anomaly index; an index above 3.5 is flagged.
 * docs/scanning.md has the measurements (on the demo it does not yet meet its done-criterion).
 */
export interface ScanOptions {
  readonly shots: number;
  readonly seed: number;
  readonly steps: number;
  readonly rho: number;
  readonly radiusMode: RadiusMode;
  /**
   * The positive of L_CL: CBPT's farthest image of class k, or the class-k text embedding (the zero-shot
   * class direction; a poisoned model maps triggered images next to the target's text, not its images).
   */
  readonly positive: ScanPositive;
  readonly batchSize?: number;
  readonly templates?: readonly string[];
  readonly executor?: TrainingExecutorKind;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: {
    readonly done: number;
    readonly total: number;
    readonly etaMs: number;
  }) => void;
}

export const SCAN_POSITIVES = ['class-text', 'farthest-image'] as const;
export type ScanPositive = (typeof SCAN_POSITIVES)[number];

/** Default settings (docs/scanning.md: the budget at which the SIG demo model's target ranked first most often). */
export const SCAN_DEFAULTS = {
  shots: 4,
  steps: 10,
  rho: 16 / 255,
  radiusMode: 'rms',
  positive: 'class-text',
} as const satisfies Partial<ScanOptions>;

/** Robust sigma floor for margins, in logit units: differences below it are never outliers. */
export const MARGIN_SPREAD_FLOOR = 0.25;

export interface ClassScan {
  readonly index: number;
  readonly name: string;
  /** Inverted images (of other classes) that the model now assigns to this class. */
  readonly flips: number;
  readonly n: number;
  readonly flipShare: number;
  /** Mean over those images of logit_k - max_{j != k} logit_j after inversion (negative: not reached). */
  readonly meanMargin: number;
  /** Mean ||delta|| / radius of the inversions toward this class. */
  readonly budgetUsed: number;
  /** Robust z-score of meanMargin among all classes. */
  readonly anomalyIndex: number;
}

export interface ScanReport {
  readonly verdict: 'backdoor-suspected' | 'no-evidence';
  /** The flagged class, when one is. */
  readonly suspect: { readonly index: number; readonly name: string } | null;
  /** The largest anomaly index (the scan's score); flagged when > threshold. */
  readonly score: number;
  readonly threshold: number;
  readonly perClass: readonly ClassScan[];
  readonly images: number;
  readonly settings: Omit<ScanOptions, 'signal' | 'onProgress'>;
  readonly failed: readonly { path: string; reason: string }[];
  readonly wallMs: number;
}

export async function scanForBackdoor(
  encoder: ClipEncoder,
  dataset: Dataset,
  options: ScanOptions,
): Promise<ScanReport> {
  const started = Date.now();
  const weights = encoder.weights;
  const names = dataset.classes.map((c) => c.name);
  if (names.length < 3) {
    throw new VetbenchError(
      'scan-too-few-classes',
      `the dataset has ${names.length} classes; the scan compares classes with each other and needs at least 3`,
      'Scan with a dataset of more classes (the more, the more reliable the verdict).',
    );
  }
  const sample = sampleFewShot(dataset, { shotsPerClass: options.shots, seed: options.seed });
  const loader = new ImageLoader({ resolution: weights.config.vision.imageResolution, normalize: false });
  const batchSize = options.batchSize ?? 32;
  const clean = await embedSample(encoder, loader, sample.items, 64);
  if (clean.items.length === 0) {
    throw new VetbenchError(
      'scan-no-images',
      'no training image of the dataset could be loaded for the scan',
      'Check the dataset with `vetbench dataset inspect`.',
    );
  }
  const head = await buildZeroShotHead(encoder, names, options.templates ?? [DEFAULT_TEMPLATE]);
  const trainer = await createTrainer(inversionObjective(), weights, options.executor);
  const c = names.length;
  const total = names.map((_, k) => clean.labels.filter((y) => y !== k).length).reduce((a, b) => a + b, 0);
  let done = 0;
  const perClass: Omit<ClassScan, 'anomalyIndex'>[] = [];
  try {
    for (let k = 0; k < c; k++) {
      const hasPositive = clean.labels.includes(k);
      const rows = clean.labels.flatMap((y, i) => (y !== k ? [i] : []));
      let flips = 0;
      let marginSum = 0;
      let budgetSum = 0;
      if (options.signal?.aborted) {
        throw new VetbenchError('cancelled', 'the scan was cancelled', 'Run the scan again.');
      }
      // The images of the other classes, in chunks (pixels cached by the loader between classes).
      const chunks: InversionChunk[] = [];
      for (let start = 0; start < rows.length; start += batchSize) {
        const batchRows = rows.slice(start, start + batchSize);
        const loaded = await loader.load(batchRows.map((r) => clean.items[r]!));
        const kept = loaded.indices.map((i) => batchRows[i]!);
        const cleanEmbeds = gatherRows(clean.embeds, kept);
        // Without an image of k in the sample there is no image positive: the image itself stands in.
        const positive =
          options.positive === 'class-text'
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
        chunks.push({ pixels: loaded.pixels, clean: cleanEmbeds, positive });
      }
      const delta = await invertUniversalTrigger(trainer, chunks, options);
      let n = 0;
      for (const chunk of chunks) {
        const perturbed = await embedPixels01(encoder, applyClipped(chunk.pixels, delta));
        const { logits, predictions } = classify(head, perturbed, weights.logitScale);
        for (let i = 0; i < predictions.length; i++) {
          if (predictions[i] === k) flips++;
          let other = -Infinity;
          for (let j = 0; j < c; j++) if (j !== k) other = Math.max(other, logits.data[i * c + j] as number);
          marginSum += (logits.data[i * c + k] as number) - other;
        }
        n += predictions.length;
      }
      let norm = 0;
      for (const v of delta) norm += v * v;
      budgetSum = (Math.sqrt(norm) / l2Radius(options.rho, delta.length, options.radiusMode)) * n;
      done += rows.length;
      const elapsed = Date.now() - started;
      options.onProgress?.({ done, total, etaMs: (elapsed / done) * (total - done) });
      perClass.push({
        index: k,
        name: names[k]!,
        flips,
        n: rows.length,
        flipShare: rows.length ? flips / rows.length : 0,
        meanMargin: rows.length ? marginSum / rows.length : 0,
        budgetUsed: rows.length ? budgetSum / rows.length : 0,
      });
    }
  } finally {
    await trainer.dispose();
  }
  const indices = anomalyIndices(
    perClass.map((p) => p.meanMargin),
    MARGIN_SPREAD_FLOOR,
  );
  const scored = perClass.map((p, k) => ({ ...p, anomalyIndex: indices[k]! }));
  const top = scored.reduce((a, b) => (b.anomalyIndex > a.anomalyIndex ? b : a));
  const flagged = top.anomalyIndex > OUTLIER_THRESHOLD;
  const { signal: _signal, onProgress: _onProgress, ...settings } = options;
  return {
    verdict: flagged ? 'backdoor-suspected' : 'no-evidence',
    suspect: flagged ? { index: top.index, name: top.name } : null,
    score: top.anomalyIndex,
    threshold: OUTLIER_THRESHOLD,
    perClass: scored,
    images: clean.items.length,
    settings,
    failed: clean.failed,
    wallMs: Date.now() - started,
  };
}
