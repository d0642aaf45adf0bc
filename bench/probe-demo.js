#!/usr/bin/env node
// The family probe (engine/scan/family-probe.ts) on the demo models, over seeds; the tables in docs/scanning.md.
//   npm run build && nice -n 10 node bench/probe-demo.js [--out bench/results/probe-demo.json] [--seeds 1,2,3]
//     [--clean-seeds 1,...,8] [--models demo,sig,...] [--shots 16]
// Models: demo (clean) and the backdoored demo models in $VETBENCH_DEMO_ATTACKS (default /work/artifacts/demo-attacks).
// The seed picks both the clean sample and the probes' random trigger instances.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadClipWeights } from '../dist/engine/clip/load-weights.js';
import { resolveModelPath } from '../dist/engine/clip/resolve-model.js';
import { createEncoder } from '../dist/engine/clip/clip-encoder.js';
import { resolveDataset } from '../dist/engine/datasets/resolve.js';
import { importDataset } from '../dist/engine/datasets/import-dataset.js';
import { FAMILY_PROBE_DEFAULTS, probeTriggerFamilies } from '../dist/engine/scan/family-probe.js';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const attacksDir = process.env.VETBENCH_DEMO_ATTACKS ?? '/work/artifacts/demo-attacks';
const out = flag('--out', null);
const seeds = flag('--seeds', '1,2,3').split(',').map(Number);
const cleanSeeds = flag('--clean-seeds', '1,2,3,4,5,6,7,8').split(',').map(Number);
const models = flag('--models', 'demo,badnet,blended,wanet,sig,badclip-de').split(',');
const shots = Number(flag('--shots', String(FAMILY_PROBE_DEFAULTS.shots)));
const r = await resolveDataset('demo');
const dataset = await importDataset(r.manifest ?? r.root);
const target = 'banana';
const rows = [];
for (const name of models) {
  const path = name === 'demo' ? resolveModelPath('demo') : join(attacksDir, `${name}.safetensors`);
  if (!existsSync(path)) {
    console.log(`${name}: ${path} missing, skipped`);
    continue;
  }
  const weights = await loadClipWeights(path);
  const encoder = await createEncoder(weights);
  for (const seed of name === 'demo' ? cleanSeeds : seeds) {
    const report = await probeTriggerFamilies(encoder, dataset, { shots, seed });
    // The probe in which the target (banana) takes its largest share, and the strongest probe of any class.
    const byTarget = report.probes
      .map((p) => ({ probe: p.label, ...p.perClass.find((c) => c.name === target), decision: p.decision }))
      .sort((a, b) => b.share - a.share)[0];
    const strongest = [...report.probes].sort((a, b) => b.decision.top.share - a.decision.top.share)[0];
    rows.push({
      model: name,
      seed,
      verdict: report.verdict,
      suspect: report.suspect,
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
      })),
      images: report.images,
      wallMs: report.wallMs,
    });
    console.log(
      `${name.padEnd(11)} seed ${seed}  ${report.verdict.padEnd(18)} ` +
        (report.suspect
          ? `${report.suspect.name} ${(100 * report.suspect.share).toFixed(1)}% (${report.suspect.probe})  `
          : '') +
        `strongest ${strongest.decision.top.name} ${(100 * strongest.decision.top.share).toFixed(1)}% x${strongest.decision.dominance === null ? 'inf' : strongest.decision.dominance.toFixed(1)} (${strongest.label})  ` +
        `banana best ${(100 * byTarget.share).toFixed(1)}% (${byTarget.probe})  ${(report.wallMs / 1000).toFixed(0)} s`,
    );
    if (out) await writeFile(out, `${JSON.stringify({ shots, rows }, null, 1)}\n`);
  }
  await encoder.dispose();
}
