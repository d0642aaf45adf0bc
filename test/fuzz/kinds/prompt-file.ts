import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import {
  loadPromptFile,
  savePromptFile,
  type NewPromptFile,
  type PromptFile,
} from '../../../engine/prompts/prompt-file.js';
import type { HostTensor } from '../../../engine/tensor/host-tensor.js';
import { Rng } from '../../../engine/util/rng.js';
import type { FuzzKind } from '../harness/fuzz-kind.js';
import { BYTE_MUTATIONS } from '../harness/mutate.js';
import { sameBytes } from '../harness/run-fuzz.js';
import { joinSafetensors, SAFETENSORS_MUTATIONS } from '../harness/safetensors-edit.js';
import { TINY_CONFIG } from './weights.js';

const FINGERPRINT = 'ab'.repeat(32);
const CLASSES = ['cat', 'dog', 'car'];

function tensor(shape: number[], seed: number): HostTensor {
  const rng = new Rng(seed);
  return {
    data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => 0.02 * rng.normal()),
    shape,
  };
}

const W = TINY_CONFIG.text.width;
const PROMPTS: Record<string, Omit<NewPromptFile, 'metrics'>> = {
  'visual-deep': {
    kind: 'visual-deep',
    depth: 0,
    modelFingerprint: FINGERPRINT,
    classNames: CLASSES,
    templates: ['a photo of a {}.'],
    method: { id: 'rvpt', params: { depth: 0, promptLength: 2, alpha: 2 }, seed: 7 },
    tensors: { prompts: tensor([TINY_CONFIG.vision.layers, 2, TINY_CONFIG.vision.width], 1) },
  },
  'text-context': {
    kind: 'text-context',
    modelFingerprint: FINGERPRINT,
    classNames: CLASSES,
    templates: ['{}'],
    method: { id: 'coop', params: {}, seed: 1 },
    tensors: { context: tensor([3, W], 2) },
  },
  'class-wise': {
    kind: 'class-wise',
    modelFingerprint: FINGERPRINT,
    classNames: CLASSES,
    templates: ['a photo of a {}.'],
    method: { id: 'cbpt', params: { contextLength: 2 }, seed: 3 },
    tensors: { context: tensor([3, 2, W], 3) },
  },
  cocoop: {
    kind: 'cocoop',
    modelFingerprint: FINGERPRINT,
    classNames: CLASSES,
    templates: ['X X {}.'],
    method: { id: 'badclip-prompt', params: { epsilon: 4 }, seed: 4 },
    tensors: {
      context: tensor([2, W], 4),
      'meta.linear1.weight': tensor([4, TINY_CONFIG.embedDim], 5),
      'meta.linear1.bias': tensor([4], 6),
      'meta.linear2.weight': tensor([W, 4], 7),
      'meta.linear2.bias': tensor([W], 8),
    },
  },
};

/** A valid file's header and tensors with one header field replaced (the seal then no longer matches). */
function withHeader(bytes: Uint8Array, edit: (h: Record<string, unknown>) => void): Uint8Array {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))) as Record<
    string,
    Record<string, string>
  >;
  const inner = JSON.parse(header.__metadata__!.vetbench_prompts!) as Record<string, unknown>;
  edit(inner);
  header.__metadata__!.vetbench_prompts = JSON.stringify(inner);
  return joinSafetensors(header, bytes.subarray(8 + length));
}

/**
 * Prompt files, loaded as `eval --prompts` loads them (against the model's config). Prompt files are sealed
 * whole (header and tensors), so an accepted mutant must be the seed itself: same header, same tensor bits.
 */
export const promptFileKind: FuzzKind<PromptFile> = {
  id: 'prompt-file',
  fileName: 'prompts.safetensors',
  async seeds(dir) {
    const seeds = [];
    for (const [name, file] of Object.entries(PROMPTS)) {
      const path = join(dir, `${name}.safetensors`);
      await savePromptFile(path, {
        ...file,
        metrics: { ca: 88.9, asr: 1.5 },
        createdAt: '2026-01-01T00:00:00.000Z',
      });
      seeds.push({ name, bytes: readFileSync(path) });
    }
    return seeds;
  },
  crafted(seeds) {
    const visual = seeds[0]!.bytes;
    const edits: [string, (h: Record<string, unknown>) => void][] = [
      ['template without slot', (h) => (h.templates = ['a photo of a [}.'])],
      ['25k template', (h) => (h.templates = [`${'x'.repeat(25_000)} {}`])],
      ['forged metrics', (h) => (h.metrics = { ca: 99, asr: 0 })],
      ['zero-length prompts', (h) => (h.templates = [])],
      ['other tool', (h) => (h.tool = 'evil 1.0')],
      ['unknown method', (h) => (h.method = { id: 'x', params: {}, seed: 1 })],
      ['unknown kind', (h) => (h.kind = 'shallow')],
      ['depth 1e9', (h) => (h.depth = 1e9)],
      ['classes not text', (h) => (h.classNames = [1, 2])],
      [
        'no seal',
        (h) => {
          delete h.contentSha256;
        },
      ],
      ['future version', (h) => (h.formatVersion = 99)],
      ['version 0', (h) => (h.formatVersion = 0)],
    ];
    const cases = edits.map(([name, edit]) => ({
      name,
      bytes: withHeader(visual, edit),
      expect: 'refuse' as const,
    }));
    // 8,192 prompt tokens under a valid header, and a text context longer than the model's.
    const length = Number(new DataView(visual.buffer, visual.byteOffset).getBigUint64(0, true));
    const meta = (
      JSON.parse(new TextDecoder().decode(visual.subarray(8, 8 + length))) as Record<string, unknown>
    ).__metadata__;
    const big = TINY_CONFIG.vision.layers * 8192 * TINY_CONFIG.vision.width * 4;
    cases.push({
      name: '8192 prompt tokens',
      bytes: joinSafetensors(
        {
          __metadata__: meta,
          prompts: {
            dtype: 'F32',
            shape: [TINY_CONFIG.vision.layers, 8192, TINY_CONFIG.vision.width],
            data_offsets: [0, big],
          },
        },
        new Uint8Array(big),
      ),
      expect: 'refuse',
    });
    const textSeed = seeds[1]!.bytes;
    const textLength = Number(new DataView(textSeed.buffer, textSeed.byteOffset).getBigUint64(0, true));
    const textMeta = (
      JSON.parse(new TextDecoder().decode(textSeed.subarray(8, 8 + textLength))) as Record<string, unknown>
    ).__metadata__;
    const long = 64 * W * 4;
    cases.push({
      name: 'context longer than the model',
      bytes: joinSafetensors(
        { __metadata__: textMeta, context: { dtype: 'F32', shape: [64, W], data_offsets: [0, long] } },
        new Uint8Array(long),
      ),
      expect: 'refuse',
    });
    return cases;
  },
  mutations: [...BYTE_MUTATIONS, ...SAFETENSORS_MUTATIONS, ...SAFETENSORS_MUTATIONS],
  load: (path) => loadPromptFile(path, { config: TINY_CONFIG, modelFingerprint: FINGERPRINT }),
  judge(file, _input, seed) {
    const reference = seed?.reference;
    if (!reference) return null;
    if (!isDeepStrictEqual(file.header, reference.header)) return 'the header differs from the sealed one';
    for (const [name, t] of Object.entries(reference.tensors)) {
      const got = file.tensors[name];
      if (!got || !sameBytes(got.shape, t.shape) || !sameBytes(got.data, t.data))
        return `tensor ${name} differs`;
    }
    if (Object.keys(file.tensors).length !== Object.keys(reference.tensors).length) return 'extra tensors';
    return null;
  },
};
