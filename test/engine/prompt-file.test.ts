import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEncoder, type ClipEncoder } from '../../engine/clip/clip-encoder.js';
import { loadClipWeights } from '../../engine/clip/load-weights.js';
import { readSafetensors, writeSafetensors } from '../../engine/clip/safetensors.js';
import type { ClipWeights } from '../../engine/clip/weights.js';
import { inMemoryPromptFile, type UnsavedPrompts } from '../../engine/defenses/prompt-tuning-eval.js';
import { VetbenchError } from '../../engine/errors.js';
import { promptFileClassifier } from '../../engine/prompts/prompt-classifier.js';
import { loadPromptFile, savePromptFile } from '../../engine/prompts/prompt-file.js';
import type { HostTensor } from '../../engine/tensor/host-tensor.js';
import { Rng } from '../../engine/util/rng.js';
import { FIXTURE_DIR } from '../helpers/compare.js';
import { fixtureArray } from '../helpers/fixture.js';

const CLASSES = ['cat', 'dog', 'car'];
let weights: ClipWeights;
let encoder: ClipEncoder;
let dir: string;

function randomTensor(shape: number[], seed: number): HostTensor {
  const rng = new Rng(seed);
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = 0.05 * rng.normal();
  return { data, shape };
}

function visualPrompts(depth = 1, length = 3): UnsavedPrompts {
  const { layers, width } = weights.config.vision;
  return {
    kind: 'visual-deep',
    depth,
    modelFingerprint: weights.source.fingerprint,
    classNames: CLASSES,
    templates: ['a photo of a {}.'],
    method: { id: 'rvpt', params: { depth, promptLength: length, alpha: 2 }, seed: 7 },
    tensors: { prompts: randomTensor([layers - depth, length, width], 11) },
  };
}

async function refusal(promise: Promise<unknown>): Promise<VetbenchError> {
  const e = await promise.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(VetbenchError);
  return e as VetbenchError;
}

beforeAll(async () => {
  weights = await loadClipWeights(`${FIXTURE_DIR}model.safetensors`);
  encoder = await createEncoder(weights);
  dir = mkdtempSync(join(tmpdir(), 'vetbench-prompt-file-'));
});
afterAll(async () => {
  await encoder.dispose();
});

describe('hardened prompt file (METHODS 6)', () => {
  it('round trip keeps tensors, header, metrics and hashes; classification equals the in-memory prompts', async () => {
    const path = join(dir, 'ok.safetensors');
    const file = visualPrompts();
    const saved = await savePromptFile(path, { ...file, metrics: { ca: 91.5, asr: 1.25, der: 0.97 } });
    const loaded = await loadPromptFile(path, {
      modelFingerprint: weights.source.fingerprint,
      config: weights.config,
    });
    expect(loaded.header).toEqual(saved);
    expect(loaded.header.metrics).toEqual({ ca: 91.5, asr: 1.25, der: 0.97 });
    expect(loaded.header.method).toEqual(file.method);
    expect(loaded.header.depth).toBe(1);
    expect(loaded.tensors.prompts!.shape).toEqual(file.tensors.prompts!.shape);
    expect(Array.from(loaded.tensors.prompts!.data)).toEqual(Array.from(file.tensors.prompts!.data));
    expect(loaded.fileSha256).toMatch(/^[0-9a-f]{64}$/);
    // What `defend` measured in memory is what `eval --prompts` measures from the file.
    const pixels = await fixtureArray('pixels');
    const fromFile = await promptFileClassifier(encoder, loaded, CLASSES).logits(pixels);
    const inMemory = await promptFileClassifier(encoder, inMemoryPromptFile(file), CLASSES).logits(pixels);
    expect(Array.from(fromFile.data)).toEqual(Array.from(inMemory.data));
    // and the prompts matter: without them the logits differ
    const plain = await encoder.encode({ pixels, outputs: ['image_embeds'] });
    const prompted = await encoder.encode({
      pixels,
      prompts: { depth: 1, tensors: file.tensors.prompts! },
      outputs: ['image_embeds'],
    });
    expect(Array.from(plain.image_embeds!.data)).not.toEqual(Array.from(prompted.image_embeds!.data));
  });

  it('refuses a tampered payload', async () => {
    const path = join(dir, 'tampered.safetensors');
    await savePromptFile(path, { ...visualPrompts(), metrics: {} });
    const bytes = readFileSync(path);
    bytes[bytes.length - 4] = bytes[bytes.length - 4]! ^ 1; // lowest mantissa bit of the last float: still finite
    writeFileSync(path, bytes);
    expect((await refusal(loadPromptFile(path))).code).toBe('prompt-file-tampered');
  });

  it('refuses a file made for another model unless forced, and warns when forced', async () => {
    const path = join(dir, 'other.safetensors');
    await savePromptFile(path, { ...visualPrompts(), modelFingerprint: 'a'.repeat(64), metrics: {} });
    const e = await refusal(loadPromptFile(path, { modelFingerprint: weights.source.fingerprint }));
    expect(e.code).toBe('prompt-file-model-mismatch');
    expect(e.hint).toMatch(/--force/);
    const warnings: string[] = [];
    const forced = await loadPromptFile(path, {
      modelFingerprint: weights.source.fingerprint,
      force: true,
      warn: (m) => warnings.push(m),
    });
    expect(forced.header.kind).toBe('visual-deep');
    expect(warnings.join('\n')).toMatch(/applied anyway because of --force/);
  });

  it('refuses a safetensors file without the prompt header', async () => {
    const path = join(dir, 'plain.safetensors');
    await writeSafetensors(path, [
      { name: 'prompts', shape: [3, 3, 64], data: new Float32Array(3 * 3 * 64) },
    ]);
    const e = await refusal(loadPromptFile(path));
    expect(e.code).toBe('prompt-file-invalid');
    expect(e.message).toMatch(/not a Vetbench prompt file/);
  });

  it('refuses prompts of the wrong shape for the model, and of the wrong rank', async () => {
    const { layers, width } = weights.config.vision;
    const wide = join(dir, 'wide.safetensors');
    await savePromptFile(wide, {
      ...visualPrompts(),
      tensors: { prompts: randomTensor([layers - 1, 3, width + 8], 2) },
      metrics: {},
    });
    const e = await refusal(loadPromptFile(wide, { config: weights.config }));
    expect(e.code).toBe('prompt-file-shape');
    expect(e.message).toMatch(new RegExp(`${width + 8} wide`));
    const deep = join(dir, 'deep.safetensors');
    await savePromptFile(deep, {
      ...visualPrompts(),
      tensors: { prompts: randomTensor([layers, 3, width], 2) },
      metrics: {},
    });
    expect((await refusal(loadPromptFile(deep, { config: weights.config }))).message).toMatch(
      /cover blocks 1\.\./,
    );
    const flat = join(dir, 'flat.safetensors');
    const r = await refusal(
      savePromptFile(flat, {
        ...visualPrompts(),
        tensors: { prompts: randomTensor([3, width], 2) },
        metrics: {},
      }),
    );
    expect(r.message).toMatch(/expected rank 3/);
  });

  it('refuses NaN prompts when saving and when loading', async () => {
    const bad = visualPrompts();
    bad.tensors.prompts!.data[5] = NaN;
    const path = join(dir, 'nan.safetensors');
    expect((await refusal(savePromptFile(path, { ...bad, metrics: {} }))).message).toMatch(/NaN/);
    // A file written behind the saver's back (valid header, NaN payload) is refused on load.
    const good = join(dir, 'good.safetensors');
    await savePromptFile(good, { ...visualPrompts(), metrics: {} });
    const bytes = readFileSync(good);
    bytes.writeFloatLE(NaN, bytes.length - 4);
    writeFileSync(path, bytes);
    expect((await refusal(loadPromptFile(path))).message).toMatch(/NaN or infinite/);
  });

  it('refuses a prompt file whose classes are not the dataset’s', async () => {
    const path = join(dir, 'classes.safetensors');
    await savePromptFile(path, { ...visualPrompts(), metrics: {} });
    const loaded = await loadPromptFile(path);
    expect(() => promptFileClassifier(encoder, loaded, ['cat', 'car', 'dog'])).toThrow(/different order/);
  });

  /** Rewrites a saved prompt file with its header passed through `edit` (tensors unchanged). */
  async function editHeader(
    from: string,
    to: string,
    edit: (h: Record<string, unknown>) => void,
  ): Promise<void> {
    const file = await readSafetensors(from);
    const header = JSON.parse(file.metadata.vetbench_prompts!) as Record<string, unknown>;
    edit(header);
    await writeSafetensors(
      to,
      file.tensors.map((t) => ({ name: t.name, shape: t.shape, data: t.data })),
      { ...file.metadata, vetbench_prompts: JSON.stringify(header) },
    );
  }

  it('seals the whole header: an edited template, metric or method is refused naming what changed', async () => {
    const path = join(dir, 'sealed.safetensors');
    const saved = await savePromptFile(path, { ...visualPrompts(), metrics: { ca: 88.9, asr: 2 } });
    expect(saved.formatVersion).toBe(2);
    expect(saved.contentSha256).toMatch(/^[0-9a-f]{64}$/);
    const edits: [string, (h: Record<string, unknown>) => void, RegExp][] = [
      ['template', (h) => (h.templates = ['a blurry photo of a {}.']), /'templates' changed/],
      ['metrics', (h) => (h.metrics = { ca: 99.9, asr: 0 }), /'metrics' changed/],
      ['method', (h) => ((h.method as { seed: number }).seed = 8), /'method' changed/],
      ['tool', (h) => (h.tool = 'vetbench 9.9.9'), /'tool' changed/],
      ['seal', (h) => (h.contentSha256 = 'f'.repeat(64)), /header seal was edited/],
      [
        'reordered keys only',
        (h) => {
          const copy = { ...h };
          for (const k of Object.keys(h)) delete h[k];
          Object.assign(h, Object.fromEntries(Object.entries(copy).reverse()));
        },
        /^$/,
      ],
    ];
    for (const [name, edit, expected] of edits) {
      const edited = join(dir, `edited-${name.replace(/ /g, '-')}.safetensors`);
      await editHeader(path, edited, edit);
      if (expected.source === '^$') {
        // Canonical JSON: the same header in another key order is the same content.
        expect((await loadPromptFile(edited)).header.templates).toEqual(['a photo of a {}.']);
        continue;
      }
      const e = await refusal(loadPromptFile(edited));
      expect(e.code, name).toBe('prompt-file-tampered');
      expect(e.message, name).toMatch(expected);
      expect(e.message, name).toContain(edited);
    }
  });

  it('validates every header field, in files of version 1 too (which load with a warning)', async () => {
    const path = join(dir, 'fields.safetensors');
    await savePromptFile(path, { ...visualPrompts(), metrics: { ca: 88.9 } });
    // A version 1 file: the same header without the header seal.
    const v1 = join(dir, 'v1.safetensors');
    await editHeader(path, v1, (h) => {
      h.formatVersion = 1;
      delete h.fieldSha256;
      delete h.contentSha256;
    });
    const warnings: string[] = [];
    const old = await loadPromptFile(v1, { warn: (m) => warnings.push(m) });
    expect(old.header.formatVersion).toBe(1);
    expect(warnings.join('\n')).toMatch(/version 1 prompt file: only its tensors are sealed/);
    const bad: [string, (h: Record<string, unknown>) => void, RegExp][] = [
      ['no slot', (h) => (h.templates = ['a photo of a [}.']), /class slot '\{\}'/],
      ['long template', (h) => (h.templates = [`${'x'.repeat(25_000)} {}`]), /at most 300 characters/],
      ['no templates', (h) => (h.templates = []), /templates are not a list/],
      ['empty class', (h) => (h.classNames = ['cat', '', 'car']), /class name '' is empty/],
      ['forged rate', (h) => (h.metrics = { ca: 250 }), /not a percentage/],
      ['metric text', (h) => (h.metrics = { ca: 'high' }), /not a finite number/],
      ['method', (h) => (h.method = { id: 'evil', params: {}, seed: 1 }), /does not write prompt files/],
      ['kind', (h) => (h.kind = 'visual-shallow'), /unknown kind/],
      ['extra field', (h) => (h.payload = 'x'), /unknown field/],
      ['created', (h) => (h.createdAt = 'yesterday'), /not a date/],
      ['depth', (h) => (h.depth = 1e9), /not a block index/],
    ];
    for (const [name, edit, expected] of bad) {
      const edited = join(dir, `v1-${name.replace(/ /g, '-')}.safetensors`);
      await editHeader(v1, edited, edit);
      const e = await refusal(loadPromptFile(edited));
      expect(e.code, name).toBe('prompt-file-invalid');
      expect(e.message, name).toMatch(expected);
    }
    // The saver refuses what the loader would.
    const r = await refusal(
      savePromptFile(join(dir, 'never.safetensors'), {
        ...visualPrompts(),
        templates: ['no slot'],
        metrics: {},
      }),
    );
    expect(r.message).toMatch(/class slot/);
  });

  it('bounds prompt length before reading tensor data, and text context by the model', async () => {
    const { layers } = weights.config.vision;
    const long = join(dir, 'long.safetensors');
    const tensors = { prompts: randomTensor([layers - 1, 8192, 4], 3) };
    await expect(savePromptFile(long, { ...visualPrompts(), tensors, metrics: {} })).rejects.toThrow(
      /8192 prompt tokens per block, more than the 512 allowed/,
    );
    // Written behind the saver's back under a valid header: refused from the declared shape.
    const valid = join(dir, 'valid.safetensors');
    await savePromptFile(valid, { ...visualPrompts(), metrics: {} });
    const { metadata } = await readSafetensors(valid);
    await writeSafetensors(long, [{ name: 'prompts', ...tensors.prompts }], metadata);
    expect((await refusal(loadPromptFile(long))).message).toMatch(/8192 prompt tokens per block/);
    const text = join(dir, 'text.safetensors');
    const M = weights.config.text.contextLength;
    await savePromptFile(text, {
      kind: 'text-context',
      modelFingerprint: weights.source.fingerprint,
      classNames: CLASSES,
      templates: ['{}'],
      method: { id: 'coop', params: {}, seed: 1 },
      tensors: { context: randomTensor([M, weights.config.text.width], 4) },
      metrics: {},
    });
    const e = await refusal(loadPromptFile(text, { config: weights.config }));
    expect(e.code).toBe('prompt-file-shape');
    expect(e.message).toMatch(new RegExp(`${M} context tokens do not fit`));
  });
});
