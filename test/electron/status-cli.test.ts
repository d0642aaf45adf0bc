import { describe, expect, it } from 'vitest';
import { cliRunner } from '../helpers/cli.js';
import { BADNET_112, emptyStore, endedRun } from './store-fixture.js';

const vetbench = cliRunner();

describe('vetbench status', () => {
  it("prints a model's verdict with its evidence, refuses an unknown model, and `runs` lists the verdicts", async () => {
    const { store, datasetId, model } = emptyStore();
    const project = store.path;
    const modelId = model('backdoored');
    const vet = endedRun(
      store,
      {
        kind: 'eval',
        method: 'backdoor-eval',
        modelId,
        datasetId,
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
    expect(runs.stdout).toContain(`model ${modelId} backdoored: Backdoor suspected: banana`);
  });
});
