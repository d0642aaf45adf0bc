/**
 * The Vetbench API contract: every request, response and event between the screens (renderer/) and the main
 * process (electron/), as zod schemas with their inferred types. Both transports (Electron IPC in the app,
 * HTTP + server-sent events in `vetbench serve`) carry exactly these payloads and implement `ApiClient`, so
 * the renderer cannot tell which one it has.
 *
 * This file imports only zod: the renderer bundles it with vite.
 */
import { z } from 'zod';

// ---------------------------------------------------------------------------------------------------------
// Building blocks

/** Row ids of the project store (models, datasets, runs, artifacts, comparisons). */
export const IdSchema = z.number().int().positive();
export type Id = z.infer<typeof IdSchema>;

/** Milliseconds since 1970-01-01 UTC. */
export const TimestampSchema = z.number().int().nonnegative();

/** Every failure the API reports: what is wrong (`message`) and what to do about it (`hint`). */
export const ApiErrorSchema = z.object({
  code: z.string(),
  message: z.string(),
  hint: z.string(),
});
export type ApiError = z.infer<typeof ApiErrorSchema>;

export const ParamValueSchema = z.union([z.number(), z.boolean(), z.string()]);
export type ParamValue = z.infer<typeof ParamValueSchema>;
export const ParamValuesSchema = z.record(z.string(), ParamValueSchema);
export type ParamValues = z.infer<typeof ParamValuesSchema>;

/** A declared method parameter (mirrors engine/methods/params.ts ParamSpec); forms are generated from it. */
export const ParamSpecSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.enum(['number', 'integer']),
    default: z.number(),
    min: z.number().optional(),
    max: z.number().optional(),
    unit: z.string().optional(),
    help: z.string(),
  }),
  z.object({ kind: z.literal('boolean'), default: z.boolean(), help: z.string() }),
  z.object({ kind: z.literal('string'), default: z.string(), help: z.string() }),
  z.object({
    kind: z.literal('enum'),
    default: z.string(),
    options: z.array(z.string()),
    help: z.string(),
  }),
]);
export type ParamSpec = z.infer<typeof ParamSpecSchema>;

export const SPLIT_NAMES = ['train', 'val', 'test'] as const;
export const SplitNameSchema = z.enum(SPLIT_NAMES);
export const SplitCountsSchema = z.object({
  train: z.number().int().nonnegative().optional(),
  val: z.number().int().nonnegative().optional(),
  test: z.number().int().nonnegative().optional(),
});

// ---------------------------------------------------------------------------------------------------------
// Project

export const ProjectInfoSchema = z.object({
  /** Absolute path of the project file (.vbproj, SQLite). */
  path: z.string(),
  name: z.string(),
  /** Folder beside the project file that holds artifact files. */
  artifactsDir: z.string(),
  schemaVersion: z.number().int(),
  createdAt: TimestampSchema,
  vetbenchVersion: z.string(),
  counts: z.object({
    models: z.number().int().nonnegative(),
    datasets: z.number().int().nonnegative(),
    runs: z.number().int().nonnegative(),
    running: z.number().int().nonnegative(),
  }),
});
export type ProjectInfo = z.infer<typeof ProjectInfoSchema>;

/** A project file opened before (the recent list), newest first. */
export const RecentProjectSchema = z.object({
  path: z.string(),
  name: z.string(),
  openedAt: TimestampSchema,
  /** False when the file was moved or deleted since. */
  exists: z.boolean(),
  /** The project the app shows now. */
  current: z.boolean(),
  /**
   * Runs still queued or running in this Vetbench for that project: switching away keeps them going in the
   * background, tied to their own project.
   */
  activeRuns: z.number().int().nonnegative(),
});
export type RecentProject = z.infer<typeof RecentProjectSchema>;

export const OpenProjectRequestSchema = z.object({
  /** A project file (.vbproj); must lie inside an allowed folder. */
  path: z.string().min(1),
  /** Create a new, empty project there (the file must not exist yet) instead of opening an existing one. */
  create: z.boolean().default(false),
});
export type OpenProjectRequest = z.input<typeof OpenProjectRequestSchema>;

// ---------------------------------------------------------------------------------------------------------
// Models

export const ModelArchitectureSchema = z.object({
  /** One line, e.g. "ViT-16 @ 64px, vision width 128 x 4 layers ...". */
  description: z.string(),
  embedDim: z.number().int().positive(),
  vision: z.object({
    width: z.number().int().positive(),
    layers: z.number().int().positive(),
    heads: z.number().int().positive(),
    patchSize: z.number().int().positive(),
    imageResolution: z.number().int().positive(),
    /** Set for OpenAI ModifiedResNet image towers: Bottlenecks per stage. */
    resnet: z.object({ stageBlocks: z.array(z.number().int().positive()) }).optional(),
  }),
  text: z.object({
    width: z.number().int().positive(),
    layers: z.number().int().positive(),
    heads: z.number().int().positive(),
    contextLength: z.number().int().positive(),
    vocabSize: z.number().int().positive(),
  }),
  parameters: z.number().int().nonnegative(),
  dtypes: z.array(z.enum(['F32', 'F16', 'BF16'])),
  naming: z.enum(['openai', 'huggingface']),
  /** The file scan done first on import (format, callables its pickle names); absent for older imports. */
  fileScan: z
    .object({
      format: z.string(),
      verdict: z.enum(['loadable', 'refused']),
      callables: z.array(z.object({ name: z.string(), allowed: z.boolean(), count: z.number().int() })),
      summary: z.string(),
    })
    .optional(),
});
export type ModelArchitecture = z.infer<typeof ModelArchitectureSchema>;

export const ModelSummarySchema = z.object({
  id: IdSchema,
  name: z.string(),
  path: z.string(),
  /** SHA-256 of the weights file, hex. */
  fingerprint: z.string(),
  fileBytes: z.number().int().nonnegative(),
  architecture: ModelArchitectureSchema,
  warnings: z.array(z.string()),
  /** The run that produced it (e.g. an attack), or null for an imported file. */
  sourceRunId: IdSchema.nullable(),
  importedAt: TimestampSchema,
});
export type ModelSummary = z.infer<typeof ModelSummarySchema>;

export const ImportModelRequestSchema = z.object({
  /** A .safetensors, PyTorch (.pt/.bin) or TorchScript file, its folder, or "demo" for the built-in model. */
  path: z.string().min(1),
  name: z.string().min(1).max(200).optional(),
});
export type ImportModelRequest = z.infer<typeof ImportModelRequestSchema>;

// ---------------------------------------------------------------------------------------------------------
// Datasets

export const SkippedFileSchema = z.object({ path: z.string(), code: z.string(), reason: z.string() });

export const DatasetSummarySchema = z.object({
  id: IdSchema,
  name: z.string(),
  root: z.string(),
  fingerprint: z.string(),
  layout: z.string(),
  classes: z.array(
    z.object({
      index: z.number().int().nonnegative(),
      name: z.string(),
      folder: z.string(),
      count: z.number().int().nonnegative(),
      counts: SplitCountsSchema,
    }),
  ),
  total: z.number().int().nonnegative(),
  counts: SplitCountsSchema,
  captions: z.number().int().nonnegative(),
  /** A few image ids (paths relative to the root) per class, for previews via `datasetImageUrl`. */
  sampleImageIds: z.array(z.string()),
  skipped: z.array(SkippedFileSchema),
  warnings: z.array(z.string()),
  importedAt: TimestampSchema,
});
export type DatasetSummary = z.infer<typeof DatasetSummarySchema>;

export const ImportDatasetRequestSchema = z.object({
  /** A dataset folder (image folders, split folders or a manifest), or "demo". */
  path: z.string().min(1),
  name: z.string().min(1).max(200).optional(),
});
export type ImportDatasetRequest = z.infer<typeof ImportDatasetRequestSchema>;

// ---------------------------------------------------------------------------------------------------------
// Methods

/** What a run does. Triggers are not runs: they are chosen inside attack and eval runs. */
export const RUN_KINDS = ['attack', 'defense', 'scan', 'explain', 'eval', 'pretrain'] as const;
export const RunKindSchema = z.enum(RUN_KINDS);
export type RunKind = z.infer<typeof RunKindSchema>;

export const MethodInfoSchema = z.object({
  id: z.string(),
  title: z.string(),
  kind: RunKindSchema,
  summary: z.string(),
  paper: z.string(),
  params: z.record(z.string(), ParamSpecSchema),
  /** True when the method needs a target class (attacks, backdoor evaluation with a trigger). */
  needsTarget: z.boolean(),
  /** True when the method needs a trigger (e.g. backdoor evaluation, trigger-aware defenses). */
  acceptsTrigger: z.boolean(),
});
export type MethodInfo = z.infer<typeof MethodInfoSchema>;

export const TriggerInfoSchema = z.object({
  id: z.string(),
  title: z.string(),
  summary: z.string(),
  paper: z.string(),
  params: z.record(z.string(), ParamSpecSchema),
  /**
   * True for optimised triggers that need a model to be built (e.g. BadCLIP patches): evaluate the trigger an
   * attack run saved (`source: 'artifact'`) instead of the family. Absent from older back ends.
   */
  needsModel: z.boolean().optional(),
  /**
   * The parameter sets a known-trigger check sweeps (the family's usual sizes and the attacks' defaults), so
   * the Vet wizard cannot miss an implanted backdoor by a size mismatch. Absent from older back ends.
   */
  sweep: z.array(z.object({ label: z.string(), params: ParamValuesSchema })).optional(),
});
export type TriggerInfo = z.infer<typeof TriggerInfoSchema>;

export const ListMethodsResponseSchema = z.object({
  methods: z.array(MethodInfoSchema),
  triggers: z.array(TriggerInfoSchema),
});
export type ListMethodsResponse = z.infer<typeof ListMethodsResponseSchema>;

// ---------------------------------------------------------------------------------------------------------
// Runs

export const RUN_STATUSES = ['queued', 'running', 'done', 'failed', 'cancelled', 'interrupted'] as const;
export const RunStatusSchema = z.enum(RUN_STATUSES);
export type RunStatus = z.infer<typeof RunStatusSchema>;

/** A trigger for a run: a family built from params (and the run's seed), or the trigger saved by a run. */
export const TriggerChoiceSchema = z.discriminatedUnion('source', [
  z.object({
    source: z.literal('family'),
    family: z.string().min(1),
    params: ParamValuesSchema.default({}),
  }),
  z.object({ source: z.literal('artifact'), artifactId: IdSchema }),
]);
export type TriggerChoice = z.infer<typeof TriggerChoiceSchema>;

export const StartRunRequestSchema = z.object({
  kind: RunKindSchema,
  method: z.string().min(1),
  modelId: IdSchema,
  datasetId: IdSchema,
  /** Target class name (attacks; evaluations with a trigger). */
  target: z.string().min(1).optional(),
  trigger: TriggerChoiceSchema.optional(),
  /** Artifact id of a prompt file to evaluate with (eval runs; e.g. a defense's hardened prompts). */
  promptsArtifactId: IdSchema.optional(),
  seed: z
    .number()
    .int()
    .nonnegative()
    .max(2 ** 31 - 1),
  /** Method parameters; missing ones take their declared defaults, unknown ones are refused. */
  params: ParamValuesSchema.default({}),
  /** A name for the run list; default: method and model. */
  label: z.string().max(200).optional(),
});
export type StartRunRequest = z.input<typeof StartRunRequestSchema>;

export const RunProgressSchema = z.object({
  /** 0-based epoch. */
  epoch: z.number().int().nonnegative(),
  step: z.number().int().nonnegative(),
  total: z.number().int().nonnegative(),
  etaMs: z.number().nonnegative(),
});
export type RunProgress = z.infer<typeof RunProgressSchema>;

export const RunSummarySchema = z.object({
  id: IdSchema,
  label: z.string(),
  kind: RunKindSchema,
  method: z.string(),
  modelId: IdSchema,
  datasetId: IdSchema,
  target: z.string().nullable(),
  seed: z.number().int(),
  status: RunStatusSchema,
  createdAt: TimestampSchema,
  startedAt: TimestampSchema.nullable(),
  finishedAt: TimestampSchema.nullable(),
  /** Time spent running, summed over attempts (resumes), in ms. */
  runMs: z.number().nonnegative(),
  /** Times the run was started (1 + resumes). */
  attempts: z.number().int().nonnegative(),
  progress: RunProgressSchema.nullable(),
  /** Last value of each metric series. */
  finalMetrics: z.record(z.string(), z.number()),
  error: ApiErrorSchema.nullable(),
});
export type RunSummary = z.infer<typeof RunSummarySchema>;

export const MetricPointSchema = z.object({ step: z.number().int().nonnegative(), value: z.number() });
export const MetricSeriesSchema = z.object({ name: z.string(), points: z.array(MetricPointSchema) });
export type MetricSeries = z.infer<typeof MetricSeriesSchema>;

export const ARTIFACT_KINDS = ['weights', 'trigger', 'image', 'prompt', 'report', 'json', 'other'] as const;
export const ArtifactKindSchema = z.enum(ARTIFACT_KINDS);

export const ArtifactInfoSchema = z.object({
  id: IdSchema,
  runId: IdSchema.nullable(),
  kind: ArtifactKindSchema,
  /** File name inside the artifact folder, e.g. "weights.safetensors", "trigger-preview.png". */
  name: z.string(),
  mediaType: z.string(),
  bytes: z.number().int().nonnegative(),
  sha256: z.string(),
  createdAt: TimestampSchema,
});
export type ArtifactInfo = z.infer<typeof ArtifactInfoSchema>;

export const RunLogLineSchema = z.object({
  at: TimestampSchema,
  level: z.enum(['info', 'warn', 'error']),
  line: z.string(),
});
export type RunLogLine = z.infer<typeof RunLogLineSchema>;

export const RunDetailSchema = RunSummarySchema.extend({
  params: ParamValuesSchema,
  trigger: TriggerChoiceSchema.nullable(),
  /** Software versions the run used (vetbench, node, onnxruntime, tfjs ...). */
  versions: z.record(z.string(), z.string()),
  /** Training-step executor / inference backend, e.g. "onnx". */
  executor: z.string().nullable(),
  series: z.array(MetricSeriesSchema),
  artifacts: z.array(ArtifactInfoSchema),
  /** Last checkpoint step, or null when none. */
  checkpointStep: z.number().int().nonnegative().nullable(),
  /** The newest log lines (at most 200). */
  log: z.array(RunLogLineSchema),
  /** Scalar results the method reported at the end (also in `finalMetrics` when numeric). */
  result: z.record(z.string(), z.unknown()).nullable(),
});
export type RunDetail = z.infer<typeof RunDetailSchema>;

export const ListRunsRequestSchema = z.object({
  status: z.array(RunStatusSchema).optional(),
  kind: z.array(RunKindSchema).optional(),
  method: z.string().optional(),
  modelId: IdSchema.optional(),
  datasetId: IdSchema.optional(),
  /** Newest first; default 100, at most 1000. */
  limit: z.number().int().positive().max(1000).default(100),
  offset: z.number().int().nonnegative().default(0),
});
export type ListRunsRequest = z.input<typeof ListRunsRequestSchema>;

export const ListRunsResponseSchema = z.object({
  runs: z.array(RunSummarySchema),
  total: z.number().int().nonnegative(),
});

export const RunIdRequestSchema = z.object({ runId: IdSchema });

// ---------------------------------------------------------------------------------------------------------
// Comparisons

export const CompareRunsRequestSchema = z.object({
  runIds: z.array(IdSchema).min(1).max(500),
  /** Keep only rows whose values differ between runs. */
  onlyDifferences: z.boolean().default(false),
  /** Save the comparison in the project under this name. */
  saveAs: z.string().min(1).max(200).optional(),
});
export type CompareRunsRequest = z.input<typeof CompareRunsRequestSchema>;

export const ComparisonRowSchema = z.object({
  key: z.string(),
  /** One value per run, in `runs` order; null when the run has none. */
  values: z.array(z.union([ParamValueSchema, z.null()])),
  differs: z.boolean(),
});
export type ComparisonRow = z.infer<typeof ComparisonRowSchema>;

export const ComparisonSchema = z.object({
  /** Set when saved. */
  id: IdSchema.nullable(),
  /** The saved comparison's name (absent or null when not saved). */
  name: z.string().nullable().optional(),
  runs: z.array(RunSummarySchema),
  /** Method, model, dataset, seed, target, then each parameter. */
  params: z.array(ComparisonRowSchema),
  /** Final value of each metric series. */
  metrics: z.array(ComparisonRowSchema),
});
export type Comparison = z.infer<typeof ComparisonSchema>;

/** A comparison saved in the project (its runs; the table is rebuilt from them when reopened). */
export const SavedComparisonSchema = z.object({
  id: IdSchema,
  name: z.string(),
  runIds: z.array(IdSchema),
  createdAt: TimestampSchema,
});
export type SavedComparison = z.infer<typeof SavedComparisonSchema>;

export const OpenComparisonRequestSchema = z.object({
  comparisonId: IdSchema,
  onlyDifferences: z.boolean().default(false),
});

// ---------------------------------------------------------------------------------------------------------
// Files

export const FileUrlSchema = z.object({
  /** Fetchable by the renderer (carries the serve token in serve mode). */
  url: z.string(),
  mediaType: z.string(),
});
export type FileUrl = z.infer<typeof FileUrlSchema>;

export const ArtifactUrlRequestSchema = z.object({ artifactId: IdSchema });
export const DatasetImageUrlRequestSchema = z.object({
  datasetId: IdSchema,
  /** An image id from `sampleImageIds` (path relative to the dataset root). */
  imageId: z.string().min(1),
});
export const ExportArtifactRequestSchema = z.object({
  artifactId: IdSchema,
  /**
   * Destination file, or an existing folder to put it in; must lie inside an allowed folder. Absent: the
   * `exports` folder beside the project file. Existing files are never overwritten.
   */
  path: z.string().min(1).optional(),
});
export type ExportArtifactRequest = z.input<typeof ExportArtifactRequestSchema>;

// ---------------------------------------------------------------------------------------------------------
// Reports

export const REPORT_FORMATS = ['html', 'pdf'] as const;
export const ReportFormatSchema = z.enum(REPORT_FORMATS);
export type ReportFormat = z.infer<typeof ReportFormatSchema>;

export const ExportReportRequestSchema = z.object({
  /** The runs the audit report covers, or every run of the project. */
  runIds: z.union([z.array(IdSchema).min(1).max(1000), z.literal('all')]),
  /** PDF needs Chromium on the machine running the back end. */
  format: ReportFormatSchema,
});
export type ExportReportRequest = z.input<typeof ExportReportRequestSchema>;

/** The report stored as a project artifact (also listed in the project's reports). */
export const ExportedReportSchema = FileUrlSchema.extend({
  artifactId: IdSchema,
  /** Absolute path of the stored file. */
  path: z.string(),
  sha256: ArtifactInfoSchema.shape.sha256,
});
export type ExportedReport = z.infer<typeof ExportedReportSchema>;

// ---------------------------------------------------------------------------------------------------------
// Model dossiers: the answer to "is this model backdoored, and did hardening remove it?"

export const VERDICTS = ['not-vetted', 'no-evidence', 'backdoor-suspected', 'hardened'] as const;
export const VerdictSchema = z.enum(VERDICTS);
export type Verdict = z.infer<typeof VerdictSchema>;

/** The cut-offs a dossier's verdict rests on, in percent (ASR) and percentage points (CA drop). */
export const VerdictThresholdsSchema = z.object({
  /** A known trigger at or above this ASR flags its target class. */
  suspectAsr: z.number(),
  /** Hardening removed the backdoor when the ASR after it is below this. */
  hardenedAsr: z.number(),
  /** More clean-accuracy loss than this (points) is a warning, and blocks "hardened". */
  maxCaDrop: z.number(),
});
export type VerdictThresholds = z.infer<typeof VerdictThresholdsSchema>;

/** One vet check behind a verdict (a finished run). */
export const DossierEvidenceSchema = z.object({
  runId: IdSchema,
  source: z.enum(['known-trigger', 'scan', 'defense-before']),
  flagged: z.boolean(),
  /** The class the check points at: the target of a known trigger, the class a scan flagged. */
  className: z.string().nullable(),
  /** One line: what was measured, with its denominator and the threshold. */
  text: z.string(),
});
export type DossierEvidence = z.infer<typeof DossierEvidenceSchema>;

const RatePairSchema = z.object({
  before: z.number().nullable(),
  after: z.number(),
  /** Images behind the rate (test images for CA, triggered non-target images for ASR). */
  n: z.number().int().nonnegative().nullable(),
});

export const HARDENING_OUTCOMES = ['removed', 'removed-ca-cost', 'reduced', 'kept', 'not-measured'] as const;
export const DossierHardeningSchema = z.object({
  runId: IdSchema,
  /** The defense (rvpt, cbpt ...). */
  method: z.string(),
  /** The hardened prompt file, by name and SHA-256 (null for defenses that write weights). */
  promptFile: z
    .object({ artifactId: IdSchema, name: z.string(), sha256: z.string(), runId: IdSchema.nullable() })
    .nullable(),
  ca: RatePairSchema.nullable(),
  asr: RatePairSchema.nullable(),
  outcome: z.enum(HARDENING_OUTCOMES),
  /** One line: before -> after against the thresholds. */
  text: z.string(),
});
export type DossierHardening = z.infer<typeof DossierHardeningSchema>;

export const ModelDossierSchema = z.object({
  modelId: IdSchema,
  modelName: z.string(),
  fingerprint: z.string(),
  verdict: VerdictSchema,
  /** The class the backdoor points at (strongest evidence), or null. */
  flaggedClass: z.string().nullable(),
  /** One line for cards and the report, e.g. "Backdoor suspected: banana". */
  headline: z.string(),
  evidence: z.array(DossierEvidenceSchema),
  /** The best hardening measured on this model, or null. */
  hardening: DossierHardeningSchema.nullable(),
  thresholds: VerdictThresholdsSchema,
});
export type ModelDossier = z.infer<typeof ModelDossierSchema>;

// ---------------------------------------------------------------------------------------------------------
// Events (main -> renderer)

export const RunProgressEventSchema = RunProgressSchema.extend({
  type: z.literal('run-progress'),
  runId: IdSchema,
  loss: z.number().optional(),
});
export const RunMetricEventSchema = z.object({
  type: z.literal('run-metric'),
  runId: IdSchema,
  series: z.string().min(1),
  step: z.number().int().nonnegative(),
  value: z.number(),
});
export const RunLogEventSchema = RunLogLineSchema.extend({ type: z.literal('run-log'), runId: IdSchema });
export const RunArtifactEventSchema = z.object({
  type: z.literal('run-artifact'),
  runId: IdSchema,
  artifact: ArtifactInfoSchema,
});
export const RunCheckpointEventSchema = z.object({
  type: z.literal('run-checkpoint'),
  runId: IdSchema,
  step: z.number().int().nonnegative(),
});
export const RunStatusEventSchema = z.object({
  type: z.literal('run-status'),
  runId: IdSchema,
  status: RunStatusSchema,
  error: ApiErrorSchema.nullable(),
});

/** Another project was opened (by this window or another one): every screen reloads. */
export const ProjectOpenedEventSchema = z.object({
  type: z.literal('project-opened'),
  project: ProjectInfoSchema,
});

export const ApiEventSchema = z.discriminatedUnion('type', [
  RunProgressEventSchema,
  RunMetricEventSchema,
  RunLogEventSchema,
  RunArtifactEventSchema,
  RunCheckpointEventSchema,
  RunStatusEventSchema,
]);

/** What a client's `subscribe` delivers: the run events of the shown project, and project switches. */
export const ClientEventSchema = z.discriminatedUnion('type', [
  RunProgressEventSchema,
  RunMetricEventSchema,
  RunLogEventSchema,
  RunArtifactEventSchema,
  RunCheckpointEventSchema,
  RunStatusEventSchema,
  ProjectOpenedEventSchema,
]);
export type ApiEvent = z.infer<typeof ApiEventSchema>;
export type RunProgressEvent = z.infer<typeof RunProgressEventSchema>;
export type RunMetricEvent = z.infer<typeof RunMetricEventSchema>;
export type RunLogEvent = z.infer<typeof RunLogEventSchema>;
export type RunArtifactEvent = z.infer<typeof RunArtifactEventSchema>;
export type RunCheckpointEvent = z.infer<typeof RunCheckpointEventSchema>;
export type RunStatusEvent = z.infer<typeof RunStatusEventSchema>;
export type ProjectOpenedEvent = z.infer<typeof ProjectOpenedEventSchema>;
export type ClientEvent = z.infer<typeof ClientEventSchema>;
export type ClientEventListener = (event: ClientEvent) => void;

// ---------------------------------------------------------------------------------------------------------
// The method table: one entry per call, request and response schema. Transports are generic over it.

const Empty = z.object({}).strict();

export const API_METHODS = {
  getProject: { request: Empty, response: ProjectInfoSchema },
  listProjects: { request: Empty, response: z.object({ projects: z.array(RecentProjectSchema) }) },
  openProject: { request: OpenProjectRequestSchema, response: ProjectInfoSchema },
  listModels: { request: Empty, response: z.object({ models: z.array(ModelSummarySchema) }) },
  listModelDossiers: { request: Empty, response: z.object({ dossiers: z.array(ModelDossierSchema) }) },
  importModel: { request: ImportModelRequestSchema, response: ModelSummarySchema },
  listDatasets: { request: Empty, response: z.object({ datasets: z.array(DatasetSummarySchema) }) },
  importDataset: { request: ImportDatasetRequestSchema, response: DatasetSummarySchema },
  datasetImageUrl: { request: DatasetImageUrlRequestSchema, response: FileUrlSchema },
  listMethods: { request: Empty, response: ListMethodsResponseSchema },
  startRun: { request: StartRunRequestSchema, response: RunSummarySchema },
  listRuns: { request: ListRunsRequestSchema, response: ListRunsResponseSchema },
  getRun: { request: RunIdRequestSchema, response: RunDetailSchema },
  cancelRun: { request: RunIdRequestSchema, response: RunSummarySchema },
  resumeRun: { request: RunIdRequestSchema, response: RunSummarySchema },
  compareRuns: { request: CompareRunsRequestSchema, response: ComparisonSchema },
  listComparisons: {
    request: Empty,
    response: z.object({ comparisons: z.array(SavedComparisonSchema) }),
  },
  openComparison: { request: OpenComparisonRequestSchema, response: ComparisonSchema },
  listArtifacts: {
    request: RunIdRequestSchema,
    response: z.object({ artifacts: z.array(ArtifactInfoSchema) }),
  },
  artifactUrl: { request: ArtifactUrlRequestSchema, response: FileUrlSchema },
  exportArtifact: { request: ExportArtifactRequestSchema, response: z.object({ path: z.string() }) },
  exportReport: { request: ExportReportRequestSchema, response: ExportedReportSchema },
} as const;

export type ApiMethodName = keyof typeof API_METHODS;
export const API_METHOD_NAMES = Object.keys(API_METHODS) as ApiMethodName[];

/** What a caller passes (defaults may be left out). */
export type ApiRequest<M extends ApiMethodName> = z.input<(typeof API_METHODS)[M]['request']>;
/** What a handler receives after validation (defaults filled in). */
export type ApiParsedRequest<M extends ApiMethodName> = z.output<(typeof API_METHODS)[M]['request']>;
export type ApiResponse<M extends ApiMethodName> = z.output<(typeof API_METHODS)[M]['response']>;

export type ApiEventListener = (event: ApiEvent) => void;

/**
 * The one interface the renderer talks to. Failed calls reject with an `ApiCallError` carrying `ApiError`.
 * `subscribe` delivers every event of the shown project, and `project-opened` when another project is
 * opened, until the returned function is called.
 */
export type ApiClient = {
  readonly [M in ApiMethodName]: (request: ApiRequest<M>) => Promise<ApiResponse<M>>;
} & {
  subscribe(listener: ClientEventListener): () => void;
};

/** The rejection of a failed call, on both transports. */
export class ApiCallError extends Error {
  readonly code: string;
  readonly hint: string;
  constructor(error: ApiError) {
    super(error.message);
    this.name = 'ApiCallError';
    this.code = error.code;
    this.hint = error.hint;
  }
}

/** The envelope of every reply on the wire (HTTP body, IPC return value). */
export const ApiReplySchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), result: z.unknown() }),
  z.object({ ok: z.literal(false), error: ApiErrorSchema }),
]);
export type ApiReply = z.infer<typeof ApiReplySchema>;

/** Readable one-line description of a zod validation failure, for 400 replies. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(payload)'}: ${i.message}`)
    .join('; ');
}

/** Transport names on the wire (HTTP path prefix and IPC channel prefix). */
export const HTTP_API_PREFIX = '/api/';
export const HTTP_EVENTS_PATH = '/api/events';
export const IPC_CHANNEL_PREFIX = 'vetbench:';
export const IPC_EVENT_CHANNEL = 'vetbench:event';
/** The header carrying the serve token (EventSource and <img> URLs use the `token` query parameter). */
export const TOKEN_HEADER = 'x-vetbench-token';
