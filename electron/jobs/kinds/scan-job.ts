import { writeFile } from 'node:fs/promises';
import { createEncoder } from '../../../engine/clip/clip-encoder.js';
import { loadClipWeights } from '../../../engine/clip/load-weights.js';
import { importDataset } from '../../../engine/datasets/import-dataset.js';
import { RADIUS_MODES, type RadiusMode } from '../../../engine/defenses/cbpt/projection.js';
import { VetbenchError } from '../../../engine/errors.js';
import { num, resolveParams, str, type ParamSpecs } from '../../../engine/methods/params.js';
import {
  scanForBackdoor,
  SCAN_DEFAULTS,
  SCAN_POSITIVES,
  type ScanPositive,
} from '../../../engine/scan/backdoor-scan.js';
import { FAMILY_PROBE_DEFAULTS, probeTriggerFamilies } from '../../../engine/scan/family-probe.js';
import type { JobContext, JobKind } from '../job-kind.js';
import { apiParamSpecs } from '../param-specs.js';

const SCAN_PARAMS: ParamSpecs = {
  shots: {
    kind: 'integer',
    default: SCAN_DEFAULTS.shots,
    min: 1,
    max: 10_000,
    help: 'clean images per class from the train split',
  },
  steps: {
    kind: 'integer',
    default: SCAN_DEFAULTS.steps,
    min: 1,
    max: 100_000,
    help: "projected-gradient steps of each class's inversion at each budget level",
  },
  rho: {
    kind: 'number',
    default: SCAN_DEFAULTS.rho,
    min: 1e-6,
    help: 'largest l2 budget of the inverted triggers (see radiusMode)',
  },
  levels: {
    kind: 'integer',
    default: SCAN_DEFAULTS.levels,
    min: 1,
    max: 12,
    help: 'budget levels swept, each half the next: rho / 2^(levels-1) ... rho',
  },
  radiusMode: {
    kind: 'enum',
    default: SCAN_DEFAULTS.radiusMode,
    options: [...RADIUS_MODES],
    help: 'rms: per-pixel RMS rho; absolute: whole-image l2 norm rho',
  },
  positive: {
    kind: 'enum',
    default: SCAN_DEFAULTS.positive,
    options: [...SCAN_POSITIVES],
    help: "what inversion pulls toward: the class's text or its farthest image",
  },
};

const PROBE_PARAMS: ParamSpecs = {
  shots: {
    kind: 'integer',
    default: FAMILY_PROBE_DEFAULTS.shots,
    min: 1,
    max: 10_000,
    help: 'clean images per class from the train split',
  },
};

/**
 * Trigger-free backdoor scans (engine/scan/backdoor-scan.ts, `vetbench scan`): inverts a small trigger toward
 * every class and flags a class reached far more easily than the others. Writes scan.json.
 */
export const scanJob: JobKind = {
  kind: 'scan',
  methods: () => [
    {
      id: 'backdoor-scan',
      title: 'Trigger inversion scan',
      kind: 'scan',
      summary:
        'Inverts an l2-bounded universal trigger toward every class (CBPT contrastive loss) over rising budgets and flags a class whose margin, averaged over the budgets, is a robust outlier (anomaly index > 3.5).',
      paper: 'METHODS (CBPT trigger inversion); docs/scanning.md',
      params: apiParamSpecs(SCAN_PARAMS),
      needsTarget: false,
      acceptsTrigger: false,
    },
    {
      id: 'family-probe',
      title: 'Known-family probe',
      kind: 'scan',
      summary:
        "Applies fresh random triggers of the model-free families (BadNet patches, blended noise, WaNet warps, SIG) at several sizes and flags a class that takes at least half of the other classes' images, three times more than any other class.",
      paper: 'docs/scanning.md (family probe)',
      params: apiParamSpecs(PROBE_PARAMS),
      needsTarget: false,
      acceptsTrigger: false,
    },
  ],
  async run(context) {
    const { spec } = context;
    if (spec.method === 'family-probe') return runFamilyProbe(context);
    if (spec.method !== 'backdoor-scan')
      throw new VetbenchError(
        'method-unknown',
        `unknown scan method '${spec.method}'`,
        'Use backdoor-scan or family-probe.',
      );
    const params = resolveParams(spec.method, SCAN_PARAMS, spec.params);
    const weights = await loadClipWeights(spec.modelPath);
    for (const w of weights.source.warnings) context.log(`warning: ${w}`, 'warn');
    const dataset = await importDataset(spec.datasetSource);
    const encoder = await createEncoder(weights);
    try {
      const scan = await scanForBackdoor(encoder, dataset, {
        shots: num(params, 'shots'),
        seed: spec.seed,
        steps: num(params, 'steps'),
        rho: num(params, 'rho'),
        levels: num(params, 'levels'),
        radiusMode: str(params, 'radiusMode') as RadiusMode,
        positive: str(params, 'positive') as ScanPositive,
        ...(spec.executor ? { executor: spec.executor } : {}),
        signal: context.signal,
        onProgress: (p) => context.progress({ epoch: 0, step: p.done, total: p.total, etaMs: p.etaMs }),
      });
      context.metric('anomaly_index', 0, scan.score);
      const report = {
        ...scan,
        model: { path: weights.source.path, fingerprint: weights.source.fingerprint },
        dataset: { root: dataset.root, fingerprint: dataset.fingerprint },
      };
      await context.writeArtifact('json', 'scan.json', 'application/json', (tmp) =>
        writeFile(tmp, `${JSON.stringify(report, null, 2)}\n`),
      );
      return report;
    } finally {
      await encoder.dispose();
    }
  },
};

async function runFamilyProbe(context: JobContext): Promise<Record<string, unknown>> {
  const { spec } = context;
  const params = resolveParams(spec.method, PROBE_PARAMS, spec.params);
  const weights = await loadClipWeights(spec.modelPath);
  for (const w of weights.source.warnings) context.log(`warning: ${w}`, 'warn');
  const dataset = await importDataset(spec.datasetSource);
  const encoder = await createEncoder(weights);
  try {
    const probe = await probeTriggerFamilies(encoder, dataset, {
      shots: num(params, 'shots'),
      seed: spec.seed,
      signal: context.signal,
      onProgress: (p) => context.progress({ epoch: 0, step: p.done, total: p.total, etaMs: p.etaMs }),
    });
    context.metric('probe_top_share', 0, probe.score);
    const report = {
      ...probe,
      model: { path: weights.source.path, fingerprint: weights.source.fingerprint },
      dataset: { root: dataset.root, fingerprint: dataset.fingerprint },
    };
    await context.writeArtifact('json', 'probe.json', 'application/json', (tmp) =>
      writeFile(tmp, `${JSON.stringify(report, null, 2)}\n`),
    );
    return report;
  } finally {
    await encoder.dispose();
  }
}
