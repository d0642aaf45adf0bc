import { describe, expect, it } from 'vitest';
import { mergePoints, RunMonitor } from '../../renderer/src/state/run-monitor.svelte.js';
import { fakeApi, runDetail, runSummary } from './fake-api.js';

describe('run monitor', () => {
  it('grows the charts from events and ignores other runs', async () => {
    const fake = fakeApi({
      getRun: () => runDetail(7, { series: [{ name: 'epoch_loss', points: [{ step: 1, value: 2.5 }] }] }),
    });
    const monitor = new RunMonitor(fake.api, 7);
    await monitor.load();
    expect(monitor.series).toEqual({ epoch_loss: [{ step: 1, value: 2.5 }] });

    monitor.apply({ type: 'run-progress', runId: 7, epoch: 0, step: 3, total: 12, etaMs: 9000, loss: 1.5 });
    monitor.apply({ type: 'run-metric', runId: 7, series: 'epoch_loss', step: 2, value: 1.25 });
    monitor.apply({ type: 'run-metric', runId: 7, series: 'loss', step: 3, value: 1.5 });
    monitor.apply({ type: 'run-metric', runId: 7, series: 'asr', step: 1, value: 97.5 });
    monitor.apply({ type: 'run-metric', runId: 7, series: 'ca', step: 0, value: 90 });
    monitor.apply({ type: 'run-metric', runId: 8, series: 'asr', step: 2, value: 1 });
    expect(monitor.fraction).toBe(0.25);
    expect(monitor.series.loss).toEqual([{ step: 3, value: 1.5 }]);
    expect(monitor.series.epoch_loss).toEqual([
      { step: 1, value: 2.5 },
      { step: 2, value: 1.25 },
    ]);
    expect(monitor.stepSeries).toEqual(['loss']);
    expect(monitor.lossSeries).toEqual(['epoch_loss']);
    // One measurement is not a curve; a second point makes it one.
    expect(monitor.otherSeries).toEqual([]);
    monitor.apply({ type: 'run-metric', runId: 7, series: 'asr', step: 2, value: 98 });
    expect(monitor.otherSeries).toEqual(['asr']);
    expect(monitor.series.asr).toHaveLength(2);
  });

  it('cancels and resumes through the API and follows the status', async () => {
    const fake = fakeApi({
      getRun: () => runDetail(3, { status: 'running' }),
      cancelRun: () => runSummary(3, { status: 'cancelled' }),
      resumeRun: () => runSummary(3, { status: 'queued' }),
    });
    const monitor = new RunMonitor(fake.api, 3);
    await monitor.load();
    expect(monitor.canCancel).toBe(true);
    expect(monitor.canResume).toBe(false);
    await monitor.cancel();
    expect(monitor.status).toBe('cancelled');
    expect(monitor.canResume).toBe(true);
    await monitor.resume();
    expect(monitor.status).toBe('queued');
    expect(fake.calls.map((c) => c.method)).toEqual(['getRun', 'cancelRun', 'resumeRun']);
  });

  it('shows the API error of a failed action', async () => {
    const fake = fakeApi({ getRun: () => runDetail(3, { status: 'done' }) });
    const monitor = new RunMonitor(fake.api, 3);
    await monitor.load();
    await monitor.resume();
    expect(monitor.actionError).toMatchObject({ code: 'not-faked', hint: 'Add a handler.' });
  });

  it('merges points by step: a resumed epoch replaces its earlier value', () => {
    expect(
      mergePoints(
        [
          { step: 1, value: 3 },
          { step: 2, value: 2 },
        ],
        [
          { step: 2, value: 1.5 },
          { step: 3, value: 1 },
        ],
      ),
    ).toEqual([
      { step: 1, value: 3 },
      { step: 2, value: 1.5 },
      { step: 3, value: 1 },
    ]);
  });
});
