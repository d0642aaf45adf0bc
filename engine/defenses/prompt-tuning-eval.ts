import type { ClipEncoder } from '../clip/clip-encoder.js';
import type { Dataset } from '../datasets/dataset.js';
import { evaluateBackdoor, type BackdoorEvaluation } from '../eval/backdoor-eval.js';
import { zeroShotClassifier, type ImageClassifier } from '../eval/image-classifier.js';
import { defenseEffectivenessRating } from '../metrics/backdoor-metrics.js';
import { promptFileClassifier } from '../prompts/prompt-classifier.js';
import {
  PROMPT_FILE_FORMAT,
  PROMPT_FILE_VERSION,
  payloadSha256,
  type NewPromptFile,
  type PromptFile,
} from '../prompts/prompt-file.js';
import type { Trigger } from '../triggers/trigger.js';

/**
 * Before/after measurement of a prompt defense (METHODS 2.3): the backdoored model zero-shot with the
 * defense's template(s), then the same model with the learned prompts, on the same test split and trigger.
 * The prompts are evaluated in memory through the very classifier a saved prompt file gets, so the metrics
 * written into the file at export time are those `vetbench eval --prompts` reproduces.
 */
export type UnsavedPrompts = Omit<NewPromptFile, 'metrics'>;

/** A prompt file as it will be once saved (no path, no file hash yet). */
export function inMemoryPromptFile(file: UnsavedPrompts, label = '(unsaved prompts)'): PromptFile {
  const { tensors, ...rest } = file;
  return {
    header: {
      format: PROMPT_FILE_FORMAT,
      formatVersion: PROMPT_FILE_VERSION,
      ...rest,
      metrics: {},
      createdAt: file.createdAt ?? new Date().toISOString(),
      tool: 'vetbench',
      payloadSha256: payloadSha256(tensors),
    },
    tensors,
    fileSha256: '',
    path: label,
  };
}

export interface DefenseMeasurement {
  readonly before: BackdoorEvaluation;
  readonly after: BackdoorEvaluation;
  /** Defense effectiveness rating in [0, 1]; null without a trigger. */
  readonly der: number | null;
}

export interface MeasureOptions {
  readonly trigger?: Trigger | null;
  readonly target?: number;
  readonly batchSize?: number;
}

export async function measureClassifiers(
  encoder: ClipEncoder,
  dataset: Dataset,
  before: ImageClassifier,
  after: ImageClassifier,
  options: MeasureOptions = {},
): Promise<DefenseMeasurement> {
  const common = {
    ...(options.trigger ? { trigger: options.trigger, target: options.target! } : {}),
    ...(options.batchSize ? { batchSize: options.batchSize } : {}),
  };
  const b = await evaluateBackdoor(encoder, dataset, { ...common, classifier: before });
  const a = await evaluateBackdoor(encoder, dataset, { ...common, classifier: after });
  const der =
    b.metrics && a.metrics
      ? defenseEffectivenessRating({ ca: b.ca, asr: b.metrics.asr }, { ca: a.ca, asr: a.metrics.asr })
      : null;
  return { before: b, after: a, der };
}

/** The backdoored model zero-shot vs. the same model with the defense's prompts. */
export async function measurePromptDefense(
  encoder: ClipEncoder,
  dataset: Dataset,
  file: UnsavedPrompts,
  options: MeasureOptions = {},
): Promise<DefenseMeasurement> {
  const names = dataset.classes.map((c) => c.name);
  const before = zeroShotClassifier(encoder, names, { templates: file.templates });
  const after = promptFileClassifier(encoder, inMemoryPromptFile(file), names);
  return measureClassifiers(encoder, dataset, before, after, options);
}

/** Metrics as stored in a prompt file header (percent; DER in [0, 1]). */
export function exportMetrics(m: DefenseMeasurement): Record<string, number> {
  const out: Record<string, number> = { ca: m.after.ca, ca_before: m.before.ca, n_clean: m.after.n_clean };
  const a = m.after.metrics;
  const b = m.before.metrics;
  if (a && b) {
    Object.assign(out, {
      asr: a.asr,
      asr_all: a.asr_all,
      pa: a.pa,
      asr_before: b.asr,
      pa_before: b.pa,
      n_poisoned: a.n_poisoned,
      der: m.der!,
    });
  }
  return out;
}
