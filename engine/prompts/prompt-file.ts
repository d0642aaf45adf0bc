import type { ClipConfig } from '../clip/config.js';
import { VetbenchError } from '../errors.js';
import type { ParamValues } from '../methods/params.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import {
  payloadSha256,
  readSealedFile,
  requireSealedModel,
  sealedInvalid,
  verifySealedPayload,
  writeSealedFile,
  type ModelMatchOptions,
  type SealedFileKind,
} from '../util/sealed-file.js';

/**
 * The hardened (or malicious) prompt file (METHODS 6): a safetensors file whose tensors are the learned
 * prompts and whose metadata carries one JSON header: kind, the fingerprint of the model the prompts were
 * trained for, class names and templates, the method with every hyperparameter and its seed, the metrics at
 * export time, creation time, and a SHA-256 of the tensor payload so tampering or corruption is caught.
 *
 * Tensors by kind:
 * - `visual-deep` (VPT-deep, RVPT): `prompts` [L-D, b, W_vision], header.depth = D.
 * - `text-context` (CoOp, shared): `context` [M, W_text].
 * - `class-wise` (CBPT): `context` [C, M, W_text].
 * - `cocoop` (BadCLIP prompt attack): `context` [M, W_text] and the meta-net `meta.linear1.weight` [H, E],
 *   `meta.linear1.bias` [H], `meta.linear2.weight` [W_text, H], `meta.linear2.bias` [W_text].
 */
export const PROMPT_FILE_FORMAT = 'vetbench-prompts';
export const PROMPT_FILE_VERSION = 1;

export const PROMPT_KINDS = ['visual-deep', 'text-context', 'class-wise', 'cocoop'] as const;
export type PromptKind = (typeof PROMPT_KINDS)[number];

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
  'format' | 'formatVersion' | 'payloadSha256' | 'createdAt' | 'tool'
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
};

export { payloadSha256 };

/** Writes the file atomically and returns its header (with the payload hash). */
export async function savePromptFile(path: string, file: NewPromptFile): Promise<PromptFileHeader> {
  const { tensors, ...rest } = file;
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
  if (typeof h.kind !== 'string' || !(PROMPT_KINDS as readonly string[]).includes(h.kind)) {
    throw invalid(path, `unknown kind '${String(h.kind)}' (known: ${PROMPT_KINDS.join(', ')})`);
  }
  if (!Array.isArray(h.templates) || !h.templates.every((t) => typeof t === 'string')) {
    throw invalid(path, 'its templates are not a list of text');
  }
  if (h.depth !== undefined && (typeof h.depth !== 'number' || !Number.isInteger(h.depth) || h.depth < 0)) {
    throw invalid(path, `depth '${String(h.depth)}' is not a block index`);
  }
  return h as unknown as PromptFileHeader;
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
  const sealed = await readSealedFile(path, PROMPT_SEAL, { sha256: true });
  const header = checkPromptHeader(path, sealed.header);
  const { tensors } = sealed;
  checkTensorsForKind(path, header.kind, tensors, header.depth);
  verifySealedPayload(path, PROMPT_SEAL, tensors, header.payloadSha256);
  requireSealedModel(path, PROMPT_SEAL, header.modelFingerprint, options);
  const loaded = { header, tensors };
  if (options.config) checkAgainstConfig(path, loaded, options.config);
  return { ...loaded, fileSha256: sealed.file.sha256!, path };
}
