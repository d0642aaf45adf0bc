// Does Grad-CAM point at the trigger? On triggered test images (target class excluded), the share of the
// Grad-CAM mass (explaining the target class, upsampled to the image) inside the trigger patch, against the
// patch's share of the image area (chance). Optionally with deep visual prompts (e.g. after RVPT).
// Usage: npm run build && node bench/gradcam-mass.js --model <weights> --trigger <trigger file> --target <class>
//        [--prompts <prompt file>] [--dataset demo] [--block -2] [--limit N] [--seed 1] [--json out.json]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createEncoder } from '../dist/engine/clip/clip-encoder.js';
import { loadClipWeights } from '../dist/engine/clip/load-weights.js';
import { resolveModelPath } from '../dist/engine/clip/resolve-model.js';
import { buildZeroShotHead } from '../dist/engine/clip/zero-shot.js';
import { importDataset } from '../dist/engine/datasets/import-dataset.js';
import { resolveDataset } from '../dist/engine/datasets/resolve.js';
import { loadDeepPrompts } from '../dist/engine/explain/deep-prompts.js';
import { embedImages } from '../dist/engine/explain/embed-images.js';
import { computeGradCam } from '../dist/engine/explain/gradcam.js';
import { badnetPatchMasks, changedPixels, massInside } from '../dist/engine/explain/patch-mass.js';
import { sampleExplainImages } from '../dist/engine/explain/sample-images.js';
import { TRIGGER_FAMILIES } from '../dist/engine/methods/registry.js';
import { loadTrigger } from '../dist/engine/triggers/trigger-file.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string' },
    trigger: { type: 'string' },
    target: { type: 'string' },
    prompts: { type: 'string' },
    dataset: { type: 'string', default: 'demo' },
    block: { type: 'string', default: '-2' },
    limit: { type: 'string', default: '100000' },
    seed: { type: 'string', default: '1' },
    json: { type: 'string' },
  },
});
if (!args.model || !args.trigger || !args.target) {
  console.error('usage: node bench/gradcam-mass.js --model W --trigger T --target CLASS [--prompts P]');
  process.exit(2);
}
const started = Date.now();
const weights = await loadClipWeights(resolveModelPath(args.model));
const resolved = await resolveDataset(args.dataset);
const dataset = await importDataset(resolved.manifest ?? resolved.root);
const classNames = dataset.classes.map((c) => c.name);
const target = classNames.findIndex((c) => c.toLowerCase() === args.target.toLowerCase());
if (target < 0) throw new Error(`no class '${args.target}' (classes: ${classNames.join(', ')})`);
const resolution = weights.config.vision.imageResolution;
const trigger = await loadTrigger(args.trigger, TRIGGER_FAMILIES, { resolution });
const encoder = await createEncoder(weights);
const head = await buildZeroShotHead(encoder, classNames);
await encoder.dispose();
const prompts = args.prompts ? await loadDeepPrompts(args.prompts, weights) : null;
const model = { label: args.prompts ? 'prompted' : 'model', weights, head, prompts };
const images = await sampleExplainImages(dataset, {
  split: 'test',
  count: Number(args.limit),
  seed: Number(args.seed),
  resolution,
  trigger,
  excludeClass: target,
});
const n = images.keys.length;
const masks =
  badnetPatchMasks(trigger, images.clean, images.keys) ?? changedPixels(images.clean, images.triggered);
const chance = masks.map((m) => m.reduce((a, b) => a + b, 0) / m.length);
const { predictions } = await embedImages(model, images.triggered);
const cam = await computeGradCam(model, images.triggered, new Array(n).fill(target), {
  block: Number(args.block),
});
const shares = massInside(cam.maps, masks, resolution);
const cells = cam.maps.shape[1] * cam.maps.shape[2];
const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const sd = (xs) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));
const flipped = shares.filter((_, i) => predictions[i] === target);
const kept = shares.filter((_, i) => predictions[i] !== target);
const result = {
  model: { path: weights.source.path, fingerprint: weights.source.fingerprint },
  prompts: prompts ? { path: args.prompts, sha256: prompts.fileSha256, depth: prompts.depth } : null,
  trigger: { path: args.trigger, method: trigger.method, params: trigger.params, seed: trigger.seed },
  target: classNames[target],
  block: cam.block,
  images: n,
  asr: (100 * flipped.length) / n,
  mass_in_patch: { mean: mean(shares), sd: sd(shares) },
  mass_in_patch_flipped: { n: flipped.length, mean: mean(flipped) },
  mass_in_patch_not_flipped: { n: kept.length, mean: mean(kept) },
  chance: mean(chance),
  all_zero_maps: shares.filter((_, i) =>
    cam.maps.data.subarray(i * cells, (i + 1) * cells).every((v) => v === 0),
  ).length,
  wall_s: (Date.now() - started) / 1000,
};
if (args.json) writeFileSync(args.json, `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
