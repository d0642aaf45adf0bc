import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JobContext } from '../../electron/jobs/job-kind.js';
import { COMPARING_EXPLAINERS, explainJob } from '../../electron/jobs/kinds/explain-job.js';
import { JOB_KINDS } from '../../electron/jobs/kinds/index.js';
import type { JobSpec } from '../../electron/jobs/worker-protocol.js';
import { EXPLAINERS } from '../../engine/explain/registry.js';
import { VetbenchError } from '../../engine/errors.js';

const COMPARE_KEYS = ['compareModel', 'comparePrompts', 'drawWithoutPrompts', 'labels'];

describe('explain job parameters', () => {
  it('declares the comparison parameters only for explainers that draw several models', () => {
    const methods = JOB_KINDS.flatMap((k) => k.methods()).filter((m) => m.kind === 'explain');
    expect(methods.map((m) => m.id).sort()).toEqual(EXPLAINERS.map((e) => e.id).sort());
    expect([...COMPARING_EXPLAINERS].sort()).toEqual(['embedding-map', 'logit-lens', 'pr']);
    for (const method of methods) {
      const explainer = EXPLAINERS.find((e) => e.id === method.id)!;
      const keys = Object.keys(method.params);
      // Every run: the sample, how prompt files are read, and the explainer's own parameters.
      expect(keys, method.id).toEqual(
        expect.arrayContaining(['split', 'count', 'force', ...Object.keys(explainer.params)]),
      );
      if (COMPARING_EXPLAINERS.has(method.id))
        expect(keys, method.id).toEqual(expect.arrayContaining(COMPARE_KEYS));
      else for (const key of COMPARE_KEYS) expect(keys, method.id).not.toContain(key);
    }
  });

  it('an overlay run refuses a comparison parameter instead of ignoring it', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'vb-explain-params-'));
    const spec: JobSpec = {
      runId: 1,
      kind: 'explain',
      method: 'gradcam',
      params: { count: 2, labels: 'a,b' },
      seed: 1,
      target: null,
      trigger: null,
      promptsPath: null,
      modelPath: join(folder, 'never-read.safetensors'),
      datasetSource: folder,
      runFolder: folder,
      checkpointDir: join(folder, 'ckpt'),
      artifactPrefix: '',
      executor: null,
    };
    const context: JobContext = {
      spec,
      signal: new AbortController().signal,
      progress: () => undefined,
      metric: () => undefined,
      log: () => undefined,
      writeArtifact: () => Promise.reject(new Error('nothing is written')),
      registerModel: async () => undefined,
      checkpoint: () => undefined,
    };
    const failure = explainJob.run(context);
    await expect(failure).rejects.toBeInstanceOf(VetbenchError);
    await expect(explainJob.run(context)).rejects.toThrow(/gradcam: parameter 'labels' is unknown/);
  });
});
