import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelArchitecture, RunStatus, TriggerChoice } from '../../electron/api/contract.js';
import { ProjectStore, type NewRun } from '../../electron/store/project-store.js';

const ARCH: ModelArchitecture = {
  description: 'tiny',
  embedDim: 16,
  vision: { width: 64, layers: 1, heads: 1, patchSize: 4, imageResolution: 16 },
  text: { width: 64, layers: 1, heads: 1, contextLength: 8, vocabSize: 49408 },
  parameters: 1000,
  dtypes: ['F32'],
  naming: 'openai',
};

/** A dataset record with no images: runs need one, the tests that use it read no pixels. */
export function insertEmptyDataset(store: ProjectStore): number {
  return store.insertDataset({
    name: 'd',
    root: '/d',
    fingerprint: 'cd',
    layout: 'split-folders',
    classes: [],
    total: 0,
    counts: {},
    captions: 0,
    sampleImageIds: [],
    skipped: [],
    warnings: [],
  }).id;
}

/** A fresh project with one dataset; models and finished runs are added by the test. */
export function emptyStore(): { store: ProjectStore; datasetId: number; model(name: string): number } {
  const store = ProjectStore.open(join(mkdtempSync(join(tmpdir(), 'vetbench-dossier-')), 'p.vbproj'));
  const model = (name: string): number =>
    store.insertModel({
      name,
      path: `/${name}.safetensors`,
      fingerprint: `${name}-sha`,
      fileBytes: 1,
      architecture: ARCH,
      warnings: [],
    }).id;
  return { store, datasetId: insertEmptyDataset(store), model };
}

export const BADNET_112: TriggerChoice = { source: 'family', family: 'badnet', params: { patchSize: 112 } };

/** A run that ended with `status`, its final metrics and the result its job returned. */
export function endedRun(
  store: ProjectStore,
  run: Partial<NewRun> & Pick<NewRun, 'kind' | 'method' | 'modelId' | 'datasetId'>,
  status: Exclude<RunStatus, 'queued' | 'running'>,
  metrics: Readonly<Record<string, number>>,
  result: Record<string, unknown> | null = null,
): number {
  const id = store.createRun({
    label: run.label ?? run.method,
    target: null,
    trigger: null,
    promptsArtifactId: null,
    seed: 1,
    params: {},
    ...run,
  });
  store.recordMetrics(
    Object.entries(metrics).map(([series, value]) => ({ runId: id, series, step: 0, value })),
  );
  store.finishRun(id, status, { attemptMs: 5, result });
  return id;
}
