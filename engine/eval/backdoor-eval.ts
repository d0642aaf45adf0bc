import type { ClipEncoder } from '../clip/clip-encoder.js';
import { DEFAULT_TEMPLATE, type ZeroShotHead } from '../clip/zero-shot.js';
import { argmaxRows, zeroShotClassifier, type ImageClassifier } from './image-classifier.js';
import type { Dataset, SplitName } from '../datasets/dataset.js';
import { ImageLoader } from '../datasets/image-loader.js';
import { normalizePixels } from '../image/preprocess.js';
import { backdoorMetrics, cleanAccuracy, type BackdoorMetrics } from '../metrics/backdoor-metrics.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import type { Trigger } from '../triggers/trigger.js';
import { VetbenchError } from '../errors.js';
import { requireSplit } from './require-split.js';

/**
 * Clean accuracy and, with a trigger, attack success of a model on a dataset split. Each batch is loaded
 * once as [0,1] pixels: a copy is normalised as the clean input, another gets the trigger first (METHODS 1.3),
 * so the only difference between the two passes is the trigger.
 */
export interface BackdoorEvaluation {
  readonly metrics: BackdoorMetrics | null;
  readonly ca: number;
  readonly n_clean: number;
  readonly perClass: readonly { name: string; correct: number; n: number }[];
  readonly failed: readonly { path: string; reason: string }[];
  readonly templates: readonly string[];
  readonly split: SplitName;
  /** How the classes were predicted (zero-shot, prompt file, ...). */
  readonly classifier: string;
  /** With `agreementCheck`: top-1 agreement of the classifier with its reference on the first clean images. */
  readonly agreement?: PrecisionAgreement;
}

export interface PrecisionAgreement {
  readonly checked: number;
  readonly agreeing: number;
  /** Percent. */
  readonly rate: number;
  readonly minRate: number;
}

/**
 * A reduced-precision classifier is trusted only as far as it agrees with full precision: the first `images`
 * clean images of the run go through both, and the evaluation stops with an error when the top-1 agreement is
 * below `minRate` percent.
 */
export interface AgreementCheck {
  readonly reference: ImageClassifier;
  readonly images: number;
  readonly minRate: number;
  /** What to call the reduced precision in the refusal ("int8"). */
  readonly label: string;
}

export interface BackdoorEvalOptions {
  readonly split?: SplitName;
  readonly templates?: readonly string[];
  readonly trigger?: Trigger | null;
  /** Target class index (required with a trigger). */
  readonly target?: number;
  readonly batchSize?: number;
  /** A precomputed class head; default: zero-shot from the templates. */
  readonly head?: ZeroShotHead;
  /** Any classifier (prompt files, prompt learners); overrides `head` and `templates`. */
  readonly classifier?: ImageClassifier;
  readonly agreementCheck?: AgreementCheck;
}

function normalizedCopy(pixels01: HostTensor): HostTensor {
  const r = pixels01.shape[2] as number;
  return {
    data: normalizePixels(pixels01.data, new Float32Array(pixels01.data.length), r * r),
    shape: pixels01.shape,
  };
}

export async function evaluateBackdoor(
  encoder: ClipEncoder,
  dataset: Dataset,
  options: BackdoorEvalOptions = {},
): Promise<BackdoorEvaluation> {
  const split = options.split ?? 'test';
  const templates = options.templates ?? [DEFAULT_TEMPLATE];
  const trigger = options.trigger ?? null;
  if (trigger && options.target === undefined)
    throw new Error('evaluateBackdoor: a trigger needs a target class');
  const names = dataset.classes.map((c) => c.name);
  const classifier =
    options.classifier ??
    zeroShotClassifier(encoder, names, {
      templates,
      ...(options.head ? { head: options.head } : {}),
    });
  // TrojVQA-style triggers need their text key in the prompts as well (dual key).
  const textKey = trigger?.textKey ?? '';
  const items = requireSplit(dataset, split);
  const loader = new ImageLoader({
    resolution: encoder.weights.config.vision.imageResolution,
    cacheBytes: 0,
    normalize: false,
  });
  const labels: number[] = [];
  const clean: number[] = [];
  const triggered: number[] = [];
  const failed: { path: string; reason: string }[] = [];
  const check = options.agreementCheck;
  let checked = 0;
  let agreeing = 0;
  for await (const batch of loader.batches(items, options.batchSize ?? 64)) {
    for (const f of batch.failed) failed.push({ path: f.item.relativePath, reason: f.reason });
    if (batch.items.length === 0) continue;
    const input = normalizedCopy(batch.pixels);
    const predicted = argmaxRows(await classifier.logits(input));
    if (check && checked < check.images) {
      const reference = argmaxRows(await check.reference.logits(input));
      reference.forEach((r, i) => (agreeing += r === predicted[i] ? 1 : 0));
      checked += predicted.length;
      if (checked >= check.images) requireAgreement(check, checked, agreeing);
    }
    clean.push(...predicted);
    labels.push(...batch.items.map((i) => i.label));
    if (trigger) {
      const poisoned = Float32Array.from(batch.pixels.data);
      await trigger.apply(
        poisoned,
        batch.items.map((i) => ({ key: i.relativePath })),
      );
      const logits = await classifier.logits(normalizedCopy({ data: poisoned, shape: batch.pixels.shape }), {
        textKey,
      });
      triggered.push(...argmaxRows(logits));
    }
  }
  const perClass = names.map((name) => ({ name, correct: 0, n: 0 }));
  labels.forEach((y, i) => {
    perClass[y]!.n++;
    if (clean[i] === y) perClass[y]!.correct++;
  });
  const { ca, n } = cleanAccuracy(clean, labels);
  const metrics = trigger
    ? backdoorMetrics({ predictions: clean, labels }, { predictions: triggered, labels }, options.target!)
    : null;
  if (check && checked > 0 && checked < check.images) requireAgreement(check, checked, agreeing);
  return {
    metrics,
    ca,
    n_clean: n,
    perClass,
    failed,
    templates,
    split,
    classifier: classifier.description,
    ...(check
      ? {
          agreement: {
            checked,
            agreeing,
            rate: checked ? (100 * agreeing) / checked : 0,
            minRate: check.minRate,
          },
        }
      : {}),
  };
}

function requireAgreement(check: AgreementCheck, checked: number, agreeing: number): void {
  const rate = (100 * agreeing) / checked;
  if (rate < check.minRate)
    throw new VetbenchError(
      'precision-refused',
      `${check.label} predictions agree with fp32 on ${rate.toFixed(2)}% of the first ${checked} images (${agreeing}/${checked}), under the ${check.minRate}% required: not used`,
      'Evaluate in fp32 (drop --precision), or use int8 only on models where it agrees.',
    );
}
