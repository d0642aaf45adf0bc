import { describe, expect, it } from 'vitest';
import type { ArtifactInfo, MethodInfo, StartRunRequest, TriggerInfo } from '../../electron/api/contract.js';
import { ExplainForm } from '../../renderer/src/state/explain-form.svelte.js';
import { artifactFolderPath, ExplainSources } from '../../renderer/src/state/explain-sources.svelte.js';
import { fakeApi, runSummary } from './fake-api.js';

const GRADCAM: MethodInfo = {
  id: 'gradcam',
  title: 'Grad-CAM (ViT)',
  kind: 'explain',
  summary: '',
  paper: 'Selvaraju et al. 2017',
  params: {
    count: { kind: 'integer', default: 8, min: 1, max: 100_000, help: 'images' },
    block: { kind: 'integer', default: -2, min: -64, max: 63, help: 'block' },
  },
  needsTarget: false,
  acceptsTrigger: true,
};
const PR: MethodInfo = { ...GRADCAM, id: 'pr', title: 'PR curves', params: {} };

const TRIGGERS: TriggerInfo[] = [
  {
    id: 'badnet',
    title: 'BadNet patch',
    summary: '',
    paper: '',
    params: { patchSize: { kind: 'integer', default: 16, min: 1, max: 224, help: 'side' } },
  },
  { id: 'badclip', title: 'BadCLIP patch', summary: '', paper: '', params: {}, needsModel: true },
];

function artifact(id: number, runId: number, kind: ArtifactInfo['kind'], name: string): ArtifactInfo {
  return {
    id,
    runId,
    kind,
    name,
    mediaType: 'application/octet-stream',
    bytes: 1,
    sha256: '0'.repeat(64),
    createdAt: 0,
  };
}

describe('explain form', () => {
  it('says what is missing, then sends an explain run with the trigger family and its target', async () => {
    const fake = fakeApi({ startRun: () => runSummary(7, { kind: 'explain', status: 'queued' }) });
    const form = new ExplainForm(fake.api, [GRADCAM, PR], TRIGGERS);
    expect(form.methodId).toBe('gradcam');
    // Optimised triggers need their attack run's artifact: not offered as a family.
    expect(form.families.map((t) => t.id)).toEqual(['badnet']);
    expect(form.blocker).toBe('Choose a model.');
    form.preselect(1, 2);
    expect(form.blocker).toBeNull();
    form.chooseTriggerSource('family');
    expect(form.blocker).toBe('Choose a trigger family.');
    form.family = 'badnet';
    expect(form.blocker).toBe('Choose the target class of the trigger.');
    form.target = 'banana';
    form.familyForms.badnet!.set('patchSize', '0');
    expect(form.blocker).toBe('Fix the highlighted trigger parameters.');
    form.familyForms.badnet!.set('patchSize', '8');
    form.form.set('count', '2.5');
    expect(form.blocker).toBe('Fix the highlighted parameters.');
    form.form.set('count', '2');
    form.seedText = 'x';
    expect(form.blocker).toBe('Fix the seed.');
    form.seedText = '3';
    expect(form.blocker).toBeNull();
    expect((await form.submit())?.id).toBe(7);
    expect(fake.calls[0]?.request).toEqual({
      kind: 'explain',
      method: 'gradcam',
      modelId: 1,
      datasetId: 2,
      trigger: { source: 'family', family: 'badnet', params: { patchSize: 8 } },
      target: 'banana',
      seed: 3,
      params: { count: 2, block: -2 },
    } satisfies StartRunRequest);
  });

  it("sends an attack run's saved trigger and a prompt file; a new model drops the prompt file", () => {
    const form = new ExplainForm(fakeApi({}).api, [GRADCAM, PR], TRIGGERS);
    form.preselect(1, 2);
    form.chooseMethod('pr');
    expect(form.compares).toBe(true);
    form.chooseTriggerSource('artifact');
    expect(form.blocker).toBe('Choose the trigger an attack run saved.');
    form.chooseTriggerArtifact(40, 'banana');
    form.promptsArtifactId = 55;
    expect(form.request()).toEqual({
      kind: 'explain',
      method: 'pr',
      modelId: 1,
      datasetId: 2,
      trigger: { source: 'artifact', artifactId: 40 },
      target: 'banana',
      promptsArtifactId: 55,
      seed: 0,
      params: {},
    });
    form.chooseModel(9);
    expect(form.promptsArtifactId).toBeNull();
    form.chooseDataset(4);
    expect(form.target).toBe('');
    form.chooseTriggerSource('none');
    expect(form.request()?.trigger).toBeUndefined();
    expect(form.request()?.target).toBeUndefined();
  });

  it('suggests the trigger of the attack that made the model until the analyst picks one', () => {
    const form = new ExplainForm(fakeApi({}).api, [GRADCAM], TRIGGERS);
    form.suggestTrigger({ artifactId: 40, target: 'banana' });
    expect([form.triggerSource, form.triggerArtifactId, form.target]).toEqual(['artifact', 40, 'banana']);
    form.chooseTriggerSource('none');
    form.suggestTrigger({ artifactId: 41, target: 'apple' });
    expect([form.triggerSource, form.triggerArtifactId, form.target]).toEqual(['none', 40, '']);
  });
});

describe('explain form: project files as parameters', () => {
  const EMBEDDING_MAP: MethodInfo = {
    ...GRADCAM,
    id: 'embedding-map',
    params: {
      count: { kind: 'integer', default: 8, min: 1, help: 'images' },
      compareModel: { kind: 'string', default: '', help: 'second model' },
      comparePrompts: { kind: 'string', default: '', help: 'its prompts' },
      labels: { kind: 'string', default: '', help: 'legend' },
    },
  };

  it('picks compareModel and comparePrompts from lists and sends them with the generated params', () => {
    const form = new ExplainForm(fakeApi({}).api, [GRADCAM, EMBEDDING_MAP], TRIGGERS);
    expect(form.files).toEqual({});
    form.preselect(1, 2);
    form.chooseMethod('embedding-map');
    expect(Object.keys(form.form.specs)).toEqual(['count', 'labels']);
    expect(form.files).toEqual({ compareModel: '', comparePrompts: '' });
    form.chooseFile('comparePrompts', 'run-5/prompts.safetensors');
    form.chooseFile('compareModel', 'run-3/weights.safetensors');
    // The prompt file was the first model's: another compared model drops it.
    expect(form.files.comparePrompts).toBe('');
    form.chooseFile('comparePrompts', 'run-6/prompts.safetensors');
    expect(form.request()?.params).toEqual({
      count: 8,
      labels: '',
      compareModel: 'run-3/weights.safetensors',
      comparePrompts: 'run-6/prompts.safetensors',
    });
    // With no second model the compared prompt file is the model's own: a new model drops it.
    form.chooseFile('compareModel', '');
    form.chooseFile('comparePrompts', 'run-5/prompts.safetensors');
    form.chooseModel(1);
    expect(form.files.comparePrompts).toBe('run-5/prompts.safetensors');
    form.chooseModel(4);
    expect(form.files.comparePrompts).toBe('');
  });
});

describe('explain sources', () => {
  it('collects attack triggers, defense prompt files per model and the recent explanations', async () => {
    const fake = fakeApi({
      listRuns: (r) =>
        r.kind?.includes('explain')
          ? { runs: [runSummary(9, { kind: 'explain', method: 'gradcam', status: 'done' })], total: 1 }
          : {
              runs: [
                runSummary(3, { kind: 'attack', method: 'badnet', target: 'banana', status: 'done' }),
                runSummary(5, { kind: 'defense', method: 'rvpt', modelId: 2, target: null, status: 'done' }),
              ],
              total: 2,
            },
      listArtifacts: ({ runId }) => ({
        artifacts:
          runId === 3
            ? [
                artifact(30, 3, 'weights', 'weights.safetensors'),
                artifact(31, 3, 'trigger', 'trigger.safetensors'),
              ]
            : [artifact(50, 5, 'prompt', 'prompts.safetensors'), artifact(51, 5, 'report', 'report.json')],
      }),
    });
    const sources = new ExplainSources(fake.api);
    await sources.load();
    expect(sources.error).toBeNull();
    expect(fake.requestsTo('listRuns')[0]).toMatchObject({ kind: ['attack', 'defense'], status: ['done'] });
    expect(sources.triggers).toEqual([
      {
        artifactId: 31,
        fileName: 'trigger.safetensors',
        runId: 3,
        runLabel: 'run 3',
        method: 'badnet',
        target: 'banana',
        modelId: 1,
      },
    ]);
    expect(sources.triggerOfRun(3)?.artifactId).toBe(31);
    expect(sources.triggerOfRun(null)).toBeUndefined();
    expect(sources.promptsFor(2).map((p) => [p.artifactId, p.path])).toEqual([
      [50, 'run-5/prompts.safetensors'],
    ]);
    expect(sources.promptsFor(1)).toEqual([]);
    expect(sources.recent.map((r) => r.id)).toEqual([9]);
  });

  it("leaves out a defense's class-wise prompt file, which explanations cannot use", async () => {
    const defense = (id: number, method: string) =>
      runSummary(id, { kind: 'defense', method, modelId: 2, target: null, status: 'done' });
    const fake = fakeApi({
      listRuns: (r) =>
        r.kind?.includes('explain')
          ? { runs: [], total: 0 }
          : { runs: [defense(5, 'rvpt'), defense(6, 'cbpt')], total: 2 },
      listArtifacts: ({ runId }) => ({
        artifacts: [artifact(runId * 10, runId, 'prompt', 'prompts.safetensors')],
      }),
      getRun: ({ runId }) => ({
        ...defense(runId, runId === 5 ? 'rvpt' : 'cbpt'),
        params: {},
        trigger: null,
        versions: {},
        executor: null,
        series: [],
        artifacts: [],
        checkpointStep: null,
        log: [],
        result: { prompt_kind: runId === 5 ? 'visual-deep' : 'class-wise' },
      }),
    });
    const sources = new ExplainSources(fake.api);
    await sources.load();
    expect(sources.promptsFor(2).map((p) => p.method)).toEqual(['rvpt']);
  });

  it('refreshes the explanation list alone', async () => {
    const fake = fakeApi({
      listRuns: () => ({ runs: [runSummary(9, { kind: 'explain', status: 'running' })], total: 1 }),
    });
    const sources = new ExplainSources(fake.api);
    await sources.loadRecent();
    expect(fake.requestsTo('listRuns').map((r) => r.kind)).toEqual([['explain']]);
    expect(sources.recent.map((r) => [r.id, r.status])).toEqual([[9, 'running']]);
    // Triggers and prompt files are not read yet: the screen must not take them for loaded.
    expect(sources.loaded).toBe(false);
  });

  it('keeps the API error to show', async () => {
    const sources = new ExplainSources(fakeApi({}).api);
    await sources.load();
    expect(sources.loaded).toBe(false);
    expect(sources.error?.code).toBe('not-faked');
  });
});

describe('artifact folder paths', () => {
  it('names models made by runs by their path in the artifact folder, others not at all', () => {
    expect(artifactFolderPath('/p/a.artifacts', '/p/a.artifacts/run-3/weights.safetensors')).toBe(
      'run-3/weights.safetensors',
    );
    expect(artifactFolderPath('/p/a.artifacts/', '/p/a.artifacts/run-3/weights.safetensors')).toBe(
      'run-3/weights.safetensors',
    );
    expect(artifactFolderPath('C:\\p\\a.artifacts', 'C:\\p\\a.artifacts\\run-3\\w.safetensors')).toBe(
      'run-3/w.safetensors',
    );
    expect(artifactFolderPath('/p/a.artifacts', '/p/a.artifacts-old/run-3/w.safetensors')).toBeNull();
    expect(artifactFolderPath('/p/a.artifacts', '/models/demo.safetensors')).toBeNull();
  });
});
