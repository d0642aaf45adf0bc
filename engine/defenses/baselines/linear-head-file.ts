import { readSafetensors, writeSafetensors, type SafetensorsFile } from '../../clip/safetensors.js';
import { VetbenchError } from '../../errors.js';
import type { ParamValues } from '../../methods/params.js';
import { vetbenchVersion } from '../../paths.js';
import { payloadSha256 } from '../../prompts/prompt-file.js';
import { hostTensor, type HostTensor } from '../../tensor/host-tensor.js';

/**
 * A linear head on a CLIP's image embedding (the linear-probe defense's product): a safetensors file with
 * `weight` [C, E] and `bias` [C], and one JSON header in the metadata: the fingerprint of the model whose
 * image tower it reads, the class names, the method with its parameters and seed, metrics at export time and
 * a SHA-256 of the tensors so corruption or tampering is caught. Logits = norm(E_I(x)) @ weight^T + bias.
 */
export const LINEAR_HEAD_FORMAT = 'vetbench-linear-head';
export const LINEAR_HEAD_VERSION = 1;
/** The head reads the L2-normalised image embedding, as CLIP's zero-shot head does. */
export const LINEAR_HEAD_FEATURES = 'l2-normalized-image-embedding';
const HEADER_KEY = 'vetbench_linear_head';

export interface LinearHeadHeader {
  readonly format: typeof LINEAR_HEAD_FORMAT;
  readonly formatVersion: number;
  readonly features: typeof LINEAR_HEAD_FEATURES;
  readonly modelFingerprint: string;
  readonly classNames: readonly string[];
  readonly method: { readonly id: string; readonly params: ParamValues; readonly seed: number };
  /** Metrics at export time (CA, ASR, ...), in percent where they are rates. */
  readonly metrics: Readonly<Record<string, number>>;
  readonly createdAt: string;
  readonly tool: string;
  readonly payloadSha256: string;
}

export interface LinearHead {
  /** [C, E] */
  readonly weight: HostTensor;
  /** [C] */
  readonly bias: HostTensor;
}

export interface LinearHeadFile extends LinearHead {
  readonly header: LinearHeadHeader;
  readonly path: string;
}

export interface NewLinearHead extends LinearHead {
  readonly modelFingerprint: string;
  readonly classNames: readonly string[];
  readonly method: LinearHeadHeader['method'];
  readonly metrics?: Readonly<Record<string, number>>;
  readonly createdAt?: string;
}

function invalid(path: string, problem: string): VetbenchError {
  return new VetbenchError(
    'linear-head-invalid',
    `${path}: ${problem}`,
    'Train the head again (vetbench defend linear-probe ... --out head.safetensors).',
  );
}

function checkShapes(path: string, head: LinearHead, classes: number): void {
  const { weight, bias } = head;
  if (weight.shape.length !== 2 || weight.shape[0] !== classes) {
    throw invalid(path, `weight has shape [${weight.shape.join(', ')}], expected [${classes}, E]`);
  }
  if (bias.shape.length !== 1 || bias.shape[0] !== classes) {
    throw invalid(path, `bias has shape [${bias.shape.join(', ')}], expected [${classes}]`);
  }
  for (const [name, t] of [
    ['weight', weight],
    ['bias', bias],
  ] as const) {
    for (const v of t.data)
      if (!Number.isFinite(v)) throw invalid(path, `${name} holds NaN or infinite values`);
  }
}

/** Writes the head atomically and returns its header. */
export async function saveLinearHead(path: string, head: NewLinearHead): Promise<LinearHeadHeader> {
  if (head.classNames.length === 0) throw invalid(path, 'a linear head needs class names');
  checkShapes(path, head, head.classNames.length);
  const tensors = { weight: head.weight, bias: head.bias };
  const header: LinearHeadHeader = {
    format: LINEAR_HEAD_FORMAT,
    formatVersion: LINEAR_HEAD_VERSION,
    features: LINEAR_HEAD_FEATURES,
    modelFingerprint: head.modelFingerprint,
    classNames: [...head.classNames],
    method: head.method,
    metrics: head.metrics ?? {},
    createdAt: head.createdAt ?? new Date().toISOString(),
    tool: `vetbench ${vetbenchVersion()}`,
    payloadSha256: payloadSha256(tensors),
  };
  await writeSafetensors(
    path,
    Object.entries(tensors).map(([name, t]) => ({ name, shape: [...t.shape], data: t.data })),
    { format: LINEAR_HEAD_FORMAT, [HEADER_KEY]: JSON.stringify(header) },
  );
  return header;
}

function parseHeader(path: string, meta: Readonly<Record<string, string>>): LinearHeadHeader {
  if (meta.format !== LINEAR_HEAD_FORMAT || meta[HEADER_KEY] === undefined) {
    throw new VetbenchError(
      'linear-head-invalid',
      `${path} is not a Vetbench linear head (no '${LINEAR_HEAD_FORMAT}' header in its metadata)`,
      'Pass a file written by `vetbench defend linear-probe`.',
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
  if (typeof h.formatVersion !== 'number' || !Number.isInteger(h.formatVersion) || h.formatVersion < 1) {
    throw invalid(path, `format version '${String(h.formatVersion)}' is not a positive integer`);
  }
  if (h.formatVersion > LINEAR_HEAD_VERSION) {
    throw new VetbenchError(
      'linear-head-version',
      `${path} has linear-head format version ${h.formatVersion}; this Vetbench reads version ${LINEAR_HEAD_VERSION}`,
      'Update Vetbench to read it.',
    );
  }
  if (h.features !== LINEAR_HEAD_FEATURES)
    throw invalid(path, `unknown feature space '${String(h.features)}'`);
  if (typeof h.modelFingerprint !== 'string' || !/^[0-9a-f]{64}$/.test(h.modelFingerprint)) {
    throw invalid(path, 'the model fingerprint is missing or not a SHA-256');
  }
  if (
    !Array.isArray(h.classNames) ||
    h.classNames.length === 0 ||
    !h.classNames.every((c) => typeof c === 'string')
  ) {
    throw invalid(path, 'it names no classes');
  }
  const method = h.method as Record<string, unknown> | undefined;
  if (!method || typeof method.id !== 'string' || typeof method.seed !== 'number') {
    throw invalid(path, 'the method (id, params, seed) is missing');
  }
  if (typeof h.payloadSha256 !== 'string') throw invalid(path, 'the payload hash is missing');
  return raw as LinearHeadHeader;
}

export interface LoadLinearHeadOptions {
  /** The model the head will be used with; a different fingerprint is refused unless `force`. */
  readonly modelFingerprint?: string;
  readonly force?: boolean;
  /** When given, the weight's width is checked against the model's embedding size. */
  readonly embedDim?: number;
  readonly warn?: (message: string) => void;
}

/** Reads and verifies a linear head; refuses one trained on another model's embedding unless forced. */
export async function loadLinearHead(
  path: string,
  options: LoadLinearHeadOptions = {},
): Promise<LinearHeadFile> {
  let file: SafetensorsFile;
  try {
    file = await readSafetensors(path);
  } catch (e) {
    if (e instanceof VetbenchError && e.code.startsWith('safetensors-')) {
      throw invalid(path, `not a readable linear head (${e.message})`);
    }
    throw e;
  }
  const header = parseHeader(path, file.metadata);
  const byName = new Map(file.tensors.map((t) => [t.name, hostTensor(t.data, t.shape)]));
  const weight = byName.get('weight');
  const bias = byName.get('bias');
  if (!weight || !bias) throw invalid(path, 'tensor weight or bias is missing');
  const head = { weight, bias };
  checkShapes(path, head, header.classNames.length);
  if (payloadSha256(head) !== header.payloadSha256) {
    throw new VetbenchError(
      'linear-head-tampered',
      `${path}: the tensors do not match the payload hash in the header (the file was modified or corrupted)`,
      'Do not use this file; train the head again.',
    );
  }
  if (options.embedDim !== undefined && weight.shape[1] !== options.embedDim) {
    throw new VetbenchError(
      'linear-head-shape',
      `${path}: the head reads ${weight.shape[1]}-d embeddings, this model embeds ${options.embedDim}`,
      'Use the model the head was trained for.',
    );
  }
  if (options.modelFingerprint !== undefined && options.modelFingerprint !== header.modelFingerprint) {
    const message = `${path} was trained on model ${header.modelFingerprint.slice(0, 12)}…, not this model (${options.modelFingerprint.slice(0, 12)}…)`;
    if (!options.force) {
      throw new VetbenchError(
        'linear-head-model-mismatch',
        message,
        'Use the model the head was trained on, or pass --force to apply it anyway (results may mean nothing).',
      );
    }
    options.warn?.(`${message}; applied anyway because of --force`);
  }
  return { header, weight, bias, path };
}

/** A head's rows are classes in order: refuse to apply it to a dataset whose classes differ. */
export function requireSameClasses(head: LinearHeadFile, classNames: readonly string[]): void {
  const ours = head.header.classNames;
  if (ours.length !== classNames.length || ours.some((c, i) => c !== classNames[i])) {
    throw new VetbenchError(
      'linear-head-classes',
      `${head.path} classifies ${ours.length} classes (${ours.slice(0, 5).join(', ')}${ours.length > 5 ? ', ...' : ''}); the dataset has ${classNames.length} (${classNames.slice(0, 5).join(', ')}${classNames.length > 5 ? ', ...' : ''})`,
      'Evaluate the head on the dataset it was trained for (same classes in the same order).',
    );
  }
}
