import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SplitName } from '../../../engine/datasets/dataset.js';
import type { Explainer, ExplainModel } from '../../../engine/explain/explainer.js';
import { sampleExplainImages } from '../../../engine/explain/sample-images.js';
import type { ParamValues } from '../../../engine/methods/params.js';
import { encodeNpy } from '../../../engine/tensor/npy.js';
import { classIndex, triggerFromArgs } from '../cli-args.js';
import { openDataset } from '../open-dataset.js';
import type { ExplainSummary } from './explain-output.js';
import { loadExplainModel } from './explain-models.js';

/** What `vetbench explain` was asked, once its options are checked. */
export interface ExplainRequest {
  explainer: Explainer;
  params: ParamValues;
  seed: number;
  count: number;
  split: SplitName;
  model: string;
  dataset: string;
  prompts?: string | undefined;
  force?: boolean | undefined;
  compare?: string | undefined;
  comparePrompts?: string | undefined;
  labels: readonly [string, string];
  trigger?: string | undefined;
  triggerParam: readonly string[];
  target?: string | undefined;
  out: string;
}

/**
 * Runs the explainer in this process, outside any project. Used for what the explain job kind cannot
 * express: a second model (--compare, --compare-prompts), custom legend labels, --force, and a prompt
 * file explained alone by embedding-map or pr (the job compares the model without and with its prompts).
 */
export async function explainDirectly(request: ExplainRequest): Promise<ExplainSummary> {
  const { explainer, seed } = request;
  const dataset = await openDataset(request.dataset);
  const classNames = dataset.classes.map((c) => c.name);
  const [label, compareLabel] = request.labels;
  const model = await loadExplainModel({
    model: request.model,
    prompts: request.prompts,
    force: request.force,
    label,
    classNames,
  });
  const others: ExplainModel[] = [];
  if (request.compare !== undefined || request.comparePrompts !== undefined) {
    others.push(
      await loadExplainModel({
        model: request.compare ?? model.weights,
        prompts: request.comparePrompts,
        force: request.force,
        label: compareLabel,
        classNames,
      }),
    );
  }
  const resolution = model.weights.config.vision.imageResolution;
  const target = request.target === undefined ? null : classIndex(dataset, request.target);
  const trigger = request.trigger
    ? await triggerFromArgs(request.trigger, request.triggerParam, seed, resolution)
    : null;
  const images = await sampleExplainImages(dataset, {
    split: request.split,
    count: request.count,
    seed,
    resolution,
    trigger,
    excludeClass: explainer.keepsTargetClass ? null : target,
  });
  const started = Date.now();
  const result = await explainer.run(
    {
      model,
      others,
      classNames,
      images,
      trigger,
      target,
      seed,
      progress: (f, m) => console.error(`${(100 * f).toFixed(0).padStart(3)}%  ${m}`),
    },
    request.params,
  );
  await mkdir(request.out, { recursive: true });
  const files: string[] = [];
  for (const a of result.artifacts) {
    await writeFile(join(request.out, a.name), a.bytes);
    files.push(a.name);
  }
  for (const a of result.arrays) {
    const name = `${a.name}.npy`;
    await writeFile(join(request.out, name), encodeNpy(a.tensor.data, a.tensor.shape));
    files.push(name);
  }
  return {
    method: explainer.id,
    params: request.params,
    seed,
    split: request.split,
    images: images.keys.length,
    model: {
      path: model.weights.source.path,
      fingerprint: model.weights.source.fingerprint,
      prompts: model.prompts?.fileSha256 ?? null,
    },
    compared: others.map((o) => ({
      label: o.label,
      fingerprint: o.weights.source.fingerprint,
      prompts: o.prompts?.fileSha256 ?? null,
    })),
    ...(trigger
      ? {
          trigger: { method: trigger.method, params: trigger.params, seed: trigger.seed },
          target: request.target,
        }
      : {}),
    result: result.summary,
    files,
    wall_ms: Date.now() - started,
  };
}
