import { describe, expect, it } from 'vitest';
import { RunWizard } from '../../renderer/src/state/run-wizard.svelte.js';
import { VetWizard } from '../../renderer/src/state/vet-wizard.svelte.js';
import type { MethodInfo, StartRunRequest, TriggerInfo } from '../../electron/api/contract.js';
import { ATTACK_METHOD, DEFENSE_METHOD, fakeApi, runSummary } from './fake-api.js';

const EVAL: MethodInfo = {
  id: 'backdoor-eval',
  title: 'Clean accuracy and attack success',
  kind: 'eval',
  summary: '',
  paper: 'METHODS 2.3',
  params: {},
  needsTarget: false,
  acceptsTrigger: true,
};

describe('attack and defense wizards', () => {
  it('says what is missing, then sends the generated form values', async () => {
    let nextId = 10;
    const fake = fakeApi({ startRun: () => runSummary(nextId++, { status: 'queued' }) });
    const wizard = new RunWizard(fake.api, 'attack', [ATTACK_METHOD], []);
    expect(wizard.methodId).toBe('badnet');
    expect(wizard.blocker).toBe('Choose a model.');
    wizard.preselect(1, 2);
    expect(wizard.blocker).toBe('Choose the target class.');
    wizard.target = 'cat';
    wizard.form.set('epochs', '0');
    expect(wizard.blocker).toBe('Fix the highlighted parameters.');
    wizard.form.set('epochs', '1');
    wizard.seedText = '-3';
    expect(wizard.blocker).toBe('Fix the seed.');
    wizard.seedText = '42';
    expect(wizard.blocker).toBeNull();
    const run = await wizard.submit();
    expect(run?.id).toBe(10);
    expect(fake.calls[0]?.request).toEqual({
      kind: 'attack',
      method: 'badnet',
      modelId: 1,
      datasetId: 2,
      target: 'cat',
      seed: 42,
      params: { epochs: 1, poisonRate: 0.1, augment: false, optimizer: 'adamw' },
    } satisfies StartRunRequest);
  });

  it('sends no target for a method that needs none and keeps the API error', async () => {
    const fake = fakeApi({});
    const wizard = new RunWizard(fake.api, 'defense', [DEFENSE_METHOD], []);
    wizard.preselect(1, 1);
    expect(wizard.request()).toMatchObject({ kind: 'defense', method: 'rvpt', params: { shots: 16 } });
    expect(wizard.request()).not.toHaveProperty('target');
    expect(await wizard.submit()).toBeNull();
    expect(wizard.error?.code).toBe('not-faked');
  });

  it('measures a defense with an optional trigger and target: a saved trigger picks its target', async () => {
    const attack = runSummary(7, { status: 'done', label: 'BadNet', method: 'badnet', target: 'banana' });
    const fake = fakeApi({
      listRuns: () => ({ runs: [attack], total: 1 }),
      listArtifacts: () => ({
        artifacts: [
          {
            id: 31,
            runId: 7,
            kind: 'trigger',
            name: 'trigger.safetensors',
            mediaType: 'application/octet-stream',
            bytes: 1,
            sha256: '',
            createdAt: 0,
          },
        ],
      }),
    });
    const badnet: TriggerInfo = {
      id: 'badnet',
      title: 'BadNet patch',
      summary: '',
      paper: '',
      params: {},
      sweep: [{ label: 'patchSize=112', params: { patchSize: 112 } }],
    };
    const wizard = new RunWizard(
      fake.api,
      'defense',
      [{ ...DEFENSE_METHOD, acceptsTrigger: true }],
      [badnet],
    );
    await wizard.loadSavedTriggers();
    wizard.preselect(2, 1);
    expect(wizard.request()).not.toHaveProperty('trigger'); // optional
    expect(wizard.measureTriggers.map((t) => t.label)).toEqual([
      'trigger.safetensors of run #7 (badnet → banana)',
      'BadNet patch, patchSize=112',
    ]);
    wizard.chooseMeasureTrigger('artifact:31');
    expect(wizard.request()).toMatchObject({
      trigger: { source: 'artifact', artifactId: 31 },
      target: 'banana',
    });
    wizard.measureTarget = '';
    wizard.chooseMeasureTrigger('family:badnet:0');
    expect(wizard.blocker).toBe('Choose the target class of the trigger.');
    wizard.measureTarget = 'banana';
    expect(wizard.request()).toMatchObject({
      trigger: { source: 'family', family: 'badnet', params: { patchSize: 112 } },
      target: 'banana',
    });
  });

  it('vets with a clean evaluation plus one evaluation per chosen trigger family', async () => {
    let nextId = 1;
    const fake = fakeApi({ startRun: (r) => runSummary(nextId++, { kind: r.kind, status: 'queued' }) });
    const family = (id: string): TriggerInfo => ({ id, title: id, summary: '', paper: '', params: {} });
    const wizard = new VetWizard(fake.api, [], [EVAL], [family('badnet'), family('blended')]);
    wizard.preselect(1, 1);
    wizard.toggleFamily('badnet', true);
    wizard.toggleFamily('blended', true);
    expect(wizard.blocker).toBe('Choose the suspected target class.');
    wizard.target = 'dog';
    const requests = wizard.requests();
    expect(requests.map((r) => r.trigger ?? null)).toEqual([
      null,
      { source: 'family', family: 'badnet', params: {} },
      { source: 'family', family: 'blended', params: {} },
    ]);
    expect(requests.every((r) => r.kind === 'eval' && r.method === 'backdoor-eval')).toBe(true);
    const started = await wizard.submit();
    expect(started.map((r) => r.id)).toEqual([1, 2, 3]);
  });

  it("sweeps a family's sizes by default, names each check, and tests the form's one size when untold", () => {
    const badnet: TriggerInfo = {
      id: 'badnet',
      title: 'BadNet patch',
      summary: '',
      paper: '',
      params: { patchSize: { kind: 'integer', default: 16, min: 1, help: 'side' } },
      sweep: [16, 56, 112].map((patchSize) => ({ label: `patchSize=${patchSize}`, params: { patchSize } })),
    };
    const wizard = new VetWizard(fakeApi({}).api, [], [EVAL], [badnet]);
    wizard.preselect(1, 1);
    wizard.target = 'banana';
    wizard.toggleFamily('badnet', true);
    const checks = wizard.requests().slice(1);
    expect(checks.map((r) => r.trigger)).toEqual(
      [16, 56, 112].map((patchSize) => ({ source: 'family', family: 'badnet', params: { patchSize } })),
    );
    expect(checks[2]!.label).toBe('Vet: badnet patchSize=112 → banana');
    wizard.sweep = false;
    expect(
      wizard
        .requests()
        .slice(1)
        .map((r) => r.label),
    ).toEqual(['Vet: badnet patchSize=16 → banana']);
  });

  it("vets the hardened model through a defense's prompt file; scans stay on the weights", async () => {
    const defense = runSummary(6, { kind: 'defense', method: 'rvpt', status: 'done', modelId: 2 });
    const fake = fakeApi({
      listRuns: () => ({ runs: [defense], total: 1 }),
      listArtifacts: () => ({
        artifacts: [
          {
            id: 60,
            runId: 6,
            kind: 'prompt',
            name: 'prompts.safetensors',
            mediaType: 'application/octet-stream',
            bytes: 1,
            sha256: '',
            createdAt: 0,
          },
        ],
      }),
    });
    const scan: MethodInfo = { ...EVAL, id: 'family-probe', kind: 'scan', params: {}, acceptsTrigger: false };
    const badnet: TriggerInfo = { id: 'badnet', title: 'BadNet', summary: '', paper: '', params: {} };
    const wizard = new VetWizard(fake.api, [scan], [EVAL], [badnet]);
    await wizard.loadPromptFiles();
    wizard.preselect(1, 1);
    expect(wizard.promptFilesForModel()).toEqual([]); // made for model 2, not model 1
    wizard.modelId = 2;
    wizard.promptsArtifactId = 60;
    wizard.target = 'banana';
    wizard.toggleFamily('badnet', true);
    wizard.toggleScanner('family-probe', true);
    const requests = wizard.requests();
    expect(requests.map((r) => [r.kind, r.promptsArtifactId ?? null])).toEqual([
      ['eval', 60],
      ['eval', 60],
      ['scan', null],
    ]);
    expect(requests[1]!.label).toBe('Vet: badnet defaults → banana, with prompts.safetensors of run #6');
  });

  it('sends each chosen family its generated trigger parameters and refuses optimised families', () => {
    const triggers: TriggerInfo[] = [
      {
        id: 'badnet',
        title: 'BadNet patch',
        summary: '',
        paper: '',
        params: { patchSize: { kind: 'integer', default: 16, min: 1, help: 'side' } },
      },
      { id: 'badclip-de', title: 'BadCLIP', summary: '', paper: '', params: {}, needsModel: true },
    ];
    const wizard = new VetWizard(fakeApi({}).api, [], [EVAL], triggers);
    expect(wizard.usable(triggers[0]!)).toBe(true);
    expect(wizard.usable(triggers[1]!)).toBe(false);
    wizard.preselect(1, 1);
    wizard.target = 'cat';
    wizard.toggleFamily('badnet', true);
    wizard.familyForms.badnet!.set('patchSize', '0');
    expect(wizard.blocker).toBe('Fix the highlighted trigger parameters.');
    wizard.familyForms.badnet!.set('patchSize', '4');
    expect(wizard.requests()[1]?.trigger).toEqual({
      source: 'family',
      family: 'badnet',
      params: { patchSize: 4 },
    });
  });

  it('offers the triggers finished attack runs saved and evaluates the chosen ones as artifacts', async () => {
    const attack = runSummary(7, {
      status: 'done',
      label: 'BadCLIP on demo',
      method: 'badclip-de',
      target: 'banana',
    });
    const artifact = (id: number, kind: 'trigger' | 'weights', name: string) => ({
      id,
      runId: 7,
      kind,
      name,
      mediaType: 'application/octet-stream',
      bytes: 1,
      sha256: '',
      createdAt: 0,
    });
    const fake = fakeApi({
      listRuns: () => ({ runs: [attack], total: 1 }),
      listArtifacts: () => ({
        artifacts: [
          artifact(30, 'weights', 'weights.safetensors'),
          artifact(31, 'trigger', 'trigger.safetensors'),
        ],
      }),
    });
    const wizard = new VetWizard(fake.api, [], [EVAL], []);
    await wizard.loadSavedTriggers();
    expect(fake.calls[0]).toEqual({
      method: 'listRuns',
      request: { kind: ['attack'], status: ['done'], limit: 500 },
    });
    expect(wizard.savedTriggers).toEqual([
      {
        artifactId: 31,
        fileName: 'trigger.safetensors',
        runId: 7,
        runLabel: 'BadCLIP on demo',
        method: 'badclip-de',
        target: 'banana',
        modelId: 1,
      },
    ]);
    wizard.preselect(2, 1);
    wizard.toggleSavedTrigger(31, true);
    expect(wizard.blocker).toBe('Choose the suspected target class.');
    wizard.target = 'banana';
    const requests = wizard.requests();
    expect(requests).toHaveLength(2);
    expect(requests[1]).toMatchObject({
      kind: 'eval',
      method: 'backdoor-eval',
      modelId: 2,
      target: 'banana',
      trigger: { source: 'artifact', artifactId: 31 },
      label: 'Vet: trigger.safetensors of run #7 (badclip-de) → banana',
    });
    wizard.toggleSavedTrigger(31, false);
    expect(wizard.requests()).toHaveLength(1);
  });
});
