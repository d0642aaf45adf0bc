import { readSafetensors, writeSafetensors, type SafetensorsFile } from '../clip/safetensors.js';
import { VetbenchError } from '../errors.js';
import { resolveParams, type ParamValues } from '../methods/params.js';
import { hostTensor, type HostTensor } from '../tensor/host-tensor.js';
import type { Trigger, TriggerFamily } from './trigger.js';

/**
 * A trigger saved with a run, so it is re-applied identically later: a safetensors file whose tensors are the
 * trigger's arrays (`tensors()`: Blended's noise, WaNet's grid, optimised patches) and whose metadata holds
 * everything else: format, format version, method, params (JSON), seed, resolution and text key. Loading
 * rebuilds the trigger through its family with the saved arrays as `restore`.
 */
export const TRIGGER_FILE_FORMAT = 'vetbench-trigger';
export const TRIGGER_FILE_VERSION = 1;

const RECREATE_HINT = 'Create the trigger again (the run that made it can be repeated with the same seed).';

export async function saveTrigger(path: string, trigger: Trigger): Promise<void> {
  const tensors = Object.entries(trigger.tensors()).map(([name, t]) => ({
    name,
    shape: [...t.shape],
    data: t.data,
  }));
  await writeSafetensors(path, tensors, {
    format: TRIGGER_FILE_FORMAT,
    formatVersion: String(TRIGGER_FILE_VERSION),
    method: trigger.method,
    params: JSON.stringify(trigger.params),
    seed: String(trigger.seed),
    resolution: String(trigger.resolution),
    textKey: trigger.textKey,
  });
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
  let file: SafetensorsFile;
  try {
    file = await readSafetensors(path);
  } catch (e) {
    if (e instanceof VetbenchError && e.code.startsWith('safetensors-')) {
      throw corrupt(path, `not a readable trigger file (${e.message})`);
    }
    throw e;
  }
  const meta = file.metadata;
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
  if (resolution < 1) throw corrupt(path, `the trigger's resolution is ${resolution}`);
  if (options.resolution !== undefined && options.resolution !== resolution) {
    throw new VetbenchError(
      'trigger-resolution-mismatch',
      `${path}: the ${method} trigger was made for ${resolution}x${resolution} images but the model takes ${options.resolution}x${options.resolution}`,
      `Triggers live in pixel space at the model resolution: create the trigger again at ${options.resolution} (same seed and parameters) for this model.`,
    );
  }
  const restore: Record<string, HostTensor> = {};
  for (const t of file.tensors) restore[t.name] = hostTensor(t.data, t.shape);
  const trigger = family.create({ params, seed, resolution, restore });
  const textKey = meta.textKey ?? '';
  if (trigger.textKey !== textKey) {
    throw corrupt(
      path,
      `the saved text key '${textKey}' differs from the one its parameters give ('${trigger.textKey}')`,
    );
  }
  return trigger;
}
