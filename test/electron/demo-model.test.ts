import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliRunner } from '../helpers/cli.js';

const REPORT = new URL('../../models/demo/clip-demo-tiny.safetensors.json', import.meta.url);

const vetbench = cliRunner({ timeoutMs: 300_000 });

// One file, run in order: the first command generates the demo dataset, the others reuse it.
describe('built-in demo model and dataset through the CLI', () => {
  it('`vetbench eval --model demo --dataset demo --json` gives the CA of the model card within 0.5 points', async () => {
    const card = JSON.parse(readFileSync(REPORT, 'utf8')) as {
      zero_shot_ca_test: number;
      fingerprint: string;
    };
    const r = await vetbench(['eval', '--model', 'demo', '--dataset', 'demo', '--json']);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { ca: number; n_clean: number; model: { fingerprint: string } };
    expect(result.model.fingerprint).toBe(card.fingerprint);
    expect(result.n_clean).toBe(720);
    expect(Math.abs(result.ca - card.zero_shot_ca_test)).toBeLessThanOrEqual(0.5);
    expect(result.ca).toBeGreaterThanOrEqual(80);
  }, 320_000);

  it('eval under a trigger reports ASR, asr_all and PA with denominators', async () => {
    const r = await vetbench([
      'eval',
      '--model',
      'demo',
      '--dataset',
      'demo',
      '--trigger',
      'sig',
      '--target',
      'banana',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const m = JSON.parse(r.stdout) as Record<string, number | string>;
    expect(m.n_clean).toBe(720);
    expect(m.n_poisoned).toBe(660); // the 60 banana test images are not counted in ASR
    expect(m.n_triggered).toBe(720);
    for (const k of ['ca', 'asr', 'asr_all', 'pa']) expect(typeof m[k]).toBe('number');
    const unknown = await vetbench([
      'eval',
      '--model',
      'demo',
      '--dataset',
      'demo',
      '--trigger',
      'sig',
      '--target',
      'pear',
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no class 'pear'[\s\S]*banana/);
  }, 120_000);

  it('`vetbench attack` writes backdoored weights, the trigger and a before/after report', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'vetbench-attack-')), 'bd.safetensors');
    const r = await vetbench([
      'attack',
      'blended',
      '--model',
      'demo',
      '--dataset',
      'demo',
      '--target',
      'banana',
      '--param',
      'epochs=1',
      '--out',
      out,
    ]);
    expect(r.stderr).toMatch(/poisoning 300 of 3000 training pairs/);
    expect(r.code).toBe(0);
    expect(existsSync(out)).toBe(true);
    expect(existsSync(out.replace(/\.safetensors$/, '.trigger.safetensors'))).toBe(true);
    const report = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as {
      before: { asr: number; n_poisoned: number };
      after: { asr: number; ca: number };
      provenance: { params: Record<string, unknown>; seed: number };
    };
    expect(report.before.n_poisoned).toBe(660);
    expect(report.provenance.params.epochs).toBe(1);
    // The saved trigger re-applies identically: eval with the file gives the report's ASR.
    const again = await vetbench([
      'eval',
      '--model',
      out,
      '--dataset',
      'demo',
      '--trigger',
      out.replace(/\.safetensors$/, '.trigger.safetensors'),
      '--target',
      'banana',
      '--json',
    ]);
    expect((JSON.parse(again.stdout) as { asr: number }).asr).toBeCloseTo(report.after.asr, 6);
    const methods = JSON.parse((await vetbench(['methods', '--json'])).stdout) as {
      attacks: { id: string }[];
    };
    expect(methods.attacks.map((a) => a.id)).toEqual(
      expect.arrayContaining(['badnet', 'blended', 'wanet', 'sig', 'label-consistent', 'ssba']),
    );
    const badParam = await vetbench([
      'attack',
      'blended',
      '--model',
      'demo',
      '--dataset',
      'demo',
      '--target',
      'banana',
      '--param',
      'ratio=2',
      '--out',
      out,
    ]);
    expect(badParam.code).toBe(2);
    expect(badParam.stderr).toMatch(/ratio.*<= 1/);
  }, 300_000);
});
