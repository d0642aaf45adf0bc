#!/usr/bin/env node
// The trigger-free scanner (engine/scan) on the demo models, over seeds; the tables in docs/scanning.md.
//   npm run build && nice -n 10 node bench/scan-demo.js [--out bench/results/scan-demo.json] [--seeds 1,2,3]
//     [--clean-seeds 1,2,3,4,5] [--models demo,sig,...] [--param key=value ...] [--clean-model F] [--reference F|demo]
// --reference: also scan a clean model of the family with the same seed (same sample) and score each class by
// its margin on the suspect minus its margin on the reference (field `differential`; an experiment, not the
// scanner's rule: docs/scanning.md, "Tried and not kept").
// Models: demo (clean) and the backdoored demo models in $VETBENCH_DEMO_ATTACKS (default .vetbench-cache/demo-attacks; missing ones are made first).
import { writeFile } from 'node:fs/promises';
import { MARGIN_SPREAD_FLOOR, scanForBackdoor, SCAN_DEFAULTS } from '../dist/engine/scan/backdoor-scan.js';
import { anomalyIndices, OUTLIER_THRESHOLD } from '../dist/engine/scan/anomaly-index.js';
import { loadClipWeights } from '../dist/engine/clip/load-weights.js';
import { createEncoder } from '../dist/engine/clip/clip-encoder.js';
import { resolveModelPath } from '../dist/engine/clip/resolve-model.js';
import { commandFlags, forEachModel, openDataset } from './scan-subjects.js';

const args = process.argv.slice(2);
const flag = commandFlags(args);
const out = flag('--out', null);
const seeds = flag('--seeds', '1,2,3').split(',').map(Number);
const cleanSeeds = flag('--clean-seeds', '1,2,3,4,5').split(',').map(Number);
const models = flag('--models', 'demo,badnet,blended,wanet,sig,badclip-de').split(',');
const overrides = {};
args.forEach((a, i) => {
  if (args[i - 1] !== '--param') return;
  const [k, v] = a.split('=');
  overrides[k] = Number.isNaN(Number(v)) ? v : Number(v);
});
const settings = { ...SCAN_DEFAULTS, ...overrides };
const cleanModel = flag('--clean-model', undefined);
const referenceSpec = flag('--reference', null);
const dataset = await openDataset('demo');
const target = 'banana';
const rows = [];
const referenceScans = new Map();
/** The reference model's scan at `seed` (one per seed, shared by every suspect). */
async function referenceScan(seed) {
  if (!referenceScans.has(seed)) {
    const path = referenceSpec === 'demo' ? resolveModelPath('demo') : referenceSpec;
    const encoder = await createEncoder(await loadClipWeights(path));
    try {
      referenceScans.set(seed, await scanForBackdoor(encoder, dataset, { ...settings, seed }));
    } finally {
      await encoder.dispose();
    }
  }
  return referenceScans.get(seed);
}
/** Suspect margin minus reference margin per class, scored with the scanner's anomaly index. */
function differential(scan, reference) {
  const diffs = scan.perClass.map((c, k) => c.meanMargin - reference.perClass[k].meanMargin);
  const indices = anomalyIndices(diffs, MARGIN_SPREAD_FLOOR);
  const perClass = scan.perClass.map((c, k) => ({ name: c.name, difference: diffs[k], index: indices[k] }));
  const top = perClass.reduce((a, b) => (b.index > a.index ? b : a));
  return { flagged: top.index > OUTLIER_THRESHOLD ? top.name : null, top, perClass };
}
await forEachModel(
  models,
  async (name, _weights, encoder) => {
    for (const seed of name === 'demo' ? cleanSeeds : seeds) {
      const scan = await scanForBackdoor(encoder, dataset, { ...settings, seed });
      const diff = referenceSpec ? differential(scan, await referenceScan(seed)) : null;
      const t = scan.perClass.find((c) => c.name === target);
      const top = scan.perClass.reduce((a, b) => (b.anomalyIndex > a.anomalyIndex ? b : a));
      const row = {
        model: name,
        seed,
        verdict: scan.verdict,
        suspect: scan.suspect?.name ?? null,
        score: scan.score,
        top: top.name,
        target: t ? { flips: t.flips, n: t.n, margin: t.meanMargin, index: t.anomalyIndex, ...t } : null,
        perClass: scan.perClass,
        ...(diff ? { differential: diff } : {}),
        wallMs: scan.wallMs,
      };
      rows.push(row);
      console.log(
        `${name.padEnd(11)} seed ${seed}  ${scan.verdict.padEnd(18)} top ${top.name} (${scan.score.toFixed(2)})  ` +
          `banana ${t.flips}/${t.n} margin ${t.meanMargin.toFixed(2)} index ${t.anomalyIndex.toFixed(2)}  ${(scan.wallMs / 1000).toFixed(0)} s` +
          (diff
            ? `  differential: ${diff.flagged ?? 'none'} (top ${diff.top.name} ${diff.top.index.toFixed(2)})`
            : ''),
      );
      if (out)
        await writeFile(out, `${JSON.stringify({ settings, reference: referenceSpec, rows }, null, 1)}\n`);
    }
  },
  { cleanModel },
);
