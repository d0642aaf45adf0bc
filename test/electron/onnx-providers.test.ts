import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const CHECK = new URL('../helpers/onnx-provider-check.js', import.meta.url).pathname;
// Debian's chromium ships SwiftShader (a software Vulkan) and its own libvulkan: enough for a WebGPU adapter.
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

interface CheckResult {
  providers: string[];
  errors: Record<string, number>;
}

async function check(env: Record<string, string>): Promise<CheckResult> {
  const { stdout } = await run('node', [CHECK], { env: { ...process.env, ...env }, timeout: 300_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as CheckResult;
}

function expectWithinTolerance(result: CheckResult): void {
  for (const [name, err] of Object.entries(result.errors)) {
    expect(err, name).toBeLessThanOrEqual(name.includes('grad') ? 1e-3 : 1e-4);
  }
}

describe('onnxruntime execution providers give the PyTorch numbers (forward and training step)', () => {
  it('cpu', async () => {
    const r = await check({ VETBENCH_ONNX_PROVIDERS: 'cpu' });
    expect(r.providers).toEqual(['cpu']);
    expectWithinTolerance(r);
  });

  const hasSwiftShader = existsSync(SWIFTSHADER_ICD);
  if (!hasSwiftShader)
    console.log(`WebGPU check skipped: ${SWIFTSHADER_ICD} not found (apt-get install chromium)`);
  it.skipIf(!hasSwiftShader)('webgpu on a SwiftShader adapter (correctness only; it is slow)', async () => {
    const r = await check({
      VETBENCH_ONNX_PROVIDERS: 'webgpu',
      VK_ICD_FILENAMES: SWIFTSHADER_ICD,
      LD_LIBRARY_PATH: ['/usr/lib/chromium', process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
    });
    expect(r.providers).toEqual(['webgpu']);
    expectWithinTolerance(r);
  });
});
