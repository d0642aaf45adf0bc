#!/usr/bin/env node
// @ts-check
/**
 * What the caches save, measured side by side in one process (issue 22). Three sections:
 *
 *   vet   A vet check (clean accuracy on a test split) of a ViT-B/32-shaped model, twice, through the project's
 *         feature cache (a fresh SQLite cache file): the first run encodes and stores, the second reads. Same
 *         predictions required.
 *   rvpt  RVPT training steps on a ViT-B/32-shaped model at depth 3 (b = 50, batch 32, random weights): the
 *         shared-prefix objective (recomputes the unprompted prefix and frozen class tokens every step) against
 *         the cached objective (computed once per image), interleaved A/B from the same prompts on the same
 *         batches; losses and prompts must agree to 1e-6.
 *   cbpt  CBPT per-epoch time on the demo model and dataset with the decoded training set kept (cacheImages)
 *         and without, and the clean few-shot embeddings from the feature cache on the second run.
 *
 *   npm run build && nice -n 5 node bench/cache-speed.js
 *   node bench/cache-speed.js --sections rvpt --rvpt-steps 2
 *
 * Options: --sections vet,rvpt,cbpt (default all), --rvpt-steps N (timed steps per variant, default 3),
 * --vet-images N (test images of the vet check, default 240), --cbpt-epochs N (default 2), --out PREFIX
 * (default bench/results/cache-speed). Writes PREFIX.json and PREFIX.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** @param {string} p */
const load = (p) => import(join(ROOT, 'dist', p));

const { values: args } = parseArgs({
  options: {
    sections: { type: 'string', default: 'vet,rvpt,cbpt' },
    'rvpt-steps': { type: 'string', default: '3' },
    'vet-images': { type: 'string', default: '240' },
    'cbpt-epochs': { type: 'string', default: '2' },
    out: { type: 'string', default: join(ROOT, 'bench', 'results', 'cache-speed') },
  },
});
const sections = new Set(args.sections.split(','));

const { initClipWeights } = await load('engine/clip/init-weights.js');
const { loadClipWeights } = await load('engine/clip/load-weights.js');
const { resolveModelPath } = await load('engine/clip/resolve-model.js');
const { createEncoder } = await load('engine/clip/clip-encoder.js');
const { cachingEncoder } = await load('engine/cache/cached-encoder.js');
const { resolveDataset } = await load('engine/datasets/resolve.js');
const { importDataset } = await load('engine/datasets/import-dataset.js');
const { evaluateBackdoor } = await load('engine/eval/backdoor-eval.js');
const { rvptObjective } = await load('engine/defenses/rvpt/rvpt-objective.js');
const { rvptCachedObjective, computeFrozenFeatures } = await load(
  'engine/defenses/rvpt/rvpt-frozen-cache.js',
);
const { gatherRows } = await load('engine/tensor/host-tensor.js');
const { cbptDefense } = await load('engine/defenses/cbpt/cbpt.js');
const { resolveParams } = await load('engine/methods/params.js');
const { OnnxTrainer } = await load('engine/train/onnx-trainer.js');
const { Sgd } = await load('engine/train/optimizers.js');
const { Rng } = await load('engine/util/rng.js');
const { FeatureCacheDb } = await load('electron/store/feature-cache-db.js');

const uptime = () => execFileSync('uptime', { encoding: 'utf8' }).trim();
const B32 = {
  embedDim: 512,
  vision: { width: 768, layers: 12, heads: 12, patchSize: 32, imageResolution: 224 },
  text: { width: 512, layers: 1, heads: 8, contextLength: 77, vocabSize: 49408 },
};
/** A ViT-B/32-shaped CLIP (random init) with a fingerprint, so the feature cache keys on it. */
function b32Weights() {
  const w = initClipWeights(B32, new Rng(3));
  return { ...w, source: { ...w.source, fingerprint: 'bench-b32-random-seed3' } };
}
/** @param {number} n @param {number} std @param {any} rng */
function normal(n, std, rng) {
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = std * rng.normal();
  return data;
}
/** @param {number[]} xs */
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** @type {Record<string, unknown>} */
const results = { date: new Date().toISOString(), uptime_start: uptime() };

if (sections.has('vet')) {
  const resolved = await resolveDataset('demo');
  const full = await importDataset(resolved.manifest ?? resolved.root);
  // The first N test images (every class), so the cold run stays within a few minutes on 2 cores.
  const test = full.items.filter((i) => i.split === 'test');
  const keep = new Set(
    Array.from(
      { length: Number(args['vet-images']) },
      (_, k) => test[Math.floor((k * test.length) / Number(args['vet-images']))],
    ),
  );
  const dataset = { ...full, items: full.items.filter((i) => i.split !== 'test' || keep.has(i)) };
  const weights = b32Weights();
  const cacheFile = join(mkdtempSync(join(os.tmpdir(), 'vetbench-bench-')), 'bench.cache', 'features.sqlite');
  const runs = [];
  for (const label of ['first (cache empty)', 'repeated (same model, same split)']) {
    const t0 = performance.now();
    const cache = FeatureCacheDb.open(cacheFile);
    const encoder = cachingEncoder(await createEncoder(weights), cache);
    const r = await evaluateBackdoor(encoder, dataset, { batchSize: 8 });
    await encoder.dispose();
    const stats = cache.stats();
    cache.close();
    runs.push({
      label,
      ms: performance.now() - t0,
      ca: r.ca,
      n: r.n_clean,
      per_class: r.perClass,
      hits: encoder.counts.hits,
      misses: encoder.counts.misses,
      cache_entries: stats.entries,
      cache_bytes: stats.bytes,
    });
    console.error(`vet ${label}: ${(runs.at(-1).ms / 1000).toFixed(1)} s, CA ${r.ca.toFixed(2)}`);
  }
  if (JSON.stringify(runs[0].per_class) !== JSON.stringify(runs[1].per_class))
    throw new Error('vet: the repeated check predicted differently');
  results.vet = {
    model: 'ViT-B/32-shaped (random init), 224 px',
    dataset: 'demo test split subset',
    batch: 8,
    runs,
    speedup: runs[0].ms / runs[1].ms,
  };
}

if (sections.has('rvpt')) {
  const weights = b32Weights();
  const depth = 3;
  const promptLength = 50;
  const batchSize = 32;
  const classes = 37;
  const images = 64; // two distinct batches, alternated
  const rng = new Rng(1);
  const r = B32.vision.imageResolution;
  const pixels = { data: normal(images * 3 * r * r, 1, rng), shape: [images, 3, r, r] };
  const classText = { data: normal(classes * B32.embedDim, 1, rng), shape: [classes, B32.embedDim] };
  const targets = (/** @type {number[]} */ idx) => {
    const t = new Float32Array(idx.length * classes);
    idx.forEach((i, k) => (t[k * classes + (i % classes)] = 1));
    return { data: t, shape: [idx.length, classes] };
  };
  const batches = [0, 1].map((b) => Array.from({ length: batchSize }, (_, k) => b * batchSize + k));
  const t0 = performance.now();
  const frozen = await computeFrozenFeatures(weights, pixels, depth, batchSize);
  const precomputeMs = performance.now() - t0;
  const options = { depth, alpha: 2, logitScale: weights.logitScale };
  const promptShape = [B32.vision.layers - depth, promptLength, B32.vision.width];
  const initial = normal(
    promptShape.reduce((a, b) => a * b, 1),
    0.02,
    new Rng(2),
  );
  /** @type {Record<string, any>} */
  const variants = {
    uncached: {
      trainer: new OnnxTrainer(rvptObjective(options), weights),
      batch: (/** @type {number[]} */ idx) => ({ pixels: gatherRows(pixels, idx) }),
    },
    cached: {
      trainer: new OnnxTrainer(rvptCachedObjective(options), weights),
      batch: (/** @type {number[]} */ idx) => ({
        prefix: gatherRows(frozen.prefix, idx),
        frozenCls: gatherRows(frozen.frozenCls, idx),
      }),
    },
  };
  for (const v of Object.values(variants)) {
    v.vars = { prompts: { data: Float32Array.from(initial), shape: promptShape } };
    v.opt = new Sgd({ momentum: 0.9, weightDecay: 5e-4 });
    v.losses = [];
    v.times = [];
  }
  const steps = Number(args['rvpt-steps']) + 1; // step 0 builds the session and is timed apart
  for (let i = 0; i < steps; i++) {
    const idx = batches[i % 2];
    for (const name of i % 2 === 0 ? ['uncached', 'cached'] : ['cached', 'uncached']) {
      const v = variants[name];
      const s0 = performance.now();
      const g = await v.trainer.step(v.vars, { ...v.batch(idx), targets: targets(idx), classText });
      v.opt.update(v.vars, g.grads, 0.002);
      v.times.push(performance.now() - s0);
      v.losses.push(g.loss);
    }
    console.error(
      `rvpt step ${i}: uncached ${variants.uncached.times.at(-1).toFixed(0)} ms, cached ${variants.cached.times.at(-1).toFixed(0)} ms`,
    );
  }
  let lossDiff = 0;
  let promptDiff = 0;
  variants.cached.losses.forEach(
    (l, i) => (lossDiff = Math.max(lossDiff, Math.abs(l - variants.uncached.losses[i]))),
  );
  const a = variants.cached.vars.prompts.data;
  const b = variants.uncached.vars.prompts.data;
  for (let i = 0; i < a.length; i++) promptDiff = Math.max(promptDiff, Math.abs(a[i] - b[i]));
  for (const v of Object.values(variants)) await v.trainer.dispose();
  const stepsPerEpoch = (37 * 16) / batchSize; // Oxford-Pets size: 37 classes x 16 shots
  const med = (/** @type {string} */ n) => median(variants[n].times.slice(1));
  const perImagePrecompute = precomputeMs / images;
  results.rvpt = {
    model: 'ViT-B/32-shaped image tower (random init)',
    depth,
    promptLength,
    batch: batchSize,
    steps_timed: steps - 1,
    first_step_ms: { uncached: variants.uncached.times[0], cached: variants.cached.times[0] },
    median_step_ms: { uncached: med('uncached'), cached: med('cached') },
    step_speedup: med('uncached') / med('cached'),
    step_ms: { uncached: variants.uncached.times.slice(1), cached: variants.cached.times.slice(1) },
    precompute_ms_per_image: perImagePrecompute,
    epoch_s_oxford_pets_size: {
      steps_per_epoch: stepsPerEpoch,
      uncached: (med('uncached') * stepsPerEpoch) / 1000,
      cached_without_precompute: (med('cached') * stepsPerEpoch) / 1000,
      cached_with_precompute_over_50_epochs:
        (med('cached') * stepsPerEpoch + (perImagePrecompute * 592) / 50) / 1000,
    },
    max_abs_loss_diff: lossDiff,
    max_abs_prompt_diff: promptDiff,
  };
  if (lossDiff > 1e-6 || promptDiff > 1e-6)
    console.error(`rvpt: WARNING cached and uncached differ (loss ${lossDiff}, prompts ${promptDiff})`);
}

if (sections.has('cbpt')) {
  const weights = await loadClipWeights(resolveModelPath('demo'));
  const resolved = await resolveDataset('demo');
  const dataset = await importDataset(resolved.manifest ?? resolved.root);
  const runs = [];
  // No project feature cache here: it would serve the second run's perturbed embeddings too (same seed, same
  // pixels) and hide what the in-run image cache alone saves.
  for (const cacheImages of [false, true]) {
    /** @type {number[]} */
    const epochEnds = [];
    const log = /** @type {string[]} */ ([]);
    const t0 = performance.now();
    const r = await cbptDefense.run(
      {
        weights,
        dataset,
        shots: 16,
        seed: 1,
        log: (/** @type {string} */ l) => log.push(l),
        onMetric: (/** @type {string} */ name) => {
          if (name === 'loss') epochEnds.push(performance.now() - t0);
        },
      },
      resolveParams('cbpt', cbptDefense.params, {
        epochs: Number(args['cbpt-epochs']),
        warmupEpochs: 0,
        cacheImages,
      }),
    );
    const perEpoch = epochEnds.map((t, i) => t - (i === 0 ? 0 : epochEnds[i - 1]));
    runs.push({
      cacheImages,
      epoch_ms: perEpoch,
      total_ms: performance.now() - t0,
      epochMetrics: r.epochMetrics,
      log: log.filter((l) => /cache/.test(l)),
    });
    console.error(
      `cbpt cacheImages=${cacheImages}: epochs ${perEpoch.map((x) => (x / 1000).toFixed(1)).join(', ')} s`,
    );
  }
  results.cbpt = {
    model: 'demo (4 blocks, width 128, 32 px), demo dataset 16 shots x 12 classes',
    runs,
    same_epoch_metrics: JSON.stringify(runs[0].epochMetrics) === JSON.stringify(runs[1].epochMetrics),
  };
}

results.uptime_end = uptime();
results.machine = { cpus: `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}`, node: process.version };
writeFileSync(`${args.out}.json`, `${JSON.stringify(results, null, 2)}\n`);

const f1 = (/** @type {number} */ x) => x.toFixed(1);
const lines = [
  '# Caches: repeated vet check, RVPT in-run cache, CBPT',
  '',
  `\`nice -n 5 node bench/cache-speed.js ${process.argv.slice(2).join(' ')}\` on ${results.machine.cpus}, onnxruntime CPU, ${results.date.slice(0, 10)}.`,
  `uptime at start: \`${results.uptime_start}\`; at end: \`${results.uptime_end}\` (shared machine: compare the ratios, measured side by side).`,
  '',
];
if (results.vet) {
  const v = /** @type {any} */ (results.vet);
  lines.push(
    `## Repeated vet check (${v.model}, ${v.runs[0].n} images of the ${v.dataset}, batch ${v.batch})`,
    '',
    '| run | wall (s) | served from cache | encoded | CA |',
    '| --- | --- | --- | --- | --- |',
    ...v.runs.map(
      (/** @type {any} */ r) =>
        `| ${r.label} | ${f1(r.ms / 1000)} | ${r.hits} | ${r.misses} | ${r.ca.toFixed(2)} |`,
    ),
    '',
    `Speed-up of the repeated check: **${v.speedup.toFixed(1)}x** (same per-class predictions). It still decodes and hashes every image; the forward pass is what it skips.`,
    '',
  );
}
if (results.rvpt) {
  const r = /** @type {any} */ (results.rvpt);
  const e = r.epoch_s_oxford_pets_size;
  lines.push(
    `## RVPT in-run cache (${r.model}, D = ${r.depth}, b = ${r.promptLength}, batch ${r.batch})`,
    '',
    '| variant | first step, session build (ms) | median step (ms) | epoch at 37 x 16 images (s) |',
    '| --- | --- | --- | --- |',
    `| recompute prefix + frozen tower each step | ${r.first_step_ms.uncached.toFixed(0)} | ${r.median_step_ms.uncached.toFixed(0)} | ${f1(e.uncached)} |`,
    `| cached (computed once per image) | ${r.first_step_ms.cached.toFixed(0)} | ${r.median_step_ms.cached.toFixed(0)} | ${f1(e.cached_without_precompute)} (+ ${f1((r.precompute_ms_per_image * 592) / 1000)} s once) |`,
    '',
    `Timed steps (ms, in pairs): uncached ${r.step_ms.uncached.map((x) => x.toFixed(0)).join(', ')}; cached ${r.step_ms.cached.map((x) => x.toFixed(0)).join(', ')}.`,
    '',
    `Step speed-up (medians) **${r.step_speedup.toFixed(2)}x** over ${r.steps_timed} timed steps each (interleaved); with the one-time precompute (${r.precompute_ms_per_image.toFixed(0)} ms per image) spread over 50 epochs an epoch is ${f1(e.cached_with_precompute_over_50_epochs)} s. Same losses and prompts: max |loss diff| ${r.max_abs_loss_diff.toExponential(1)}, max |prompt diff| ${r.max_abs_prompt_diff.toExponential(1)}.`,
    '',
  );
}
if (results.cbpt) {
  const c = /** @type {any} */ (results.cbpt);
  lines.push(
    `## CBPT per epoch (${c.model})`,
    '',
    '| cacheImages | epoch times (s) | total (s) | cache notes from the run log |',
    '| --- | --- | --- | --- |',
    ...c.runs.map(
      (/** @type {any} */ r) =>
        `| ${r.cacheImages} | ${r.epoch_ms.map((x) => f1(x / 1000)).join(', ')} | ${f1(r.total_ms / 1000)} | ${r.log.join('; ')} |`,
    ),
    '',
    `Same epoch metrics with and without: ${c.same_epoch_metrics}. No project feature cache in either run (test/engine/defenses/defense-caches.test.ts checks that a rerun reads its embeddings from it).`,
    '',
  );
}
writeFileSync(`${args.out}.md`, lines.join('\n'));
console.log(lines.join('\n'));
