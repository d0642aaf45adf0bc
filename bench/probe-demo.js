#!/usr/bin/env node
// The family probe (engine/scan/family-probe.ts) on the demo models, over seeds; the tables in docs/scanning.md.
//   npm run build && nice -n 10 node bench/probe-demo.js [--out bench/results/probe-demo.json] [--seeds 1,2,3]
//     [--clean-seeds 1,...,8] [--models demo,sig,...] [--shots 16] [--target banana]
//     [--dataset demo|ROOT] [--attack-dir DIR] [--clean-model FILE] [--reference FILE|demo]
// Models: demo (the clean model: the built-in one, or --clean-model) and the backdoored models in --attack-dir
// (default $VETBENCH_DEMO_ATTACKS or .vetbench-cache/demo-attacks, missing models made first). The seed picks both the clean sample and
// the probes' random trigger instances. --reference compares every model with that clean model (the
// built-in demo model for 'demo'): a class is flagged only where the model sends >= 3x the reference's share.
import { writeFile } from 'node:fs/promises';
import { createEncoder } from '../dist/engine/clip/clip-encoder.js';
import { loadClipWeights } from '../dist/engine/clip/load-weights.js';
import { resolveModelPath } from '../dist/engine/clip/resolve-model.js';
import { FAMILY_PROBE_DEFAULTS, probeTriggerFamilies } from '../dist/engine/scan/family-probe.js';
import { commandFlags, DEFAULT_ATTACKS_DIR, forEachModel, openDataset } from './scan-subjects.js';

const flag = commandFlags();
const out = flag('--out', null);
const seeds = flag('--seeds', '1,2,3').split(',').map(Number);
const cleanSeeds = flag('--clean-seeds', '1,2,3,4,5,6,7,8').split(',').map(Number);
const models = flag('--models', 'demo,badnet,blended,wanet,sig,badclip-de').split(',');
const shots = Number(flag('--shots', String(FAMILY_PROBE_DEFAULTS.shots)));
const target = flag('--target', 'banana');
const dataset = await openDataset(flag('--dataset', 'demo'));
const referenceSpec = flag('--reference', null);
const reference = referenceSpec
  ? await createEncoder(
      await loadClipWeights(referenceSpec === 'demo' ? resolveModelPath('demo') : referenceSpec),
    )
  : undefined;
const rows = [];
const percent = (x) => `${(100 * x).toFixed(1)}%`;
await forEachModel(
  models,
  async (name, _weights, encoder) => {
    for (const seed of name === 'demo' ? cleanSeeds : seeds) {
      const report = await probeTriggerFamilies(encoder, dataset, {
        shots,
        seed,
        ...(reference ? { reference } : {}),
      });
      // The probe in which the target takes its largest share, and the strongest probe of any class.
      const byTarget = report.probes
        .map((p) => ({ probe: p.label, ...p.perClass.find((c) => c.name === target), decision: p.decision }))
        .sort((a, b) => b.share - a.share)[0];
      const strongest = [...report.probes].sort((a, b) => b.decision.top.share - a.decision.top.share)[0];
      const dominance = strongest.decision.dominance;
      rows.push({
        model: name,
        seed,
        verdict: report.verdict,
        suspect: report.suspect,
        flagged: report.flagged,
        score: report.score,
        target: byTarget,
        strongest: { probe: strongest.label, ...strongest.decision },
        probes: report.probes.map((p) => ({
          label: p.label,
          top: p.decision.top,
          runnerUp: p.decision.runnerUp,
          dominance: p.decision.dominance,
          flagged: p.decision.flagged,
          shares: Object.fromEntries(p.perClass.map((c) => [c.name, c.share])),
          ...(reference
            ? { referenceShares: Object.fromEntries(p.perClass.map((c) => [c.name, c.referenceShare])) }
            : {}),
        })),
        images: report.images,
        wallMs: report.wallMs,
      });
      console.log(
        `${name.padEnd(11)} seed ${seed}  ${report.verdict.padEnd(18)} ` +
          (report.flagged.length
            ? `${report.flagged.map((f) => `${f.name} ${percent(f.share)} (${f.probe})`).join(', ')}  `
            : '') +
          `strongest ${strongest.decision.top.name} ${percent(strongest.decision.top.share)} ` +
          `x${dominance === null ? 'inf' : dominance.toFixed(1)} (${strongest.label})  ` +
          `${target} best ${percent(byTarget.share)} (${byTarget.probe})  ${(report.wallMs / 1000).toFixed(0)} s`,
      );
      if (out)
        await writeFile(
          out,
          `${JSON.stringify({ shots, target, reference: referenceSpec, rows }, null, 1)}\n`,
        );
    }
  },
  {
    attacksDir: flag('--attack-dir', DEFAULT_ATTACKS_DIR),
    ...(flag('--clean-model', null) ? { cleanModel: flag('--clean-model', null) } : {}),
  },
);
await reference?.dispose();
