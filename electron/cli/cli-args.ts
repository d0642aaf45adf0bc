import { existsSync } from 'node:fs';
import { VetbenchError } from '../../engine/errors.js';
import { parseParamPairs, resolveParams } from '../../engine/methods/params.js';
import { findTriggerFamily, TRIGGER_FAMILIES } from '../../engine/methods/registry.js';
import { loadTrigger } from '../../engine/triggers/trigger-file.js';
import type { Trigger } from '../../engine/triggers/trigger.js';

/** A class given by name (prompt name or folder) to its index, or an error listing the classes. */
export { classIndex } from '../../engine/datasets/class-index.js';

export function seedOption(value: string | undefined, fallback = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new VetbenchError(
      'bad-option',
      `--seed must be a non-negative integer, got '${value}'`,
      'Pass e.g. --seed 1.',
    );
  return n;
}

/** `--trigger` as a saved trigger file, or a trigger family id built from `--param` values and the seed. */
export async function triggerFromArgs(
  spec: string,
  params: readonly string[],
  seed: number,
  resolution: number,
): Promise<Trigger> {
  if (existsSync(spec)) {
    if (params.length)
      throw new VetbenchError(
        'bad-option',
        '--param cannot change a saved trigger',
        'Drop --param, or name a trigger family instead of a file.',
      );
    return loadTrigger(spec, TRIGGER_FAMILIES, { resolution });
  }
  const family = findTriggerFamily(spec);
  return family.create({
    params: resolveParams(family.id, family.params, parseParamPairs(params)),
    seed,
    resolution,
  });
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
