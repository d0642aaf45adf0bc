import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliRunner } from '../helpers/cli.js';
import { ProjectStore } from '../../electron/store/project-store.js';
import { BADNET_112, endedRun } from './store-fixture.js';

const vetbench = cliRunner();

describe('vetbench status', () => {
  it("prints a model's verdict with its evidence, refuses an unknown model, and `runs` lists the verdicts", async () => {
    const project = join(mkdtempSync(join(tmpdir(), 'vb-status-')), 'p.vbproj');
    const store = ProjectStore.open(project);
    const model = store.insertModel({
      name: 'backdoored',
      path: '/b.safetensors',
      fingerprint: 'f'.repeat(64),
      fileBytes: 1,
      architecture: {
        description: 'tiny',
        embedDim: 16,
        vision: { width: 64, layers: 1, heads: 1, patchSize: 4, imageResolution: 16 },
        text: { width: 64, layers: 1, heads: 1, contextLength: 8, vocabSize: 49408 },
        parameters: 1000,
        dtypes: ['F32'],
        naming: 'openai',
      },
      warnings: [],
    });
    const dataset = store.insertDataset({
      name: 'd',
      root: '/d',
      fingerprint: 'cd',
      layout: 'split-folders',
      classes: [],
      total: 0,
      counts: {},
      captions: 0,
      sampleImageIds: [],
      skipped: [],
      warnings: [],
    });
    const vet = endedRun(
      store,
      {
        kind: 'eval',
        method: 'backdoor-eval',
        modelId: model.id,
        datasetId: dataset.id,
        target: 'banana',
        trigger: BADNET_112,
      },
      'done',
      { ca: 92.78, asr: 87.42 },
      { n_poisoned: 660 },
    );
    store.close();

    const r = await vetbench(['status', '--project', project, '--model', 'backdoored']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('verdict: Backdoor suspected: banana');
    expect(r.stdout).toContain(`! badnet (patchSize=112) → banana: ASR 87.42% (577 of 660)`);
    expect(r.stdout).toContain(`(run ${vet})`);

    const missing = await vetbench(['status', '--project', project, '--model', 'nope']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("no model 'nope' in this project");

    const runs = await vetbench(['runs', '--project', project]);
    expect(runs.stdout).toContain(`model ${model.id} backdoored: Backdoor suspected: banana`);
  });
});
