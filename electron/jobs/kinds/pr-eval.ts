import { writeFile } from 'node:fs/promises';
import type { MethodInfo } from '../../api/contract.js';
import { createEncoder } from '../../../engine/clip/clip-encoder.js';
import { loadClipWeights } from '../../../engine/clip/load-weights.js';
import type { SplitName } from '../../../engine/datasets/dataset.js';
import { ImageLoader } from '../../../engine/datasets/image-loader.js';
import { importDataset } from '../../../engine/datasets/import-dataset.js';
import { requireSplit } from '../../../engine/eval/require-split.js';
import { VetbenchError } from '../../../engine/errors.js';
import { loadDeepPrompts } from '../../../engine/explain/deep-prompts.js';
import { prCurvesSvg } from '../../../engine/explain/pr-curves.js';
import { bool, num, resolveParams, str, type ParamSpecs } from '../../../engine/methods/params.js';
import { perturbationResistivity, type PrBatch } from '../../../engine/metrics/perturbation-resistivity.js';
import {
  standardPerturbations,
  triggerPerturbation,
} from '../../../engine/metrics/perturbations/standard-perturbations.js';
import { Rng } from '../../../engine/util/rng.js';
import type { JobContext } from '../job-kind.js';
import { apiParamSpecs } from '../param-specs.js';
import { triggerOfJob } from './load-trigger.js';

/** Method id of perturbation resistivity among the eval runs. */
export const PR_METHOD_ID = 'perturbation-resistivity';

/** The report's name among the run's artifacts (the CLI reads it back). */
export const PR_REPORT_NAME = 'pr.json';

export const PR_PARAMS: ParamSpecs = {
  split: { kind: 'enum', default: 'test', options: ['train', 'val', 'test'], help: 'split measured' },
  limit: {
    kind: 'integer',
    default: 0,
    min: 0,
    help: 'measure a seeded sample of this many images; 0 = the whole split',
  },
  batchSize: { kind: 'integer', default: 64, min: 1, help: 'images per forward pass' },
  force: {
    kind: 'boolean',
    default: false,
    help: 'use a prompt file made for another model fingerprint (with a warning)',
  },
};

export const prMethodInfo: MethodInfo = {
  id: PR_METHOD_ID,
  title: 'Perturbation resistivity per block',
  kind: 'eval',
  summary:
    'PR_d = mean cos(CLS_d(x), CLS_d(x+δ)) per block under Gaussian noise, blur, colour jitter, flip and, with a trigger, the trigger; optionally with a deep prompt file (a hardened model).',
  paper: 'METHODS 2.3 (perturbation resistivity, RVPT)',
  params: apiParamSpecs(PR_PARAMS),
  needsTarget: false,
  acceptsTrigger: true,
};

/**
 * Perturbation resistivity (METHODS 2.3) over a whole split (or a seeded sample), streamed in batches: the
 * report (pr.json, the same record `vetbench pr --json` prints), a chart of the curves, and per perturbation a
 * metric series `pr/<perturbation>` with one point per block (step = block d).
 */
export async function runPerturbationResistivity(context: JobContext): Promise<Record<string, unknown>> {
  const { spec } = context;
  const params = resolveParams(spec.method, PR_PARAMS, spec.params);
  context.progress({ epoch: 0, step: 0, total: 1, etaMs: 0 });
  const weights = await loadClipWeights(spec.modelPath);
  for (const w of weights.source.warnings) context.log(`warning: ${w}`, 'warn');
  const prompts = spec.promptsPath
    ? await loadDeepPrompts(spec.promptsPath, weights, {
        force: bool(params, 'force'),
        warn: (message) => context.log(`warning: ${message}`, 'warn'),
      })
    : null;
  const dataset = await importDataset(spec.datasetSource);
  const resolution = weights.config.vision.imageResolution;
  const trigger = await triggerOfJob(spec, resolution);
  const split = str(params, 'split') as SplitName;
  const limit = num(params, 'limit');
  const sorted = requireSplit(dataset, split).sort((a, b) => (a.relativePath < b.relativePath ? -1 : 1));
  // The sample is drawn as `vetbench explain` draws its images: path order, then a shuffle by the run seed.
  const items = limit > 0 ? new Rng(spec.seed).shuffle(sorted).slice(0, limit) : sorted;
  const loader = new ImageLoader({ resolution, cacheBytes: 0, normalize: false });
  const failed: string[] = [];
  let seen = 0;
  async function* batches(): AsyncGenerator<PrBatch> {
    for await (const b of loader.batches(items, num(params, 'batchSize'))) {
      if (context.signal.aborted)
        throw new VetbenchError(
          'cancelled',
          'perturbation resistivity was cancelled',
          'Start it again; it keeps no partial state.',
        );
      failed.push(...b.failed.map((f) => f.item.relativePath));
      seen += b.items.length + b.failed.length;
      if (b.items.length) yield { pixels01: b.pixels, keys: b.items.map((i) => i.relativePath) };
    }
  }
  const perturbations = [
    ...standardPerturbations(spec.seed),
    ...(trigger ? [triggerPerturbation(trigger)] : []),
  ];
  const encoder = await createEncoder(weights);
  const started = Date.now();
  let result;
  try {
    result = await perturbationResistivity(encoder, batches(), perturbations, {
      prompts,
      progress: () => context.progress({ epoch: 0, step: seen, total: items.length, etaMs: 0 }),
    });
  } finally {
    await encoder.dispose();
  }
  if (result.images === 0)
    throw new VetbenchError(
      'pr-no-images',
      `no image of the ${split} split could be decoded (${failed.length} failed)`,
      'Check the dataset with `vetbench dataset inspect`.',
    );
  for (const row of result.rows)
    for (const [d, value] of row.pr.entries()) context.metric(`pr/${row.id}`, d, value);
  const report = {
    ...result,
    split,
    seed: spec.seed,
    failed,
    model: { path: weights.source.path, fingerprint: weights.source.fingerprint },
    prompts: prompts ? { path: spec.promptsPath, sha256: prompts.fileSha256, depth: prompts.depth } : null,
    dataset: { root: dataset.root, fingerprint: dataset.fingerprint },
    ...(trigger ? { trigger: { method: trigger.method, params: trigger.params, seed: trigger.seed } } : {}),
    wall_ms: Date.now() - started,
  };
  await context.writeArtifact('json', PR_REPORT_NAME, 'application/json', (tmp) =>
    writeFile(tmp, `${JSON.stringify(report, null, 2)}\n`),
  );
  await context.writeArtifact('image', 'pr-curves.svg', 'image/svg+xml', (tmp) =>
    writeFile(tmp, prCurvesSvg([{ label: 'model', result }])),
  );
  context.progress({ epoch: 0, step: items.length, total: items.length, etaMs: 0 });
  return report;
}
