/**
 * One run as it happens: detail from getRun, then progress, metric points, log lines, artifacts and status
 * from events, so charts grow without polling. Cancel and resume.
 */
import type {
  ApiClient,
  ApiError,
  ApiEvent,
  MetricSeries,
  RunDetail,
  RunLogLine,
  RunProgress,
  RunSummary,
} from '../../../electron/api/contract.js';
import { toDisplayError } from '../lib/display-error.js';

const MAX_LOG_LINES = 500;

export class RunMonitor {
  detail = $state<RunDetail | null>(null);
  /** Series by name, points sorted by step. */
  series = $state<Record<string, MetricSeries['points']>>({});
  log = $state<RunLogLine[]>([]);
  progress = $state<RunProgress | null>(null);
  error = $state<ApiError | null>(null);
  actionError = $state<ApiError | null>(null);
  busy = $state<'cancel' | 'resume' | null>(null);

  readonly status = $derived(this.detail?.status ?? null);
  readonly active = $derived(this.status === 'running' || this.status === 'queued');
  readonly canCancel = $derived(this.active);
  readonly canResume = $derived(
    this.status === 'cancelled' || this.status === 'interrupted' || this.status === 'failed',
  );
  /** 0..1, or null before the first progress report. */
  readonly fraction = $derived.by(() => {
    if (this.status === 'done') return 1;
    const p = this.progress;
    return p && p.total > 0 ? Math.min(1, p.step / p.total) : null;
  });
  /** The per-step training loss the worker reports (x: optimisation step). */
  readonly stepSeries = $derived(Object.keys(this.series).filter((name) => name === 'loss'));
  /** Other loss curves, per epoch (e.g. epoch_loss). */
  readonly lossSeries = $derived(
    Object.keys(this.series).filter((name) => name !== 'loss' && /loss/i.test(name)),
  );
  /**
   * Other curves with a history (CA/ASR per epoch). A metric measured once (e.g. CA after the attack) is not
   * a curve: it is listed with the final metrics instead.
   */
  readonly otherSeries = $derived(
    Object.keys(this.series).filter((name) => !/loss/i.test(name) && (this.series[name]?.length ?? 0) > 1),
  );

  constructor(
    private readonly api: ApiClient,
    readonly runId: number,
  ) {}

  async load(): Promise<void> {
    try {
      const detail = await this.api.getRun({ runId: this.runId });
      this.detail = detail;
      this.progress = detail.progress;
      this.log = detail.log;
      const series: Record<string, MetricSeries['points']> = { ...this.series };
      for (const s of detail.series) series[s.name] = mergePoints(series[s.name] ?? [], s.points);
      this.series = series;
      this.error = null;
    } catch (e) {
      this.error = toDisplayError(e);
    }
  }

  apply(event: ApiEvent): void {
    if (event.runId !== this.runId) return;
    switch (event.type) {
      case 'run-progress': {
        this.progress = { epoch: event.epoch, step: event.step, total: event.total, etaMs: event.etaMs };
        if (this.detail && this.detail.status === 'queued')
          this.detail = { ...this.detail, status: 'running' };
        break;
      }
      case 'run-metric':
        this.addPoint(event.series, event.step, event.value);
        break;
      case 'run-log':
        this.log = [...this.log, { at: event.at, level: event.level, line: event.line }].slice(
          -MAX_LOG_LINES,
        );
        break;
      case 'run-artifact':
        if (this.detail && !this.detail.artifacts.some((a) => a.id === event.artifact.id))
          this.detail = { ...this.detail, artifacts: [...this.detail.artifacts, event.artifact] };
        break;
      case 'run-checkpoint':
        if (this.detail) this.detail = { ...this.detail, checkpointStep: event.step };
        break;
      case 'run-status':
        if (this.detail) this.detail = { ...this.detail, status: event.status, error: event.error };
        // Timings, final metrics and the result are in the stored run.
        if (event.status !== 'running') void this.load();
        break;
    }
  }

  async cancel(): Promise<void> {
    await this.act('cancel', () => this.api.cancelRun({ runId: this.runId }));
  }

  async resume(): Promise<void> {
    await this.act('resume', () => this.api.resumeRun({ runId: this.runId }));
  }

  private async act(kind: 'cancel' | 'resume', call: () => Promise<RunSummary>): Promise<void> {
    this.busy = kind;
    this.actionError = null;
    try {
      const summary = await call();
      if (this.detail) this.detail = { ...this.detail, status: summary.status };
    } catch (e) {
      this.actionError = toDisplayError(e);
    } finally {
      this.busy = null;
    }
  }

  private addPoint(name: string, step: number, value: number): void {
    this.series[name] = mergePoints(this.series[name] ?? [], [{ step, value }]);
  }
}

/** Points by step: a later value for the same step replaces the earlier one (a resumed epoch). */
export function mergePoints(
  existing: readonly MetricSeries['points'][number][],
  incoming: readonly MetricSeries['points'][number][],
): MetricSeries['points'] {
  const byStep = new Map(existing.map((p) => [p.step, p.value]));
  for (const p of incoming) byStep.set(p.step, p.value);
  return [...byStep.entries()].sort((a, b) => a[0] - b[0]).map(([step, value]) => ({ step, value }));
}
