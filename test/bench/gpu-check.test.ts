import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCRIPT = join(ROOT, 'bench', 'gpu-check.js');

// bench/gpu-check.js waits for the first GPU; its whole path (child per provider, comparison with the CPU,
// the extrapolated RVPT job, the result files) runs here in --self-test, with the CPU standing in for a GPU.
describe('bench/gpu-check.js', () => {
  it('runs its self-test end to end on the CPU: every output within tolerance, both RVPT variants timed', () => {
    if (!existsSync(join(ROOT, 'dist', 'engine', 'onnx', 'session.js')))
      throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
    const out = join(mkdtempSync(join(tmpdir(), 'vetbench-gpu-check-')), 'gpu-check');
    const r = spawnSync(process.execPath, [SCRIPT, '--self-test', '--out', out, '--budget-s', '120'], {
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as {
      runs: { provider: string; checks: Record<string, { ok: boolean }>; rvptJob: Record<string, unknown> }[];
    };
    expect(result.runs).toHaveLength(1);
    const run = result.runs[0]!;
    expect(Object.keys(run.checks).sort()).toEqual(['forward_b8', 'pixelGrad_b8', 'promptGrad_b8']);
    expect(Object.values(run.checks).every((c) => c.ok)).toBe(true);
    expect(run.rvptJob).toHaveProperty('cached.job_minutes');
    expect(run.rvptJob).toHaveProperty('uncached.job_minutes');
    expect(readFileSync(`${out}.md`, 'utf8')).toMatch(/RVPT job of Oxford-Pets size/);
  }, 180_000);

  it('says in one line that there is no GPU, and exits 0, on a machine without one', () => {
    const gpu = ['/dev/nvidia0', '/dev/nvidiactl', '/dev/kfd', '/dev/dri'].some((p) => existsSync(p));
    if (gpu) return; // a GPU machine runs the real check instead (minutes): not a unit test
    const r = spawnSync(process.execPath, [SCRIPT], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toMatch(/^gpu-check: no GPU on this machine/);
  });
});
