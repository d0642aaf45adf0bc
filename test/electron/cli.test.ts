import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliRunner } from '../helpers/cli.js';
import { readNpyFloat32 } from '../../engine/tensor/npy.js';
import { expectClose, FIXTURE_DIR } from '../helpers/compare.js';

const MODEL = `${FIXTURE_DIR}model.safetensors`;

const vetbench = cliRunner({ timeoutMs: 120_000 });

beforeAll(() => {
  if (!existsSync(new URL('../../dist/electron/cli/main.js', import.meta.url))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
  }
});

describe('vetbench info', () => {
  it('reports the backend in use, why others were not used, threads and versions', async () => {
    const r = await vetbench(['info', '--json']);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout) as {
      tfjs: {
        selected: string;
        threads: number;
        attempts: { backend: string; ok: boolean; reason: string }[];
      };
      onnx: { providers: string[]; version: string };
      routing: { kind: string; executor: string }[];
      packages: Record<string, string | null>;
    };
    expect(['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).toContain(info.tfjs.selected);
    expect(info.tfjs.threads).toBeGreaterThanOrEqual(1);
    for (const a of info.tfjs.attempts.filter((x) => !x.ok)) expect(a.reason.length).toBeGreaterThan(10);
    expect(info.onnx.providers).toContain('cpu');
    expect(info.routing.map((x) => x.executor).join(' ')).toMatch(/onnxruntime .*TF\.js/);
    expect(info.packages['onnxruntime-node']).toBe(info.onnx.version);
  });

  it('a backend can be forced by environment variable and by flag', async () => {
    const env = JSON.parse((await vetbench(['info', '--json'], { VETBENCH_BACKEND: 'cpu' })).stdout) as {
      tfjs: { selected: string; forced: boolean };
    };
    expect(env.tfjs).toMatchObject({ selected: 'cpu', forced: true });
    const flag = JSON.parse(
      (await vetbench(['info', '--json', '--backend', 'wasm'], { VETBENCH_BACKEND: 'cpu' })).stdout,
    ) as {
      tfjs: { selected: string };
    };
    expect(flag.tfjs.selected).toBe('wasm');
  });

  it('an unknown or missing forced backend is a clear error', async () => {
    const unknown = await vetbench(['info', '--backend', 'tpu']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown TF.js backend 'tpu'.*\n.*wasm/);
  });
});

describe('vetbench inspect-model', () => {
  it('prints architecture, parameter count, dtype, naming and fingerprint', async () => {
    const r = await vetbench(['inspect-model', MODEL, '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as {
      config: {
        vision: { width: number; layers: number; heads: number; patchSize: number };
        embedDim: number;
      };
      parameters: number;
      dtypes: string[];
      naming: string;
      fingerprint: { value: string };
    };
    expect(report.config.vision).toMatchObject({ width: 128, layers: 3, heads: 2, patchSize: 8 });
    expect(report.config.embedDim).toBe(32);
    expect(report.dtypes).toEqual(['F16']);
    expect(report.naming).toBe('openai');
    expect(report.fingerprint.value).toBe(createHash('sha256').update(readFileSync(MODEL)).digest('hex'));
    expect(report.parameters).toBeGreaterThan(7_000_000);
  });

  it('a truncated weights file is refused with advice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vetbench-cli-'));
    const bad = join(dir, 'cut.safetensors');
    writeFileSync(bad, readFileSync(MODEL).subarray(0, 5000));
    const r = await vetbench(['inspect-model', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cut\.safetensors/);
    expect(r.stderr).toMatch(/->/);
  });
});

describe('vetbench tokenize', () => {
  it('gives one unpadded id list per text, as the reference tokenizer', async () => {
    const ref = JSON.parse(
      readFileSync(new URL('../../../shared/fixtures/tokenizer.json', import.meta.url), 'utf8'),
    ) as {
      cases: { text: string; ids: number[] }[];
    };
    const cases = ref.cases.slice(0, 6);
    const r = await vetbench(['tokenize', '--json', ...cases.map((c) => c.text)]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(cases.map((c) => c.ids));
  });
});

describe('vetbench encode', () => {
  const outputs = [
    'image_embeds',
    'text_embeds',
    'logits_per_image',
    'vision_cls_per_layer',
    'vision_last_attention',
  ];

  it.each(['onnx', 'wasm'])('writes every output equal to PyTorch (%s)', async (backend) => {
    const out = mkdtempSync(join(tmpdir(), `vetbench-encode-${backend}-`));
    const r = await vetbench([
      'encode',
      '--model',
      MODEL,
      '--pixels',
      `${FIXTURE_DIR}pixels.npy`,
      '--input-ids',
      `${FIXTURE_DIR}input_ids.npy`,
      '--backend',
      backend,
      '--out',
      out,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const name of outputs) {
      expectClose(
        await readNpyFloat32(join(out, `${name}.npy`)),
        await readNpyFloat32(`${FIXTURE_DIR}${name}.npy`),
        1e-4,
        name,
      );
    }
  });

  it('with deep visual prompts the image outputs are those of the prompted tower', async () => {
    const out = mkdtempSync(join(tmpdir(), 'vetbench-encode-prompts-'));
    const r = await vetbench([
      'encode',
      '--model',
      MODEL,
      '--pixels',
      `${FIXTURE_DIR}pixels.npy`,
      '--visual-prompts',
      `${FIXTURE_DIR}rvpt_prompts.npy`,
      '--prompt-depth',
      '1',
      '--out',
      out,
    ]);
    expect(r.code).toBe(0);
    expectClose(
      await readNpyFloat32(join(out, 'image_embeds.npy')),
      await readNpyFloat32(`${FIXTURE_DIR}rvpt_image_embeds.npy`),
      1e-4,
      'prompted image_embeds',
    );
  });

  it('wrong shapes and bad prompt depth are clear errors', async () => {
    const out = mkdtempSync(join(tmpdir(), 'vetbench-encode-bad-'));
    const shape = await vetbench([
      'encode',
      '--model',
      MODEL,
      '--pixels',
      `${FIXTURE_DIR}input_ids.npy`,
      '--out',
      out,
    ]);
    expect(shape.code).toBe(2);
    expect(shape.stderr).toMatch(/needs \[N, 3, 32, 32\]/);
    const depth = await vetbench([
      'encode',
      '--model',
      MODEL,
      '--pixels',
      `${FIXTURE_DIR}pixels.npy`,
      '--visual-prompts',
      `${FIXTURE_DIR}rvpt_prompts.npy`,
      '--prompt-depth',
      '0',
      '--out',
      out,
    ]);
    expect(depth.code).toBe(2);
    expect(depth.stderr).toMatch(/needs \[3, b, 128\]/);
  });
});
