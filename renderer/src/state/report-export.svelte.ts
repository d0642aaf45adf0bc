/**
 * Export report: the audit report of the selected runs (or of all runs) rendered by the back end, stored as a
 * project artifact, and offered to open: a link in the browser (serve mode), the system viewer through the
 * preload bridge in the desktop app (where the page may not navigate).
 */
import type { ApiClient, ApiError, ExportedReport, ReportFormat } from '../../../electron/api/contract.js';
import type { VetbenchBridge } from '../../../electron/app/bridge.js';
import { toDisplayError } from '../lib/display-error.js';

export class ReportExportState {
  format = $state<ReportFormat>('html');
  busy = $state(false);
  error = $state<ApiError | null>(null);
  exported = $state<ExportedReport | null>(null);
  /** What happened when the desktop app was asked to open the report. */
  opened = $state<{ ok: boolean; message: string } | null>(null);

  constructor(private readonly api: ApiClient) {}

  /** Reports the given runs, or every run of the project when none is given. */
  async export(runIds: readonly number[]): Promise<void> {
    this.busy = true;
    this.exported = null;
    this.opened = null;
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

  /** Desktop app: the main process opens the stored report (it looks the path up by artifact id). */
  async openInApp(bridge: Pick<VetbenchBridge, 'openArtifact'>): Promise<void> {
    if (!this.exported || !bridge.openArtifact) return;
    const result = await bridge.openArtifact(this.exported.artifactId);
    this.opened = result.ok
      ? { ok: true, message: `Opened ${result.path} in the system's viewer.` }
      : { ok: false, message: result.message };
  }
}
