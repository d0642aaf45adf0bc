import type { RunSummary } from '../api/contract.js';
import type { JobHost } from './job-host.js';

function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  const s = Math.round(ms / 1000);
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/**
 * Runs a job in the foreground of a terminal: its log lines and (every 2 s) its progress on stderr, Ctrl-C
 * cancels it cooperatively (a second Ctrl-C kills the worker at once). Resolves with the final summary.
 */
export async function followRun(
  host: JobHost,
  runId: number,
  write = (line: string) => process.stderr.write(`${line}\n`),
): Promise<RunSummary> {
  let last = 0;
  const unsubscribe = host.subscribe((e) => {
    if (e.runId !== runId) return;
    if (e.type === 'run-log') write(e.line);
    else if (e.type === 'run-progress') {
      if (Date.now() - last < 2000 && e.step !== e.total) return;
      last = Date.now();
      write(
        `epoch ${e.epoch + 1}  step ${e.step}/${e.total}${e.loss !== undefined ? `  loss ${e.loss.toFixed(4)}` : ''}  ETA ${formatDuration(e.etaMs)}`,
      );
    } else if (e.type === 'run-status' && e.status === 'interrupted' && e.error)
      write(`${e.error.message}\n  -> ${e.error.hint}`);
  });
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts++;
    if (interrupts === 1) {
      write(`cancelling run ${runId} (Ctrl-C again to stop at once)`);
      host.cancel(runId);
    } else void host.close();
  };
  process.on('SIGINT', onSigint);
  try {
    return await host.waitFor(runId);
  } finally {
    process.off('SIGINT', onSigint);
    unsubscribe();
  }
}
