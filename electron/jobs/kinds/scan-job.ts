import { writeFile } from 'node:fs/promises';
import type { ClipEncoder } from '../../../engine/clip/clip-encoder.js';
import { loadClipWeights } from '../../../engine/clip/load-weights.js';
import type { Dataset } from '../../../engine/datasets/dataset.js';
import { importDataset } from '../../../engine/datasets/import-dataset.js';
import { RADIUS_MODES, type RadiusMode } from '../../../engine/inversion/projection.js';
import { VetbenchError } from '../../../engine/errors.js';
import type { ScanProgress } from '../../../engine/scan/scan-progress.js';
import {
  num,
  resolveParams,
  str,
  type ParamSpecs,
  type ParamValues,
} from '../../../engine/methods/params.js';
import {
  scanForBackdoor,
  SCAN_DEFAULTS,
  SCAN_POSITIVES,
  type ScanPositive,
} from '../../../engine/scan/backdoor-scan.js';
import { FAMILY_PROBE_DEFAULTS, probeTriggerFamilies } from '../../../engine/scan/family-probe.js';
import { jobEncoder } from '../job-encoder.js';
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
  referenceModel: {
    kind: 'integer',
    default: 0,
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    help: "id of a clean model of this project to compare with (e.g. the upstream checkpoint); 0: none. A class is then flagged only where the scanned model sends >= 3x the reference's share",
  },
};

/** One scanner: its parameters, the engine call, and where its result goes. */
interface Scanner {
  readonly params: ParamSpecs;
  /** The run's one metric (the scanner's score). */
  readonly metric: string;
  readonly file: string;
  scan(
    encoder: ClipEncoder,
    dataset: Dataset,
    params: ParamValues,
    context: JobContext,
  ): Promise<{ readonly score: number }>;
}

const progressOf =
  (context: JobContext) =>
  (p: ScanProgress): void =>
    context.progress({ epoch: 0, step: p.done, total: p.total, etaMs: p.etaMs });

const SCANNERS: Readonly<Record<string, Scanner>> = {
  'backdoor-scan': {
    params: SCAN_PARAMS,
    metric: 'anomaly_index',
    file: 'scan.json',
    scan: (encoder, dataset, params, context) =>
      scanForBackdoor(encoder, dataset, {
        shots: num(params, 'shots'),
        seed: context.spec.seed,
        steps: num(params, 'steps'),
        rho: num(params, 'rho'),
        levels: num(params, 'levels'),
        radiusMode: str(params, 'radiusMode') as RadiusMode,
        positive: str(params, 'positive') as ScanPositive,
        ...(context.spec.executor ? { executor: context.spec.executor } : {}),
        signal: context.signal,
        onProgress: progressOf(context),
      }),
  },
  'family-probe': {
    params: PROBE_PARAMS,
    metric: 'probe_top_share',
    file: 'probe.json',
    async scan(encoder, dataset, params, context) {
      const path = context.spec.referenceModelPath;
      const reference = path
        ? await jobEncoder(context, await loadClipWeights(path), undefined, 'reference model')
        : undefined;
      try {
        return await probeTriggerFamilies(encoder, dataset, {
          shots: num(params, 'shots'),
          seed: context.spec.seed,
          ...(reference ? { reference } : {}),
          signal: context.signal,
          onProgress: progressOf(context),
        });
      } finally {
        await reference?.dispose();
      }
    },
  },
};

/**
 * Trigger-free backdoor scans (`vetbench scan`): the inversion scan (engine/scan/backdoor-scan.ts) inverts a
 * small trigger toward every class and flags a class reached far more easily than the others, writing
 * scan.json; the family probe (engine/scan/family-probe.ts) applies fresh triggers of the known families and
 * flags a class that absorbs the images, writing probe.json.
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
    const scanner = SCANNERS[spec.method];
    if (!scanner)
      throw new VetbenchError(
        'method-unknown',
        `unknown scan method '${spec.method}'`,
        `Use one of ${Object.keys(SCANNERS).join(', ')}.`,
      );
    const params = resolveParams(spec.method, scanner.params, spec.params);
    const weights = await loadClipWeights(spec.modelPath);
    for (const w of weights.source.warnings) context.log(`warning: ${w}`, 'warn');
    const dataset = await importDataset(spec.datasetSource);
    const encoder = await jobEncoder(context, weights);
    try {
      const outcome = await scanner.scan(encoder, dataset, params, context);
      context.metric(scanner.metric, 0, outcome.score);
      const report = {
        ...outcome,
        model: { path: weights.source.path, fingerprint: weights.source.fingerprint },
        dataset: { root: dataset.root, fingerprint: dataset.fingerprint },
      };
      await context.writeArtifact('json', scanner.file, 'application/json', (tmp) =>
        writeFile(tmp, `${JSON.stringify(report, null, 2)}\n`),
      );
      return report;
    } finally {
      await encoder.dispose();
    }
  },
};
