import {
  readSafetensors,
  readSafetensorsHeader,
  writeSafetensors,
  type SafetensorsFile,
  type SafetensorsHeader,
} from '../clip/safetensors.js';
import { createHash } from 'node:crypto';
import { VetbenchError } from '../errors.js';
import { canonicalJson } from '../util/canonical-json.js';
import { payloadSha256 } from '../util/sealed-file.js';
import { resolveParams, type ParamValues } from '../methods/params.js';
import { hostTensor, type HostTensor } from '../tensor/host-tensor.js';
import type { Trigger, TriggerFamily } from './trigger.js';

/**
 * A trigger saved with a run, so it is re-applied identically later: a safetensors file whose tensors are the
 * trigger's arrays (`tensors()`: Blended's noise, WaNet's grid, optimised patches) and whose metadata holds
 * everything else: format, format version, method, params (JSON), seed, resolution and text key. Loading
 * rebuilds the trigger through its family with the saved arrays as `restore`. Version 2 adds `contentSha256`
 * over the metadata and arrays, so an edited parameter or array is refused; version 1 files still load.
 */
export const TRIGGER_FILE_FORMAT = 'vetbench-trigger';
export const TRIGGER_FILE_VERSION = 2;
/** From version 2 a trigger file carries `contentSha256` over its metadata and arrays; version 1 files do not. */
const SEALED_TRIGGER_VERSION = 2;

/** SHA-256 over the canonical metadata (but this field) and the arrays (names, shapes, float32 bytes). */
function triggerContentSha256(
  metadata: Readonly<Record<string, string>>,
  tensors: Readonly<Record<string, HostTensor>>,
): string {
  const { contentSha256: _stored, ...rest } = metadata;
  return createHash('sha256')
    .update(canonicalJson({ metadata: rest, payload: payloadSha256(tensors) }))
    .digest('hex');
}

/**
 * The largest resolution a trigger file may declare: triggers live at the model's input resolution (224 or
 * 336 for CLIP), and the trigger's arrays grow with its square, so a file cannot ask for gigabytes.
 */
export const MAX_TRIGGER_RESOLUTION = 1024;
/** The most arrays a trigger saves (noise, grid, patch, delta: one each). */
const MAX_TRIGGER_TENSORS = 4;

const RECREATE_HINT = 'Create the trigger again (the run that made it can be repeated with the same seed).';

export async function saveTrigger(path: string, trigger: Trigger): Promise<void> {
  const tensors = Object.entries(trigger.tensors()).map(([name, t]) => ({
    name,
    shape: [...t.shape],
    data: t.data,
  }));
  const metadata: Record<string, string> = {
    format: TRIGGER_FILE_FORMAT,
    formatVersion: String(TRIGGER_FILE_VERSION),
    method: trigger.method,
    params: JSON.stringify(trigger.params),
    seed: String(trigger.seed),
    resolution: String(trigger.resolution),
    textKey: trigger.textKey,
  };
  metadata.contentSha256 = triggerContentSha256(metadata, trigger.tensors());
  await writeSafetensors(path, tensors, metadata);
}

export interface LoadTriggerOptions {
  /** The model's resolution: a trigger made for another one is refused. */
  readonly resolution?: number;
}

function corrupt(path: string, problem: string, hint = RECREATE_HINT): VetbenchError {
  return new VetbenchError('trigger-file-corrupt', `${path}: ${problem}`, hint);
}

function integerField(path: string, metadata: Readonly<Record<string, string>>, key: string): number {
  const raw = metadata[key];
  const value = raw !== undefined && /^-?\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value)) {
    throw corrupt(
      path,
      `the trigger's ${key} is ${raw === undefined ? 'missing' : `'${raw}', not an integer`}`,
    );
  }
  return value;
}

/** Reads a trigger file written by `saveTrigger`; `families` are the trigger families this build knows. */
export async function loadTrigger(
  path: string,
  families: readonly TriggerFamily[],
  options: LoadTriggerOptions = {},
): Promise<Trigger> {
  const unreadable = (e: unknown): unknown =>
    e instanceof VetbenchError && e.code.startsWith('safetensors-')
      ? corrupt(path, `not a readable trigger file (${e.message})`)
      : e;
  // Metadata and declared tensor sizes first: nothing is allocated from the file before they are checked.
  let declared: SafetensorsHeader;
  try {
    declared = await readSafetensorsHeader(path);
  } catch (e) {
    throw unreadable(e);
  }
  const checked = checkTriggerMetadata(path, declared.metadata, families, options);
  if (declared.entries.length > MAX_TRIGGER_TENSORS) {
    throw corrupt(
      path,
      `it declares ${declared.entries.length} arrays; a trigger saves at most ${MAX_TRIGGER_TENSORS}`,
    );
  }
  const most = 3 * checked.resolution * checked.resolution;
  for (const entry of declared.entries) {
    const count = entry.shape.reduce((a, b) => a * b, 1);
    if (count > most) {
      throw corrupt(
        path,
        `its array '${entry.name.slice(0, 40)}' declares ${count} values, more than a ${checked.resolution}x${checked.resolution} image holds`,
      );
    }
  }
  let file: SafetensorsFile;
  try {
    file = await readSafetensors(path);
  } catch (e) {
    throw unreadable(e);
  }
  const { family, params, seed, resolution } = checkTriggerMetadata(path, file.metadata, families, options);
  const meta = file.metadata;
  const restore: Record<string, HostTensor> = {};
  for (const t of file.tensors) restore[t.name] = hostTensor(t.data, t.shape);
  if (
    Number(meta.formatVersion) >= SEALED_TRIGGER_VERSION &&
    meta.contentSha256 !== triggerContentSha256(meta, restore)
  ) {
    throw new VetbenchError(
      'trigger-file-tampered',
      `${path}: its ${meta.contentSha256 === undefined ? 'content hash is missing' : 'parameters or arrays do not match its content hash'} (the file was modified or corrupted)`,
      `Do not use this file; ${RECREATE_HINT.charAt(0).toLowerCase()}${RECREATE_HINT.slice(1)}`,
    );
  }
  let trigger: Trigger;
  try {
    trigger = family.create({ params, seed, resolution, restore });
  } catch (e) {
    // The family names the damaged array; the message also names the file.
    if (e instanceof VetbenchError && e.code.startsWith('trigger-tensor')) {
      throw new VetbenchError(e.code, `${path}: ${e.message}`, e.hint);
    }
    throw e;
  }
  const textKey = meta.textKey ?? '';
  if (trigger.textKey !== textKey) {
    throw corrupt(
      path,
      `the saved text key '${textKey}' differs from the one its parameters give ('${trigger.textKey}')`,
    );
  }
  return trigger;
}

interface TriggerMetadata {
  readonly family: TriggerFamily;
  readonly method: string;
  readonly params: ParamValues;
  readonly seed: number;
  readonly resolution: number;
}

/** Format, version, method, parameters, seed and resolution of a trigger file's metadata, checked. */
function checkTriggerMetadata(
  path: string,
  meta: Readonly<Record<string, string>>,
  families: readonly TriggerFamily[],
  options: LoadTriggerOptions,
): TriggerMetadata {
  if (meta.format !== TRIGGER_FILE_FORMAT) {
    throw new VetbenchError(
      'trigger-file-invalid',
      `${path} is not a Vetbench trigger file (its metadata has no format '${TRIGGER_FILE_FORMAT}')`,
      'Pass the trigger.safetensors file saved with the run.',
    );
  }
  const version = integerField(path, meta, 'formatVersion');
  if (version > TRIGGER_FILE_VERSION || version < 1) {
    throw new VetbenchError(
      'trigger-file-version',
      `${path} has trigger format version ${version}; this Vetbench reads version ${TRIGGER_FILE_VERSION}`,
      version > TRIGGER_FILE_VERSION ? 'Update Vetbench to read it.' : RECREATE_HINT,
    );
  }
  const method = meta.method ?? '';
  const family = families.find((f) => f.id === method);
  if (!family) {
    throw new VetbenchError(
      'trigger-unknown-method',
      `${path}: unknown trigger method '${method}' (known: ${families.map((f) => f.id).join(', ') || 'none'})`,
      'The file was made by another Vetbench version or a plug-in that is not installed.',
    );
  }
  let given: unknown;
  try {
    given = JSON.parse(meta.params ?? '');
  } catch {
    throw corrupt(path, 'the trigger parameters are not valid JSON');
  }
  if (given === null || typeof given !== 'object' || Array.isArray(given)) {
    throw corrupt(path, 'the trigger parameters are not a JSON object');
  }
  let params: ParamValues;
  try {
    params = resolveParams(method, family.params, given as Record<string, unknown>);
  } catch (e) {
    if (e instanceof VetbenchError) throw corrupt(path, `bad saved parameters: ${e.message}`);
    throw e;
  }
  const seed = integerField(path, meta, 'seed');
  const resolution = integerField(path, meta, 'resolution');
  if (resolution < 1 || resolution > MAX_TRIGGER_RESOLUTION) {
    throw corrupt(path, `the trigger's resolution is ${resolution}, outside 1..${MAX_TRIGGER_RESOLUTION}`);
  }
  if (options.resolution !== undefined && options.resolution !== resolution) {
    throw new VetbenchError(
      'trigger-resolution-mismatch',
      `${path}: the ${method} trigger was made for ${resolution}x${resolution} images but the model takes ${options.resolution}x${options.resolution}`,
      `Triggers live in pixel space at the model resolution: create the trigger again at ${options.resolution} (same seed and parameters) for this model.`,
    );
  }
  return { family, method, params, seed, resolution };
}
