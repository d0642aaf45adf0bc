import { createHash } from 'node:crypto';
import { readSafetensors, writeSafetensors, type SafetensorsFile } from '../clip/safetensors.js';
import type { ClipConfig } from '../clip/config.js';
import { VetbenchError } from '../errors.js';
import type { ParamValues } from '../methods/params.js';
import { vetbenchVersion } from '../paths.js';
import { hostTensor, type HostTensor } from '../tensor/host-tensor.js';

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

const HEADER_KEY = 'vetbench_prompts';

/** Hash of the tensors independent of file layout: name, shape and little-endian float32 data, by name. */
export function payloadSha256(tensors: Readonly<Record<string, HostTensor>>): string {
  const hash = createHash('sha256');
  for (const name of Object.keys(tensors).sort()) {
    const t = tensors[name]!;
    hash.update(`${name}:${t.shape.join('x')};`);
    hash.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return hash.digest('hex');
}

/** Writes the file atomically and returns its header (with the payload hash). */
export async function savePromptFile(path: string, file: NewPromptFile): Promise<PromptFileHeader> {
  const { tensors, ...rest } = file;
  checkTensorsForKind(path, file.kind, tensors, file.depth);
  const header: PromptFileHeader = {
    format: PROMPT_FILE_FORMAT,
    formatVersion: PROMPT_FILE_VERSION,
    ...rest,
    createdAt: file.createdAt ?? new Date().toISOString(),
    tool: `vetbench ${vetbenchVersion()}`,
    payloadSha256: payloadSha256(tensors),
  };
  await writeSafetensors(
    path,
    Object.entries(tensors).map(([name, t]) => ({ name, shape: [...t.shape], data: t.data })),
    { format: PROMPT_FILE_FORMAT, [HEADER_KEY]: JSON.stringify(header) },
  );
  return header;
}

export interface LoadPromptFileOptions {
  /** The model the prompts will be used with; a different fingerprint is refused unless `force`. */
  readonly modelFingerprint?: string;
  readonly force?: boolean;
  /** When given, tensor shapes are checked against this architecture. */
  readonly config?: ClipConfig;
  /** Called with a warning when a mismatch was overridden by `force`. */
  readonly warn?: (message: string) => void;
}

function invalid(path: string, problem: string): VetbenchError {
  return new VetbenchError(
    'prompt-file-invalid',
    `${path}: ${problem}`,
    'Export the prompt file again from the run that made it (vetbench defend ... --out file).',
  );
}

function parseHeader(path: string, meta: Readonly<Record<string, string>>): PromptFileHeader {
  if (meta.format !== PROMPT_FILE_FORMAT || meta[HEADER_KEY] === undefined) {
    throw new VetbenchError(
      'prompt-file-invalid',
      `${path} is not a Vetbench prompt file (no '${PROMPT_FILE_FORMAT}' header in its metadata)`,
      'Pass a prompt file written by `vetbench defend` or `vetbench attack badclip-prompt`.',
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(meta[HEADER_KEY]);
  } catch {
    throw invalid(path, 'its header is not valid JSON');
  }
  if (raw === null || typeof raw !== 'object') throw invalid(path, 'its header is not a JSON object');
  const h = raw as Record<string, unknown>;
  const version = h.formatVersion;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw invalid(path, `format version '${String(version)}' is not a positive integer`);
  }
  if (version > PROMPT_FILE_VERSION) {
    throw new VetbenchError(
      'prompt-file-version',
      `${path} has prompt format version ${version}; this Vetbench reads version ${PROMPT_FILE_VERSION}`,
      'Update Vetbench to read it.',
    );
  }
  if (typeof h.kind !== 'string' || !(PROMPT_KINDS as readonly string[]).includes(h.kind)) {
    throw invalid(path, `unknown kind '${String(h.kind)}' (known: ${PROMPT_KINDS.join(', ')})`);
  }
  const isStringArray = (v: unknown): v is string[] =>
    Array.isArray(v) && v.every((s) => typeof s === 'string');
  if (typeof h.modelFingerprint !== 'string' || !/^[0-9a-f]{64}$/.test(h.modelFingerprint)) {
    throw invalid(path, 'the model fingerprint is missing or not a SHA-256');
  }
  if (!isStringArray(h.classNames) || h.classNames.length === 0) throw invalid(path, 'it names no classes');
  if (!isStringArray(h.templates)) throw invalid(path, 'its templates are not a list of text');
  if (typeof h.payloadSha256 !== 'string') throw invalid(path, 'the payload hash is missing');
  const method = h.method as Record<string, unknown> | undefined;
  if (!method || typeof method.id !== 'string' || typeof method.seed !== 'number') {
    throw invalid(path, 'the method (id, params, seed) is missing');
  }
  if (h.depth !== undefined && (typeof h.depth !== 'number' || !Number.isInteger(h.depth) || h.depth < 0)) {
    throw invalid(path, `depth '${String(h.depth)}' is not a block index`);
  }
  return raw as PromptFileHeader;
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
  let file: SafetensorsFile;
  try {
    file = await readSafetensors(path, { sha256: true });
  } catch (e) {
    if (e instanceof VetbenchError && e.code.startsWith('safetensors-')) {
      throw invalid(path, `not a readable prompt file (${e.message})`);
    }
    throw e;
  }
  const header = parseHeader(path, file.metadata);
  const tensors: Record<string, HostTensor> = {};
  for (const t of file.tensors) tensors[t.name] = hostTensor(t.data, t.shape);
  checkTensorsForKind(path, header.kind, tensors, header.depth);
  if (payloadSha256(tensors) !== header.payloadSha256) {
    throw new VetbenchError(
      'prompt-file-tampered',
      `${path}: the tensors do not match the payload hash in the header (the file was modified or corrupted)`,
      'Do not use this file; export it again from the run that made it.',
    );
  }
  if (options.modelFingerprint !== undefined && options.modelFingerprint !== header.modelFingerprint) {
    const message = `${path} was trained for model ${header.modelFingerprint.slice(0, 12)}…, not this model (${options.modelFingerprint.slice(0, 12)}…)`;
    if (!options.force) {
      throw new VetbenchError(
        'prompt-file-model-mismatch',
        message,
        'Use the model the prompts were made for, or pass --force to apply them anyway (results may mean nothing).',
      );
    }
    options.warn?.(`${message}; applied anyway because of --force`);
  }
  const loaded = { header, tensors };
  if (options.config) checkAgainstConfig(path, loaded, options.config);
  return { ...loaded, fileSha256: file.sha256!, path };
}
