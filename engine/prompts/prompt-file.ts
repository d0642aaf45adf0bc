import type { ClipConfig } from '../clip/config.js';
import { VetbenchError } from '../errors.js';
import type { ParamValues } from '../methods/params.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import type { SafetensorsEntry } from '../clip/safetensors.js';
import {
  payloadSha256,
  readSealedFile,
  requireSealedModel,
  sealedInvalid,
  verifySealedContent,
  verifySealedPayload,
  writeSealedFile,
  type ModelMatchOptions,
  type SealedFileKind,
} from '../util/sealed-file.js';
import { PROMPT_KINDS, promptHeaderProblem, type PromptKind } from './prompt-header.js';

/**
 * The hardened (or malicious) prompt file (METHODS 6): a safetensors file whose tensors are the learned
 * prompts and whose metadata carries one JSON header: kind, the fingerprint of the model the prompts were
 * trained for, class names and templates, the method with every hyperparameter and its seed, the metrics at
 * export time, creation time, and a SHA-256 of the tensor payload so tampering or corruption is caught.
 *
 * Format version 2 seals the whole content: besides the payload hash, the header carries a SHA-256 of each of
 * its fields (canonical JSON) and one over the whole header, so an edited template, metric or method is
 * refused with the names of the fields that changed. Version 1 files (tensors sealed, header not) still load,
 * with a warning, after the same field checks; re-exporting them writes version 2.
 *
 * Tensors by kind:
 * - `visual-deep` (VPT-deep, RVPT): `prompts` [L-D, b, W_vision], header.depth = D.
 * - `text-context` (CoOp, shared): `context` [M, W_text].
 * - `class-wise` (CBPT): `context` [C, M, W_text].
 * - `cocoop` (BadCLIP prompt attack): `context` [M, W_text] and the meta-net `meta.linear1.weight` [H, E],
 *   `meta.linear1.bias` [H], `meta.linear2.weight` [W_text, H], `meta.linear2.bias` [W_text].
 */
export const PROMPT_FILE_FORMAT = 'vetbench-prompts';
export const PROMPT_FILE_VERSION = 2;
/** The first version whose header is sealed with the tensors. */
const CONTENT_SEALED_VERSION = 2;

export { PROMPT_KINDS, type PromptKind };

/**
 * Declared-size limits, checked on the header's tensor entries before any data is read: the prompts feed
 * attention, whose memory grows with the square of the sequence, so prompt length is bounded here and
 * against the model's context (text) when the model is known. 512 is the most RVPT's `promptLength` allows.
 */
export const PROMPT_TENSOR_LIMITS = {
  visualPromptTokens: 512,
  textContextTokens: 512,
  width: 8192,
  layers: 128,
  metaHidden: 8192,
} as const;

export interface PromptMethod {
  readonly id: string;
  readonly params: ParamValues;
  readonly seed: number;
}

export interface PromptFileHeader {
  readonly format: typeof PROMPT_FILE_FORMAT;
  readonly formatVersion: number;
  readonly kind: PromptKind;
  /** First prompted block (visual-deep only). */
  readonly depth?: number;
  readonly modelFingerprint: string;
  readonly classNames: readonly string[];
  readonly templates: readonly string[];
  readonly method: PromptMethod;
  /** Metrics at export time (CA, ASR, ...), in percent where they are rates. */
  readonly metrics: Readonly<Record<string, number>>;
  readonly createdAt: string;
  readonly tool: string;
  /** SHA-256 over the tensors (names, shapes and float32 bytes, in name order). */
  readonly payloadSha256: string;
  /** Version 2 on: SHA-256 of each other header field (canonical JSON). */
  readonly fieldSha256?: Readonly<Record<string, string>>;
  /** Version 2 on: SHA-256 of the whole header but this field (covers the tensors through payloadSha256). */
  readonly contentSha256?: string;
}

export interface PromptFile {
  readonly header: PromptFileHeader;
  readonly tensors: Readonly<Record<string, HostTensor>>;
  /** SHA-256 of the whole file as stored (what reports cite). */
  readonly fileSha256: string;
  readonly path: string;
}

export type NewPromptFile = Omit<
  PromptFileHeader,
  'format' | 'formatVersion' | 'payloadSha256' | 'createdAt' | 'tool' | 'fieldSha256' | 'contentSha256'
> & {
  readonly tensors: Readonly<Record<string, HostTensor>>;
  readonly createdAt?: string;
};

/** Prompt files are sealed files (engine/util/sealed-file.ts): provenance header, payload hash, fingerprint. */
const PROMPT_SEAL: SealedFileKind = {
  format: PROMPT_FILE_FORMAT,
  headerKey: 'vetbench_prompts',
  version: PROMPT_FILE_VERSION,
  codePrefix: 'prompt-file',
  noun: 'prompt file',
  remakeHint: 'Export the prompt file again from the run that made it (vetbench defend ... --out file).',
  wrongFileHint: 'Pass a prompt file written by `vetbench defend` or `vetbench attack badclip-prompt`.',
  mismatchHint: 'Use the model the prompts were made for',
  contentSealSince: CONTENT_SEALED_VERSION,
};

export { payloadSha256 };

/** Writes the file atomically and returns its header (with the payload hash). */
export async function savePromptFile(path: string, file: NewPromptFile): Promise<PromptFileHeader> {
  const { tensors, ...rest } = file;
  // Never write a file the loader would refuse.
  const problem = promptHeaderProblem(JSON.parse(JSON.stringify(rest)) as Record<string, unknown>, false);
  if (problem) throw invalid(path, problem);
  checkDeclaredTensors(
    path,
    file.kind,
    file.classNames.length,
    Object.entries(tensors).map(([name, t]) => ({ name, shape: t.shape })),
  );
  checkTensorsForKind(path, file.kind, tensors, file.depth);
  return writeSealedFile<PromptFileHeader>(path, PROMPT_SEAL, tensors, rest);
}

export interface LoadPromptFileOptions extends ModelMatchOptions {
  /** When given, tensor shapes are checked against this architecture. */
  readonly config?: ClipConfig;
}

function invalid(path: string, problem: string): VetbenchError {
  return sealedInvalid(PROMPT_SEAL, path, problem);
}

/** The prompt file's own header fields; the common ones were checked by `readSealedFile`. */
function checkPromptHeader(path: string, h: Record<string, unknown>): PromptFileHeader {
  const problem = promptHeaderProblem(h);
  if (problem) throw invalid(path, problem);
  return h as unknown as PromptFileHeader;
}

/** The tensors each kind holds, by name, with their rank. */
const TENSORS_OF_KIND: Readonly<Record<PromptKind, Readonly<Record<string, number>>>> = {
  'visual-deep': { prompts: 3 },
  'text-context': { context: 2 },
  'class-wise': { context: 3 },
  cocoop: {
    context: 2,
    'meta.linear1.weight': 2,
    'meta.linear1.bias': 1,
    'meta.linear2.weight': 2,
    'meta.linear2.bias': 1,
  },
};

/**
 * Names, ranks and sizes of the declared tensors, before their data is read: exactly the tensors of the kind,
 * prompt lengths and widths within `PROMPT_TENSOR_LIMITS`, one context set per class for class-wise files.
 */
function checkDeclaredTensors(
  path: string,
  kind: PromptKind,
  classCount: number,
  entries: readonly Pick<SafetensorsEntry, 'name' | 'shape'>[],
): void {
  const L = PROMPT_TENSOR_LIMITS;
  const expected = TENSORS_OF_KIND[kind];
  const names = entries.map((e) => e.name);
  const extra = names.filter((n) => !(n in expected));
  if (extra.length > 0) {
    throw invalid(
      path,
      `a ${kind} prompt file holds no tensor(s) ${extra.map((n) => `'${n.slice(0, 40)}'`).join(', ')}`,
    );
  }
  for (const [name, rank] of Object.entries(expected)) {
    const entry = entries.find((e) => e.name === name);
    if (!entry) throw invalid(path, `tensor '${name}' is missing`);
    const shape = entry.shape;
    if (shape.length !== rank) {
      throw invalid(path, `tensor '${name}' has shape [${shape.join(', ')}], expected rank ${rank}`);
    }
    if (shape.some((d) => d < 1))
      throw invalid(path, `tensor '${name}' has an empty dimension [${shape.join(', ')}]`);
    const tooBig = (what: string, value: number, max: number): void => {
      if (value > max)
        throw invalid(path, `tensor '${name}' declares ${value} ${what}, more than the ${max} allowed`);
    };
    if (name === 'prompts') {
      tooBig('prompted blocks', shape[0]!, L.layers);
      tooBig('prompt tokens per block', shape[1]!, L.visualPromptTokens);
      tooBig('channels', shape[2]!, L.width);
    } else if (name === 'context') {
      if (rank === 3) {
        if (shape[0] !== classCount) {
          throw invalid(path, `tensor 'context' holds ${shape[0]} context sets for ${classCount} classes`);
        }
      }
      tooBig('context tokens', shape[rank - 2]!, L.textContextTokens);
      tooBig('channels', shape[rank - 1]!, L.width);
    } else {
      for (const d of shape) tooBig('units', d, L.metaHidden);
    }
  }
  if (kind === 'cocoop') {
    const shapeOf = (name: string): readonly number[] => entries.find((e) => e.name === name)!.shape;
    const [, width] = shapeOf('context');
    const [hidden] = shapeOf('meta.linear1.weight');
    const chained =
      shapeOf('meta.linear1.bias')[0] === hidden &&
      shapeOf('meta.linear2.weight')[0] === width &&
      shapeOf('meta.linear2.weight')[1] === hidden &&
      shapeOf('meta.linear2.bias')[0] === width;
    if (!chained)
      throw invalid(path, 'the meta-net layers and the context do not chain (their shapes disagree)');
  }
}

function expectShape(path: string, name: string, t: HostTensor | undefined, rank: number): HostTensor {
  if (!t) throw invalid(path, `tensor '${name}' is missing`);
  if (t.shape.length !== rank)
    throw invalid(path, `tensor '${name}' has shape [${t.shape.join(', ')}], expected rank ${rank}`);
  return t;
}

function checkTensorsForKind(
  path: string,
  kind: PromptKind,
  tensors: Readonly<Record<string, HostTensor>>,
  depth: number | undefined,
): void {
  for (const [name, t] of Object.entries(tensors)) {
    for (const v of t.data) {
      if (!Number.isFinite(v)) throw invalid(path, `tensor '${name}' holds NaN or infinite values`);
    }
  }
  switch (kind) {
    case 'visual-deep':
      expectShape(path, 'prompts', tensors.prompts, 3);
      if (depth === undefined) throw invalid(path, 'a visual-deep prompt file needs its depth');
      break;
    case 'text-context':
      expectShape(path, 'context', tensors.context, 2);
      break;
    case 'class-wise':
      expectShape(path, 'context', tensors.context, 3);
      break;
    case 'cocoop':
      expectShape(path, 'context', tensors.context, 2);
      expectShape(path, 'meta.linear1.weight', tensors['meta.linear1.weight'], 2);
      expectShape(path, 'meta.linear1.bias', tensors['meta.linear1.bias'], 1);
      expectShape(path, 'meta.linear2.weight', tensors['meta.linear2.weight'], 2);
      expectShape(path, 'meta.linear2.bias', tensors['meta.linear2.bias'], 1);
      break;
  }
}

/** Shapes against the model: prompt width, prompted blocks, context width, class count, meta-net sizes. */
function checkAgainstConfig(
  path: string,
  file: Omit<PromptFile, 'fileSha256' | 'path'>,
  config: ClipConfig,
): void {
  const { header, tensors } = file;
  const wrong = (what: string): never => {
    throw new VetbenchError(
      'prompt-file-shape',
      `${path}: ${what}`,
      'The prompt file was trained for another architecture; use the model it was made for.',
    );
  };
  if (header.kind === 'visual-deep') {
    const [blocks, , width] = tensors.prompts!.shape as [number, number, number];
    const depth = header.depth!;
    if (width !== config.vision.width)
      wrong(`prompts are ${width} wide, the vision tower is ${config.vision.width}`);
    if (depth + blocks !== config.vision.layers) {
      wrong(
        `prompts cover blocks ${depth}..${depth + blocks - 1}, the vision tower has ${config.vision.layers} blocks`,
      );
    }
    return;
  }
  const context = tensors.context!;
  const width = context.shape[context.shape.length - 1];
  const contextTokens = context.shape[context.shape.length - 2]!;
  // Start and end tokens and at least one token of the class name must fit beside the learned context.
  const room = config.text.contextLength - 3;
  if (contextTokens > room) {
    wrong(
      `${contextTokens} context tokens do not fit the text tower's context of ${config.text.contextLength} tokens (at most ${room} leave room for the class name)`,
    );
  }
  if (width !== config.text.width)
    wrong(`context vectors are ${width} wide, the text tower is ${config.text.width}`);
  if (header.kind === 'class-wise' && context.shape[0] !== header.classNames.length) {
    wrong(`${context.shape[0]} context sets for ${header.classNames.length} classes`);
  }
  if (header.kind === 'cocoop') {
    const w1 = tensors['meta.linear1.weight']!.shape;
    const w2 = tensors['meta.linear2.weight']!.shape;
    if (w1[1] !== config.embedDim)
      wrong(`the meta-net reads ${w1[1]}-d features, the model embeds ${config.embedDim}`);
    if (w2[0] !== config.text.width || w2[1] !== w1[0]) wrong('the meta-net layers do not chain');
  }
}

/** Reads and verifies a prompt file; refuses one trained for another model unless forced. */
export async function loadPromptFile(path: string, options: LoadPromptFileOptions = {}): Promise<PromptFile> {
  // The header and the declared tensor sizes are checked before any tensor data is read.
  const checkHeader = (h: Record<string, unknown>): PromptFileHeader => {
    const version = h.formatVersion as number;
    if (version >= CONTENT_SEALED_VERSION) verifySealedContent(path, PROMPT_SEAL, h);
    return checkPromptHeader(path, h);
  };
  const sealed = await readSealedFile(path, PROMPT_SEAL, {
    sha256: true,
    checkDeclared: (h, entries) => {
      const declared = checkHeader(h);
      checkDeclaredTensors(path, declared.kind, declared.classNames.length, entries);
    },
  });
  const header = checkHeader(sealed.header);
  if (header.formatVersion < CONTENT_SEALED_VERSION) {
    options.warn?.(
      `${path} is a version ${header.formatVersion} prompt file: only its tensors are sealed, not its header (templates, metrics); export it again to seal it whole`,
    );
  }
  const { tensors } = sealed;
  checkDeclaredTensors(
    path,
    header.kind,
    header.classNames.length,
    sealed.file.tensors.map((t) => ({ name: t.name, shape: t.shape })),
  );
  checkTensorsForKind(path, header.kind, tensors, header.depth);
  verifySealedPayload(path, PROMPT_SEAL, tensors, header.payloadSha256);
  requireSealedModel(path, PROMPT_SEAL, header.modelFingerprint, options);
  const loaded = { header, tensors };
  if (options.config) checkAgainstConfig(path, loaded, options.config);
  return { ...loaded, fileSha256: sealed.file.sha256!, path };
}
