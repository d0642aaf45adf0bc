import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEncoder, type ClipEncoder } from '../../engine/clip/clip-encoder.js';
import { loadClipWeights } from '../../engine/clip/load-weights.js';
import { writeSafetensors } from '../../engine/clip/safetensors.js';
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
});
