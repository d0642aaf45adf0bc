import { createHash } from 'node:crypto';
import {
  readSafetensors,
  readSafetensorsHeader,
  writeSafetensors,
  type SafetensorsEntry,
  type SafetensorsFile,
} from '../clip/safetensors.js';
import { VetbenchError } from '../errors.js';
import { vetbenchVersion } from '../paths.js';
import { hostTensor, type HostTensor } from '../tensor/host-tensor.js';
import { canonicalJson } from './canonical-json.js';

/**
 * A "sealed" Vetbench file: safetensors whose metadata carries one JSON provenance header (format version,
 * the fingerprint of the model it was made for, class names, the method with its parameters and seed, and a
 * SHA-256 of the tensor payload). Hardened prompt files and linear heads are both sealed files; this module
 * owns what they share: the payload hash, the header's common checks, tamper detection and the fingerprint
 * refusal, so both refuse bad input the same way.
 */
export interface SealedFileKind {
  /** `format` value in the safetensors metadata, e.g. `vetbench-prompts`. */
  readonly format: string;
  /** Metadata key of the JSON header. */
  readonly headerKey: string;
  /** Newest format version this Vetbench reads (and writes). */
  readonly version: number;
  /** Error code prefix: `<prefix>-invalid`, `-version`, `-tampered`, `-model-mismatch`. */
  readonly codePrefix: string;
  /** What the file is, for messages ("prompt file", "linear head"). */
  readonly noun: string;
  /** What to do about a broken file. */
  readonly remakeHint: string;
  /** What to pass instead of a file that is not of this kind. */
  readonly wrongFileHint: string;
  /** Hint when the model differs: which model to use. */
  readonly mismatchHint: string;
  /**
   * From this format version on, the whole header is sealed too (`fieldSha256`, `contentSha256`), not only
   * the tensors; absent: only the tensors are sealed.
   */
  readonly contentSealSince?: number;
}

export interface SealedMethod {
  readonly id: string;
  readonly seed: number;
}

/** The header fields every sealed file has (each kind adds its own). */
export interface SealedHeaderBase {
  readonly format: string;
  readonly formatVersion: number;
  readonly modelFingerprint: string;
  readonly classNames: readonly string[];
  readonly method: SealedMethod;
  readonly createdAt: string;
  readonly tool: string;
  readonly payloadSha256: string;
  /** SHA-256 of each other header field's canonical JSON (content-sealed versions): says what was edited. */
  readonly fieldSha256?: Readonly<Record<string, string>>;
  /** SHA-256 of the canonical JSON of the whole header but the seal fields; covers the tensors by their hash. */
  readonly contentSha256?: string;
}

/** Header fields the seal itself consists of (not hashed per field). */
const SEAL_FIELDS = new Set(['payloadSha256', 'fieldSha256', 'contentSha256']);

const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

/** Per-field digests and the whole-header digest of a header (its seal fields other than the payload hash aside). */
export function headerSeal(header: Readonly<Record<string, unknown>>): {
  readonly fieldSha256: Record<string, string>;
  readonly contentSha256: string;
} {
  const fieldSha256: Record<string, string> = {};
  for (const key of Object.keys(header).sort()) {
    if (!SEAL_FIELDS.has(key) && header[key] !== undefined)
      fieldSha256[key] = sha256Hex(canonicalJson(header[key]));
  }
  const content = Object.fromEntries(
    Object.entries(header).filter(([key]) => key !== 'fieldSha256' && key !== 'contentSha256'),
  );
  return { fieldSha256, contentSha256: sha256Hex(canonicalJson(content)) };
}

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

export function sealedInvalid(kind: SealedFileKind, path: string, problem: string): VetbenchError {
  return new VetbenchError(`${kind.codePrefix}-invalid`, `${path}: ${problem}`, kind.remakeHint);
}

/**
 * Completes the header (format, version, creation time, tool, payload hash) and writes the file atomically.
 * `fields` are the kind's own header fields; they come after the format fields, as in files already written.
 */
export async function writeSealedFile<H extends SealedHeaderBase>(
  path: string,
  kind: SealedFileKind,
  tensors: Readonly<Record<string, HostTensor>>,
  fields: Omit<H, 'format' | 'formatVersion' | 'createdAt' | 'tool' | 'payloadSha256'> & {
    readonly createdAt?: string | undefined;
  },
): Promise<H> {
  const base: Record<string, unknown> = {
    format: kind.format,
    formatVersion: kind.version,
    ...fields,
    createdAt: fields.createdAt ?? new Date().toISOString(),
    tool: `vetbench ${vetbenchVersion()}`,
    payloadSha256: payloadSha256(tensors),
  };
  // Round-trip through JSON so the seal is computed over exactly what a reader will parse.
  const parsed = JSON.parse(JSON.stringify(base)) as Record<string, unknown>;
  const sealsContent = kind.contentSealSince !== undefined && kind.version >= kind.contentSealSince;
  const header = (sealsContent ? { ...parsed, ...headerSeal(parsed) } : parsed) as unknown as H;
  await writeSafetensors(
    path,
    Object.entries(tensors).map(([name, t]) => ({ name, shape: [...t.shape], data: t.data })),
    { format: kind.format, [kind.headerKey]: JSON.stringify(header) },
  );
  return header;
}

export interface SealedFileContents {
  /** The header object, with the common fields checked; the kind checks its own. */
  readonly header: Record<string, unknown>;
  readonly tensors: Record<string, HostTensor>;
  readonly file: SafetensorsFile;
}

const isStringArray = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((s) => typeof s === 'string');

/** The common header fields of a sealed file's metadata, checked; the kind checks its own. */
function sealedHeader(
  path: string,
  kind: SealedFileKind,
  meta: Readonly<Record<string, string>>,
): Record<string, unknown> {
  const headerText = meta[kind.headerKey];
  if (meta.format !== kind.format || headerText === undefined) {
    throw new VetbenchError(
      `${kind.codePrefix}-invalid`,
      `${path} is not a Vetbench ${kind.noun} (no '${kind.format}' header in its metadata)`,
      kind.wrongFileHint,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(headerText);
  } catch {
    throw sealedInvalid(kind, path, 'its header is not valid JSON');
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw sealedInvalid(kind, path, 'its header is not a JSON object');
  }
  const h = raw as Record<string, unknown>;
  const version = h.formatVersion;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw sealedInvalid(kind, path, `format version '${String(version)}' is not a positive integer`);
  }
  if (version > kind.version) {
    throw new VetbenchError(
      `${kind.codePrefix}-version`,
      `${path} has ${kind.noun} format version ${version}; this Vetbench reads version ${kind.version}`,
      'Update Vetbench to read it.',
    );
  }
  if (typeof h.modelFingerprint !== 'string' || !/^[0-9a-f]{64}$/.test(h.modelFingerprint)) {
    throw sealedInvalid(kind, path, 'the model fingerprint is missing or not a SHA-256');
  }
  if (!isStringArray(h.classNames) || h.classNames.length === 0) {
    throw sealedInvalid(kind, path, 'it names no classes');
  }
  const method = h.method as Record<string, unknown> | undefined;
  if (!method || typeof method.id !== 'string' || typeof method.seed !== 'number') {
    throw sealedInvalid(kind, path, 'the method (id, params, seed) is missing');
  }
  if (typeof h.payloadSha256 !== 'string') throw sealedInvalid(kind, path, 'the payload hash is missing');
  return h;
}

export interface ReadSealedOptions {
  readonly sha256?: boolean;
  /**
   * Checks the header and the declared tensors (names, shapes) before any tensor data is read: the kind's
   * size limits hold before a byte of payload is allocated.
   */
  readonly checkDeclared?: (header: Record<string, unknown>, entries: readonly SafetensorsEntry[]) => void;
}

/** Reads the file and checks the common header fields (not yet the payload hash: see `verifySealedPayload`). */
export async function readSealedFile(
  path: string,
  kind: SealedFileKind,
  options: ReadSealedOptions = {},
): Promise<SealedFileContents> {
  const unreadable = (e: unknown): unknown =>
    e instanceof VetbenchError && e.code.startsWith('safetensors-')
      ? sealedInvalid(kind, path, `not a readable ${kind.noun} (${e.message})`)
      : e;
  if (options.checkDeclared) {
    let declared;
    try {
      declared = await readSafetensorsHeader(path);
    } catch (e) {
      throw unreadable(e);
    }
    options.checkDeclared(sealedHeader(path, kind, declared.metadata), declared.entries);
  }
  let file: SafetensorsFile;
  try {
    file = await readSafetensors(path, { sha256: options.sha256 === true });
  } catch (e) {
    throw unreadable(e);
  }
  const h = sealedHeader(path, kind, file.metadata);
  const tensors: Record<string, HostTensor> = {};
  for (const t of file.tensors) tensors[t.name] = hostTensor(t.data, t.shape);
  return { header: h, tensors, file };
}

/**
 * Refuses a content-sealed header that was edited after export, naming the fields that changed (or the seal
 * itself when only it was touched). A SHA-256 is no signature: it catches edits and corruption, not a forger
 * who recomputes it, which is why reports cite the file's own SHA-256 as well.
 */
export function verifySealedContent(
  path: string,
  kind: SealedFileKind,
  header: Readonly<Record<string, unknown>>,
): void {
  const stored = header.fieldSha256;
  const storedContent = header.contentSha256;
  const isDigest = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
  if (
    stored === null ||
    typeof stored !== 'object' ||
    Array.isArray(stored) ||
    !Object.values(stored).every(isDigest) ||
    !isDigest(storedContent)
  ) {
    throw sealedInvalid(kind, path, 'its header seal (fieldSha256, contentSha256) is missing or malformed');
  }
  const storedFields = stored as Record<string, string>;
  const actual = headerSeal(header);
  const names = new Set([...Object.keys(storedFields), ...Object.keys(actual.fieldSha256)]);
  const changed = [...names].filter((name) => storedFields[name] !== actual.fieldSha256[name]).sort();
  if (changed.length === 0 && actual.contentSha256 === storedContent) return;
  const what =
    changed.length > 0
      ? `header field${changed.length === 1 ? '' : 's'} ${changed.map((n) => `'${n}'`).join(', ')} changed`
      : 'its header seal was edited';
  throw new VetbenchError(
    `${kind.codePrefix}-tampered`,
    `${path}: ${what} after export (the file was modified or corrupted)`,
    `Do not use this file; ${kind.remakeHint.charAt(0).toLowerCase()}${kind.remakeHint.slice(1)}`,
  );
}

/** Refuses tensors that do not hash to the header's payload hash (modified or corrupted file). */
export function verifySealedPayload(
  path: string,
  kind: SealedFileKind,
  tensors: Readonly<Record<string, HostTensor>>,
  expectedSha256: string,
): void {
  if (payloadSha256(tensors) !== expectedSha256) {
    throw new VetbenchError(
      `${kind.codePrefix}-tampered`,
      `${path}: the tensors do not match the payload hash in the header (the file was modified or corrupted)`,
      `Do not use this file; ${kind.remakeHint.charAt(0).toLowerCase()}${kind.remakeHint.slice(1)}`,
    );
  }
}

export interface ModelMatchOptions {
  /** The model the file will be used with; a different fingerprint is refused unless `force`. */
  readonly modelFingerprint?: string | undefined;
  readonly force?: boolean | undefined;
  /** Called with a warning when a mismatch was overridden by `force`. */
  readonly warn?: ((message: string) => void) | undefined;
}

/** Refuses a file made for another model unless forced (then warns). */
export function requireSealedModel(
  path: string,
  kind: SealedFileKind,
  madeFor: string,
  options: ModelMatchOptions,
): void {
  if (options.modelFingerprint === undefined || options.modelFingerprint === madeFor) return;
  const message = `${path} was trained for model ${madeFor.slice(0, 12)}…, not this model (${options.modelFingerprint.slice(0, 12)}…)`;
  if (!options.force) {
    throw new VetbenchError(
      `${kind.codePrefix}-model-mismatch`,
      message,
      `${kind.mismatchHint}, or pass --force to apply it anyway (results may mean nothing).`,
    );
  }
  options.warn?.(`${message}; applied anyway because of --force`);
}
