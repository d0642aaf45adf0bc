import { mkdtempSync, readFileSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveDataset } from '../../engine/datasets/resolve.js';
import type { JobContext } from '../../electron/jobs/job-kind.js';
import { explainJob } from '../../electron/jobs/kinds/explain-job.js';
import type { JobSpec } from '../../electron/jobs/worker-protocol.js';
import { FIXTURE_DIR } from '../helpers/compare.js';

/** Runs the explain job in-process with a context that records what a worker would send. */
describe('explain job kind', () => {
  it('lists every explainer as a method and stores Grad-CAM artifacts and arrays', async () => {
    expect(
      explainJob
        .methods()
        .map((m) => m.id)
        .sort(),
    ).toEqual(['attention', 'embedding-map', 'gradcam', 'logit-lens', 'pr', 'rollout']);
    const folder = mkdtempSync(join(tmpdir(), 'vb-explain-job-'));
    const demo = await resolveDataset('demo');
    const spec: JobSpec = {
      runId: 1,
      kind: 'explain',
      method: 'gradcam',
      params: { count: 2 },
      seed: 1,
      target: 'banana',
      trigger: { source: 'family', family: 'badnet', params: {} },
      promptsPath: null,
      modelPath: `${FIXTURE_DIR}model.safetensors`,
      datasetSource: demo.manifest ?? demo.root,
      runFolder: folder,
      checkpointDir: join(folder, 'ckpt'),
      artifactPrefix: '',
      executor: null,
    };
    const artifacts: { kind: string; name: string; mediaType: string; path: string }[] = [];
    const context: JobContext = {
      spec,
      signal: new AbortController().signal,
      progress: () => undefined,
      metric: () => undefined,
      log: () => undefined,
      async writeArtifact(kind, name, mediaType, write) {
        const tmp = join(folder, `${name}.tmp`);
        await write(tmp);
        const path = join(folder, name);
        await copyFile(tmp, path);
        artifacts.push({ kind, name, mediaType, path });
        return path;
      },
      registerModel: async () => undefined,
      checkpoint: () => undefined,
    };
    const result = await explainJob.run(context);
    expect(result.images).toBe(2);
    expect(artifacts.map((a) => a.name)).toEqual([
      'gradcam.png',
      'gradcam_clean.npy',
      'gradcam_clean_class.npy',
      'gradcam_triggered.npy',
      'gradcam_triggered_class.npy',
    ]);
    expect(artifacts[0]!.kind).toBe('image');
    expect(readFileSync(artifacts[0]!.path).subarray(1, 4).toString()).toBe('PNG');
  }, 60_000);
});
