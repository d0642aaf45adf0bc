#!/usr/bin/env node
// @ts-check
/**
 * Reduced-precision forward (int8 weights, dynamic activation quantisation; engine/onnx/quantize-int8.ts) against
 * fp32, side by side: the same preprocessed images through both encoders batch by batch (order alternated so
 * machine load hits both alike), image-encoding time only (decoding is done once beforehand), and the top-1
 * agreement of zero-shot predictions with one fp32 class head.
 *
 *   npm run build && nice -n 5 node bench/int8-forward.js
 *
 * Cells: demo model on the demo test split; demo model on CIFAR-10 test images (--cifar10 DIR, default
 * ../shared/datasets/cifar10: there is no CIFAR-10 CLIP in the repository, so this measures agreement and speed
 * of the demo weights on CIFAR-10 photographs, not a CIFAR-10 model's accuracy); a ViT-B/32-shaped model
 * (random init) on the demo test split, where the matmuls dominate. Options: --images N (per cell, default
 * 720; B/32: --b32-images, default 96), --batch N (default 32), --out PREFIX (default bench/results/int8-forward).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** @param {string} p */
const load = (p) => import(join(ROOT, 'dist', 'engine', p));
const { values: args } = parseArgs({
  options: {
    images: { type: 'string', default: '720' },
    'b32-images': { type: 'string', default: '96' },
    batch: { type: 'string', default: '32' },
    cifar10: { type: 'string', default: join(ROOT, '..', 'shared', 'datasets', 'cifar10') },
    cells: { type: 'string', default: 'demo,cifar10,b32' },
    out: { type: 'string', default: join(ROOT, 'bench', 'results', 'int8-forward') },
  },
});
const { loadClipWeights } = await load('clip/load-weights.js');
const { resolveModelPath } = await load('clip/resolve-model.js');
const { initClipWeights } = await load('clip/init-weights.js');
const { createEncoder } = await load('clip/clip-encoder.js');
const { buildZeroShotHead, classify } = await load('clip/zero-shot.js');
const { resolveDataset } = await load('datasets/resolve.js');
const { importDataset } = await load('datasets/import-dataset.js');
const { ImageLoader } = await load('datasets/image-loader.js');
const { Rng } = await load('util/rng.js');
const uptime = () => execFileSync('uptime', { encoding: 'utf8' }).trim();

/** @param {any} weights @param {any} dataset @param {number} count @param {string} label */
async function cell(weights, dataset, count, label) {
  const test = dataset.items.filter((/** @type {any} */ i) => i.split === 'test');
  const items = Array.from(
    { length: Math.min(count, test.length) },
    (_, k) => test[Math.floor((k * test.length) / Math.min(count, test.length))],
  );
  const names = dataset.classes.map((/** @type {any} */ c) => c.name);
  const fp32 = await createEncoder(weights);
  const int8 = await createEncoder(weights, 'onnx', 'int8');
  const head = await buildZeroShotHead(fp32, names);
  const loader = new ImageLoader({ resolution: weights.config.vision.imageResolution, cacheBytes: 0 });
  const batches = [];
  for await (const b of loader.batches(items, Number(args.batch))) if (b.items.length) batches.push(b);
  const time = { fp32: 0, int8: 0 };
  let agree = 0;
  let n = 0;
  const correct = { fp32: 0, int8: 0 };
  // One warm-up call per encoder and batch shape (session build), not timed.
  for (const enc of [fp32, int8]) await enc.encode({ pixels: batches[0].pixels, outputs: ['image_embeds'] });
  const last = batches.at(-1);
  if (last.items.length !== batches[0].items.length)
    for (const enc of [fp32, int8]) await enc.encode({ pixels: last.pixels, outputs: ['image_embeds'] });
  for (const [k, b] of batches.entries()) {
    /** @type {Record<string, Int32Array>} */
    const pred = {};
    for (const name of k % 2 === 0 ? ['fp32', 'int8'] : ['int8', 'fp32']) {
      const enc = name === 'fp32' ? fp32 : int8;
      const t0 = performance.now();
      const out = await enc.encode({ pixels: b.pixels, outputs: ['image_embeds'] });
      time[/** @type {'fp32'|'int8'} */ (name)] += performance.now() - t0;
      pred[name] = classify(head, out.image_embeds, weights.logitScale).predictions;
    }
    b.items.forEach((/** @type {any} */ it, i) => {
      n++;
      if (pred.fp32[i] === pred.int8[i]) agree++;
      if (pred.fp32[i] === it.label) correct.fp32++;
      if (pred.int8[i] === it.label) correct.int8++;
    });
  }
  await fp32.dispose();
  await int8.dispose();
  const r = {
    cell: label,
    images: n,
    batch: Number(args.batch),
    ms_per_image: { fp32: time.fp32 / n, int8: time.int8 / n },
    speedup: time.fp32 / time.int8,
    agreement: (100 * agree) / n,
    agreeing: agree,
    ca: { fp32: (100 * correct.fp32) / n, int8: (100 * correct.int8) / n },
  };
  console.error(JSON.stringify(r));
  return r;
}

const start = uptime();
const results = [];
const cells = new Set(args.cells.split(','));
const demoWeights = await loadClipWeights(resolveModelPath('demo'));
const demoResolved = await resolveDataset('demo');
const demo = await importDataset(demoResolved.manifest ?? demoResolved.root);
if (cells.has('demo'))
  results.push(await cell(demoWeights, demo, Number(args.images), 'demo model, demo test split'));
if (cells.has('cifar10')) {
  const cifar = await importDataset(args.cifar10);
  results.push(
    await cell(
      demoWeights,
      cifar,
      Number(args.images),
      'demo model on CIFAR-10 test images (no CIFAR-10 CLIP in the repo)',
    ),
  );
}
if (cells.has('b32')) {
  const config = {
    embedDim: 512,
    vision: { width: 768, layers: 12, heads: 12, patchSize: 32, imageResolution: 224 },
    text: { width: 512, layers: 2, heads: 8, contextLength: 77, vocabSize: 49408 },
  };
  results.push(
    await cell(
      initClipWeights(config, new Rng(3)),
      demo,
      Number(args['b32-images']),
      'ViT-B/32-shaped (random init), demo test split',
    ),
  );
}
const out = {
  date: new Date().toISOString(),
  machine: `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}`,
  uptime_start: start,
  uptime_end: uptime(),
  results,
};
writeFileSync(`${args.out}.json`, `${JSON.stringify(out, null, 2)}\n`);
const lines = [
  '# int8 image tower (dynamic activation quantisation) vs fp32',
  '',
  `\`nice -n 5 node bench/int8-forward.js ${process.argv.slice(2).join(' ')}\` on ${out.machine}, onnxruntime CPU, ${out.date.slice(0, 10)}.`,
  `uptime at start \`${out.uptime_start}\`, at end \`${out.uptime_end}\` (shared machine: batches alternate fp32/int8, compare ratios).`,
  'Image encoding only (images decoded once beforehand, session build excluded); top-1 = zero-shot with one fp32 class head ("a photo of a {}.").',
  '',
  '| cell | images | batch | fp32 ms/image | int8 ms/image | speed-up | top-1 agreement | CA fp32 / int8 |',
  '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ...results.map(
    (r) =>
      `| ${r.cell} | ${r.images} | ${r.batch} | ${r.ms_per_image.fp32.toFixed(2)} | ${r.ms_per_image.int8.toFixed(2)} | ${r.speedup.toFixed(2)}x | ${r.agreement.toFixed(2)}% (${r.agreeing}/${r.images}) | ${r.ca.fp32.toFixed(2)} / ${r.ca.int8.toFixed(2)} |`,
  ),
  '',
  `\`vetbench eval --precision int8\` refuses when the agreement on the run's first 500 images is under 99.5%.`,
  '',
];
writeFileSync(`${args.out}.md`, lines.join('\n'));
console.log(lines.join('\n'));
