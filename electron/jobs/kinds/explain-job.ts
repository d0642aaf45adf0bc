import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { createEncoder } from '../../../engine/clip/clip-encoder.js';
import { loadClipWeights } from '../../../engine/clip/load-weights.js';
import { buildZeroShotHead, DEFAULT_TEMPLATE, type ZeroShotHead } from '../../../engine/clip/zero-shot.js';
import type { ClipWeights } from '../../../engine/clip/weights.js';
import type { SplitName } from '../../../engine/datasets/dataset.js';
import { importDataset } from '../../../engine/datasets/import-dataset.js';
import { VetbenchError } from '../../../engine/errors.js';
import { loadDeepPrompts } from '../../../engine/explain/deep-prompts.js';
import type { DeepPromptTensors, ExplainModel, Explainer } from '../../../engine/explain/explainer.js';
import { EXPLAINERS, findExplainer } from '../../../engine/explain/registry.js';
import { sampleExplainImages } from '../../../engine/explain/sample-images.js';
import { bool, num, resolveParams, str, type ParamSpecs } from '../../../engine/methods/params.js';
import { encodeNpy } from '../../../engine/tensor/npy.js';
import { classIndex } from '../../../engine/datasets/class-index.js';
import type { JobContext, JobKind } from '../job-kind.js';
import { apiParamSpecs } from '../param-specs.js';
import { triggerOfJob } from './load-trigger.js';

/** Parameters every explanation run has besides the explainer's own. */
const SAMPLE_PARAMS: ParamSpecs = {
  split: {
    kind: 'enum',
    default: 'test',
    options: ['train', 'val', 'test'],
    help: 'split the images come from',
  },
  count: {
    kind: 'integer',
    default: 8,
    min: 1,
    max: 100_000,
    help: 'images drawn from the split (seeded by the run seed); use ~240 for embedding maps and PR curves',
  },
};

/** How the run's prompt file (and a compared one) is read, whatever the explainer. */
const PROMPT_PARAMS: ParamSpecs = {
  force: {
    kind: 'boolean',
    default: false,
    help: 'use prompt files made for another model fingerprint (with a warning)',
  },
};

/**
 * Which models are drawn, for the explainers that draw several side by side: a second model and/or prompt
 * file to compare with, whether the run's model is drawn without its prompt file too, and legend labels.
 * Files are artifacts of the project, named by their path inside its artifact folder (a run's output such as
 * `run-3/weights.safetensors`, or a file the CLI imported), never by a path elsewhere.
 */
const COMPARE_PARAMS: ParamSpecs = {
  compareModel: {
    kind: 'string',
    default: '',
    help: "weights of a second model for embedding-map and pr: an artifact path of this project (e.g. 'run-3/weights.safetensors'); '' = none, or the run's model when comparePrompts is set",
  },
  comparePrompts: {
    kind: 'string',
    default: '',
    help: "prompt file of the compared model (e.g. the RVPT-defended one): an artifact path of this project; '' = none",
  },
  drawWithoutPrompts: {
    kind: 'boolean',
    default: true,
    help: "embedding-map and pr with the run's prompt file and nothing compared: draw the model without its prompts ('backdoored') beside it with them ('defended'); false draws the prompted model alone",
  },
  labels: {
    kind: 'string',
    default: '',
    help: "legend labels of the model and the compared model, 'a,b'; '' = model,compared (backdoored,defended for the drawing without and with the prompt file)",
  },
};

/** Explainers that draw every model side by side (maps, curves); overlays explain one model. */
export const COMPARING_EXPLAINERS: ReadonlySet<string> = new Set(['embedding-map', 'pr', 'logit-lens']);

/**
 * Every parameter an explanation run takes with this explainer: what the API lists (and so what the app's
 * form shows) and what the run parses are this one set, so overlays never offer comparison fields.
 */
export function explainParamSpecs(explainer: Explainer): ParamSpecs {
  return {
    ...SAMPLE_PARAMS,
    ...PROMPT_PARAMS,
    ...(COMPARING_EXPLAINERS.has(explainer.id) ? COMPARE_PARAMS : {}),
    ...explainer.params,
  };
}

/** A file of the project named by its path inside the artifact folder (the parent of the run's folder). */
function projectArtifact(context: JobContext, relPath: string, param: string): string {
  const folder = dirname(context.spec.runFolder);
  const full = resolve(folder, relPath);
  if (!full.startsWith(folder + sep))
    throw new VetbenchError(
      'path-not-allowed',
      `${param} '${relPath}' is not inside the project's artifact folder`,
      "Name an artifact of this project by its path in the artifact folder, e.g. 'run-3/weights.safetensors'.",
    );
  if (!existsSync(full))
    throw new VetbenchError(
      'artifact-missing',
      `${param}: the project has no artifact '${relPath}'`,
      "Name an artifact of this project by its path in the artifact folder, e.g. 'run-3/weights.safetensors'.",
    );
  return full;
}

/** The zero-shot head of weights over the dataset's classes (one template, as zero-shot evaluation). */
async function zeroShotHead(weights: ClipWeights, classNames: readonly string[]): Promise<ZeroShotHead> {
  const encoder = await createEncoder(weights);
  try {
    return await buildZeroShotHead(encoder, classNames, [DEFAULT_TEMPLATE]);
  } finally {
    await encoder.dispose();
  }
}

/** Provenance of one drawn model in the run's result. */
function described(model: ExplainModel): { label: string; fingerprint: string; prompts: string | null } {
  return {
    label: model.label,
    fingerprint: model.weights.source.fingerprint,
    prompts: model.prompts?.fileSha256 ?? null,
  };
}

/**
 * Explanations as runs (METHODS 5): Grad-CAM, attention, rollout, embedding maps, PR curves. Artifacts are the
 * explainer's PNG/SVG/JSON plus one .npy per raw array. With a prompt file, overlays explain the prompted
 * model, and embedding maps and PR curves compare the model without prompts ("backdoored") and with them
 * ("defended").
 */
export const explainJob: JobKind = {
  kind: 'explain',
  methods: () =>
    EXPLAINERS.map((e) => ({
      id: e.id,
      title: e.title,
      kind: 'explain' as const,
      summary: e.summary,
      paper: e.paper,
      params: apiParamSpecs(explainParamSpecs(e)),
      needsTarget: false,
      acceptsTrigger: true,
    })),
  async run(context) {
    const { spec } = context;
    const explainer = findExplainer(spec.method);
    const params = resolveParams(spec.method, explainParamSpecs(explainer), spec.params);
    if ((spec.trigger === null) !== (spec.target === null))
      throw new VetbenchError(
        'bad-request',
        'a trigger and a target class go together',
        'Give both to explain triggered images, or neither.',
      );
    context.progress({ epoch: 0, step: 0, total: 1, etaMs: 0 });
    const weights = await loadClipWeights(spec.modelPath);
    for (const w of weights.source.warnings) context.log(`warning: ${w}`, 'warn');
    const dataset = await importDataset(spec.datasetSource);
    const classNames = dataset.classes.map((c) => c.name);
    const force = bool(params, 'force');
    const promptsOf = (path: string, of: ClipWeights): Promise<DeepPromptTensors> =>
      loadDeepPrompts(path, of, { force, warn: (message) => context.log(`warning: ${message}`, 'warn') });
    const head = await zeroShotHead(weights, classNames);
    const prompts = spec.promptsPath ? await promptsOf(spec.promptsPath, weights) : null;
    // Only comparing explainers declare the comparison parameters; overlays explain the (prompted) model.
    const compares = COMPARING_EXPLAINERS.has(explainer.id);
    const compareModel = compares ? str(params, 'compareModel') : '';
    const comparePrompts = compares ? str(params, 'comparePrompts') : '';
    const comparing = compareModel !== '' || comparePrompts !== '';
    const drawsWithout = compares && !comparing && prompts !== null && bool(params, 'drawWithoutPrompts');
    const [label, compareLabel] = (compares ? str(params, 'labels') : '').split(',').map((l) => l.trim());
    const labels = {
      model: label || (drawsWithout ? 'backdoored' : 'model'),
      compared: compareLabel || (drawsWithout ? 'defended' : 'compared'),
    };
    let model: ExplainModel;
    const others: ExplainModel[] = [];
    if (drawsWithout) {
      // Maps and curves draw the model without its prompts ("backdoored") and with them ("defended").
      model = { label: labels.model, weights, head, prompts: null };
      others.push({ label: labels.compared, weights, head, prompts });
    } else {
      model = { label: labels.model, weights, head, prompts };
      if (comparing) {
        const otherWeights = compareModel
          ? await loadClipWeights(projectArtifact(context, compareModel, 'compareModel'))
          : weights;
        if (compareModel) for (const w of otherWeights.source.warnings) context.log(`warning: ${w}`, 'warn');
        others.push({
          label: labels.compared,
          weights: otherWeights,
          head: compareModel ? await zeroShotHead(otherWeights, classNames) : head,
          prompts: comparePrompts
            ? await promptsOf(projectArtifact(context, comparePrompts, 'comparePrompts'), otherWeights)
            : null,
        });
      }
    }
    const resolution = weights.config.vision.imageResolution;
    const target = spec.target === null ? null : classIndex(dataset, spec.target);
    const trigger = await triggerOfJob(spec, resolution);
    const images = await sampleExplainImages(dataset, {
      split: str(params, 'split') as SplitName,
      count: num(params, 'count'),
      seed: spec.seed,
      resolution,
      trigger,
      excludeClass: explainer.keepsTargetClass ? null : target,
    });
    const own = Object.fromEntries(Object.keys(explainer.params).map((k) => [k, params[k]!]));
    const result = await explainer.run(
      {
        model,
        others,
        classNames,
        images,
        trigger,
        target,
        seed: spec.seed,
        progress: (fraction) =>
          context.progress({ epoch: 0, step: Math.round(fraction * 100), total: 100, etaMs: 0 }),
      },
      own,
    );
    for (const a of result.artifacts) {
      const kind = a.mime === 'application/json' ? 'json' : 'image';
      await context.writeArtifact(kind, a.name, a.mime, (tmp) => writeFile(tmp, a.bytes));
    }
    for (const a of result.arrays) {
      await context.writeArtifact('other', `${a.name}.npy`, 'application/octet-stream', (tmp) =>
        writeFile(tmp, encodeNpy(a.tensor.data, a.tensor.shape)),
      );
    }
    for (const [k, v] of Object.entries(result.summary)) if (typeof v === 'number') context.metric(k, 0, v);
    context.progress({ epoch: 0, step: 100, total: 100, etaMs: 0 });
    return {
      method: explainer.id,
      images: images.keys.length,
      summary: result.summary,
      model: { path: weights.source.path, fingerprint: weights.source.fingerprint },
      drawn: described(model),
      compared: others.map(described),
      ...(prompts ? { prompts: { path: spec.promptsPath, file_sha256: prompts.fileSha256 } } : {}),
      ...(trigger ? { trigger: { method: trigger.method, params: trigger.params, seed: trigger.seed } } : {}),
    };
  },
};
