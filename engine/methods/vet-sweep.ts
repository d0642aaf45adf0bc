import type { ParamValues } from './params.js';
import { DEFAULT_PROBES } from '../scan/probe-ladder.js';
import { ATTACKS, TRIGGER_FAMILIES } from './registry.js';

/** One known-trigger check of a sweep: the family's parameters that differ from its defaults, and a label. */
export interface SweepPoint {
  readonly label: string;
  readonly params: ParamValues;
}

/**
 * The sizes a known-trigger check of `familyId` tries, so a check cannot miss an implanted backdoor by a
 * parameter mismatch (a 16 px BadNet patch finds 0.5% ASR on the demo model that a 112 px patch backdoored
 * to 87%): the family probe's ladder (engine/scan/probe-ladder.ts: the sizes the literature uses) plus the
 * defaults of this project's attacks of that family (what the Attack wizard and the demo implant). Empty for
 * a family with no parameters or no model-free instance.
 */
export function vetSweep(familyId: string): SweepPoint[] {
  const family = TRIGGER_FAMILIES.find((f) => f.id === familyId);
  if (!family || family.needsModel) return [];
  const keys = Object.keys(family.params);
  const candidates: ParamValues[] = [
    ...DEFAULT_PROBES.filter((p) => p.family.id === familyId).map((p) => ({ ...p.params })),
    ...ATTACKS.filter((a) => a.id === familyId).map((a) =>
      Object.fromEntries(keys.map((k) => [k, a.params[k]!.default])),
    ),
  ];
  const seen = new Set<string>();
  const fulls: ParamValues[] = [];
  for (const c of candidates) {
    // The same check whether a value is given or left at the family's default.
    const full = Object.fromEntries(keys.map((k) => [k, c[k] ?? family.params[k]!.default]));
    const key = JSON.stringify(full);
    if (seen.has(key)) continue;
    seen.add(key);
    fulls.push(full);
  }
  // Labels name what the sweep varies (patchSize=112), not every parameter.
  const varying = keys.filter((k) => new Set(fulls.map((f) => f[k])).size > 1);
  const points: SweepPoint[] = fulls.map((full) => ({
    label: varying.length ? varying.map((k) => `${k}=${String(full[k])}`).join(', ') : 'defaults',
    params: Object.fromEntries(
      Object.entries(full).filter(([k, v]) => varying.includes(k) || v !== family.params[k]!.default),
    ),
  }));
  return points;
}
