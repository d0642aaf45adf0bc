import { badnetTrigger } from '../triggers/badnet.js';
import { blendedTrigger } from '../triggers/blended.js';
import { sigTrigger } from '../triggers/sig.js';
import type { TriggerFamily } from '../triggers/trigger.js';
import { wanetTrigger } from '../triggers/wanet.js';

/** One probe: a known trigger family at one size, drawn afresh `draws` times where the family is random. */
export interface ProbeSpec {
  readonly label: string;
  readonly family: TriggerFamily;
  /** Family parameters (the rest at the family's defaults). */
  readonly params: Readonly<Record<string, number | boolean | string>>;
  /** Independent random instances (1 for a deterministic family). */
  readonly draws: number;
}

/**
 * The probes a family scan applies: the families whose triggers are not optimised against a model, each at
 * the size METHODS names and at sizes around it, as the literature uses them (BadNet patches of 1/14, 1/4 and
 * 1/2 of the side; blend ratios 0.1-0.3; WaNet's METHODS field at s = 1, 4, 12 and the WaNet paper's smooth
 * k = 4 grid at its s = 0.5 and at 4; SIG at 20/255 and 60/255, 3, 6 and 12 periods). Fixed before any demo
 * model was probed except for the 1/2-side patch and s = 12, which are the demo attacks' own sizes
 * (docs/scanning.md says so). Optimised patches (BadCLIP, TrojVQA) have no model-free instance to draw.
 */
export const DEFAULT_PROBES: readonly ProbeSpec[] = [
  ...[16, 56, 112].map((patchSize) => ({
    label: `badnet patch ${patchSize}/224`,
    family: badnetTrigger,
    params: { patchSize },
    draws: 2,
  })),
  ...[0.1, 0.2, 0.3].map((ratio) => ({
    label: `blended ratio ${ratio}`,
    family: blendedTrigger,
    params: { ratio },
    draws: 2,
  })),
  ...[1, 4, 12].map((strength) => ({
    label: `wanet k=R s=${strength}`,
    family: wanetTrigger,
    params: { strength },
    draws: 2,
  })),
  ...[0.5, 4].map((strength) => ({
    label: `wanet k=4 s=${strength}`,
    family: wanetTrigger,
    params: { gridSize: 4, strength },
    draws: 2,
  })),
  ...(
    [
      [20, 6],
      [60, 3],
      [60, 6],
      [60, 12],
    ] as const
  ).map(([amplitude, frequency]) => ({
    label: `sig ${amplitude}/255 f=${frequency}`,
    family: sigTrigger,
    params: { amplitude, frequency },
    draws: 1,
  })),
];
