/**
 * Runs without a checkpoint (scan, explanation, perturbation resistivity) are short and forward-only: a
 * killed or cancelled one is resumed by running it again from the start under the same run id. Each kind is
 * killed (-9) as soon as its worker runs, resumed, and must finish with the metrics of an uninterrupted run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartRunRequest } from '../../electron/api/contract.js';
import { JobHost } from '../../electron/jobs/job-host.js';
import { importDatasetInto, importModelInto } from '../../electron/store/imports.js';
import { ProjectStore } from '../../electron/store/project-store.js';
import { writeJobFixtures } from './jobs-fixture.js';

const WORKER = new URL('../../dist/electron/jobs/worker.js', import.meta.url).pathname;

let dir: string;
let fixtures: { model: string; dataset: string };
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vetbench-job-resume-'));
  fixtures = await writeJobFixtures(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Request = Omit<StartRunRequest, 'modelId' | 'datasetId' | 'params'> & {
  params: Record<string, string | number | boolean>;
};
const CASES: [string, Request][] = [
  ['scan', { kind: 'scan', method: 'backdoor-scan', seed: 2, params: { shots: 2, steps: 2, levels: 1 } }],
  [
    'explain (Grad-CAM)',
    {
      kind: 'explain',
      method: 'gradcam',
      seed: 2,
      target: 'green',
      trigger: { source: 'family', family: 'badnet', params: {} },
      params: { count: 2, block: -1 },
    },
  ],
  ['PR', { kind: 'eval', method: 'perturbation-resistivity', seed: 2, params: { limit: 8 } }],
];

describe('resume of runs without a checkpoint', () => {
  it.each(CASES)(
    '%s: killed while running, resumed under the same id to the same metrics',
    async (name, request) => {
      const store = ProjectStore.open(join(dir, `${name.replace(/\W+/g, '-')}.vbproj`));
      const modelId = (await importModelInto(store, fixtures.model)).id;
      const datasetId = (await importDatasetInto(store, fixtures.dataset)).id;
      const host = new JobHost(store, { workerModule: WORKER });
      host.start();
      try {
        const straight = await host.waitFor(host.submit({ ...request, modelId, datasetId }).id);
        expect(straight.status, straight.error?.message).toBe('done');
        expect(Object.keys(straight.finalMetrics).length).toBeGreaterThan(0);

        // Kill the worker as soon as the run is running (its pid is recorded before the job starts).
        let killed = false;
        host.subscribe((e) => {
          if (killed || e.type !== 'run-status' || e.status !== 'running') return;
          const pid = store.getRunRecord(e.runId).workerPid;
          if (pid) {
            killed = true;
            process.kill(pid, 'SIGKILL');
          }
        });
        const run = host.submit({ ...request, modelId, datasetId });
        const interrupted = await host.waitFor(run.id);
        expect(killed).toBe(true);
        expect(interrupted.status).toBe('interrupted');

        expect(host.resume(run.id).id).toBe(run.id);
        const done = await host.waitFor(run.id);
        expect(done.status, done.error?.message).toBe('done');
        expect(done.attempts).toBe(2);
        expect(done.finalMetrics).toEqual(straight.finalMetrics);
      } finally {
        await host.close();
        store.close();
      }
    },
  );
});
