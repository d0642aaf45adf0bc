import { VetbenchError } from '../../errors.js';
import type { ParamValues } from '../../methods/params.js';
import type { HostTensor } from '../../tensor/host-tensor.js';
import {
  readSealedFile,
  requireSealedModel,
  sealedInvalid,
  verifySealedPayload,
  writeSealedFile,
  type ModelMatchOptions,
  type SealedFileKind,
} from '../../util/sealed-file.js';

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
/** Linear heads are sealed files (engine/util/sealed-file.ts), as prompt files are. */
const LINEAR_HEAD_SEAL: SealedFileKind = {
  format: LINEAR_HEAD_FORMAT,
  headerKey: 'vetbench_linear_head',
  version: LINEAR_HEAD_VERSION,
  codePrefix: 'linear-head',
  noun: 'linear head',
  remakeHint: 'Train the head again (vetbench defend linear-probe ... --out head.safetensors).',
  wrongFileHint: 'Pass a file written by `vetbench defend linear-probe`.',
  mismatchHint: 'Use the model the head was trained on',
};

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
  return sealedInvalid(LINEAR_HEAD_SEAL, path, problem);
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
  return writeSealedFile<LinearHeadHeader>(
    path,
    LINEAR_HEAD_SEAL,
    { weight: head.weight, bias: head.bias },
    {
      features: LINEAR_HEAD_FEATURES,
      modelFingerprint: head.modelFingerprint,
      classNames: [...head.classNames],
      method: head.method,
      metrics: head.metrics ?? {},
      createdAt: head.createdAt,
    },
  );
}

export interface LoadLinearHeadOptions extends ModelMatchOptions {
  /** When given, the weight's width is checked against the model's embedding size. */
  readonly embedDim?: number;
}

/** Reads and verifies a linear head; refuses one trained on another model's embedding unless forced. */
export async function loadLinearHead(
  path: string,
  options: LoadLinearHeadOptions = {},
): Promise<LinearHeadFile> {
  const sealed = await readSealedFile(path, LINEAR_HEAD_SEAL);
  if (sealed.header.features !== LINEAR_HEAD_FEATURES) {
    throw invalid(path, `unknown feature space '${String(sealed.header.features)}'`);
  }
  const header = sealed.header as unknown as LinearHeadHeader;
  const { weight, bias } = sealed.tensors;
  if (!weight || !bias) throw invalid(path, 'tensor weight or bias is missing');
  const head = { weight, bias };
  checkShapes(path, head, header.classNames.length);
  verifySealedPayload(path, LINEAR_HEAD_SEAL, head, header.payloadSha256);
  if (options.embedDim !== undefined && weight.shape[1] !== options.embedDim) {
    throw new VetbenchError(
      'linear-head-shape',
      `${path}: the head reads ${weight.shape[1]}-d embeddings, this model embeds ${options.embedDim}`,
      'Use the model the head was trained for.',
    );
  }
  requireSealedModel(path, LINEAR_HEAD_SEAL, header.modelFingerprint, options);
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
