import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { JobHost } from '../../electron/jobs/job-host.js';
import { importDatasetInto, importModelInto } from '../../electron/store/imports.js';
import { ProjectStore } from '../../electron/store/project-store.js';
import { loadClipWeights } from '../../engine/clip/load-weights.js';
import { saveClipWeights } from '../../engine/clip/save-weights.js';
import type { HostTensor } from '../../engine/tensor/host-tensor.js';
import { Rng } from '../../engine/util/rng.js';
import { cliRunner } from '../helpers/cli.js';
import { FIXTURE_DIR } from '../helpers/compare.js';
import { writeJobFixtures } from './jobs-fixture.js';

const MODEL = `${FIXTURE_DIR}model.safetensors`;
const WORKER = new URL('../../dist/electron/jobs/worker.js', import.meta.url).pathname;
const vetbench = cliRunner({ timeoutMs: 120_000 });

let dir: string;
/** The fixture model with every weight perturbed: a second model of the same architecture. */
let other: string;

beforeAll(async () => {
  if (!existsSync(WORKER)) throw new Error(`build first (npm run build): ${WORKER} is missing`);
  dir = mkdtempSync(join(tmpdir(), 'vb-explain-compare-'));
  const weights = await loadClipWeights(MODEL);
  const rng = new Rng(7);
  const perturbed = new Map<string, HostTensor>();
  for (const [name, t] of weights.tensors)
    perturbed.set(name, { shape: t.shape, data: Float32Array.from(t.data, (v) => v + 0.05 * rng.normal()) });
  other = join(dir, 'other.safetensors');
  await saveClipWeights(other, weights.config, perturbed);
});

describe('vetbench explain --compare', () => {
  it('runs through the job host: one run whose artifacts are the files written to --out', async () => {
    const project = join(dir, 'compare.vbproj');
    const out = join(dir, 'out');
    const r = await vetbench([
      'explain', 'embedding-map', '--model', MODEL, '--dataset', 'demo', '--compare', other,
      '--labels', 'clean,perturbed', '--count', '24', '--project', project, '--out', out, '--json',
    ]); // prettier-ignore
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as {
      files: string[];
      model: { fingerprint: string; prompts: string | null };
      compared: { label: string; fingerprint: string; prompts: string | null }[];
      run: { id: number; project: string };
    };
    const otherWeights = await loadClipWeights(other);
    expect(summary.compared).toEqual([
      { label: 'perturbed', fingerprint: otherWeights.source.fingerprint, prompts: null },
    ]);
    expect(summary.model.fingerprint).not.toBe(otherWeights.source.fingerprint);
    // One map per model, named by its label.
    expect(summary.files).toEqual(
      expect.arrayContaining([
        'embedding-map-clean.svg',
        'embedding-map-perturbed.svg',
        'umap_perturbed.npy',
      ]),
    );
    const store = ProjectStore.open(project);
    const { runs, total } = store.listRuns({ limit: 10, offset: 0 });
    expect(total).toBe(1);
    expect(runs[0]!.id).toBe(summary.run.id);
    expect(runs[0]!.kind).toBe('explain');
    expect(runs[0]!.status).toBe('done');
    const params = store.runDetails(summary.run.id).params;
    expect(params.labels).toBe('clean,perturbed');
    // The compared weights were copied into the project (named by content hash), the job read that copy.
    const copy = store.resolveArtifactPath(String(params.compareModel));
    expect((await loadClipWeights(copy)).source.fingerprint).toBe(otherWeights.source.fingerprint);
    const artifacts = store.listArtifacts(summary.run.id);
    expect(artifacts.map((a) => a.name).sort()).toEqual([...summary.files].sort());
    for (const a of artifacts)
      expect(readFileSync(join(out, a.name)).equals(readFileSync(store.getArtifact(a.id).path))).toBe(true);
    store.close();
  }, 120_000);

  it('the job reads compared files only from the project: a path that leaves it fails the run', async () => {
    const fixtures = await writeJobFixtures(dir);
    const store = ProjectStore.open(join(dir, 'escape.vbproj'));
    const model = await importModelInto(store, fixtures.model);
    const dataset = await importDatasetInto(store, fixtures.dataset);
    const host = new JobHost(store, { workerModule: WORKER });
    host.start();
    const run = host.submit({
      kind: 'explain',
      method: 'pr',
      modelId: model.id,
      datasetId: dataset.id,
      seed: 1,
      params: { count: 2, compareModel: `../${fixtures.model.split('/').pop()!}` },
    });
    const failed = await host.waitFor(run.id);
    expect(failed.status).toBe('failed');
    expect(failed.error?.code).toBe('path-not-allowed');
    expect(failed.error?.message).toContain("is not inside the project's artifact folder");
    await host.close();
    store.close();
  }, 60_000);
});
