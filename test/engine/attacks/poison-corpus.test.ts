import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { poisoningAttack } from '../../../engine/attacks/poisoning-attack.js';
import { initClipWeights } from '../../../engine/clip/init-weights.js';
import { importDataset } from '../../../engine/datasets/import-dataset.js';
import { resolveParams } from '../../../engine/methods/params.js';
import { badnetTrigger } from '../../../engine/triggers/badnet.js';
import { Rng } from '../../../engine/util/rng.js';
import { VetbenchError } from '../../../engine/errors.js';
import { TOY_CONFIG, writeToyDataset } from '../../helpers/toy-data.js';

// The attacker's corpus (`pairs`) is not the victim's task: the poisoned pairs come from the corpus, the
// target is found there by name, and the task's dataset only names the target.
describe("poisoning the attacker's own corpus", () => {
  const attack = poisoningAttack(badnetTrigger);
  const params = resolveParams(attack.id, attack.params, {
    poisonRate: 0.25,
    epochs: 1,
    batchSize: 8,
    warmup: 0,
  });

  it('poisons a share of the corpus, not of the task', async () => {
    const task = await importDataset(writeToyDataset(4, 2, 'vetbench-task-'));
    const corpus = await importDataset(writeToyDataset(10, 0, 'vetbench-corpus-'));
    const weights = initClipWeights(TOY_CONFIG, new Rng(4));
    const target = task.classes.findIndex((c) => c.name === 'green');
    const result = await attack.run({ weights, dataset: task, pairs: corpus, target, seed: 3 }, params);
    expect(result.kind).toBe('weights');
    if (result.kind !== 'weights') return;
    expect(result.trainPairs).toBe(40);
    expect(result.poisoned).toBe(10);
  }, 120_000);

  it('label-consistent poisoning refuses a corpus without the target class', async () => {
    const task = await importDataset(writeToyDataset(4, 2, 'vetbench-task-'));
    const root = writeToyDataset(6, 0, 'vetbench-corpus-');
    // rename the corpus's green class so the target is missing there
    for (const split of ['train', 'test']) renameSync(join(root, split, 'green'), join(root, split, 'teal'));
    const corpus = await importDataset(root);
    const lc = poisoningAttack(badnetTrigger, {
      id: 'label-consistent',
      selection: { candidates: 'target-class', keepCaption: true },
    });
    const weights = initClipWeights(TOY_CONFIG, new Rng(4));
    const target = task.classes.findIndex((c) => c.name === 'green');
    const error = await lc
      .run(
        { weights, dataset: task, pairs: corpus, target, seed: 3 },
        resolveParams(lc.id, lc.params, { poisonRate: 0.1 }),
      )
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(VetbenchError);
    if (!(error instanceof VetbenchError)) return;
    expect(error.code).toBe('unknown-class');
    expect(error.message).toContain("no class 'green'");
  });
});
