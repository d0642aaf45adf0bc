import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { reportInputFromStore } from '../../electron/report/from-store.js';
import { importModelInto } from '../../electron/store/imports.js';
import { ProjectStore } from '../../electron/store/project-store.js';
import { VetbenchError } from '../../engine/errors.js';
import { endedRun, insertEmptyDataset } from './store-fixture.js';

const CHECKPOINTS = new URL('../../../shared/fixtures/checkpoints/', import.meta.url).pathname;

function tempStore(): ProjectStore {
  return ProjectStore.open(join(mkdtempSync(join(tmpdir(), 'vetbench-import-scan-')), 'p.vbproj'));
}

describe('importing a model scans the file first', () => {
  it('records the scan of a TorchScript archive and the audit report lists it', async () => {
    const store = tempStore();
    const model = await importModelInto(store, `${CHECKPOINTS}clip-tiny-a.jit.pt`);
    expect(model.architecture.fileScan).toMatchObject({ format: 'torchscript', verdict: 'loadable' });
    expect(model.architecture.fileScan?.callables.every((c) => c.allowed)).toBe(true);
    expect(model.architecture.fileScan?.summary).toMatch(
      /^TorchScript archive .*: loadable; pickle names \d+ callables, all allowed$/,
    );
    // The report counts finished runs only.
    const runId = endedRun(
      store,
      { kind: 'eval', method: 'zero-shot', modelId: model.id, datasetId: insertEmptyDataset(store) },
      'done',
      {},
    );
    const report = await reportInputFromStore(store, [runId]);
    expect(report.models[0]?.provenance?.['file scan']).toBe(model.architecture.fileScan?.summary);
    expect(report.models[0]?.architecture).toMatch(/^ViT-8 @ 32px/);
  });

  it('refuses the code-running pickle without loading or listing it', async () => {
    const store = tempStore();
    const error = await importModelInto(store, `${CHECKPOINTS}runs-code-when-unpickled.pt`).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(VetbenchError);
    expect((error as VetbenchError).code).toBe('model-refused');
    expect((error as VetbenchError).message).toMatch(
      /runs-code-when-unpickled\.pt: the pickle calls posix\.system/,
    );
    expect(store.listModels()).toHaveLength(0);
  });

  it('lists a ResNet checkpoint with its stages', async () => {
    const model = await importModelInto(tempStore(), `${CHECKPOINTS}clip-tiny-rn.pt`);
    expect(model.architecture.vision.resnet?.stageBlocks).toEqual([1, 1, 1, 1]);
    expect(model.architecture.fileScan?.format).toBe('torch-zip');
  });
});
