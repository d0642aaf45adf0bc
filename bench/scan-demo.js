#!/usr/bin/env node
// The trigger-free scanner (engine/scan) on the demo models, over seeds; the tables in docs/scanning.md.
//   npm run build && nice -n 10 node bench/scan-demo.js [--out bench/results/scan-demo.json] [--seeds 1,2,3]
//     [--clean-seeds 1,2,3,4,5] [--models demo,sig,...] [--param key=value ...]
// Models: demo (clean) and the backdoored demo models in $VETBENCH_DEMO_ATTACKS (default /work/artifacts/demo-attacks).
import { writeFile } from 'node:fs/promises';
import { scanForBackdoor, SCAN_DEFAULTS } from '../dist/engine/scan/backdoor-scan.js';
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
const dataset = await openDataset('demo');
const target = 'banana';
const rows = [];
await forEachModel(models, async (name, _weights, encoder) => {
  for (const seed of name === 'demo' ? cleanSeeds : seeds) {
    const scan = await scanForBackdoor(encoder, dataset, { ...settings, seed });
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
      wallMs: scan.wallMs,
    };
    rows.push(row);
    console.log(
      `${name.padEnd(11)} seed ${seed}  ${scan.verdict.padEnd(18)} top ${top.name} (${scan.score.toFixed(2)})  ` +
        `banana ${t.flips}/${t.n} margin ${t.meanMargin.toFixed(2)} index ${t.anomalyIndex.toFixed(2)}  ${(scan.wallMs / 1000).toFixed(0)} s`,
    );
    if (out) await writeFile(out, `${JSON.stringify({ settings, rows }, null, 1)}\n`);
  }
});
