/** The open project: its info, imported models and datasets, and importing more. */
import type {
  ApiClient,
  ApiError,
  DatasetSummary,
  ModelDossier,
  ModelSummary,
  ProjectInfo,
} from '../../../electron/api/contract.js';
import { toDisplayError } from '../lib/display-error.js';

export type ImportKind = 'model' | 'dataset';

/**
 * At most `max` sample ids, taken round-robin over their folders (one per class): the store keeps a few per
 * class in class order, so the first ones alone showed only the first classes.
 */
export function spreadOverClasses(ids: readonly string[], max: number): string[] {
  const byFolder = new Map<string, string[]>();
  for (const id of ids) {
    const folder = id.slice(0, Math.max(0, id.lastIndexOf('/')));
    byFolder.set(folder, [...(byFolder.get(folder) ?? []), id]);
  }
  const queues = [...byFolder.values()];
  const picked: string[] = [];
  for (let round = 0; picked.length < max && queues.some((q) => q.length > round); round++)
    for (const q of queues) if (q[round] !== undefined && picked.length < max) picked.push(q[round]!);
  return picked;
}

export class ProjectState {
  info = $state<ProjectInfo | null>(null);
  models = $state<ModelSummary[]>([]);
  datasets = $state<DatasetSummary[]>([]);
  /** Each model's vet status (verdict, evidence, hardening), recomputed by the back end from finished runs. */
  dossiers = $state<ModelDossier[]>([]);
  dossierError = $state<ApiError | null>(null);
  loading = $state(false);
  loaded = $state(false);
  error = $state<ApiError | null>(null);
  /** Which import is in flight, for the buttons' busy state. */
  importing = $state<ImportKind | 'demo' | null>(null);
  importError = $state<ApiError | null>(null);
  /** The model or dataset just imported, to highlight it. */
  lastImported = $state<{ kind: ImportKind; id: number } | null>(null);

  readonly hasDemoParts = $derived(
    this.models.some((m) => /demo/i.test(`${m.name} ${m.path}`)) &&
      this.datasets.some((d) => /demo/i.test(`${d.name} ${d.root}`)),
  );

  /** Sample image URLs per dataset id, resolved on demand. */
  samples = $state<Record<number, { imageId: string; url: string }[]>>({});

  constructor(private readonly api: ApiClient) {}

  async loadSamples(datasetId: number, max = 36): Promise<void> {
    const dataset = this.dataset(datasetId);
    if (!dataset || this.samples[datasetId]) return;
    try {
      const ids = spreadOverClasses(dataset.sampleImageIds, max);
      const urls = await Promise.all(
        ids.map(async (imageId) => ({
          imageId,
          url: (await this.api.datasetImageUrl({ datasetId, imageId })).url,
        })),
      );
      this.samples[datasetId] = urls;
    } catch (e) {
      this.importError = toDisplayError(e);
    }
  }

  /** Forgets the old project's contents (another project is shown); `info` is the new one's. */
  reset(info: ProjectInfo): void {
    this.info = info;
    this.models = [];
    this.datasets = [];
    this.dossiers = [];
    this.dossierError = null;
    this.samples = {};
    this.loaded = false;
    this.error = null;
    this.importError = null;
    this.lastImported = null;
  }

  async load(): Promise<void> {
    this.loading = true;
    this.error = null;
    try {
      const [info, models, datasets] = await Promise.all([
        this.api.getProject({}),
        this.api.listModels({}),
        this.api.listDatasets({}),
      ]);
      this.info = info;
      this.models = models.models;
      this.datasets = datasets.datasets;
      this.loaded = true;
    } catch (e) {
      this.error = toDisplayError(e);
    } finally {
      this.loading = false;
    }
    await this.loadDossiers();
  }

  /** The verdicts; a failure shows beside them and leaves the rest of the screen working. */
  async loadDossiers(): Promise<void> {
    try {
      this.dossiers = (await this.api.listModelDossiers({})).dossiers;
      this.dossierError = null;
    } catch (e) {
      this.dossierError = toDisplayError(e);
    }
  }

  dossier(modelId: number): ModelDossier | undefined {
    return this.dossiers.find((d) => d.modelId === modelId);
  }

  /** Refreshes counts and the model list (an attack run adds a model). */
  async refresh(): Promise<void> {
    try {
      const [info, models] = await Promise.all([this.api.getProject({}), this.api.listModels({})]);
      this.info = info;
      this.models = models.models;
    } catch (e) {
      this.error = toDisplayError(e);
    }
    await this.loadDossiers();
  }

  async importModel(path: string): Promise<ModelSummary | null> {
    return this.runImport('model', async () => {
      const model = await this.api.importModel({ path: path.trim() });
      this.models = [model, ...this.models.filter((m) => m.id !== model.id)];
      this.lastImported = { kind: 'model', id: model.id };
      return model;
    });
  }

  async importDataset(path: string): Promise<DatasetSummary | null> {
    return this.runImport('dataset', async () => {
      const dataset = await this.api.importDataset({ path: path.trim() });
      this.datasets = [dataset, ...this.datasets.filter((d) => d.id !== dataset.id)];
      this.lastImported = { kind: 'dataset', id: dataset.id };
      return dataset;
    });
  }

  /** The demo project: the built-in tiny CLIP and the procedurally drawn demo dataset. */
  async openDemo(): Promise<boolean> {
    const done = await this.runImport('demo', async () => {
      const [model, dataset] = [
        await this.api.importModel({ path: 'demo' }),
        await this.api.importDataset({ path: 'demo' }),
      ];
      this.models = [model, ...this.models.filter((m) => m.id !== model.id)];
      this.datasets = [dataset, ...this.datasets.filter((d) => d.id !== dataset.id)];
      return true;
    });
    if (done) await this.refresh();
    return done ?? false;
  }

  model(id: number | null): ModelSummary | undefined {
    return this.models.find((m) => m.id === id);
  }

  dataset(id: number | null): DatasetSummary | undefined {
    return this.datasets.find((d) => d.id === id);
  }

  private async runImport<T>(kind: ImportKind | 'demo', work: () => Promise<T>): Promise<T | null> {
    this.importing = kind;
    this.importError = null;
    try {
      const result = await work();
      if (this.info)
        this.info = {
          ...this.info,
          counts: { ...this.info.counts, models: this.models.length, datasets: this.datasets.length },
        };
      return result;
    } catch (e) {
      this.importError = toDisplayError(e);
      return null;
    } finally {
      this.importing = null;
    }
  }
}
