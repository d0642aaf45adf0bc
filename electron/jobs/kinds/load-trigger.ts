import { resolveParams } from '../../../engine/methods/params.js';
import { findTriggerFamily, TRIGGER_FAMILIES } from '../../../engine/methods/registry.js';
import { loadTrigger } from '../../../engine/triggers/trigger-file.js';
import type { Trigger } from '../../../engine/triggers/trigger.js';
import type { JobSpec } from '../worker-protocol.js';

/** The run's trigger: a saved trigger file, or a family built from its params and the run's seed. */
export async function triggerOfJob(spec: JobSpec, resolution: number): Promise<Trigger | null> {
  if (spec.trigger?.source === 'file')
    return loadTrigger(spec.trigger.path, TRIGGER_FAMILIES, { resolution });
  if (spec.trigger?.source === 'family') {
    const family = findTriggerFamily(spec.trigger.family);
    return family.create({
      params: resolveParams(family.id, family.params, spec.trigger.params),
      seed: spec.seed,
      resolution,
    });
  }
  return null;
}
