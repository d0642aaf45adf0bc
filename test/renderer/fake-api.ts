/**
 * An in-memory ApiClient for the renderer's unit tests only (the app never ships it): records calls, answers
 * from fixed tables, and lets a test emit events as the back end would.
 */
import type {
  ApiClient,
  ApiMethodName,
  ApiRequest,
  ApiResponse,
  DatasetSummary,
  MethodInfo,
  ModelSummary,
  ClientEvent,
  ClientEventListener,
  RunDetail,
  RunSummary,
} from '../../electron/api/contract.js';
import { ApiCallError } from '../../electron/api/contract.js';

type Handlers = {
  [M in ApiMethodName]?: (request: ApiRequest<M>) => ApiResponse<M> | Promise<ApiResponse<M>>;
};

export interface FakeApi {
  readonly api: ApiClient;
  readonly calls: { method: ApiMethodName; request: unknown }[];
  /** The requests sent to one method, in order. */
  requestsTo<M extends ApiMethodName>(method: M): ApiRequest<M>[];
  emit(event: ClientEvent): void;
}

export function fakeApi(handlers: Handlers): FakeApi {
  const calls: { method: ApiMethodName; request: unknown }[] = [];
  const listeners = new Set<ClientEventListener>();
  const call =
    <M extends ApiMethodName>(method: M) =>
    async (request: ApiRequest<M>): Promise<ApiResponse<M>> => {
      calls.push({ method, request });
      const handler = handlers[method] as
        ((r: ApiRequest<M>) => ApiResponse<M> | Promise<ApiResponse<M>>) | undefined;
      if (!handler)
        throw new ApiCallError({
          code: 'not-faked',
          message: `${method} is not faked`,
          hint: 'Add a handler.',
        });
      return handler(request);
    };
  const api: ApiClient = {
    getProject: call('getProject'),
    listProjects: call('listProjects'),
    openProject: call('openProject'),
    listModels: call('listModels'),
    listModelDossiers: call('listModelDossiers'),
    importModel: call('importModel'),
    listDatasets: call('listDatasets'),
    importDataset: call('importDataset'),
    datasetImageUrl: call('datasetImageUrl'),
    listMethods: call('listMethods'),
    startRun: call('startRun'),
    listRuns: call('listRuns'),
    getRun: call('getRun'),
    cancelRun: call('cancelRun'),
    resumeRun: call('resumeRun'),
    compareRuns: call('compareRuns'),
    listComparisons: call('listComparisons'),
    openComparison: call('openComparison'),
    listArtifacts: call('listArtifacts'),
    artifactUrl: call('artifactUrl'),
    exportArtifact: call('exportArtifact'),
    exportReport: call('exportReport'),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return {
    api,
    calls,
    // Each call was recorded by call(method) with that method's request type.
    requestsTo: <M extends ApiMethodName>(method: M) =>
      calls.filter((c) => c.method === method).map((c) => c.request as ApiRequest<M>),
    emit: (event) => listeners.forEach((l) => l(event)),
  };
}

export const ATTACK_METHOD: MethodInfo = {
  id: 'badnet',
  title: 'BadNet patch',
  kind: 'attack',
  summary: 'Patch in a corner.',
  paper: 'Gu et al. 2017',
  params: {
    epochs: { kind: 'integer', default: 10, min: 1, max: 100, help: 'fine-tuning epochs' },
    poisonRate: { kind: 'number', default: 0.1, min: 0, max: 1, help: 'share of poisoned pairs' },
    augment: { kind: 'boolean', default: false, help: 'augment images' },
    optimizer: { kind: 'enum', default: 'adamw', options: ['adamw', 'sgd'], help: 'optimizer' },
  },
  needsTarget: true,
  acceptsTrigger: false,
};

export const DEFENSE_METHOD: MethodInfo = {
  id: 'rvpt',
  title: 'RVPT',
  kind: 'defense',
  summary: 'Repulsive visual prompt tuning.',
  paper: 'RVPT 2024',
  params: { shots: { kind: 'integer', default: 16, min: 1, help: 'shots per class' } },
  needsTarget: false,
  acceptsTrigger: false,
};

export function runSummary(id: number, overrides: Partial<RunSummary> = {}): RunSummary {
  return {
    id,
    label: `run ${id}`,
    kind: 'attack',
    method: 'badnet',
    modelId: 1,
    datasetId: 1,
    target: 'cat',
    seed: 0,
    status: 'running',
    createdAt: 1_700_000_000_000,
    startedAt: 1_700_000_000_000,
    finishedAt: null,
    runMs: 0,
    attempts: 1,
    progress: null,
    finalMetrics: {},
    error: null,
    ...overrides,
  };
}

export function runDetail(id: number, overrides: Partial<RunDetail> = {}): RunDetail {
  return {
    ...runSummary(id),
    params: { epochs: 1 },
    trigger: null,
    versions: { vetbench: '0.1.0' },
    executor: 'onnx',
    series: [],
    artifacts: [],
    checkpointStep: null,
    log: [],
    result: null,
    ...overrides,
  };
}

export const MODEL: ModelSummary = {
  id: 1,
  name: 'demo',
  path: '/models/demo.safetensors',
  fingerprint: 'ab'.repeat(32),
  fileBytes: 1000,
  architecture: {
    description: 'ViT-8 @ 32px',
    embedDim: 64,
    vision: { width: 64, layers: 2, heads: 2, patchSize: 8, imageResolution: 32 },
    text: { width: 64, layers: 2, heads: 2, contextLength: 16, vocabSize: 49408 },
    parameters: 4_200_000,
    dtypes: ['F32'],
    naming: 'openai',
  },
  warnings: [],
  sourceRunId: null,
  importedAt: 1_700_000_000_000,
};

export const DATASET: DatasetSummary = {
  id: 1,
  name: 'demo',
  root: '/datasets/demo',
  fingerprint: 'cd'.repeat(32),
  layout: 'class-folders',
  classes: [
    { index: 0, name: 'cat', folder: 'cat', count: 2, counts: {} },
    { index: 1, name: 'dog', folder: 'dog', count: 2, counts: {} },
  ],
  total: 4,
  counts: {},
  captions: 0,
  sampleImageIds: ['cat/1.png'],
  skipped: [],
  warnings: [],
  importedAt: 1_700_000_000_000,
};
