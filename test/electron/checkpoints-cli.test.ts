import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { readNpyFloat32 } from '../../engine/tensor/npy.js';
import { cliRunner } from '../helpers/cli.js';
import { expectClose, FIXTURE_DIR } from '../helpers/compare.js';

const CHECKPOINTS = new URL('../../../shared/fixtures/checkpoints/', import.meta.url).pathname;
const RN_DIR = new URL('../../../shared/fixtures/clip-tiny-rn/', import.meta.url).pathname;
const TRIPWIRE = new URL('../helpers/child-process-tripwire.mjs', import.meta.url).pathname;
const vetbench = cliRunner({ timeoutMs: 120_000 });

beforeAll(() => {
  if (!existsSync(new URL('../../dist/electron/cli/main.js', import.meta.url))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
  }
});

async function encode(model: string, fixture: string): Promise<string> {
  const out = mkdtempSync(join(tmpdir(), 'vetbench-encode-ckpt-'));
  const r = await vetbench([
    'encode',
    '--model',
    model,
    '--pixels',
    `${fixture}pixels.npy`,
    '--input-ids',
    `${fixture}input_ids.npy`,
    '--out',
    out,
  ]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return out;
}

describe('vetbench encode on checkpoints from the wild gives the reference outputs', () => {
  const vitOutputs = [
    'image_embeds',
    'text_embeds',
    'logits_per_image',
    'vision_cls_per_layer',
    'vision_last_attention',
  ];
  it.each([
    'clip-tiny-a.pt',
    'clip-tiny-a.legacy.pt',
    'clip-tiny-a.jit.pt',
    'hf-tiny-a/pytorch_model.bin',
    'hf-tiny-a',
  ])('%s', async (file) => {
    const out = await encode(`${CHECKPOINTS}${file}`, FIXTURE_DIR);
    for (const name of vitOutputs) {
      expectClose(
        await readNpyFloat32(join(out, `${name}.npy`)),
        await readNpyFloat32(`${FIXTURE_DIR}${name}.npy`),
        1e-4,
        name,
      );
    }
  });

  it('clip-tiny-rn.pt (ResNet CLIP), layer4 included', async () => {
    const out = await encode(`${CHECKPOINTS}clip-tiny-rn.pt`, RN_DIR);
    for (const name of ['image_embeds', 'text_embeds', 'logits_per_image', 'layer4']) {
      expectClose(
        await readNpyFloat32(join(out, `${name}.npy`)),
        await readNpyFloat32(`${RN_DIR}${name}.npy`),
        1e-4,
        name,
      );
    }
  });
});

describe('the pickle that would run a command', () => {
  const EVIL = `${CHECKPOINTS}runs-code-when-unpickled.pt`;

  it('encode refuses it naming posix.system, and no process is started', async () => {
    const tripwire = join(mkdtempSync(join(tmpdir(), 'vetbench-tripwire-')), 'spawns.log');
    writeFileSync(tripwire, '');
    const out = mkdtempSync(join(tmpdir(), 'vetbench-encode-evil-'));
    const r = await vetbench(
      ['encode', '--model', EVIL, '--pixels', `${FIXTURE_DIR}pixels.npy`, '--out', out],
      {
        NODE_OPTIONS: `--import=${pathToFileURL(TRIPWIRE).href}`,
        VETBENCH_TRIPWIRE: tripwire,
      },
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(
      /the pickle calls posix\.system, which no weights checkpoint needs; refused without running it/,
    );
    expect(r.stderr.split('\n').filter((l) => l.trim() !== '').length).toBeLessThanOrEqual(2);
    // The payload is `echo vetbench-fixture-payload-ran`: its output never appears, and nothing tried to spawn.
    expect(r.stdout + r.stderr).not.toContain('vetbench-fixture-payload-ran');
    expect(readFileSync(tripwire, 'utf8')).toBe('');
  });

  it('inspect-model lists the callables and gives the verdict', async () => {
    const r = await vetbench(['inspect-model', EVIL, '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as {
      format: string;
      verdict: string;
      reason: string;
      callables: { name: string; allowed: boolean }[];
    };
    expect(report.format).toBe('torch-zip');
    expect(report.verdict).toBe('refused');
    expect(report.reason).toMatch(/posix\.system/);
    expect(report.callables).toContainEqual(
      expect.objectContaining({ name: 'posix.system', allowed: false }),
    );
    expect(report.callables).toContainEqual(
      expect.objectContaining({ name: 'torch._utils._rebuild_tensor_v2', allowed: true }),
    );
  });
});

describe('vetbench inspect-model and convert', () => {
  it('reports format, naming, dtype, architecture and the allowed callables of a TorchScript archive', async () => {
    const r = await vetbench(['inspect-model', `${CHECKPOINTS}clip-tiny-a.jit.pt`, '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Record<string, unknown> & {
      callables: { name: string; allowed: boolean }[];
    };
    expect(report).toMatchObject({
      format: 'torchscript',
      verdict: 'loadable',
      naming: 'openai',
      dtypes: ['F32'],
      architecture: 'CLIP ViT',
    });
    expect(report.callables.every((c) => c.allowed)).toBe(true);
    expect(report.callables.map((c) => c.name)).toContain('__torch__.openai_model.CLIP');
  });

  it('reports a ResNet checkpoint as such', async () => {
    const r = await vetbench(['inspect-model', `${CHECKPOINTS}clip-tiny-rn.pt`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/format: +PyTorch zip archive/);
    expect(r.stdout).toMatch(/architecture: ResNet \(1-1-1-1 Bottlenecks\) @ 64px/);
    expect(r.stdout).toMatch(/stored as: +F16, F32|stored as: +F32, F16/);
  });

  it('converts the legacy checkpoint to safetensors that encodes identically', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vetbench-convert-'));
    const target = join(dir, 'converted.safetensors');
    const r = await vetbench(['convert', `${CHECKPOINTS}clip-tiny-a.legacy.pt`, '--out', target]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const inspected = JSON.parse((await vetbench(['inspect-model', target, '--json'])).stdout) as Record<
      string,
      unknown
    >;
    expect(inspected).toMatchObject({ format: 'safetensors', verdict: 'loadable', callables: [] });
    const out = await encode(target, FIXTURE_DIR);
    expectClose(
      await readNpyFloat32(join(out, 'image_embeds.npy')),
      await readNpyFloat32(`${FIXTURE_DIR}image_embeds.npy`),
      1e-4,
      'image_embeds',
    );
  });
});
