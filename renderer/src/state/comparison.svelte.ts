/**
 * Runs side by side: parameters and final metrics per run, optionally only the rows that differ, and each
 * metric's difference from the first run (the baseline). Either runs picked in the run list, or a comparison
 * saved in the project (reopened by id; its table is rebuilt from the runs' current values).
 */
import type { ApiClient, ApiError, Comparison, ComparisonRow } from '../../../electron/api/contract.js';
import { toDisplayError } from '../lib/display-error.js';

export type ComparisonSource = { readonly runIds: readonly number[] } | { readonly comparisonId: number };

export class ComparisonState {
  comparison = $state<Comparison | null>(null);
  onlyDifferences = $state(false);
  loading = $state(false);
  error = $state<ApiError | null>(null);
  saveName = $state('');
  /** The comparison just saved from here. */
  saved = $state<{ id: number; name: string } | null>(null);
  saving = $state(false);

  constructor(
    private readonly api: ApiClient,
    readonly source: ComparisonSource,
  ) {}

  /** The compared runs: as picked, or (saved comparison) as stored once loaded. */
  get runIds(): readonly number[] {
    return 'runIds' in this.source ? this.source.runIds : (this.comparison?.runs.map((r) => r.id) ?? []);
  }

  /** Set when this shows a saved comparison. */
  get savedName(): string | null {
    return this.comparison?.name ?? null;
  }

  /** True when there is something to compare (a saved comparison, or two or more runs). */
  get hasSubject(): boolean {
    return 'comparisonId' in this.source || this.source.runIds.length >= 2;
  }

  async load(): Promise<void> {
    if (!this.hasSubject) return;
    this.loading = true;
    try {
      this.comparison =
        'comparisonId' in this.source
          ? await this.api.openComparison({
              comparisonId: this.source.comparisonId,
              onlyDifferences: this.onlyDifferences,
            })
          : await this.api.compareRuns({
              runIds: [...this.source.runIds],
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

  /** Saves the compared runs under the typed name; resolves with the saved id, or null on failure. */
  async save(): Promise<number | null> {
    const name = this.saveName.trim();
    if (!name || this.runIds.length === 0) return null;
    this.saving = true;
    try {
      const saved = await this.api.compareRuns({
        runIds: [...this.runIds],
        onlyDifferences: this.onlyDifferences,
        saveAs: name,
      });
      this.saved = saved.id === null ? null : { id: saved.id, name };
      this.saveName = '';
      this.error = null;
      return saved.id;
    } catch (e) {
      this.error = toDisplayError(e);
      return null;
    } finally {
      this.saving = false;
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
