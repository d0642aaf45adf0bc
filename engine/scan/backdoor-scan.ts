import type { ClipEncoder } from '../clip/clip-encoder.js';
import { buildZeroShotHead, DEFAULT_TEMPLATE } from '../clip/zero-shot.js';
import type { Dataset } from '../datasets/dataset.js';
import { ImageLoader } from '../datasets/image-loader.js';
import { sampleFewShot } from '../datasets/sampler.js';
import { embedSample } from '../inversion/image-embeddings.js';
import { l2Radius, type RadiusMode } from '../inversion/projection.js';
import { inversionObjective } from '../inversion/trigger-inversion.js';
import { VetbenchError } from '../errors.js';
import { createTrainer, type TrainingExecutorKind } from '../train/create-trainer.js';
import { anomalyIndices, OUTLIER_THRESHOLD } from './anomaly-index.js';
import { budgetLadder, meanOverLevels } from './budget-sweep.js';
import { classChunks, measureProbe, type ScanPositive } from './class-probe.js';
import { applyClipped, invertUniversalTrigger } from './universal-inversion.js';
import type { ScanProgress } from './scan-progress.js';

export { SCAN_POSITIVES, type ScanPositive } from './class-probe.js';

/**
 * Backdoor scan without a known trigger (METHODS 4.2, CBPT's inversion as a scanner), in the spirit of
 * Neural Cleanse: for every class k, one perturbation shared by the sampled clean images of all other classes
 * is inverted with CBPT's contrastive loss toward k (positive: k's text embedding, or CBPT's farthest image of
 * k; negative: the image itself). A backdoor target is a shortcut: a small universal pattern reaches it, where
 * other classes need a larger one (Neural Cleanse's minimal trigger norm). So the budget is swept upward
 * (rho / 2^(levels-1), ..., rho / 2, rho, each level continuing from the previous trigger) and each class's
 * margin is averaged over the levels: the area under its margin-versus-log-budget curve, large when k is
 * reached early. Each class's average is scored against the other classes with a robust (median/MAD) anomaly
 * index; an index above 3.5 is flagged. docs/scanning.md has the measurements on the demo models.
 */
export interface ScanOptions {
  readonly shots: number;
  readonly seed: number;
  /** Projected-gradient steps at each budget level. */
  readonly steps: number;
  /** The largest budget of the sweep. */
  readonly rho: number;
  /** Budget levels, each half the next: rho / 2^(levels-1) ... rho. */
  readonly levels: number;
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
  readonly onProgress?: (p: ScanProgress) => void;
}

/** Default settings (docs/scanning.md: budgets 4, 8, 16, 32 / 255 RMS, 5 steps each). */
export const SCAN_DEFAULTS = {
  shots: 4,
  steps: 5,
  rho: 32 / 255,
  levels: 4,
  radiusMode: 'rms',
  positive: 'class-text',
} as const satisfies Partial<ScanOptions>;

/** Robust sigma floor for margins, in logit units: differences below it are never outliers. */
export const MARGIN_SPREAD_FLOOR = 0.25;

/** How the inversion toward one class did at one budget. */
export interface ScanLevel {
  readonly rho: number;
  readonly flips: number;
  readonly meanMargin: number;
}

export interface ClassScan {
  readonly index: number;
  readonly name: string;
  /** Inverted images (of other classes) that the model assigns to this class at the largest budget. */
  readonly flips: number;
  readonly n: number;
  readonly flipShare: number;
  /**
   * Margin logit_k - max_{j != k} logit_j, averaged over the images and over the budget levels (negative: k
   * mostly not reached). The scored statistic.
   */
  readonly meanMargin: number;
  /** ||delta|| / radius of the trigger at the largest budget. */
  readonly budgetUsed: number;
  /** Flips and margin at each budget, smallest first. */
  readonly levels: readonly ScanLevel[];
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
  const budgets = budgetLadder(options.rho, options.levels);
  const sample = sampleFewShot(dataset, { shotsPerClass: options.shots, seed: options.seed });
  const loader = new ImageLoader({ resolution: weights.config.vision.imageResolution, normalize: false });
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
  const total = names.length * budgets.length;
  let done = 0;
  const perClass: Omit<ClassScan, 'anomalyIndex'>[] = [];
  try {
    for (let k = 0; k < names.length; k++) {
      // The images of the other classes (pixels cached by the loader between classes).
      const chunks = await classChunks(clean, loader, head, k, options.positive, options.batchSize ?? 32);
      const levels: ScanLevel[] = [];
      let delta: Float32Array | undefined;
      let n = 0;
      for (const rho of budgets) {
        if (options.signal?.aborted) {
          throw new VetbenchError('cancelled', 'the scan was cancelled', 'Run the scan again.');
        }
        delta = await invertUniversalTrigger(trainer, chunks, { ...options, rho }, delta);
        const trigger = delta;
        const outcome = await measureProbe(encoder, head, chunks, (p) => applyClipped(p, trigger), k);
        n = outcome.n;
        levels.push({ rho, flips: outcome.flips, meanMargin: outcome.meanMargin });
        done++;
        const elapsed = Date.now() - started;
        options.onProgress?.({ done, total, etaMs: (elapsed / done) * (total - done) });
      }
      let norm = 0;
      for (const v of delta ?? []) norm += v * v;
      const last = levels[levels.length - 1]!;
      perClass.push({
        index: k,
        name: names[k]!,
        flips: last.flips,
        n,
        flipShare: n ? last.flips / n : 0,
        meanMargin: meanOverLevels(levels),
        budgetUsed: delta ? Math.sqrt(norm) / l2Radius(options.rho, delta.length, options.radiusMode) : 0,
        levels,
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
