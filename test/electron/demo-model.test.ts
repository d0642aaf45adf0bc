import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const BIN = new URL('../../bin/vetbench.js', import.meta.url).pathname;
const REPORT = new URL('../../models/demo/clip-demo-tiny.safetensors.json', import.meta.url);

describe('built-in demo model', () => {
  it('`vetbench eval --model demo --dataset demo --json` gives the CA of the model card within 0.5 points', async () => {
    const card = JSON.parse(readFileSync(REPORT, 'utf8')) as {
      zero_shot_ca_test: number;
      fingerprint: string;
    };
    // Generates the demo dataset on first use (about 30 s on 2 cores).
    const { stdout } = await run('node', [BIN, 'eval', '--model', 'demo', '--dataset', 'demo', '--json'], {
      timeout: 300_000,
    });
    const result = JSON.parse(stdout) as { ca: number; n_clean: number; model: { fingerprint: string } };
    expect(result.model.fingerprint).toBe(card.fingerprint);
    expect(result.n_clean).toBe(720);
    expect(Math.abs(result.ca - card.zero_shot_ca_test)).toBeLessThanOrEqual(0.5);
    expect(result.ca).toBeGreaterThanOrEqual(80);
  }, 320_000);
});
