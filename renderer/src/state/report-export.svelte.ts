/**
 * Export report: the audit report of the selected runs (or of all runs) rendered by the back end, stored as a
 * project artifact, and offered to open.
 */
import type { ApiClient, ApiError, ExportedReport, ReportFormat } from '../../../electron/api/contract.js';
import { toDisplayError } from '../lib/display-error.js';

export class ReportExportState {
  format = $state<ReportFormat>('html');
  busy = $state(false);
  error = $state<ApiError | null>(null);
  exported = $state<ExportedReport | null>(null);

  constructor(private readonly api: ApiClient) {}

  /** Reports the given runs, or every run of the project when none is given. */
  async export(runIds: readonly number[]): Promise<void> {
    this.busy = true;
    this.exported = null;
    try {
      this.exported = await this.api.exportReport({
        runIds: runIds.length > 0 ? [...runIds] : 'all',
        format: this.format,
      });
      this.error = null;
    } catch (e) {
      this.error = toDisplayError(e);
    } finally {
      this.busy = false;
    }
  }
}
