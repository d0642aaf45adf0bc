import { describe, expect, it } from 'vitest';
import { RunsState } from '../../renderer/src/state/runs.svelte.js';
import { ComparisonState, metricDeltas } from '../../renderer/src/state/comparison.svelte.js';
import { galleryRows } from '../../renderer/src/state/gallery.svelte.js';
import { SavedComparisonsState } from '../../renderer/src/state/saved-comparisons.svelte.js';
import { parseRoute, routeHash } from '../../renderer/src/lib/routes.js';
import type { ArtifactInfo } from '../../electron/api/contract.js';
import { fakeApi, runSummary } from './fake-api.js';

describe('run list', () => {
  it('sends the filters and keeps progress current from events', async () => {
    const fake = fakeApi({
      listRuns: () => ({ runs: [runSummary(1), runSummary(2, { status: 'done' })], total: 2 }),
    });
    const runs = new RunsState(fake.api);
    await runs.setFilters({ status: 'done', kind: 'attack', modelId: 4 });
    expect(fake.requestsTo('listRuns').at(-1)).toEqual({
      status: ['done'],
      kind: ['attack'],
      modelId: 4,
      limit: 200,
    });
    expect(runs.filtered).toBe(true);
    await runs.clearFilters();
    expect(fake.requestsTo('listRuns').at(-1)).toEqual({ limit: 200 });

    runs.apply({ type: 'run-progress', runId: 1, epoch: 0, step: 5, total: 10, etaMs: 1000 });
    expect(runs.runs[0]?.progress).toEqual({ epoch: 0, step: 5, total: 10, etaMs: 1000 });
    runs.apply({ type: 'run-metric', runId: 1, series: 'asr', step: 0, value: 91 });
    expect(runs.runs[0]?.finalMetrics).toEqual({ asr: 91 });
    runs.toggleSelected(2, true);
    runs.toggleSelected(1, true);
    runs.toggleSelected(2, false);
    expect(runs.selected).toEqual([1]);
  });
});

describe('comparison', () => {
  it('asks for only the differences and computes deltas against the first run', async () => {
    const fake = fakeApi({
      compareRuns: (r) => ({
        id: null,
        runs: [runSummary(1), runSummary(2)],
        params: r.onlyDifferences ? [] : [{ key: 'seed', values: [0, 0], differs: false }],
        metrics: [{ key: 'asr', values: [90, 12.5], differs: true }],
      }),
    });
    const state = new ComparisonState(fake.api, { runIds: [1, 2] });
    await state.load();
    expect(state.comparison?.params).toHaveLength(1);
    await state.setOnlyDifferences(true);
    expect(fake.calls.at(-1)?.request).toEqual({ runIds: [1, 2], onlyDifferences: true });
    expect(state.comparison?.params).toEqual([]);
    expect(metricDeltas({ key: 'asr', values: [90, 12.5, null], differs: true })).toEqual([
      null,
      -77.5,
      null,
    ]);
  });

  it('saves the compared runs under a name and reopens a saved comparison by id', async () => {
    const saved: { id: number; name: string; runIds: number[]; createdAt: number }[] = [];
    const fake = fakeApi({
      compareRuns: (r) => {
        if (r.saveAs) saved.push({ id: saved.length + 1, name: r.saveAs, runIds: r.runIds, createdAt: 5 });
        return {
          id: r.saveAs ? saved.length : null,
          name: r.saveAs ?? null,
          runs: r.runIds.map((id) => runSummary(id)),
          params: [],
          metrics: [],
        };
      },
      listComparisons: () => ({ comparisons: [...saved].reverse() }),
      openComparison: (r) => {
        const c = saved.find((s) => s.id === r.comparisonId)!;
        return {
          id: c.id,
          name: c.name,
          runs: c.runIds.map((id) => runSummary(id)),
          params: [],
          metrics: [],
        };
      },
    });
    const picked = new ComparisonState(fake.api, { runIds: [3, 4] });
    await picked.load();
    picked.saveName = '  BadNet seeds  ';
    expect(await picked.save()).toBe(1);
    expect(fake.calls.at(-1)?.request).toEqual({
      runIds: [3, 4],
      onlyDifferences: false,
      saveAs: 'BadNet seeds',
    });
    expect(picked.saved).toEqual({ id: 1, name: 'BadNet seeds' });
    expect(picked.saveName).toBe('');

    const list = new SavedComparisonsState(fake.api);
    await list.load();
    expect(list.comparisons.map((c) => c.name)).toEqual(['BadNet seeds']);

    const reopened = new ComparisonState(fake.api, { comparisonId: 1 });
    expect(reopened.hasSubject).toBe(true);
    expect(reopened.runIds).toEqual([]);
    await reopened.load();
    expect(reopened.runIds).toEqual([3, 4]);
    expect(reopened.savedName).toBe('BadNet seeds');
    await reopened.setOnlyDifferences(true);
    expect(fake.calls.at(-1)).toEqual({
      method: 'openComparison',
      request: { comparisonId: 1, onlyDifferences: true },
    });
    expect(new ComparisonState(fake.api, { runIds: [3] }).hasSubject).toBe(false);
  });

  it('lines up pictures of several runs by file name', () => {
    const artifact = (id: number, name: string): ArtifactInfo => ({
      id,
      runId: id,
      kind: 'image',
      name,
      mediaType: 'image/png',
      bytes: 1,
      sha256: '',
      createdAt: 0,
    });
    const cell = (id: number, name: string) =>
      [name, { artifact: artifact(id, name), url: `u${id}` }] as const;
    const rows = galleryRows([
      new Map([cell(1, 'trigger.png')]),
      new Map([cell(2, 'overlay.png'), cell(3, 'trigger.png')]),
    ]);
    expect(rows.map((r) => [r.name, r.cells.map((c) => c?.url ?? null)])).toEqual([
      ['trigger.png', ['u1', 'u3']],
      ['overlay.png', [null, 'u2']],
    ]);
  });
});

describe('routes', () => {
  it('round-trips every screen through the address bar', () => {
    for (const hash of [
      '#/',
      '#/models',
      '#/datasets',
      '#/vet',
      '#/attack',
      '#/defend',
      '#/runs',
      '#/runs/12',
      '#/compare/3,4',
      '#/comparisons/7',
    ])
      expect(routeHash(parseRoute(hash))).toBe(hash);
    expect(parseRoute('#/runs/abc')).toEqual({ name: 'runs' });
    expect(parseRoute('#/nowhere')).toEqual({ name: 'project' });
  });
});
