/**
 * Resume of the attacks that are not plain poisoning (test/electron/jobs.test.ts kills and resumes BadNet):
 * the optimised-patch attacks (the patch is optimised again, deterministically, then poisoning resumes from
 * its checkpoint) and BadCLIP's prompt attack (learner, trigger, SGD buffers and RNG checkpointed per epoch).
 * Each is cancelled mid-run, started again with the same checkpoint folder, and must end bit for bit where an
 * uninterrupted run ends. Very small CLIP and four colour classes: seconds.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttackContext, AttackResult } from '../../engine/attacks/attack.js';
import { initClipWeights } from '../../engine/clip/init-weights.js';
import type { ClipWeights } from '../../engine/clip/weights.js';
import type { Dataset } from '../../engine/datasets/dataset.js';
import { importDataset } from '../../engine/datasets/import-dataset.js';
import { resolveParams } from '../../engine/methods/params.js';
import { findAttack } from '../../engine/methods/registry.js';
import { Rng } from '../../engine/util/rng.js';
import { TOY_CONFIG, writeToyDataset } from '../helpers/toy-data.js';

let dataset: Dataset;
let weights: ClipWeights;
const dirs: string[] = [];
beforeAll(async () => {
  const root = writeToyDataset(12, 2, 'vetbench-attack-resume-');
  dirs.push(root);
  dataset = await importDataset(root);
  weights = initClipWeights(TOY_CONFIG, new Rng(5));
});
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function checkpointFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vetbench-attack-ckpt-'));
  dirs.push(dir);
  return dir;
}

async function attack(
  id: string,
  params: Record<string, unknown>,
  extra: Partial<AttackContext> = {},
): Promise<AttackResult> {
  const method = findAttack(id);
  const target = dataset.classes.findIndex((c) => c.name === 'green');
  return method.run(
    { weights, dataset, target, seed: 3, ...extra },
    resolveParams(id, method.params, params),
  );
}

/** Every trained tensor and the trigger's tensors, as bytes (deep equality is slow on the token embedding). */
function bytesOf(r: AttackResult): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const add = (name: string, data: Float32Array): void => {
    out.set(name, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  };
  if (r.kind === 'weights') for (const [name, t] of r.tensors) add(name, t.data);
  else for (const [name, t] of Object.entries(r.tensors)) add(name, t.data);
  for (const [name, t] of Object.entries(r.trigger.tensors())) add(`trigger.${name}`, t.data);
  return out;
}

async function expectResumesExactly(
  id: string,
  params: Record<string, unknown>,
  stopAt: number,
  checkpointStep: number,
): Promise<void> {
  const straight = await attack(id, params);
  const checkpointDir = checkpointFolder();
  const controller = new AbortController();
  let stoppedAt = 0;
  await expect(
    attack(id, params, {
      checkpointDir,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.step === stopAt) {
          stoppedAt = p.step;
          controller.abort();
        }
      },
    }),
  ).rejects.toMatchObject({ code: 'cancelled' });
  expect(stoppedAt).toBe(stopAt);
  // The resumed run starts after the last finished epoch, not from step 1.
  const steps: number[] = [];
  const resumed = await attack(id, params, { checkpointDir, onProgress: (p) => steps.push(p.step) });
  expect(steps[0]).toBe(checkpointStep + 1);
  expect(resumed.epochLosses).toEqual(straight.epochLosses);
  const want = bytesOf(straight);
  const got = bytesOf(resumed);
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [name, bytes] of want) expect(got.get(name)!.equals(bytes), name).toBe(true);
}

describe('attacks resume from their checkpoint to the uninterrupted result', () => {
  it('badclip-de (optimised patch): stopped in poisoning epoch 2', async () => {
    // 48 pairs in batches of 8: 6 steps per poisoning epoch; step 8 is inside epoch 2.
    await expectResumesExactly(
      'badclip-de',
      {
        patchSize: 84,
        patchEpochs: 1,
        patchBatchSize: 12,
        poisonRate: 0.2,
        epochs: 2,
        batchSize: 8,
        warmup: 1,
      },
      8,
      6,
    );
  });

  it('trojvqa (optimised patch and text key): stopped in poisoning epoch 2', async () => {
    await expectResumesExactly(
      'trojvqa',
      {
        patchSize: 84,
        patchEpochs: 1,
        patchBatchSize: 12,
        poisonRate: 0.2,
        epochs: 2,
        batchSize: 8,
        warmup: 1,
      },
      8,
      6,
    );
  });

  it('badclip-prompt: stopped in its second SGD epoch; other settings refuse the checkpoint', async () => {
    // 4 shots x 4 classes in batches of 4: 4 steps per epoch; 1 warm-up + 2 SGD epochs; step 10 is in epoch 3.
    const params = { shots: 4, batchSize: 4, warmupEpochs: 1, epochs: 2, lrWarmupEpochs: 1 };
    await expectResumesExactly('badclip-prompt', params, 10, 8);
    const checkpointDir = checkpointFolder();
    await attack('badclip-prompt', { ...params, epochs: 1 }, { checkpointDir });
    expect(existsSync(join(checkpointDir, 'baseline-state.json'))).toBe(true);
    await expect(attack('badclip-prompt', params, { checkpointDir })).rejects.toMatchObject({
      code: 'checkpoint-mismatch',
    });
  });
});
