import { describe, expect, it } from 'vitest';
import { ApiCallError } from '../../electron/api/contract.js';
import { ReportExportState } from '../../renderer/src/state/report-export.svelte.js';
import { fakeApi } from './fake-api.js';

describe('export report', () => {
  it('reports the selected runs, or all runs when none is selected, and keeps the stored file', async () => {
    const fake = fakeApi({
      exportReport: (r) => ({
        artifactId: r.runIds === 'all' ? 8 : 7,
        url: 'app://files/artifact/7',
        mediaType: r.format === 'pdf' ? 'application/pdf' : 'text/html',
        path: '/p/artifacts/project/report-1.html',
        sha256: 'ab'.repeat(32),
      }),
    });
    const state = new ReportExportState(fake.api);
    await state.export([3, 5]);
    expect(fake.calls.at(-1)?.request).toEqual({ runIds: [3, 5], format: 'html' });
    expect(state.exported?.artifactId).toBe(7);
    state.format = 'pdf';
    await state.export([]);
    expect(fake.calls.at(-1)?.request).toEqual({ runIds: 'all', format: 'pdf' });
    expect(state.exported?.mediaType).toBe('application/pdf');
    expect(state.busy).toBe(false);
  });

  it('shows the back end error with its hint and forgets the previous report', async () => {
    let fail = false;
    const fake = fakeApi({
      exportReport: () => {
        if (fail)
          throw new ApiCallError({
            code: 'chromium-missing',
            message: 'PDF rendering needs Chromium',
            hint: 'Export as HTML instead.',
          });
        return { artifactId: 1, url: 'u', mediaType: 'text/html', path: '/r.html', sha256: '00' };
      },
    });
    const state = new ReportExportState(fake.api);
    await state.export([1]);
    expect(state.exported).not.toBeNull();
    fail = true;
    await state.export([1]);
    expect(state.exported).toBeNull();
    expect(state.error).toEqual({
      code: 'chromium-missing',
      message: 'PDF rendering needs Chromium',
      hint: 'Export as HTML instead.',
    });
  });
  it('asks the desktop bridge to open the stored report by its artifact id, and says what happened', async () => {
    const fake = fakeApi({
      exportReport: () => ({
        artifactId: 9,
        url: 'u',
        mediaType: 'text/html',
        path: '/p/report-9.html',
        sha256: '00',
      }),
    });
    const state = new ReportExportState(fake.api);
    await state.export([]);
    const asked: number[] = [];
    await state.openInApp({
      openArtifact: async (id) => (asked.push(id), { ok: true, path: '/p/report-9.html' }),
    });
    expect(asked).toEqual([9]);
    expect(state.opened).toEqual({ ok: true, message: "Opened /p/report-9.html in the system's viewer." });
    await state.openInApp({
      openArtifact: async () => ({ ok: false, message: 'The report file /p/report-9.html is gone.' }),
    });
    expect(state.opened).toEqual({ ok: false, message: 'The report file /p/report-9.html is gone.' });
    // A new export forgets the old outcome.
    await state.export([]);
    expect(state.opened).toBeNull();
  });
});
