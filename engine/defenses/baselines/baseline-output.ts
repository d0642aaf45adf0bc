import { createEncoder, type ClipEncoder } from '../../clip/clip-encoder.js';
import { saveClipWeights } from '../../clip/save-weights.js';
import type { ClipWeights } from '../../clip/weights.js';
import { DEFAULT_TEMPLATE } from '../../clip/zero-shot.js';
import type { Dataset } from '../../datasets/dataset.js';
import { zeroShotClassifier } from '../../eval/image-classifier.js';
import { linearHeadClassifier } from '../../eval/linear-head-classifier.js';
import type { ParamValues } from '../../methods/params.js';
import type { HostTensor } from '../../tensor/host-tensor.js';
import type { DefenseOutput } from '../defense.js';
import { measureClassifiers, type DefenseMeasurement, type MeasureOptions } from '../prompt-tuning-eval.js';
import { saveLinearHead } from './linear-head-file.js';

/**
 * Before/after measurement and saving of the defenses whose product is not a prompt file: new weights (FT,
 * CleanCLIP) or a linear head (linear probe). "Before" is always the given model zero-shot with the default
 * template, the head FT trains against and the one `vetbench eval` uses.
 */
export type NonPromptOutput = Exclude<DefenseOutput, { kind: 'prompts' }>;

/** The given model with some tensors replaced (logit scale read from them). */
export function withTensors(weights: ClipWeights, tensors: ReadonlyMap<string, HostTensor>): ClipWeights {
  const scale = tensors.get('logit_scale')?.data[0];
  return { ...weights, tensors, logitScale: scale ?? weights.logitScale };
}

export async function measureBaselineOutput(
  weights: ClipWeights,
  dataset: Dataset,
  output: NonPromptOutput,
  options: MeasureOptions = {},
): Promise<DefenseMeasurement> {
  const names = dataset.classes.map((c) => c.name);
  const encoder = await createEncoder(weights);
  let defended: ClipEncoder | null = null;
  try {
    const before = zeroShotClassifier(encoder, names, { templates: [DEFAULT_TEMPLATE] });
    let after;
    if (output.kind === 'linear-head') {
      after = linearHeadClassifier(encoder, names, output);
    } else {
      defended = await createEncoder(withTensors(weights, output.tensors));
      after = zeroShotClassifier(defended, names, {
        templates: [DEFAULT_TEMPLATE],
        description: 'zero-shot, defended weights',
      });
    }
    return await measureClassifiers(encoder, dataset, before, after, options);
  } finally {
    await encoder.dispose();
    await defended?.dispose();
  }
}

export interface BaselineProvenance {
  readonly method: string;
  readonly params: ParamValues;
  readonly seed: number;
  readonly shots: number;
  readonly dataset: Dataset;
  readonly metrics: Readonly<Record<string, number>>;
  /** The command line that made the file, for the weights' provenance metadata. */
  readonly command?: string;
}

/**
 * Writes the output: a linear-head file, or CLIP safetensors (float32) whose metadata
 * says which model was defended, how, and with what result.
 */
export async function saveBaselineOutput(
  path: string,
  weights: ClipWeights,
  output: NonPromptOutput,
  p: BaselineProvenance,
): Promise<void> {
  if (output.kind === 'linear-head') {
    await saveLinearHead(path, {
      weight: output.weight,
      bias: output.bias,
      modelFingerprint: weights.source.fingerprint,
      classNames: p.dataset.classes.map((c) => c.name),
      method: { id: p.method, params: p.params, seed: p.seed },
      metrics: p.metrics,
    });
    return;
  }
  const provenance = {
    defense: p.method,
    params: p.params,
    seed: p.seed,
    shots: p.shots,
    base_model_fingerprint: weights.source.fingerprint,
    dataset_fingerprint: p.dataset.fingerprint,
    metrics: p.metrics,
    ...(p.command ? { command: p.command } : {}),
    created: new Date().toISOString(),
  };
  await saveClipWeights(path, weights.config, output.tensors, {
    dtype: 'F32', // fine-tuning steps can be smaller than F16's resolution: keep them
    metadata: { vetbench_provenance: JSON.stringify(provenance) },
  });
}
