/** The run list: filters, live status from events, and the runs picked for comparison. */
import type {
  ApiClient,
  ApiError,
  ApiEvent,
  ListRunsRequest,
  RunKind,
  RunStatus,
  RunSummary,
} from '../../../electron/api/contract.js';
import { toDisplayError } from '../lib/display-error.js';
import { toggled } from '../lib/toggle.js';

export interface RunFilters {
  status: RunStatus | '';
  kind: RunKind | '';
  method: string;
  modelId: number | null;
  datasetId: number | null;
}

export const NO_FILTERS: RunFilters = { status: '', kind: '', method: '', modelId: null, datasetId: null };

export class RunsState {
  runs = $state<RunSummary[]>([]);
  total = $state(0);
  filters = $state<RunFilters>({ ...NO_FILTERS });
  loading = $state(false);
  loaded = $state(false);
  error = $state<ApiError | null>(null);
  /** Run ids ticked for comparison, in the order they were ticked. */
  selected = $state<number[]>([]);

  readonly filtered = $derived(
    this.filters.status !== '' ||
      this.filters.kind !== '' ||
      this.filters.method !== '' ||
      this.filters.modelId !== null ||
      this.filters.datasetId !== null,
  );

  constructor(private readonly api: ApiClient) {}

  request(): ListRunsRequest {
    const f = this.filters;
    return {
      ...(f.status ? { status: [f.status] } : {}),
      ...(f.kind ? { kind: [f.kind] } : {}),
      ...(f.method ? { method: f.method } : {}),
      ...(f.modelId !== null ? { modelId: f.modelId } : {}),
      ...(f.datasetId !== null ? { datasetId: f.datasetId } : {}),
      limit: 200,
    };
  }

  /** Forgets the old project's runs, filters and ticks (another project is shown). */
  reset(): void {
    this.runs = [];
    this.total = 0;
    this.filters = { ...NO_FILTERS };
    this.selected = [];
    this.loaded = false;
    this.error = null;
  }

  async load(): Promise<void> {
    this.loading = true;
    try {
      const listed = await this.api.listRuns(this.request());
      this.runs = listed.runs;
      this.total = listed.total;
      this.error = null;
      this.loaded = true;
    } catch (e) {
      this.error = toDisplayError(e);
    } finally {
      this.loading = false;
    }
  }

  async setFilters(change: Partial<RunFilters>): Promise<void> {
    this.filters = { ...this.filters, ...change };
    await this.load();
  }

  async clearFilters(): Promise<void> {
    this.filters = { ...NO_FILTERS };
    await this.load();
  }

  toggleSelected(runId: number, on: boolean): void {
    this.selected = toggled(this.selected, runId, on);
  }

  /**
   * Keeps statuses and progress current without polling. A status change of a run not in the list (a new run)
   * reloads the list. Returns true when the list changed.
   */
  apply(event: ApiEvent): boolean {
    const index = this.runs.findIndex((r) => r.id === event.runId);
    if (event.type === 'run-status') {
      if (index < 0) {
        void this.load();
        return true;
      }
      const run = this.runs[index]!;
      this.runs[index] = { ...run, status: event.status, error: event.error };
      // Finished runs have final metrics and timings: fetch them.
      if (event.status !== 'running' && event.status !== 'queued') void this.load();
      return true;
    }
    if (index < 0) return false;
    const run = this.runs[index]!;
    if (event.type === 'run-progress') {
      this.runs[index] = {
        ...run,
        progress: { epoch: event.epoch, step: event.step, total: event.total, etaMs: event.etaMs },
      };
      return true;
    }
    if (event.type === 'run-metric') {
      this.runs[index] = { ...run, finalMetrics: { ...run.finalMetrics, [event.series]: event.value } };
      return true;
    }
    return false;
  }
}
