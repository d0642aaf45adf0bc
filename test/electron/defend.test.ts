import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliRunner } from '../helpers/cli.js';
import { readSafetensors, writeSafetensors } from '../../engine/clip/safetensors.js';
import { loadPromptFile } from '../../engine/prompts/prompt-file.js';

const DEMO_MODEL = new URL('../../models/demo/clip-demo-tiny.safetensors', import.meta.url).pathname;

const vetbench = cliRunner({ timeoutMs: 300_000 });

describe('vetbench defend and eval --prompts', () => {
  it('defend writes a prompt file with its metrics; eval --prompts reproduces them and refuses another model unless forced', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vetbench-defend-'));
    const out = join(dir, 'hardened.safetensors');
    const r = await vetbench([
      'defend',
      'rvpt',
      '--model',
      'demo',
      '--dataset',
      'demo',
      '--shots',
      '2',
      '--seed',
      '3',
      '--param',
      'epochs=2',
      '--trigger',
      'blended',
      '--target',
      'banana',
      '--out',
      out,
    ]);
    expect(r.stderr).toMatch(/rvpt: 24 images \(2 shots x 12 classes\)/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/CA +[\d.]+% +[\d.]+%/);
    expect(r.stdout).toMatch(/ASR +[\d.]+% +[\d.]+% +\(660 triggered non-target images\)/);
    expect(r.stdout).toMatch(/DER +[\d.]+/);
    expect(existsSync(`${out}.checkpoint`)).toBe(false);
    const file = await loadPromptFile(out);
    expect(file.header.kind).toBe('visual-deep');
    expect(file.header.method.id).toBe('rvpt');
    expect(file.header.method.seed).toBe(3);
    expect(file.header.method.params.epochs).toBe(2);
    const report = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as {
      after: { ca: number; asr: number };
      epoch_metrics: { loss: number; ce: number; fr: number }[];
    };
    expect(report.epoch_metrics).toHaveLength(2);
    expect(file.header.metrics.ca).toBeCloseTo(report.after.ca, 10);
    expect(file.header.metrics.asr).toBeCloseTo(report.after.asr, 10);

    const evaluated = await vetbench([
      'eval',
      '--model',
      'demo',
      '--dataset',
      'demo',
      '--prompts',
      out,
      '--trigger',
      'blended',
      '--seed',
      '3',
      '--target',
      'banana',
      '--json',
    ]);
    expect(evaluated.code).toBe(0);
    const e = JSON.parse(evaluated.stdout) as { ca: number; asr: number; prompts: { method: string } };
    expect(e.ca).toBeCloseTo(file.header.metrics.ca!, 10);
    expect(e.asr).toBeCloseTo(file.header.metrics.asr!, 10);
    expect(e.prompts.method).toBe('rvpt');

    // The same weights re-saved with other metadata: same architecture, another fingerprint.
    const other = join(dir, 'other-model.safetensors');
    const demo = await readSafetensors(DEMO_MODEL);
    await writeSafetensors(
      other,
      demo.tensors.map((t) => ({ name: t.name, shape: t.shape, data: t.data })),
      { note: 'another model' },
    );
    const refused = await vetbench(['eval', '--model', other, '--dataset', 'demo', '--prompts', out]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/was trained for model [0-9a-f]{12}…, not this model/);
    expect(refused.stderr).toMatch(/--force/);
    const forced = await vetbench([
      'eval',
      '--model',
      other,
      '--dataset',
      'demo',
      '--prompts',
      out,
      '--force',
    ]);
    expect(forced.code).toBe(0);
    expect(forced.stderr).toMatch(/applied anyway because of --force/);
  }, 300_000);

  it('methods lists the defenses with their parameters; bad input is refused clearly', async () => {
    const m = JSON.parse((await vetbench(['methods', '--json'])).stdout) as {
      defenses: { id: string; params: Record<string, { default: unknown }> }[];
    };
    const rvpt = m.defenses.find((d) => d.id === 'rvpt')!;
    const vpt = m.defenses.find((d) => d.id === 'vpt')!;
    expect(rvpt.params.alpha!.default).toBe(2);
    expect(vpt.params.alpha!.default).toBe(0);
    expect(Object.keys(rvpt.params)).toEqual(
      expect.arrayContaining([
        'depth',
        'promptLength',
        'alpha',
        'margin',
        'epochs',
        'lr',
        'batchSize',
        'momentum',
        'weightDecay',
        'initStd',
        'augment',
        'woTC',
      ]),
    );
    const out = join(mkdtempSync(join(tmpdir(), 'vetbench-defend-')), 'x.safetensors');
    const deep = await vetbench([
      'defend',
      'rvpt',
      '--model',
      'demo',
      '--dataset',
      'demo',
      '--param',
      'depth=4',
      '--out',
      out,
    ]);
    expect(deep.code).toBe(2);
    expect(deep.stderr).toMatch(/depth 4 leaves no block to prompt; this model has 4 vision blocks/);
    const wotc = await vetbench([
      'defend',
      'rvpt',
      '--model',
      'demo',
      '--dataset',
      'demo',
      '--param',
      'woTC=true',
      '--out',
      out,
    ]);
    expect(wotc.code).toBe(2);
    expect(wotc.stderr).toMatch(/--target/);
    const unknown = await vetbench(['defend', 'nope', '--model', 'demo', '--dataset', 'demo', '--out', out]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown defense 'nope'[\s\S]*rvpt/);
  }, 120_000);
});
