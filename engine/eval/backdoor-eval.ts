import type { ClipEncoder } from '../clip/clip-encoder.js';
import { DEFAULT_TEMPLATE, type ZeroShotHead } from '../clip/zero-shot.js';
import { argmaxRows, zeroShotClassifier, type ImageClassifier } from './image-classifier.js';
import type { Dataset, SplitName } from '../datasets/dataset.js';
import { ImageLoader } from '../datasets/image-loader.js';
import { normalizePixels } from '../image/preprocess.js';
import { backdoorMetrics, cleanAccuracy, type BackdoorMetrics } from '../metrics/backdoor-metrics.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import type { Trigger } from '../triggers/trigger.js';
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
  for await (const batch of loader.batches(items, options.batchSize ?? 64)) {
    for (const f of batch.failed) failed.push({ path: f.item.relativePath, reason: f.reason });
    if (batch.items.length === 0) continue;
    clean.push(...argmaxRows(await classifier.logits(normalizedCopy(batch.pixels))));
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
  return { metrics, ca, n_clean: n, perClass, failed, templates, split, classifier: classifier.description };
}
