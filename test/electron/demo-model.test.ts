import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliRunner } from '../helpers/cli.js';

const REPORT = new URL('../../models/demo/clip-demo-tiny.safetensors.json', import.meta.url);

const vetbench = cliRunner({ timeoutMs: 300_000 });

// One file, run in order: the first command generates the demo dataset, the others reuse it.
describe('built-in demo model and dataset through the CLI', () => {
  // The evaluation is deterministic: the same weights (fingerprint) on the same images (dataset fingerprint)
  // must classify exactly the images the model card counted (665 of 720), not merely come close.
  let cleanCa = Number.NaN;
  it('`vetbench eval --model demo --dataset demo --json` gives exactly the CA of the model card', async () => {
    const card = JSON.parse(readFileSync(REPORT, 'utf8')) as {
      zero_shot_ca_test: number;
      fingerprint: string;
      provenance: { dataset_fingerprint: string };
    };
    const r = await vetbench(['eval', '--model', 'demo', '--dataset', 'demo', '--json']);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as {
      ca: number;
      correct: number;
      n_clean: number;
      model: { fingerprint: string };
      dataset: { fingerprint: string };
    };
    expect(result.model.fingerprint).toBe(card.fingerprint);
    expect(result.dataset.fingerprint).toBe(card.provenance.dataset_fingerprint);
    expect(result.n_clean).toBe(720);
    expect(result.correct).toBe(Math.round((card.zero_shot_ca_test * 720) / 100));
    expect(result.ca).toBeCloseTo((100 * result.correct) / 720, 10);
    cleanCa = result.ca;
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
    // Percentages of their denominators: NaN, Infinity or a fraction out of range fails here.
    for (const k of ['ca', 'asr', 'asr_all', 'pa']) {
      const value = m[k];
      expect(typeof value === 'number' && Number.isFinite(value), `${k} = ${String(value)}`).toBe(true);
      expect(value as number).toBeGreaterThanOrEqual(0);
      expect(value as number).toBeLessThanOrEqual(100);
    }
    // CA does not depend on the trigger: the same 720 clean images as the plain eval above.
    expect(m.ca).toBe(cleanCa);
    // ASR is a whole number of the 660 non-target images.
    const flipped = ((m.asr as number) * 660) / 100;
    expect(Math.abs(flipped - Math.round(flipped))).toBeLessThan(1e-9);
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
