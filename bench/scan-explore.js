#!/usr/bin/env node
// Exploration for the scanner (docs/scanning.md): per class, the flips and margin of several inversions on the
// same sample: an additive universal trigger swept over rising budgets (warm-started) and a centred patch.
//   npm run build && nice -n 10 node bench/scan-explore.js [--out F.json (default .vetbench-cache/scan-explore.json)] [--models demo,sig] [--seeds 1,2]
import { writeFile } from 'node:fs/promises';
import { buildZeroShotHead, DEFAULT_TEMPLATE } from '../dist/engine/clip/zero-shot.js';
import { ImageLoader } from '../dist/engine/datasets/image-loader.js';
import { sampleFewShot } from '../dist/engine/datasets/sampler.js';
import { embedSample } from '../dist/engine/inversion/image-embeddings.js';
import { inversionObjective } from '../dist/engine/inversion/trigger-inversion.js';
import { createTrainer } from '../dist/engine/train/create-trainer.js';
import { classChunks, measureProbe } from '../dist/engine/scan/class-probe.js';
import { applyClipped, invertUniversalTrigger } from '../dist/engine/scan/universal-inversion.js';
import { applyPatch, centredPlacement, invertPatchTrigger } from '../dist/engine/scan/patch-inversion.js';
import { join } from 'node:path';
import { BENCH_CACHE } from './bench-cache.js';
import { commandFlags, forEachModel, openDataset } from './scan-subjects.js';

const flag = commandFlags();
const out = flag('--out', join(BENCH_CACHE, 'scan-explore.json'));
const seeds = flag('--seeds', '1,2').split(',').map(Number);
const models = flag('--models', 'demo,badnet,blended,wanet,sig,badclip-de').split(',');
const shots = Number(flag('--shots', '4'));
const budgets = flag('--budgets', '4,8,16,32')
  .split(',')
  .map((b) => Number(b) / 255);
const stepsPerBudget = Number(flag('--budget-steps', '5'));
const patchFractions = flag('--patches', '0.25').split(',').map(Number);
const patchSteps = Number(flag('--patch-steps', '8'));
const dataset = await openDataset('demo');
const names = dataset.classes.map((c) => c.name);
const rows = [];
await forEachModel(models, async (name, weights, encoder) => {
  const loader = new ImageLoader({ resolution: weights.config.vision.imageResolution, normalize: false });
  const head = await buildZeroShotHead(encoder, names, [DEFAULT_TEMPLATE]);
  const trainer = await createTrainer(inversionObjective(), weights);
  for (const seed of seeds) {
    const t0 = Date.now();
    const sample = sampleFewShot(dataset, { shotsPerClass: shots, seed });
    const clean = await embedSample(encoder, loader, sample.items, 64);
    // A disjoint held-out sample: does the trigger inverted on the first sample carry over to new images?
    const inA = new Set(sample.items.map((i) => i.relativePath));
    const other = sampleFewShot(dataset, { shotsPerClass: 2 * shots, seed: seed + 1000 });
    const heldItems = other.items.filter((i) => !inA.has(i.relativePath));
    const held = await embedSample(encoder, loader, heldItems, 64);
    const perClass = [];
    for (let k = 0; k < names.length; k++) {
      const chunks = await classChunks(clean, loader, head, k, 'class-text', 32);
      const heldChunks = await classChunks(held, loader, head, k, 'class-text', 64);
      const additive = [];
      let delta;
      for (const rho of budgets) {
        delta = await invertUniversalTrigger(
          trainer,
          chunks,
          { steps: stepsPerBudget, rho, radiusMode: 'rms' },
          delta,
        );
        const d = delta;
        additive.push({
          rho,
          ...(await measureProbe(encoder, head, chunks, (p) => applyClipped(p, d), k)),
          heldOut: await measureProbe(encoder, head, heldChunks, (p) => applyClipped(p, d), k),
        });
      }
      const patches = [];
      for (const fraction of patchFractions) {
        const place = centredPlacement(weights.config.vision.imageResolution, fraction);
        const patch = await invertPatchTrigger(trainer, chunks, { steps: patchSteps, place });
        patches.push({
          fraction,
          ...(await measureProbe(encoder, head, chunks, (p) => applyPatch(p, patch, place), k)),
        });
      }
      perClass.push({ name: names[k], additive, patches });
    }
    const wallMs = Date.now() - t0;
    rows.push({ model: name, seed, perClass, wallMs });
    const b = perClass[names.indexOf('banana')];
    console.log(
      `${name} seed ${seed} ${(wallMs / 1000).toFixed(0)} s banana additive ${b.additive.map((a) => `${a.flips}/${a.n}:${a.meanMargin.toFixed(1)}`).join(' ')} patch ${b.patches.map((a) => `${a.flips}/${a.n}:${a.meanMargin.toFixed(1)}`).join(' ')}`,
    );
    await writeFile(
      out,
      `${JSON.stringify({ budgets, stepsPerBudget, patchFractions, patchSteps, shots, rows }, null, 1)}\n`,
    );
  }
  await trainer.dispose();
});
