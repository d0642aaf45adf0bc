import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliRunner } from '../helpers/cli.js';

const DEMO = new URL('../../datasets/demo/', import.meta.url).pathname;
const RN_CHECKPOINT = new URL('../../../shared/fixtures/checkpoints/clip-tiny-rn.pt', import.meta.url)
  .pathname;
const RN_SAFETENSORS = new URL('../../../shared/fixtures/clip-tiny-rn/model.safetensors', import.meta.url)
  .pathname;
const vetbench = cliRunner({ timeoutMs: 300_000 });

/** A 4-images-per-class copy of the demo dataset (train and test) with its captions: seconds, not minutes. */
function tinyDemo(): string {
  const root = mkdtempSync(join(tmpdir(), 'vetbench-rn-data-'));
  const kept = new Set<string>();
  for (const split of ['train', 'test']) {
    for (const cls of readdirSync(join(DEMO, split))) {
      mkdirSync(join(root, split, cls), { recursive: true });
      for (const file of readdirSync(join(DEMO, split, cls))
        .sort()
        .slice(0, 4)) {
        copyFileSync(join(DEMO, split, cls, file), join(root, split, cls, file));
        kept.add(`${split}/${cls}/${file}`);
      }
    }
  }
  const [header, ...rows] = readFileSync(join(DEMO, 'captions.csv'), 'utf8').trim().split('\n');
  writeFileSync(
    join(root, 'captions.csv'),
    [header, ...rows.filter((r) => kept.has(r.split(',')[0] ?? ''))].join('\n') + '\n',
  );
  return root;
}

// One file, run in order: the attack's backdoored ResNet is what CBPT and Grad-CAM then work on.
describe('methods on a ResNet CLIP from the CLI (short runs)', () => {
  let data: string;
  let out: string;
  beforeAll(() => {
    if (!existsSync(new URL('../../dist/electron/cli/main.js', import.meta.url))) {
      throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
    }
    data = tinyDemo();
    out = mkdtempSync(join(tmpdir(), 'vetbench-rn-methods-'));
  });

  it('eval on the PyTorch checkpoint equals eval on the same weights as safetensors', async () => {
    const fromPt = await vetbench(['eval', '--model', RN_CHECKPOINT, '--dataset', data, '--json']);
    const fromSafetensors = await vetbench(['eval', '--model', RN_SAFETENSORS, '--dataset', data, '--json']);
    expect(fromPt.code).toBe(0);
    expect(fromSafetensors.code).toBe(0);
    const a = JSON.parse(fromPt.stdout) as { ca: number; n_clean: number; per_class?: unknown };
    const b = JSON.parse(fromSafetensors.stdout) as { ca: number; n_clean: number; per_class?: unknown };
    expect(a.n_clean).toBe(48);
    expect(a.ca).toBe(b.ca);
    expect(a.per_class).toEqual(b.per_class);
  });

  it('attack badnet (1 epoch) writes backdoored ResNet weights that load again', async () => {
    const r = await vetbench([
      'attack',
      'badnet',
      '--model',
      RN_CHECKPOINT,
      '--dataset',
      data,
      '--target',
      'banana',
      '--param',
      'epochs=1',
      '--param',
      'batchSize=16',
      '--out',
      join(out, 'bd.safetensors'),
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/poisoning 14 of 48 training pairs/);
    const inspected = JSON.parse(
      (await vetbench(['inspect-model', join(out, 'bd.safetensors'), '--json'])).stdout,
    ) as {
      architecture: string;
      config: { vision: { resnet?: { stageBlocks: number[] } } };
    };
    expect(inspected.architecture).toBe('CLIP ResNet');
    expect(inspected.config.vision.resnet?.stageBlocks).toEqual([1, 1, 1, 1]);
  });

  it('defend cbpt (1 epoch, 2 shots) on the backdoored ResNet', async () => {
    const r = await vetbench([
      'defend',
      'cbpt',
      '--model',
      join(out, 'bd.safetensors'),
      '--dataset',
      data,
      '--shots',
      '2',
      '--param',
      'epochs=1',
      '--param',
      'warmupEpochs=0',
      '--param',
      'batchSize=8',
      '--param',
      'inversionSteps=2',
      '--trigger',
      join(out, 'bd.trigger.safetensors'),
      '--target',
      'banana',
      '--out',
      join(out, 'cbpt.safetensors'),
      '--json',
    ]);
    expect(r.code).toBe(0);
    expect(existsSync(join(out, 'cbpt.safetensors'))).toBe(true);
    const report = JSON.parse(r.stdout) as {
      train_images: number;
      before: { n_clean: number; n_poisoned: number };
      after: { ca: number; asr: number };
      epoch_metrics: { loss: number }[];
    };
    expect(report.train_images).toBe(24);
    expect(report.before).toMatchObject({ n_clean: 48, n_poisoned: 44 });
    expect(Number.isFinite(report.after.ca) && Number.isFinite(report.after.asr)).toBe(true);
    expect(report.epoch_metrics).toHaveLength(1);
    expect(Number.isFinite(report.epoch_metrics[0]!.loss)).toBe(true);
  });

  it('explain gradcam at layer4, clean and triggered', async () => {
    const dir = join(out, 'gradcam');
    const r = await vetbench([
      'explain',
      'gradcam',
      '--model',
      join(out, 'bd.safetensors'),
      '--dataset',
      data,
      '--trigger',
      join(out, 'bd.trigger.safetensors'),
      '--target',
      'banana',
      '--out',
      dir,
    ]);
    expect(r.code).toBe(0);
    for (const f of ['gradcam.png', 'gradcam_clean.npy', 'gradcam_triggered.npy'])
      expect(existsSync(join(dir, f))).toBe(true);
    // The maps cover layer4's 2x2 grid of this 64-px model.
    expect(readFileSync(join(dir, 'gradcam_clean.npy')).toString('latin1')).toMatch(/'shape': \(\d+, 2, 2\)/);
  });

  it('RVPT and VPT refuse it, saying they need a ViT', async () => {
    for (const method of ['rvpt', 'vpt']) {
      const r = await vetbench([
        'defend',
        method,
        '--model',
        RN_CHECKPOINT,
        '--dataset',
        data,
        '--shots',
        '2',
        '--out',
        join(out, `${method}.safetensors`),
      ]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(
        new RegExp(`${method.toUpperCase()} needs a ViT image tower.*ResNet image tower`),
      );
    }
  });
});
