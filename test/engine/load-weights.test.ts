import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClipConfig } from '../../engine/clip/config.js';
import {
  detectNaming,
  expectedOpenAiShapes,
  huggingFaceConfigJson,
  loadClipWeights,
  toHuggingFaceNames,
  toOpenAiTensors,
  type NamedTensor,
} from '../../engine/clip/load-weights.js';
import {
  float32ToBfloat16Bits,
  writeSafetensors,
  type SafetensorsWriteDtype,
} from '../../engine/clip/safetensors.js';
import type { ClipWeights } from '../../engine/clip/weights.js';
import { VetbenchError } from '../../engine/errors.js';
import { sharedPath } from '../helpers/shared-folder.js';

const FIXTURE_DIR = sharedPath('fixtures', 'clip-tiny-a');
const FIXTURE = join(FIXTURE_DIR, 'model.safetensors');

interface ExpectedJson {
  config: Record<string, number>;
  logit_scale_exp: number;
}

let dir: string;
let fixture: ClipWeights;
let expectedJson: ExpectedJson;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vetbench-load-weights-'));
  fixture = await loadClipWeights(FIXTURE);
  expectedJson = JSON.parse(await readFile(join(FIXTURE_DIR, 'expected.json'), 'utf8')) as ExpectedJson;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let folderCount = 0;
/** A fresh folder per model, so a config.json of one test never sits beside another test's weights. */
async function freshFolder(): Promise<string> {
  const folder = join(dir, `m${folderCount++}`);
  await mkdir(folder);
  return folder;
}

async function saveModel(
  tensors: readonly NamedTensor[],
  options: { dtype?: SafetensorsWriteDtype; config?: unknown; file?: string } = {},
): Promise<string> {
  const folder = await freshFolder();
  const path = join(folder, options.file ?? 'model.safetensors');
  await writeSafetensors(
    path,
    tensors.map((t) => ({ ...t, dtype: options.dtype ?? 'F32' })),
  );
  if (options.config !== undefined)
    await writeFile(join(folder, 'config.json'), JSON.stringify(options.config));
  return path;
}

async function expectLoadError(
  path: string,
  code: string,
  messagePart: RegExp,
  configPath?: string,
): Promise<void> {
  let error: unknown;
  try {
    await loadClipWeights(path, configPath === undefined ? {} : { hfConfigPath: configPath });
  } catch (e) {
    error = e;
  }
  expect(error, `expected '${code}'`).toBeInstanceOf(VetbenchError);
  const vetbenchError = error as VetbenchError;
  expect(vetbenchError.code).toBe(code);
  expect(vetbenchError.message).toMatch(messagePart);
  expect(vetbenchError.hint.length).toBeGreaterThan(10);
}

/** Element-wise equality without vitest's slow deep comparison of large typed arrays. */
function countDifferences(actual: Float32Array, expected: Float32Array): number {
  if (actual.length !== expected.length) return Math.max(actual.length, expected.length);
  let differing = 0;
  for (let i = 0; i < expected.length; i++) if (!Object.is(actual[i], expected[i])) differing++;
  return differing;
}

function expectSameWeights(
  actual: ClipWeights,
  expected: ClipWeights,
  round: (v: Float32Array) => Float32Array = (v) => v,
) {
  expect(actual.config).toEqual(expected.config);
  expect([...actual.tensors.keys()]).toEqual([...expected.tensors.keys()]);
  for (const [name, tensor] of expected.tensors) {
    const loaded = actual.tensors.get(name);
    expect(loaded?.shape, name).toEqual(tensor.shape);
    expect(countDifferences(loaded?.data ?? new Float32Array(0), round(tensor.data)), name).toBe(0);
  }
  expect(actual.logitScale).toBe(round(Float32Array.of(expected.logitScale))[0]);
}

function toBfloat16(values: Float32Array): Float32Array {
  const bits = new Uint32Array(values.length);
  for (let i = 0; i < values.length; i++) bits[i] = float32ToBfloat16Bits(values[i] as number) << 16;
  return new Float32Array(bits.buffer);
}

/** Small deterministic pseudo-random numbers (mulberry32) in [-0.5, 0.5). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
}

function randomOpenAiTensors(config: ClipConfig, seed = 1): NamedTensor[] {
  const next = random(seed);
  return [...expectedOpenAiShapes(config)].map(([name, shape]) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = next();
    if (name === 'logit_scale') data[0] = Math.log(50);
    return { name, shape, data };
  });
}

const SMALL: ClipConfig = {
  embedDim: 24,
  vision: { width: 64, layers: 2, heads: 1, patchSize: 4, imageResolution: 16 },
  text: { width: 64, layers: 2, heads: 1, contextLength: 16, vocabSize: 100 },
};

function without(tensors: readonly NamedTensor[], ...names: string[]): NamedTensor[] {
  return tensors.filter((t) => !names.includes(t.name));
}

function replaced(
  tensors: readonly NamedTensor[],
  name: string,
  change: (t: NamedTensor) => NamedTensor,
): NamedTensor[] {
  return tensors.map((t) => (t.name === name ? change(t) : t));
}

describe('the tiny CLIP fixture (F16, OpenAI names)', () => {
  it('infers the config of expected.json, reads the logit scale and fingerprints the file', async () => {
    const c = expectedJson.config;
    expect(fixture.config).toEqual({
      embedDim: c.embed_dim,
      vision: {
        width: c.v_width,
        layers: c.v_layers,
        heads: c.v_heads,
        patchSize: c.patch,
        imageResolution: c.image_resolution,
      },
      text: {
        width: c.t_width,
        layers: c.t_layers,
        heads: c.t_heads,
        contextLength: c.context_length,
        vocabSize: c.vocab_size,
      },
    });
    expect(fixture.config.vision.heads).toBe(2);
    expect(Math.exp(fixture.logitScale)).toBeCloseTo(expectedJson.logit_scale_exp, 2);
    expect(Math.exp(fixture.logitScale)).toBeCloseTo(74.046, 2);
    const bytes = await readFile(FIXTURE);
    expect(fixture.source.fingerprint).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(fixture.source).toMatchObject({
      path: FIXTURE,
      naming: 'openai',
      dtypes: ['F16'],
      fileBytes: bytes.length,
      nonFiniteTensors: [],
      warnings: [],
    });
  });

  it('holds exactly the canonical tensors with the expected shapes', () => {
    const expected = expectedOpenAiShapes(fixture.config);
    expect(fixture.tensors.size).toBe(86);
    expect([...fixture.tensors.keys()]).toEqual([...expected.keys()]);
    for (const [name, shape] of expected) expect(fixture.tensors.get(name)?.shape, name).toEqual(shape);
    expect(fixture.tensors.get('logit_scale')?.shape).toEqual([]);
  });

  it('accepts the folder that holds the weights', async () => {
    const fromFolder = await loadClipWeights(FIXTURE_DIR);
    expect(fromFolder.source.path).toBe(FIXTURE);
    expect(fromFolder.config).toEqual(fixture.config);
  });
});

describe('round trips through Hugging Face names', () => {
  for (const dtype of ['F32', 'F16', 'BF16'] as const) {
    for (const withConfig of [false, true]) {
      it(`${dtype}, ${withConfig ? 'with' : 'without'} config.json`, async () => {
        const path = await saveModel(toHuggingFaceNames(fixture), {
          dtype,
          config: withConfig ? huggingFaceConfigJson(fixture.config, fixture.logitScale) : undefined,
        });
        const loaded = await loadClipWeights(path);
        expect(loaded.source.naming).toBe('huggingface');
        expect(loaded.source.dtypes).toEqual([dtype]);
        expect(loaded.source.warnings).toEqual([]);
        // The fixture's values are float16, so F32 and F16 copies are exact; BF16 rounds them.
        expectSameWeights(loaded, fixture, dtype === 'BF16' ? toBfloat16 : undefined);
      });
    }
  }

  it('maps the names and layouts as METHODS 1.2 says', () => {
    const hf = new Map(toHuggingFaceNames(fixture).map((t) => [t.name, t]));
    const w = 128;
    const inProj = fixture.tensors.get('visual.transformer.resblocks.1.attn.in_proj_weight');
    const k = hf.get('vision_model.encoder.layers.1.self_attn.k_proj.weight');
    expect(k?.shape).toEqual([w, w]);
    expect(
      countDifferences(
        k?.data ?? new Float32Array(0),
        inProj?.data.subarray(w * w, 2 * w * w) ?? new Float32Array(0),
      ),
    ).toBe(0);
    const proj = fixture.tensors.get('visual.proj');
    const hfProj = hf.get('visual_projection.weight');
    expect(hfProj?.shape).toEqual([32, w]);
    expect(hfProj?.data[3 * w + 5]).toBe(proj?.data[5 * 32 + 3]); // [e, c] = proj[c, e]
    for (const name of [
      'vision_model.pre_layrnorm.weight',
      'vision_model.post_layernorm.bias',
      'vision_model.embeddings.class_embedding',
      'vision_model.embeddings.patch_embedding.weight',
      'vision_model.embeddings.position_embedding.weight',
      'vision_model.encoder.layers.0.layer_norm2.weight',
      'vision_model.encoder.layers.0.mlp.fc1.weight',
      'vision_model.encoder.layers.0.self_attn.out_proj.bias',
      'text_model.embeddings.token_embedding.weight',
      'text_model.embeddings.position_embedding.weight',
      'text_model.encoder.layers.2.mlp.fc2.bias',
      'text_model.final_layer_norm.weight',
      'text_projection.weight',
      'logit_scale',
    ]) {
      expect(hf.has(name), name).toBe(true);
    }
    expect(hf.size).toBe(86 + 4 * 6); // each in_proj weight/bias became three tensors
  });

  it('ignores position_ids buffers (int64 in real exports)', async () => {
    const path = await saveModel(toHuggingFaceNames(fixture));
    // Append an I64 position_ids tensor by rewriting the file by hand.
    const base = await readFile(path);
    const headerLength = Number(base.readBigUInt64LE(0));
    const header = JSON.parse(base.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, unknown>;
    const dataLength = base.length - 8 - headerLength;
    const ids = new BigInt64Array(77).map((_, i) => BigInt(i));
    header['text_model.embeddings.position_ids'] = {
      dtype: 'I64',
      shape: [1, 77],
      data_offsets: [dataLength, dataLength + ids.byteLength],
    };
    const json = Buffer.from(JSON.stringify(header));
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(json.length));
    await writeFile(
      path,
      Buffer.concat([length, json, base.subarray(8 + headerLength), Buffer.from(ids.buffer)]),
    );
    const loaded = await loadClipWeights(path);
    expect(loaded.tensors.has('text_model.embeddings.position_ids')).toBe(false);
    expect(loaded.source.dtypes).toEqual(['F32']);
    expectSameWeights(loaded, fixture);
  });
});

describe('config.json', () => {
  it('supplies the number of heads', async () => {
    const config = huggingFaceConfigJson(fixture.config);
    (config.vision_config as Record<string, unknown>).num_attention_heads = 4;
    (config.text_config as Record<string, unknown>).num_attention_heads = 8;
    const path = await saveModel(toHuggingFaceNames(fixture), { config });
    const loaded = await loadClipWeights(path);
    expect(loaded.config.vision.heads).toBe(4);
    expect(loaded.config.text.heads).toBe(8);
  });

  it('also applies to OpenAI-named files and can be passed explicitly', async () => {
    const config = huggingFaceConfigJson(fixture.config);
    (config.vision_config as Record<string, unknown>).num_attention_heads = 1;
    const configPath = join(await freshFolder(), 'my-config.json');
    await writeFile(configPath, JSON.stringify(config));
    const loaded = await loadClipWeights(FIXTURE, { hfConfigPath: configPath });
    expect(loaded.config.vision.heads).toBe(1);
    expect(loaded.config.text.heads).toBe(2);
  });

  it('uses the Hugging Face defaults for omitted fields (save_pretrained omits them)', async () => {
    // Only non-default values are written: here the text tower matches no default, the vision tower none either.
    const path = await saveModel(toHuggingFaceNames(fixture), {
      config: { vision_config: {}, text_config: {} },
    });
    await expectLoadError(
      path,
      'weights-config-mismatch',
      /vision_config\.hidden_size = 768 but the weights have vision width 128/,
    );
  });

  it('is an error when it disagrees with the weights', async () => {
    const config = huggingFaceConfigJson(fixture.config);
    (config.text_config as Record<string, unknown>).num_hidden_layers = 12;
    config.projection_dim = 512;
    const path = await saveModel(toHuggingFaceNames(fixture), { config });
    await expectLoadError(
      path,
      'weights-config-mismatch',
      /text_config\.num_hidden_layers = 12 .* text blocks 3.*projection_dim = 512/,
    );
  });

  it('is an error when its heads do not divide the width', async () => {
    const config = huggingFaceConfigJson(fixture.config);
    (config.vision_config as Record<string, unknown>).num_attention_heads = 5;
    const path = await saveModel(toHuggingFaceNames(fixture), { config });
    await expectLoadError(
      path,
      'weights-heads-invalid',
      /num_attention_heads = 5 does not divide the vision width 128/,
    );
  });

  it('warns about an activation Vetbench does not compute', async () => {
    const config = huggingFaceConfigJson(fixture.config);
    (config.vision_config as Record<string, unknown>).hidden_act = 'gelu';
    const path = await saveModel(toHuggingFaceNames(fixture), { config });
    const loaded = await loadClipWeights(path);
    expect(loaded.source.warnings.join('\n')).toMatch(/vision_config\.hidden_act is 'gelu'/);
  });

  it('a config.json that is not a CLIP config is ignored with a warning; a broken one is an error', async () => {
    const ignoredPath = await saveModel(toHuggingFaceNames(fixture), { config: { name: 'something else' } });
    const loaded = await loadClipWeights(ignoredPath);
    expect(loaded.source.warnings.join('\n')).toMatch(/not a Hugging Face CLIPModel config/);
    const folder = await freshFolder();
    const brokenPath = join(folder, 'model.safetensors');
    await writeSafetensors(brokenPath, toHuggingFaceNames(fixture));
    await writeFile(join(folder, 'config.json'), '{ nope');
    await expectLoadError(brokenPath, 'weights-config-invalid', /not JSON/);
    await expectLoadError(
      FIXTURE,
      'weights-config-unreadable',
      /cannot read the model config/,
      join(folder, 'absent.json'),
    );
  });
});

describe('a differently sized model', () => {
  it('round trips with OpenAI names and its config is inferred', async () => {
    const tensors = randomOpenAiTensors(SMALL);
    const loaded = await loadClipWeights(await saveModel(tensors));
    expect(loaded.config).toEqual(SMALL);
    expect(loaded.logitScale).toBeCloseTo(Math.log(50), 6);
    for (const t of tensors)
      expect(countDifferences(loaded.tensors.get(t.name)?.data ?? new Float32Array(0), t.data), t.name).toBe(
        0,
      );
  });

  it('round trips with Hugging Face names', async () => {
    const openai = await loadClipWeights(await saveModel(randomOpenAiTensors(SMALL, 7)));
    const loaded = await loadClipWeights(await saveModel(toHuggingFaceNames(openai)));
    expect(loaded.source.naming).toBe('huggingface');
    expectSameWeights(loaded, openai);
    const again = toOpenAiTensors(loaded);
    expect(again.map((t) => t.name)).toEqual([...expectedOpenAiShapes(SMALL).keys()]);
  });

  it('cannot guess heads when the width is not a multiple of 64', async () => {
    const odd: ClipConfig = { ...SMALL, vision: { ...SMALL.vision, width: 96 } };
    await expectLoadError(
      await saveModel(randomOpenAiTensors(odd)),
      'weights-heads-unknown',
      /vision width 96/,
    );
  });
});

describe('variants that load', () => {
  it('a module. prefix (DistributedDataParallel) is stripped', async () => {
    const path = await saveModel(
      toOpenAiTensors(fixture).map((t) => ({ ...t, name: `module.${t.name}` })),
      { dtype: 'F16' },
    );
    const loaded = await loadClipWeights(path);
    expect(loaded.source.naming).toBe('openai');
    expectSameWeights(loaded, fixture);
  });

  it('logit_scale of shape [1] or []', async () => {
    for (const shape of [[1], []]) {
      const path = await saveModel(
        replaced(toOpenAiTensors(fixture), 'logit_scale', (t) => ({ ...t, shape })),
      );
      const loaded = await loadClipWeights(path);
      expect(loaded.logitScale).toBe(fixture.logitScale);
      expect(loaded.tensors.get('logit_scale')?.shape).toEqual([]);
    }
  });

  it('NaN or Inf values load with a warning naming the tensor', async () => {
    const name = 'visual.transformer.resblocks.1.mlp.c_fc.weight';
    const path = await saveModel(
      replaced(toOpenAiTensors(fixture), name, (t) => {
        const data = t.data.slice();
        data[10] = NaN;
        data[11] = Infinity;
        return { ...t, data };
      }),
    );
    const loaded = await loadClipWeights(path);
    expect(loaded.source.nonFiniteTensors).toEqual([name]);
    expect(loaded.source.warnings).toHaveLength(1);
    expect(loaded.source.warnings[0]).toMatch(
      new RegExp(`${name.replace(/\./g, '\\.')} \\(2 of 65536 values\\)`),
    );
    expect(loaded.tensors.get(name)?.data[10]).toBeNaN();
  });

  it('NaN in a Hugging Face file is reported under the canonical name', async () => {
    const path = await saveModel(
      replaced(toHuggingFaceNames(fixture), 'text_model.encoder.layers.0.self_attn.v_proj.bias', (t) => {
        const data = t.data.slice();
        data[0] = NaN;
        return { ...t, data };
      }),
    );
    const loaded = await loadClipWeights(path);
    expect(loaded.source.nonFiniteTensors).toEqual(['transformer.resblocks.0.attn.in_proj_bias']);
  });
});

describe('weights that are refused', () => {
  it('missing tensors are listed (in the names of the file)', async () => {
    await expectLoadError(
      await saveModel(
        without(toOpenAiTensors(fixture), 'visual.ln_post.bias', 'transformer.resblocks.2.ln_1.weight'),
      ),
      'weights-missing-tensors',
      /lack 2 tensors.*visual\.ln_post\.bias, transformer\.resblocks\.2\.ln_1\.weight/,
    );
    await expectLoadError(
      await saveModel(
        without(toHuggingFaceNames(fixture), 'vision_model.encoder.layers.1.self_attn.k_proj.weight'),
      ),
      'weights-missing-tensors',
      /vision_model\.encoder\.layers\.1\.self_attn\.k_proj\.weight/,
    );
    await expectLoadError(
      await saveModel(without(toOpenAiTensors(fixture), 'visual.conv1.weight')),
      'weights-missing-tensors',
      /visual\.conv1\.weight, needed to work out the architecture/,
    );
  });

  it('unexpected tensors are listed', async () => {
    const extra = { name: 'visual.adapter.weight', shape: [2], data: new Float32Array(2) };
    await expectLoadError(
      await saveModel([...toOpenAiTensors(fixture), extra]),
      'weights-unexpected-tensors',
      /does not have: visual\.adapter\.weight/,
    );
  });

  it('wrong shapes name the tensor, the expected and the found shape', async () => {
    await expectLoadError(
      await saveModel(
        replaced(toOpenAiTensors(fixture), 'visual.ln_pre.weight', (t) => ({ ...t, shape: [2, 64] })),
      ),
      'weights-shape-mismatch',
      /visual\.ln_pre\.weight: expected \[128\], found \[2, 64\]/,
    );
    await expectLoadError(
      await saveModel(
        replaced(toHuggingFaceNames(fixture), 'text_projection.weight', (t) => ({
          ...t,
          shape: [16, 128],
          data: t.data.subarray(0, 16 * 128),
        })),
      ),
      'weights-shape-mismatch',
      /text_projection\.weight: expected \[32, 128\], found \[16, 128\]/,
    );
    await expectLoadError(
      await saveModel(
        replaced(toOpenAiTensors(fixture), 'visual.positional_embedding', (t) => ({
          ...t,
          shape: [16, 128],
          data: t.data.subarray(0, 16 * 128),
        })),
      ),
      'weights-shape-mismatch',
      /visual\.positional_embedding should be \[1 \+ grid\^2, 128\], found \[16, 128\]/,
    );
  });

  it('non-contiguous layer indices', async () => {
    const tensors = toOpenAiTensors(fixture).filter(
      (t) => !t.name.startsWith('visual.transformer.resblocks.1.'),
    );
    await expectLoadError(
      await saveModel(tensors),
      'weights-layers-not-contiguous',
      /vision blocks 0, 2 are present but 1 is missing/,
    );
  });

  it('mixed, unrecognised and unsupported namings', async () => {
    const hf = toHuggingFaceNames(fixture);
    const openai = toOpenAiTensors(fixture);
    await expectLoadError(await saveModel([...hf, ...openai.slice(0, 1)]), 'weights-mixed-naming', /mix/);
    await expectLoadError(
      await saveModel([{ name: 'encoder.weight', shape: [1], data: new Float32Array(1) }]),
      'weights-unrecognised-naming',
      /encoder\.weight/,
    );
    await expectLoadError(
      await saveModel([
        ...openai,
        { name: 'visual.attnpool.c_proj.weight', shape: [1], data: new Float32Array(1) },
      ]),
      // ResNet CLIP is supported now; a ViT with one stray attention-pool tensor is a ViT with an extra tensor.
      'weights-unexpected-tensors',
      /visual\.attnpool\.c_proj\.weight/,
    );
  });

  it('float64 weights, with a conversion hint', async () => {
    // Our writer stores F32/F16/BF16 only, so lay out an F64 file by hand.
    const tensors = randomOpenAiTensors(SMALL);
    const header: Record<string, unknown> = {};
    let offset = 0;
    for (const t of tensors) {
      header[t.name] = { dtype: 'F64', shape: t.shape, data_offsets: [offset, offset + 8 * t.data.length] };
      offset += 8 * t.data.length;
    }
    const json = Buffer.from(JSON.stringify(header));
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(json.length));
    const data = tensors.map((t) => Buffer.from(Float64Array.from(t.data).buffer));
    const path = join(await freshFolder(), 'model.safetensors');
    await writeFile(path, Buffer.concat([length, json, ...data]));
    await expectLoadError(path, 'weights-dtype', /F32, F16 or BF16; visual\.class_embedding is F64/);
  });

  it('a file that is not safetensors at all', async () => {
    const path = join(await freshFolder(), 'model.safetensors');
    await writeFile(path, 'hello');
    await expectLoadError(path, 'safetensors-too-short', /5 bytes/);
    await expectLoadError(join(dir, 'absent.safetensors'), 'file-not-found', /does not exist/);
  });
});

describe('detectNaming', () => {
  it('tells the two namings apart and ignores module. and buffers', () => {
    expect(detectNaming(['visual.conv1.weight', 'logit_scale'])).toBe('openai');
    expect(detectNaming(['module.token_embedding.weight'])).toBe('openai');
    expect(detectNaming(['vision_model.embeddings.class_embedding', 'logit_scale'])).toBe('huggingface');
    expect(detectNaming(['text_projection.weight', 'text_model.embeddings.position_ids'])).toBe(
      'huggingface',
    );
    expect(() => detectNaming(['logit_scale'])).toThrow(VetbenchError);
    expect(() => detectNaming(['visual.proj', 'visual_projection.weight'])).toThrow(/mix/);
  });
});
