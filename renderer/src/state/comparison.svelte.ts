/**
 * Runs side by side: parameters and final metrics per run, optionally only the rows that differ, and each
 * metric's difference from the first run (the baseline).
 */
import type { ApiClient, ApiError, Comparison, ComparisonRow } from '../../../electron/api/contract.js';
import { toDisplayError } from '../lib/display-error.js';

export class ComparisonState {
  comparison = $state<Comparison | null>(null);
  onlyDifferences = $state(false);
  loading = $state(false);
  error = $state<ApiError | null>(null);
  saveName = $state('');
  savedId = $state<number | null>(null);

  constructor(
    private readonly api: ApiClient,
    readonly runIds: readonly number[],
  ) {}

  async load(): Promise<void> {
    if (this.runIds.length === 0) return;
    this.loading = true;
    try {
      this.comparison = await this.api.compareRuns({
        runIds: [...this.runIds],
        onlyDifferences: this.onlyDifferences,
      });
      this.error = null;
    } catch (e) {
      this.error = toDisplayError(e);
    } finally {
      this.loading = false;
    }
  }

  async setOnlyDifferences(on: boolean): Promise<void> {
    this.onlyDifferences = on;
    await this.load();
  }

  async save(): Promise<void> {
    const name = this.saveName.trim();
    if (!name) return;
    try {
      const saved = await this.api.compareRuns({
        runIds: [...this.runIds],
        onlyDifferences: this.onlyDifferences,
        saveAs: name,
      });
      this.savedId = saved.id;
      this.error = null;
    } catch (e) {
      this.error = toDisplayError(e);
    }
  }
}

/** value - baseline (the first run's value) for numeric cells; null where either is not a number. */
export function metricDeltas(row: ComparisonRow): (number | null)[] {
  const base = row.values[0];
  return row.values.map((v, i) =>
    i > 0 && typeof v === 'number' && typeof base === 'number' ? v - base : null,
  );
}
