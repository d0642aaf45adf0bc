#!/usr/bin/env node
// @ts-check
/**
 * RVPT time per epoch with and without the shared-prefix reuse (METHODS 4.1: blocks 0..D-1 computed once per
 * batch and shared by the prompted and the frozen pass). Both objectives are the same loss (tested equal in
 * test/engine/rvpt-prefix.test.ts); this times full training steps (forward + backward on onnxruntime, plus the
 * SGD update) interleaved A/B so machine load hits both alike.
 *
 *   npm run build && nice -n 10 node bench/rvpt-prefix-speed.js                  demo model + ViT-B/32-shaped model
 *   node bench/rvpt-prefix-speed.js --models demo --epochs 3
 *
 * Options: --models demo,b32 (default both), --epochs N (timed epochs per variant on the demo, default 3),
 * --b32-steps N (timed steps per variant on ViT-B/32, default 3), --out PREFIX (default
 * bench/results/rvpt-prefix-speed). Writes PREFIX.json and PREFIX.md. The first step of each variant (session
 * build) is timed separately and not counted in the per-epoch time.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist', 'engine');
/** @param {string} p */
const load = (p) => import(join(DIST, p));

const { values: args } = parseArgs({
  options: {
    models: { type: 'string', default: 'demo,b32' },
    epochs: { type: 'string', default: '3' },
    'b32-steps': { type: 'string', default: '3' },
    out: { type: 'string', default: join(ROOT, 'bench', 'results', 'rvpt-prefix-speed') },
  },
});

const { loadClipWeights } = await load('clip/load-weights.js');
const { resolveModelPath } = await load('clip/resolve-model.js');
const { initClipWeights } = await load('clip/init-weights.js');
const { rvptObjective } = await load('defenses/rvpt/rvpt-objective.js');
const { OnnxTrainer } = await load('train/onnx-trainer.js');
const { Sgd } = await load('train/optimizers.js');
const { Rng } = await load('util/rng.js');

/** @param {number} n @param {number} std @param {any} rng */
function normal(n, std, rng) {
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = std * rng.normal();
  return data;
}

/**
 * @param {any} weights @param {{depth: number, promptLength: number, batch: number, classes: number, steps: number}} s
 */
async function timeVariants(weights, s) {
  const { vision, embedDim } = weights.config;
  const rng = new Rng(1);
  const r = vision.imageResolution;
  const batch = {
    pixels: { data: normal(s.batch * 3 * r * r, 1, rng), shape: [s.batch, 3, r, r] },
    targets: (() => {
      const t = new Float32Array(s.batch * s.classes);
      for (let i = 0; i < s.batch; i++) t[i * s.classes + (i % s.classes)] = 1;
      return { data: t, shape: [s.batch, s.classes] };
    })(),
    classText: { data: normal(s.classes * embedDim, 1, rng), shape: [s.classes, embedDim] },
  };
  const promptShape = [vision.layers - s.depth, s.promptLength, vision.width];
  /** @type {Record<string, {trainer: any, vars: any, opt: any, first: number, times: number[]}>} */
  const variants = {};
  for (const shared of [true, false]) {
    const name = shared ? 'shared' : 'separate';
    const trainer = new OnnxTrainer(
      rvptObjective({ depth: s.depth, alpha: 2, logitScale: weights.logitScale, sharedPrefix: shared }),
      weights,
    );
    const vars = {
      prompts: {
        data: normal(
          promptShape.reduce((a, b) => a * b, 1),
          0.02,
          new Rng(2),
        ),
        shape: promptShape,
      },
    };
    const opt = new Sgd({ momentum: 0.9, weightDecay: 5e-4 });
    const t0 = performance.now();
    const g = await trainer.step(vars, batch);
    opt.update(vars, g.grads, 0.01);
    variants[name] = { trainer, vars, opt, first: performance.now() - t0, times: [] };
  }
  for (let i = 0; i < s.steps; i++) {
    for (const name of i % 2 === 0 ? ['shared', 'separate'] : ['separate', 'shared']) {
      const v = variants[name];
      const t0 = performance.now();
      const g = await v.trainer.step(v.vars, batch);
      v.opt.update(v.vars, g.grads, 0.01);
      v.times.push(performance.now() - t0);
    }
  }
  const out = {};
  for (const [name, v] of Object.entries(variants)) {
    await v.trainer.dispose();
    const sorted = [...v.times].sort((a, b) => a - b);
    out[name] = {
      first_step_ms: v.first,
      median_step_ms: sorted[Math.floor(sorted.length / 2)],
      mean_step_ms: v.times.reduce((a, b) => a + b, 0) / v.times.length,
      steps: v.times.length,
    };
  }
  return out;
}

const results = [];
const models = args.models.split(',');
if (models.includes('demo')) {
  const weights = await loadClipWeights(resolveModelPath('demo'));
  // 12 classes x 16 shots = 192 images = 6 steps of 32 per epoch. Depth 1 (the shared prefix is the stem and
  // block 0 of 4) and the demo default (-1: the last block, so the stem and blocks 0-2 are shared); prompt
  // length as the default.
  const { DEMO_RVPT_DEFAULTS, promptDepth } = await load('defenses/rvpt/rvpt-defense.js');
  const stepsPerEpoch = 6;
  const defaultDepth = promptDepth('rvpt', DEMO_RVPT_DEFAULTS.depth, weights.config.vision.layers);
  for (const depth of [...new Set([1, defaultDepth])]) {
    const setting = {
      depth,
      promptLength: DEMO_RVPT_DEFAULTS.promptLength,
      batch: 32,
      classes: 12,
    };
    const t = await timeVariants(weights, { ...setting, steps: stepsPerEpoch * Number(args.epochs) });
    results.push({
      model: 'demo (4 blocks, width 128, 32 px)',
      ...setting,
      steps_per_epoch: stepsPerEpoch,
      timings: t,
    });
  }
}
if (models.includes('b32')) {
  const config = {
    embedDim: 512,
    vision: { width: 768, layers: 12, heads: 12, patchSize: 32, imageResolution: 224 },
    text: { width: 64, layers: 1, heads: 1, contextLength: 77, vocabSize: 1000 },
  };
  const weights = initClipWeights(config, new Rng(3));
  const setting = { depth: 3, promptLength: 50, batch: 32, classes: 12 };
  const t = await timeVariants(weights, { ...setting, steps: Number(args['b32-steps']) });
  results.push({
    model: 'ViT-B/32-shaped image tower (random init)',
    ...setting,
    steps_per_epoch: 6,
    timings: t,
  });
}

const machine = {
  cpus: `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}`,
  loadavg_at_end: os.loadavg().map((x) => Number(x.toFixed(2))),
  node: process.version,
};
writeFileSync(
  `${args.out}.json`,
  `${JSON.stringify({ date: new Date().toISOString(), machine, results }, null, 2)}\n`,
);
/** @param {number} ms */
const f = (ms) => ms.toFixed(0);
const lines = [
  '# RVPT time per epoch: shared prefix vs separate towers',
  '',
  `\`node bench/rvpt-prefix-speed.js ${process.argv.slice(2).join(' ')}\` on ${machine.cpus}, onnxruntime CPU, ${new Date().toISOString().slice(0, 10)};`,
  `load average at the end ${machine.loadavg_at_end.join(' / ')} (the machine is shared: A/B steps are interleaved).`,
  'Per-epoch time = median step time x steps per epoch (16 shots x 12 classes = 192 images, batch 32 = 6 steps).',
  '',
  '| model | D | b | batch | steps timed | step shared (ms) | step separate (ms) | epoch shared (s) | epoch separate (s) | speed-up | first step (session build) shared / separate (ms) |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...results.map((r) => {
    const s = r.timings.shared;
    const p = r.timings.separate;
    return `| ${r.model} | ${r.depth} | ${r.promptLength} | ${r.batch} | ${s.steps} | ${f(s.median_step_ms)} | ${f(p.median_step_ms)} | ${((s.median_step_ms * r.steps_per_epoch) / 1000).toFixed(2)} | ${((p.median_step_ms * r.steps_per_epoch) / 1000).toFixed(2)} | ${(p.median_step_ms / s.median_step_ms).toFixed(2)}x | ${f(s.first_step_ms)} / ${f(p.first_step_ms)} |`;
  }),
  '',
];
writeFileSync(`${args.out}.md`, lines.join('\n'));
console.log(lines.join('\n'));
