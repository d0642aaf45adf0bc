import { writeFile } from 'node:fs/promises';
import { createEncoder } from '../../../engine/clip/clip-encoder.js';
import { loadClipWeights } from '../../../engine/clip/load-weights.js';
import { buildZeroShotHead, DEFAULT_TEMPLATE } from '../../../engine/clip/zero-shot.js';
import type { SplitName } from '../../../engine/datasets/dataset.js';
import { importDataset } from '../../../engine/datasets/import-dataset.js';
import { VetbenchError } from '../../../engine/errors.js';
import { loadDeepPrompts } from '../../../engine/explain/deep-prompts.js';
import type { ExplainModel } from '../../../engine/explain/explainer.js';
import { EXPLAINERS, findExplainer } from '../../../engine/explain/registry.js';
import { sampleExplainImages } from '../../../engine/explain/sample-images.js';
import { num, resolveParams, str, type ParamSpecs } from '../../../engine/methods/params.js';
import { encodeNpy } from '../../../engine/tensor/npy.js';
import { classIndex } from '../../cli/cli-args.js';
import type { JobKind } from '../job-kind.js';
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
      params: apiParamSpecs({ ...SAMPLE_PARAMS, ...e.params }),
      needsTarget: false,
      acceptsTrigger: true,
    })),
  async run(context) {
    const { spec } = context;
    const explainer = findExplainer(spec.method);
    const params = resolveParams(spec.method, { ...SAMPLE_PARAMS, ...explainer.params }, spec.params);
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
    const encoder = await createEncoder(weights);
    const head = await buildZeroShotHead(encoder, classNames, [DEFAULT_TEMPLATE]);
    await encoder.dispose();
    const prompts = spec.promptsPath
      ? await loadDeepPrompts(spec.promptsPath, weights, {
          warn: (message) => context.log(`warning: ${message}`, 'warn'),
        })
      : null;
    const plain: ExplainModel = { label: prompts ? 'backdoored' : 'model', weights, head, prompts: null };
    const prompted: ExplainModel | null = prompts ? { label: 'defended', weights, head, prompts } : null;
    const compares = explainer.id === 'embedding-map' || explainer.id === 'pr';
    const model = compares || !prompted ? plain : prompted;
    const others = compares && prompted ? [prompted] : [];
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
      ...(prompts ? { prompts: { path: spec.promptsPath, file_sha256: prompts.fileSha256 } } : {}),
      ...(trigger ? { trigger: { method: trigger.method, params: trigger.params, seed: trigger.seed } } : {}),
    };
  },
};
