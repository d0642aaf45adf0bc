import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ApiEvent } from '../../../electron/api/contract.js';
import { JobHost } from '../../../electron/jobs/job-host.js';
import { importDatasetInto, importModelInto } from '../../../electron/store/imports.js';
import { ProjectStore } from '../../../electron/store/project-store.js';
import { writeJobFixtures } from '../jobs-fixture.js';

// Every resumable kind reports its checkpoints to the store through the engine's onCheckpoint callback (the
// job layer no longer looks for one method's state file): one checkpoint per epoch, at that epoch's last step.
const WORKER = new URL('../../../dist/electron/jobs/worker.js', import.meta.url).pathname;

let fixtures: { model: string; dataset: string };
let dir: string;

beforeAll(async () => {
  if (!existsSync(WORKER)) throw new Error(`build first (npm run build): ${WORKER} is missing`);
  dir = mkdtempSync(join(tmpdir(), 'vetbench-checkpoints-'));
  fixtures = await writeJobFixtures(dir);
});

const CASES = [
  { kind: 'defense', method: 'vpt', params: { epochs: 2, shots: 4, batchSize: 8, depth: 0 }, steps: [2, 4] },
  { kind: 'defense', method: 'cbpt', params: { epochs: 2, shots: 4, batchSize: 8 }, steps: [2, 4] },
  { kind: 'defense', method: 'linear-probe', params: { epochs: 2, shots: 4, batchSize: 8 }, steps: [2, 4] },
  { kind: 'attack', method: 'badnet', params: { epochs: 2, batchSize: 16, warmup: 0 }, steps: [6, 12] },
] as const;

describe('checkpoints recorded for every resumable run kind', () => {
  for (const c of CASES) {
    it(`${c.kind} ${c.method}: one checkpoint per epoch in the store`, async () => {
      const store = ProjectStore.open(join(dir, `${c.method}.vbproj`));
      const model = await importModelInto(store, fixtures.model);
      const dataset = await importDatasetInto(store, fixtures.dataset);
      const host = new JobHost(store, { workerModule: WORKER });
      host.start();
      const checkpoints: number[] = [];
      host.subscribe((e: ApiEvent) => {
        if (e.type === 'run-checkpoint') checkpoints.push(e.step);
      });
      const run = host.submit({
        kind: c.kind,
        method: c.method,
        modelId: model.id,
        datasetId: dataset.id,
        ...(c.kind === 'attack' ? { target: 'green' } : {}),
        seed: 2,
        params: c.params,
      });
      const done = await host.waitFor(run.id);
      expect(done.status, JSON.stringify(done.error)).toBe('done');
      expect(checkpoints).toEqual(c.steps);
      expect(store.lastCheckpoint(run.id)?.step).toBe(c.steps.at(-1));
      await host.close();
      store.close();
    }, 180_000);
  }
});
