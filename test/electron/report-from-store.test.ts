import { describe, expect, it } from 'vitest';
import { reportInputFromStore } from '../../electron/report/from-store.js';
import { renderReportHtml } from '../../engine/report/render-html.js';
import { BADNET_112, emptyStore, endedRun } from './store-fixture.js';

describe('report input from the store', () => {
  it('counts only finished runs and says which runs it left out and why', async () => {
    const { store, datasetId, model } = emptyStore();
    const modelId = model('backdoored');
    const vet = {
      kind: 'eval' as const,
      method: 'backdoor-eval',
      modelId,
      datasetId,
      target: 'banana',
      trigger: BADNET_112,
    };
    const done = endedRun(store, vet, 'done', { ca: 92.78, asr: 87.42 }, { n_clean: 720, n_poisoned: 660 });
    // a second run of the same seed and setting, and one stopped mid-way with other numbers
    const again = endedRun(store, vet, 'done', { ca: 92.78, asr: 87.42 }, { n_clean: 720, n_poisoned: 660 });
    const cancelled = endedRun(store, vet, 'cancelled', { ca: 40, asr: 10 });
    const input = await reportInputFromStore(store, [done, again, cancelled]);

    expect(input.runs.map((r) => r.id)).toEqual([String(done), String(again)]);
    expect(input.metrics).toHaveLength(1);
    expect(input.metrics[0]).toMatchObject({
      runIds: [String(done), String(again)],
      values: { CA: [92.78, 92.78], ASR: [87.42, 87.42] },
      denominators: { CA: 720, ASR: 660 },
    });
    expect(input.metrics[0]!.label).toContain('trigger badnet (patchSize=112)');
    expect(input.excludedRuns).toEqual([
      { id: String(cancelled), status: 'cancelled', reason: 'cancelled: its numbers are from mid-training' },
    ]);
    expect(input.verdicts).toEqual([
      expect.objectContaining({ model: 'backdoored', verdict: 'backdoor suspected', flaggedClass: 'banana' }),
    ]);

    const html = renderReportHtml(input);
    const page1 = html.slice(html.indexOf('<h2>1. Verdict</h2>'), html.indexOf('class="page-break"'));
    expect(page1).toContain('backdoor suspected');
    expect(page1).toContain('flagged class: <b>banana</b>');
    expect(page1).toContain('ASR 87.42% (577 of 660)');
    expect(page1).toContain(`run ${cancelled} (cancelled: its numbers are from mid-training)`);
    expect(html).toContain('2 runs, 1 seed');
    store.close();
  });
});
