#!/usr/bin/env node
// @ts-check
/**
 * Engine speed benchmark. A ViT-B/32-sized CLIP image tower (random weights) timed on every engine this machine
 * has: forward on onnxruntime-node CPU (OnnxClip), TF.js wasm and TF.js cpu (TfjsClip); training steps
 * (forward+backward) w.r.t. deep visual prompts (RVPT objective) and w.r.t. pixels on OnnxTrainer and
 * TfjsTrainer; a full-weight training step of a tiny CLIP; the same work on PyTorch (bench/torch_speed.py, Debian
 * python3-torch) when installed; memory checks (onnxruntime RSS over 100 steps, TF.js tensor counts).
 *
 *   npm run build && node bench/engine-speed.js          full run (~15 min on 2 cores; first waits for load < 0.5)
 *   node bench/engine-speed.js --quick                   smoke run on ViT-B/32: batch 1, one repeat (~1 min)
 *   node bench/engine-speed.js --quick --model tiny --skip-torch --out DIR   ~10 s; what a test runs
 *
 * Options: --quick, --model b32|tiny, --out DIR (default bench/results; --quick: .vetbench-tmp/bench),
 * --no-wait (do not wait for load < 0.5), --max-wait S (how long to wait for it; default 600), --skip-torch,
 * --skip-cpu, --tfjs-b32 (also try TF.js gradients at batch 32), --sections a,b (any of onnx, tfjs, tiny,
 * memory, torch, cpu; default all).
 * Writes DIR/engine-speed.json and DIR/engine-speed.md (--quick: engine-speed.quick.*; --model tiny adds .tiny);
 * exit status 3 when a memory check fails. TF.js gradients run in child processes (one per batch: a fresh wasm
 * heap each, and an out-of-memory abort is recorded instead of ending the run).
 * Plain ESM JavaScript on purpose: it runs the compiled engine in dist/ (`npm run build` first).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const DIST = join(ROOT, 'dist', 'engine');
const require = createRequire(import.meta.url);

// ---------------------------------------------------------------------------------------------------------
// Options

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    model: { type: 'string', default: 'b32' },
    out: { type: 'string' },
    'no-wait': { type: 'boolean', default: false },
    'max-wait': { type: 'string', default: '600' },
    'skip-torch': { type: 'boolean', default: false },
    'skip-cpu': { type: 'boolean', default: false },
    'tfjs-b32': { type: 'boolean', default: false },
    sections: { type: 'string' },
    // Internal: run TF.js gradients at one batch in a child process (fresh 4 GiB wasm heap; an abort stays there).
    child: { type: 'string' },
    batch: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});
if (opts.help) {
  const text = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
  console.log(text.slice(2, text.findIndex((l) => l.startsWith(' */')) + 1).join('\n'));
  process.exit(0);
}
const QUICK = opts.quick === true;
const THREADS = os.availableParallelism();
const LOAD_THRESHOLD = 0.5;
const LOAD_POLL_S = 30;
const LOAD_MAX_WAIT_S = Number(opts['max-wait']);
if (!(LOAD_MAX_WAIT_S >= 0)) {
  console.error(`--max-wait needs seconds, not '${opts['max-wait']}'`);
  process.exit(2);
}
/** Memory check: 100 steps at batch 32 unless they would take longer than this; then 100 at 8 and 20 at 32. */
const MEMORY_CHECK_BUDGET_S = 360;
const ALL_SECTIONS = ['onnx', 'tfjs', 'tiny', 'memory', 'torch', 'cpu'];
const SECTIONS = new Set(opts.sections ? opts.sections.split(',').map((s) => s.trim()) : ALL_SECTIONS);
for (const s of SECTIONS) {
  if (!ALL_SECTIONS.includes(s)) {
    console.error(`unknown section '${s}' (use ${ALL_SECTIONS.join(', ')})`);
    process.exit(2);
  }
}
if (opts['skip-torch']) SECTIONS.delete('torch');
if (opts['skip-cpu'] || QUICK) SECTIONS.delete('cpu');

/**
 * @typedef {{ width: number, layers: number, heads: number, patchSize: number, imageResolution: number }} Vision
 * @typedef {{ width: number, layers: number, heads: number, contextLength: number, vocabSize: number }} Text
 * @typedef {{ embedDim: number, vision: Vision, text: Text }} Config
 */
/** @type {Record<string, { name: string, config: Config, depth: number, promptLength: number, classes: number }>} */
const MODELS = {
  b32: {
    name: 'ViT-B/32 image tower (random weights)',
    config: {
      embedDim: 512,
      vision: { width: 768, layers: 12, heads: 12, patchSize: 32, imageResolution: 224 },
      text: { width: 64, layers: 1, heads: 1, contextLength: 77, vocabSize: 1000 },
    },
    depth: 3,
    promptLength: 50,
    classes: 37,
  },
  tiny: {
    name: 'tiny ViT image tower (random weights; smoke tests only)',
    config: {
      embedDim: 64,
      vision: { width: 128, layers: 4, heads: 2, patchSize: 8, imageResolution: 32 },
      text: { width: 64, layers: 1, heads: 1, contextLength: 77, vocabSize: 1000 },
    },
    depth: 1,
    promptLength: 8,
    classes: 10,
  },
};
const MODEL = MODELS[opts.model ?? 'b32'];
if (!MODEL) {
  console.error(`unknown --model '${opts.model}' (use ${Object.keys(MODELS).join(' or ')})`);
  process.exit(2);
}
const VISION = MODEL.config.vision;
/** The tiny CLIP of the full-weight training step (ENGINE-NOTES: ~1.8 M parameters besides the token table). */
const TINY_CLIP = {
  embedDim: 128,
  vision: { width: 128, layers: 4, heads: 2, patchSize: 8, imageResolution: 32 },
  text: { width: 128, layers: 4, heads: 2, contextLength: 32, vocabSize: 49408 },
};
const RVPT_ALPHA = 2;
// Smoke runs write beside the build outputs (git-ignored), not over the committed results.
const OUT_DIR = resolve(opts.out ?? (QUICK ? join(ROOT, '.vetbench-tmp', 'bench') : join(HERE, 'results')));
const OUT_BASE = `engine-speed${QUICK ? '.quick' : ''}${opts.model === 'tiny' ? '.tiny' : ''}`;

/** Batches and repeats. Warm-up: one call before the timed ones (the first onnx call builds the session). */
const PLAN = QUICK
  ? {
      onnxForward: [1],
      wasmForward: [1],
      onnxGrad: [1],
      tfjsGrad: [1],
      torchGrad: [1],
      repeats: () => 1,
      warmup: () => 1,
      tfjsGradRepeats: () => 1,
      tinyBatch: 4,
      tinyRepeats: 1,
      onnxMemorySteps: 5,
      onnxMemoryBatch: 1,
      wasmLeakCalls: 3,
      wasmLeakBatch: 2,
      trainerLeakSteps: 2,
    }
  : {
      onnxForward: [1, 8, 32],
      wasmForward: [1, 8],
      onnxGrad: [1, 8, 32],
      // Batch 8 of the RVPT step needs more than the 4 GiB wasm heap (it aborts; recorded as such); 4 fits.
      tfjsGrad: opts['tfjs-b32'] ? [1, 4, 8, 32] : [1, 4, 8],
      torchGrad: [1, 4, 8, 32],
      /** @param {number} b */
      repeats: (b) => (b === 1 ? 5 : 3),
      /** At batch 32 onnxruntime's arena (and malloc) still grow during the second call: two warm-ups. @param {number} b */
      warmup: (b) => (b >= 32 ? 2 : 1),
      /** TF.js gradients take seconds per image: fewer repeats. @param {number} b */
      tfjsGradRepeats: (b) => (b === 1 ? 3 : 2),
      tinyBatch: 32,
      tinyRepeats: 5,
      onnxMemorySteps: 100,
      onnxMemoryBatch: 32,
      wasmLeakCalls: 100,
      wasmLeakBatch: 2,
      trainerLeakSteps: 3,
    };

const t0 = performance.now();
/** @param {string} msg */
function log(msg) {
  console.error(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${msg}`);
}

// ---------------------------------------------------------------------------------------------------------
// Machine and load

function readLoad() {
  const [one, five, fifteen] = readFileSync('/proc/loadavg', 'utf8').split(' ').map(Number);
  return { one: one ?? NaN, five: five ?? NaN, fifteen: fifteen ?? NaN };
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Busy CPU seconds of the whole machine (/proc/stat) and of this process, to tell our load from others'. */
function cpuSnapshot() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  const own = process.cpuUsage();
  return {
    wall: performance.now() / 1000,
    busy: (total - idle) / CLK_TCK,
    own: (own.user + own.system) / 1e6,
  };
}

/**
 * Cores' worth of CPU used by other processes between two snapshots (machine busy time minus ours).
 * @param {ReturnType<typeof cpuSnapshot>} a @param {ReturnType<typeof cpuSnapshot>} b @param {number} [childCpu]
 */
function foreignCores(a, b, childCpu = 0) {
  const wall = b.wall - a.wall;
  if (wall <= 0) return 0;
  return Math.max(0, (b.busy - a.busy - (b.own - a.own) - childCpu) / wall);
}

function machineInfo() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  const logical = (cpuinfo.match(/^processor\s*:/gm) ?? []).length;
  const flags = /^flags\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.split(' ') ?? [];
  return {
    cpuModel: model,
    logicalCpus: logical,
    availableParallelism: THREADS,
    simd: ['avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx512_bf16'].filter((x) => flags.includes(x)),
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
  };
}

async function waitForQuietMachine() {
  const start = performance.now();
  let load = readLoad();
  if (QUICK || opts['no-wait'])
    return { waitedS: 0, reached: load.one < LOAD_THRESHOLD, load, skipped: true, polls: [] };
  /** @type {number[]} */
  const polls = [load.one];
  while (load.one >= LOAD_THRESHOLD && (performance.now() - start) / 1000 < LOAD_MAX_WAIT_S) {
    log(
      `1-minute load ${load.one.toFixed(2)} >= ${LOAD_THRESHOLD}: waiting ${LOAD_POLL_S} s (up to ${LOAD_MAX_WAIT_S} s in all)`,
    );
    await sleep(LOAD_POLL_S * 1000);
    load = readLoad();
    polls.push(load.one);
  }
  const waitedS = Math.round((performance.now() - start) / 1000);
  const reached = load.one < LOAD_THRESHOLD;
  log(
    reached
      ? `1-minute load ${load.one.toFixed(2)}: starting`
      : `1-minute load still ${load.one.toFixed(2)} after ${waitedS} s: measuring anyway`,
  );
  return { waitedS, reached, load, skipped: false, polls, maxWaitS: LOAD_MAX_WAIT_S };
}

// ---------------------------------------------------------------------------------------------------------
// Random weights and inputs

/** mulberry32: small deterministic PRNG. @param {number} seed */
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fills with N(0, std^2) (Box-Muller). @param {number} n @param {number} std @param {() => number} next */
function normal(n, std, next) {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - next())) * std;
    const a = 2 * Math.PI * next();
    out[i] = r * Math.cos(a);
    if (i + 1 < n) out[i + 1] = r * Math.sin(a);
  }
  return out;
}

/**
 * In-memory ClipWeights with CLIP-like random initialisation.
 * @param {Config} config @param {(config: Config) => Map<string, number[]>} expectedOpenAiShapes @param {number} seed
 */
function randomWeights(config, expectedOpenAiShapes, seed) {
  const next = rng(seed);
  /** @type {Map<string, { data: Float32Array, shape: number[] }>} */
  const tensors = new Map();
  for (const [name, shape] of expectedOpenAiShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    let data;
    if (name === 'logit_scale') data = Float32Array.of(Math.log(100));
    else if (/(^|\.)ln_[^.]+\.weight$/.test(name)) data = new Float32Array(n).fill(1);
    else if (name.endsWith('bias')) data = normal(n, 0.01, next);
    else if (/class_embedding$|positional_embedding$/.test(name))
      data = normal(n, (shape[shape.length - 1] ?? 1) ** -0.5, next);
    else if (name === 'visual.proj' || name === 'text_projection')
      data = normal(n, (shape[0] ?? 1) ** -0.5, next);
    else data = normal(n, 0.02, next);
    tensors.set(name, { data, shape });
  }
  return {
    config,
    tensors,
    logitScale: Math.log(100),
    source: {
      path: '(random, in memory)',
      fingerprint: '',
      naming: 'openai',
      dtypes: ['F32'],
      fileBytes: 0,
      nonFiniteTensors: [],
      warnings: [],
    },
  };
}

/** Multiply-adds x2 of one image through the tower; `promptLength` extra tokens from block `depth` on. */
function gflopPerImage(promptLength = 0, depth = 0) {
  const { width: w, layers, patchSize: p, imageResolution: r } = VISION;
  const base = 1 + (r / p) ** 2;
  let flops = 2 * (base - 1) * 3 * p * p * w + 2 * w * MODEL.config.embedDim;
  for (let i = 0; i < layers; i++) {
    const t = base + (promptLength > 0 && i >= depth ? promptLength : 0);
    flops += 24 * t * w * w + 4 * t * t * w;
  }
  return flops / 1e9;
}

/** @param {number} batch @param {number} seed @param {number} [resolution] */
function randomPixels(batch, seed, resolution = VISION.imageResolution) {
  const shape = [batch, 3, resolution, resolution];
  return { data: normal(batch * 3 * resolution * resolution, 1, rng(seed)), shape };
}

function randomPrompts() {
  const shape = [VISION.layers - MODEL.depth, MODEL.promptLength, VISION.width];
  return { data: normal(shape[0] * shape[1] * shape[2], 0.02, rng(7)), shape };
}

/** The RVPT batch: pixels, one-hot targets over MODEL.classes, a fixed random class-text head. @param {any} E @param {number} batch */
function rvptBatch(E, batch) {
  const next = rng(500 + batch);
  const labels = Array.from({ length: batch }, () => Math.floor(next() * MODEL.classes));
  return {
    pixels: randomPixels(batch, 200 + batch),
    targets: E.oneHot(labels, MODEL.classes),
    classText: {
      data: normal(MODEL.classes * MODEL.config.embedDim, 1, rng(11)),
      shape: [MODEL.classes, MODEL.config.embedDim],
    },
  };
}

/**
 * Captions of random token ids, CLIP-style: start token, 1..ctx-3 random ids, end token (the largest id), zeros.
 * @param {number} rows @param {Text} text
 */
function randomCaptions(rows, text) {
  const ctx = text.contextLength;
  const ids = new Int32Array(rows * ctx);
  const next = rng(31);
  for (let r = 0; r < rows; r++) {
    const n = 1 + Math.floor(next() * (ctx - 3));
    ids[r * ctx] = text.vocabSize - 2;
    for (let j = 1; j <= n; j++) ids[r * ctx + j] = Math.floor(next() * (text.vocabSize - 2));
    ids[r * ctx + n + 1] = text.vocabSize - 1;
  }
  return { ids, rows };
}

const rssMiB = () => +(process.memoryUsage().rss / 2 ** 20).toFixed(1);

// ---------------------------------------------------------------------------------------------------------
// Objectives

/**
 * The gradient objective of the image-tower benchmark, one object for both tasks so that one TfjsTrainer (one
 * copy of the weights in the wasm heap) serves both: with variable `prompts` it is rvptObjective (depth D, alpha
 * 2); with variable `pixels` the loss is sum(image_embeds * r) for a fixed random r (image tower only).
 * @param {any} E @param {number} logitScale
 */
function benchObjective(E, logitScale) {
  const rvpt = E.rvptObjective({ depth: MODEL.depth, alpha: RVPT_ALPHA, logitScale });
  const r = { data: normal(MODEL.config.embedDim, 1, rng(3)), shape: [1, MODEL.config.embedDim] };
  return {
    name: 'bench-grad',
    /** @param {any} ctx */
    build(ctx) {
      if (ctx.vars.prompts) return rvpt.build(ctx);
      const { ops, clip, vars } = ctx;
      const embeds = E.encodeImage(clip, vars.pixels).embeds;
      return { loss: ops.sum(ops.mul(embeds, ops.constant(r)), [0, 1]) };
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Timing

/** @param {number[]} xs */
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2;
}

/**
 * @typedef {'forward' | 'promptGrad' | 'pixelGrad' | 'clipStep'} Task
 * @typedef {{ engine: string, executor: string, task: Task, batch: number, threads: number, warmup: number,
 *   repeats: number, minMs: number, medianMs: number, stepMinMs: number, stepMedianMs: number, samplesMs: number[],
 *   firstCallMs: number | null, foreignCores: number, gflops: number | null, note?: string }} Timing
 */
/** @type {Timing[]} */
const timings = [];

const ENGINE = {
  onnx: 'onnxruntime-node CPU',
  wasm: 'TF.js wasm',
  cpu: 'TF.js cpu',
  torch: 'PyTorch CPU',
};

/**
 * Times `fn` (one call = one batch); records ms per image (min/median) and per call.
 * @param {{ engine: string, executor: string, task: Task, batch: number, threads: number, warmup: number, repeats: number, note?: string }} what
 * @param {() => Promise<unknown> | unknown} fn
 */
async function measure(what, fn) {
  const snap0 = cpuSnapshot();
  let firstCallMs = null;
  for (let i = 0; i < what.warmup; i++) {
    const s = performance.now();
    await fn();
    if (i === 0) firstCallMs = performance.now() - s;
  }
  /** @type {number[]} */
  const perCall = [];
  for (let i = 0; i < what.repeats; i++) {
    const s = performance.now();
    await fn();
    perCall.push(performance.now() - s);
  }
  const foreign = foreignCores(snap0, cpuSnapshot());
  const samplesMs = perCall.map((x) => x / what.batch);
  const med = median(samplesMs);
  /** @type {Timing} */
  const t = {
    ...what,
    minMs: Math.min(...samplesMs),
    medianMs: med,
    stepMinMs: Math.min(...perCall),
    stepMedianMs: median(perCall),
    samplesMs,
    firstCallMs,
    foreignCores: +foreign.toFixed(2),
    gflops: what.task === 'forward' ? +(gflopPerImage() / (med / 1000)).toFixed(1) : null,
  };
  timings.push(t);
  log(
    `${what.engine} ${what.task} batch ${what.batch}: min ${t.minMs.toFixed(1)} / median ${med.toFixed(1)} ms per image` +
      (firstCallMs !== null ? ` (first call ${firstCallMs.toFixed(0)} ms)` : '') +
      ` [other processes: ${foreign.toFixed(2)} cores]`,
  );
  return t;
}

/** @param {string} engine @param {Task} task @param {number} batch */
function find(engine, task, batch) {
  return timings.find((t) => t.engine === engine && t.task === task && t.batch === batch);
}

// ---------------------------------------------------------------------------------------------------------
// onnxruntime

/** Forward at each batch on OnnxClip (a session per batch shape, released after). @param {any} E @param {any} weights @param {number} threads */
async function benchOnnxForward(E, weights, threads) {
  for (const batch of PLAN.onnxForward) {
    const onnx = new E.OnnxClip(weights);
    const pixels = randomPixels(batch, 100 + batch);
    await measure(
      {
        engine: ENGINE.onnx,
        executor: 'OnnxClip.encode',
        task: 'forward',
        batch,
        threads,
        warmup: PLAN.warmup(batch),
        repeats: PLAN.repeats(batch),
        note: 'first call builds the session',
      },
      () => onnx.encode({ pixels, outputs: ['image_embeds'] }),
    );
    await onnx.dispose();
  }
}

/** Prompt (RVPT) and pixel gradients on OnnxTrainer, one trainer per batch. @param {any} E @param {any} weights @param {number} threads */
async function benchOnnxGrads(E, weights, threads) {
  const prompts = randomPrompts();
  for (const batch of PLAN.onnxGrad) {
    const trainer = new E.OnnxTrainer(benchObjective(E, weights.logitScale), weights);
    const rb = rvptBatch(E, batch);
    const base = {
      engine: ENGINE.onnx,
      executor: 'OnnxTrainer.step',
      batch,
      threads,
      warmup: PLAN.warmup(batch),
      repeats: PLAN.repeats(batch),
      note: 'first call traces, differentiates and builds the session',
    };
    await measure({ ...base, task: 'promptGrad' }, () => trainer.step({ prompts }, rb));
    await measure({ ...base, task: 'pixelGrad' }, () => trainer.step({ pixels: rb.pixels }, {}));
    await trainer.dispose();
  }
}

/**
 * RSS over consecutive RVPT steps on one OnnxTrainer (fresh: step 1 builds the session).
 * @param {any} E @param {any} weights @param {number} steps @param {number} batch
 */
async function onnxMemoryCheck(E, weights, steps, batch) {
  const trainer = new E.OnnxTrainer(benchObjective(E, weights.logitScale), weights);
  const prompts = randomPrompts();
  const rb = rvptBatch(E, batch);
  log(`onnx memory check: ${steps} consecutive RVPT prompt-gradient steps at batch ${batch}`);
  const before = rssMiB();
  /** @type {number[]} */
  const rss = [];
  /** @type {number[]} */
  const stepMs = [];
  let finite = true;
  const s = performance.now();
  for (let i = 0; i < steps; i++) {
    const a = performance.now();
    const r = await trainer.step({ prompts }, rb);
    stepMs.push(performance.now() - a);
    finite &&= Number.isFinite(r.loss);
    rss.push(rssMiB());
    if ((i + 1) % 10 === 0) log(`  step ${i + 1}: RSS ${rss[i]} MiB`);
  }
  await trainer.dispose();
  const at = (/** @type {number} */ n) => rss[Math.min(n, steps) - 1] ?? NaN;
  const ref = at(10);
  const last = at(steps);
  const tail = rss.slice(Math.floor(steps / 2));
  const slope = tail.length > 1 ? ((tail[tail.length - 1] ?? 0) - (tail[0] ?? 0)) / (tail.length - 1) : 0;
  const growth = last - ref;
  const pass = growth < 64 && slope < 0.5;
  const result = {
    steps,
    batch,
    rssBeforeMiB: before,
    rssAtStepMiB: Object.fromEntries(
      [...new Set([1, 10, 50, 100, steps])].filter((n) => n <= steps).map((n) => [String(n), at(n)]),
    ),
    rssEvery10MiB: rss.filter((_, i) => i % 10 === 9),
    rssMaxMiB: Math.max(...rss),
    growthAfterStep10MiB: +growth.toFixed(1),
    slopeSecondHalfMiBPerStep: +slope.toFixed(3),
    criterion: 'RSS(last) - RSS(step 10) < 64 MiB and slope over the second half < 0.5 MiB/step',
    pass,
    lossFinite: finite,
    stepMedianMs: +median(stepMs.slice(1)).toFixed(1),
    firstStepMs: +(stepMs[0] ?? NaN).toFixed(0),
    seconds: +((performance.now() - s) / 1000).toFixed(1),
  };
  log(
    `onnx memory (batch ${batch}): RSS ${JSON.stringify(result.rssAtStepMiB)} MiB, growth after step 10 ${result.growthAfterStep10MiB} MiB -> ${pass ? 'OK' : 'GROWS'}`,
  );
  return result;
}

// ---------------------------------------------------------------------------------------------------------
// TF.js

/** @param {any} m */
const pickMemory = (m) => ({
  numTensors: m.numTensors,
  numDataBuffers: m.numDataBuffers,
  numBytes: m.numBytes,
});

/**
 * Forward on TfjsClip + encodeWithTfjs, then (wasm) the forward leak check and what dispose() gives back.
 * @param {any} E @param {any} weights @param {'wasm' | 'cpu'} backend @param {number} threads
 * @param {{ batches: number[], warmup: number, repeats: (b: number) => number, leakCheck: boolean }} plan
 */
async function benchTfjsForward(E, weights, backend, threads, plan) {
  const tf = E.tf;
  const engine = backend === 'wasm' ? ENGINE.wasm : ENGINE.cpu;
  const before = pickMemory(tf.memory());
  const model = new E.TfjsClip(weights);
  for (const batch of plan.batches) {
    const pixels = randomPixels(batch, 100 + batch);
    await measure(
      {
        engine,
        executor: 'TfjsClip + encodeWithTfjs',
        task: 'forward',
        batch,
        threads,
        warmup: plan.warmup,
        repeats: plan.repeats(batch),
        ...(plan.warmup === 0 ? { note: 'one call, no warm-up' } : {}),
      },
      () => E.encodeWithTfjs(model, { pixels, outputs: ['image_embeds'] }),
    );
  }
  /** @type {any} */
  let memory = null;
  if (plan.leakCheck) {
    const calls = PLAN.wasmLeakCalls;
    const batch = PLAN.wasmLeakBatch;
    log(`${engine} memory check: ${calls} forward calls at batch ${batch}`);
    const pixels = randomPixels(batch, 300);
    const start = pickMemory(tf.memory());
    const s = performance.now();
    /** @type {number[]} */
    const counts = [];
    for (let i = 0; i < calls; i++) {
      await E.encodeWithTfjs(model, { pixels, outputs: ['image_embeds'] });
      counts.push(tf.memory().numTensors);
    }
    const end = pickMemory(tf.memory());
    const pass = counts.every((c) => c === start.numTensors) && end.numBytes === start.numBytes;
    memory = {
      backend,
      calls,
      batch,
      before: start,
      afterFirst: { numTensors: counts[0] },
      afterLast: end,
      distinctCounts: [...new Set(counts)],
      criterion:
        'tf.memory().numTensors after every call equals the count before the first; numBytes unchanged',
      pass,
      seconds: +((performance.now() - s) / 1000).toFixed(1),
    };
    log(
      `${engine} forward memory: numTensors ${start.numTensors} before, ${memory.distinctCounts.join('/')} after each call -> ${pass ? 'OK' : 'LEAKS'}`,
    );
  }
  const loaded = pickMemory(tf.memory());
  model.dispose();
  const after = pickMemory(tf.memory());
  const disposal = { beforeModel: before, withModel: loaded, afterDispose: after };
  log(
    `${engine}: TfjsClip.dispose() left ${after.numTensors - before.numTensors} tensors / ${after.numBytes - before.numBytes} bytes allocated`,
  );
  return { memory, disposal };
}

const CHILD_PREFIX = '@@bench ';

/**
 * In a child process: pixel then RVPT prompt gradients at one batch on one TfjsTrainer (pixels first: the RVPT
 * step needs more memory, and an abort of the wasm heap ends the process). Each result is printed as it comes.
 * At batch 1 also a short leak check of TfjsTrainer steps.
 * @param {any} E @param {any} weights @param {number} batch
 */
async function childTfjsGrads(E, weights, batch) {
  const tf = E.tf;
  const report = await E.initTfBackend('wasm');
  /** @param {string} kind @param {unknown} value */
  const emit = (kind, value) => process.stdout.write(`${CHILD_PREFIX}${JSON.stringify({ kind, value })}\n`);
  const heap = () => ({ rssMiB: rssMiB(), tfNumBytes: tf.memory().numBytes });
  const trainer = new E.TfjsTrainer(benchObjective(E, weights.logitScale), weights);
  const prompts = randomPrompts();
  const rb = rvptBatch(E, batch);
  const base = {
    engine: ENGINE.wasm,
    executor: 'TfjsTrainer.step',
    batch,
    threads: report.threads,
    warmup: 1,
    repeats: PLAN.tfjsGradRepeats(batch),
    note: 'own process (fresh wasm heap)',
  };
  emit('start', { task: 'pixelGrad', batch });
  emit('timing', {
    ...(await measure({ ...base, task: 'pixelGrad' }, () => trainer.step({ pixels: rb.pixels }, {}))),
    ...heap(),
  });
  emit('start', { task: 'promptGrad', batch });
  emit('timing', {
    ...(await measure({ ...base, task: 'promptGrad' }, () => trainer.step({ prompts }, rb))),
    ...heap(),
  });
  if (batch === 1) {
    const steps = PLAN.trainerLeakSteps;
    log(`${ENGINE.wasm} memory check: ${steps} TfjsTrainer RVPT steps at batch 1`);
    await trainer.step({ prompts }, rb);
    const start = pickMemory(tf.memory());
    /** @type {number[]} */
    const counts = [];
    for (let i = 0; i < steps; i++) {
      await trainer.step({ prompts }, rb);
      counts.push(tf.memory().numTensors);
    }
    const end = pickMemory(tf.memory());
    const pass = counts.every((c) => c === start.numTensors) && end.numBytes === start.numBytes;
    log(
      `${ENGINE.wasm} trainer memory: numTensors ${start.numTensors} -> ${counts.join('/')} -> ${pass ? 'OK' : 'LEAKS'}`,
    );
    emit('memory', {
      steps,
      batch: 1,
      before: start,
      afterLast: end,
      distinctCounts: [...new Set(counts)],
      criterion: 'numTensors and numBytes after every step equal those after the warm-up step',
      pass,
    });
  }
  await trainer.dispose();
}

/**
 * TF.js wasm gradients, one child process per batch: each gets a fresh wasm heap (at most 4 GiB, never given
 * back), so one batch's high-water mark does not decide whether the next fits, and an abort is a result.
 * @returns {{ memory: any, failures: { batch: number, task: string, error: string, rssMiB: number | null }[] }}
 */
function benchTfjsGradsInChildren() {
  /** @type {any} */
  let memory = null;
  /** @type {{ batch: number, task: string, error: string, rssMiB: number | null }[]} */
  const failures = [];
  for (const batch of PLAN.tfjsGrad) {
    const args = [
      fileURLToPath(import.meta.url),
      '--child=tfjs-grads',
      `--batch=${batch}`,
      `--model=${opts.model}`,
      ...(QUICK ? ['--quick'] : []),
    ];
    log(`${ENGINE.wasm} gradients at batch ${batch}: child process`);
    const run = spawnSync(process.execPath, args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 900_000,
      maxBuffer: 1 << 24,
    });
    const stderr = run.stderr ?? '';
    process.stderr.write(
      stderr
        .split('\n')
        .filter((l) => l.startsWith('['))
        .map((l) => `  child: ${l}\n`)
        .join(''),
    );
    /** @type {string | null} */
    let pending = null;
    const done = new Set();
    for (const line of (run.stdout ?? '').split('\n')) {
      if (!line.startsWith(CHILD_PREFIX)) continue;
      const { kind, value } = JSON.parse(line.slice(CHILD_PREFIX.length));
      if (kind === 'start') pending = value.task;
      else if (kind === 'timing') {
        timings.push(value);
        done.add(value.task);
        pending = null;
      } else if (kind === 'memory') memory = value;
    }
    if (run.status !== 0) {
      const aborted = /Aborted\(\)|RuntimeError|out of memory/i.test(stderr);
      const error = aborted
        ? 'the wasm backend aborted (its heap is limited to 4 GiB)'
        : `child exited with status ${run.status}${run.signal ? ` (signal ${run.signal})` : ''}: ${stderr.trim().split('\n').slice(-1)[0] ?? ''}`;
      for (const task of ['pixelGrad', 'promptGrad']) {
        if (done.has(task)) continue;
        failures.push({
          batch,
          task,
          error: task === pending ? error : `not run (${error} in an earlier task)`,
          rssMiB: null,
        });
      }
      log(`${ENGINE.wasm} gradients at batch ${batch}: ${error}`);
    }
  }
  return { memory, failures };
}

// ---------------------------------------------------------------------------------------------------------
// Tiny CLIP full-weight training step

/** @param {any} E @param {number} onnxThreads @param {number} wasmThreads */
async function benchTinyClip(E, onnxThreads, wasmThreads) {
  const weights = randomWeights(TINY_CLIP, E.expectedOpenAiShapes, 424242);
  const vars = E.clipTrainableTensors(weights);
  let parameters = 0;
  for (const t of Object.values(vars)) parameters += t.data.length;
  const tokenTable = TINY_CLIP.text.vocabSize * TINY_CLIP.text.width;
  const batch = PLAN.tinyBatch;
  const pixels = randomPixels(batch, 900, TINY_CLIP.vision.imageResolution);
  const texts = { captions: randomCaptions(batch, TINY_CLIP.text) };
  /** @type {Record<string, number>} */
  const losses = {};
  for (const [kind, engine, threads] of /** @type {const} */ ([
    ['onnx', ENGINE.onnx, onnxThreads],
    ['tfjs', ENGINE.wasm, wasmThreads],
  ])) {
    const trainer =
      kind === 'onnx'
        ? new E.OnnxTrainer(E.contrastiveObjective(), weights)
        : new E.TfjsTrainer(E.contrastiveObjective(), weights);
    await measure(
      {
        engine,
        executor: `${kind === 'onnx' ? 'OnnxTrainer' : 'TfjsTrainer'}.step (contrastiveObjective, all weights)`,
        task: 'clipStep',
        batch,
        threads,
        warmup: PLAN.warmup(batch),
        repeats: PLAN.tinyRepeats,
        ...(kind === 'onnx' ? { note: 'first call traces, differentiates and builds the session' } : {}),
      },
      async () => {
        const r = await trainer.step(vars, { pixels }, texts);
        losses[kind] = r.loss;
      },
    );
    await trainer.dispose();
  }
  return {
    config: TINY_CLIP,
    batch,
    parameters,
    parametersWithoutTokenTable: parameters - tokenTable,
    lossOnnx: losses.onnx,
    lossTfjs: losses.tfjs,
  };
}

// ---------------------------------------------------------------------------------------------------------
// PyTorch

function benchTorch() {
  const python = '/usr/bin/python3';
  const probe = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    const why = probe.error ? `${python} not found` : 'torch not importable (Debian python3-torch)';
    log(`PyTorch: ${why}; skipped`);
    return { status: why };
  }
  const v = VISION;
  const c = TINY_CLIP;
  const args = [
    join(HERE, 'torch_speed.py'),
    `--threads=${THREADS}`,
    `--batches=${PLAN.onnxForward.join(',')}`,
    `--grad-batches=${PLAN.torchGrad.join(',')}`,
    `--repeats=${QUICK ? '1:1' : '1:5,4:3,8:3,32:3'}`,
    '--warmup=1',
    `--warmups=${[...new Set([...PLAN.onnxForward, ...PLAN.torchGrad, PLAN.tinyBatch])]
      .filter((b) => PLAN.warmup(b) !== 1)
      .map((b) => `${b}:${PLAN.warmup(b)}`)
      .join(',')}`,
    `--resolution=${v.imageResolution}`,
    `--patch=${v.patchSize}`,
    `--width=${v.width}`,
    `--layers=${v.layers}`,
    `--heads=${v.heads}`,
    `--embed=${MODEL.config.embedDim}`,
    `--depth=${MODEL.depth}`,
    `--prompt-len=${MODEL.promptLength}`,
    `--classes=${MODEL.classes}`,
    `--alpha=${RVPT_ALPHA}`,
    `--tiny-batch=${SECTIONS.has('tiny') ? PLAN.tinyBatch : 0}`,
    `--tiny-repeats=${PLAN.tinyRepeats}`,
    `--tiny-resolution=${c.vision.imageResolution}`,
    `--tiny-patch=${c.vision.patchSize}`,
    `--tiny-width=${c.vision.width}`,
    `--tiny-layers=${c.vision.layers}`,
    `--tiny-heads=${c.vision.heads}`,
    `--tiny-text-width=${c.text.width}`,
    `--tiny-text-layers=${c.text.layers}`,
    `--tiny-text-heads=${c.text.heads}`,
    `--tiny-context=${c.text.contextLength}`,
    `--tiny-vocab=${c.text.vocabSize}`,
    `--tiny-embed=${c.embedDim}`,
  ];
  // OpenMP's spinning workers fight OpenBLAS's own threads on few cores: passive waiting is ~3x faster here
  // (ViT-B/32 forward at batch 8: 120 vs 360-390 ms per image), so PyTorch gets its best setting.
  const env = {
    ...process.env,
    OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? String(THREADS),
    OPENBLAS_NUM_THREADS: process.env.OPENBLAS_NUM_THREADS ?? String(THREADS),
    OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE',
  };
  log(`PyTorch ${probe.stdout.trim()}: ${python} ${relative(ROOT, args[0] ?? '')} (${THREADS} threads)`);
  const snap0 = cpuSnapshot();
  const run = spawnSync(python, args, {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 900_000,
    maxBuffer: 1 << 24,
  });
  const snap1 = cpuSnapshot();
  if (run.status !== 0) {
    log(`PyTorch run failed (status ${run.status}${run.error ? `, ${run.error.message}` : ''})`);
    return { status: `failed: status ${run.status}${run.signal ? ` signal ${run.signal}` : ''}` };
  }
  const out = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}');
  const foreign = +foreignCores(snap0, snap1, out.cpuSeconds ?? 0).toFixed(2);
  log(`PyTorch done [other processes: ${foreign} cores]`);
  /** @type {Record<string, string>} */
  const executors = {
    forward: 'VisionTransformer under no_grad',
    promptGrad: 'autograd.grad w.r.t. prompts (RVPT loss, frozen pass under no_grad)',
    pixelGrad: 'autograd.grad w.r.t. pixels',
    clipStep: 'autograd.grad w.r.t. all parameters (contrastive loss)',
  };
  for (const task of /** @type {const} */ (['forward', 'promptGrad', 'pixelGrad', 'clipStep'])) {
    for (const r of out.results[task] ?? []) {
      timings.push({
        engine: ENGINE.torch,
        executor: executors[task] ?? task,
        task,
        batch: r.batch,
        threads: out.threads,
        warmup: r.warmup,
        repeats: r.repeats,
        minMs: r.minMs,
        medianMs: r.medianMs,
        stepMinMs: r.stepMinMs,
        stepMedianMs: r.stepMedianMs,
        samplesMs: r.samplesMs,
        firstCallMs: r.firstCallMs,
        foreignCores: foreign,
        gflops: task === 'forward' ? +(gflopPerImage() / (r.medianMs / 1000)).toFixed(1) : null,
      });
    }
  }
  const info = { ...out };
  delete info.results;
  return {
    status: 'ok',
    env: {
      OMP_NUM_THREADS: env.OMP_NUM_THREADS,
      OPENBLAS_NUM_THREADS: env.OPENBLAS_NUM_THREADS,
      OMP_WAIT_POLICY: env.OMP_WAIT_POLICY,
    },
    ...info,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Ratios and targets

/**
 * @typedef {{ id: string, name: string, batch: number, value: number, numeratorMs: number, denominatorMs: number,
 *   target: string | null, aim: string | null, met: boolean | null }} Ratio
 */
function ratios() {
  /** @type {Ratio[]} */
  const out = [];
  /**
   * @param {string} id @param {string} name @param {string} engine @param {Task} task
   * @param {'speedup' | 'ratio'} kind @param {number | null} target @param {number | null} aim @param {string} [versus]
   */
  const add = (id, name, engine, task, kind, target, aim, versus = ENGINE.torch) => {
    for (const t of timings.filter((x) => x.engine === engine && x.task === task)) {
      const ref = find(versus, task, t.batch);
      if (!ref) continue;
      const value = kind === 'speedup' ? ref.medianMs / t.medianMs : t.medianMs / ref.medianMs;
      out.push({
        id,
        name,
        batch: t.batch,
        value: +value.toFixed(2),
        numeratorMs: +(kind === 'speedup' ? ref.medianMs : t.medianMs).toFixed(2),
        denominatorMs: +(kind === 'speedup' ? t.medianMs : ref.medianMs).toFixed(2),
        target: target === null ? null : `${kind === 'speedup' ? '>=' : '<='} ${target}`,
        aim: aim === null ? null : `${kind === 'speedup' ? '>=' : '<='} ${aim}`,
        met: target === null ? null : kind === 'speedup' ? value >= target : value <= target,
      });
    }
  };
  add(
    'onnxForwardSpeedup',
    'forward speed-up, onnxruntime vs PyTorch (PyTorch ms / onnx ms)',
    ENGINE.onnx,
    'forward',
    'speedup',
    1.5,
    null,
  );
  add(
    'onnxPromptGradRatio',
    'RVPT prompt-gradient step, onnxruntime / PyTorch',
    ENGINE.onnx,
    'promptGrad',
    'ratio',
    1.0,
    0.5,
  );
  add(
    'tfjsPromptGradRatio',
    'RVPT prompt-gradient step, TF.js wasm / PyTorch',
    ENGINE.wasm,
    'promptGrad',
    'ratio',
    1.0,
    null,
  );
  add(
    'onnxPixelGradRatio',
    'pixel-gradient step, onnxruntime / PyTorch',
    ENGINE.onnx,
    'pixelGrad',
    'ratio',
    null,
    null,
  );
  add(
    'tfjsPixelGradRatio',
    'pixel-gradient step, TF.js wasm / PyTorch',
    ENGINE.wasm,
    'pixelGrad',
    'ratio',
    null,
    null,
  );
  add('tfjsForwardRatio', 'forward, TF.js wasm / PyTorch', ENGINE.wasm, 'forward', 'ratio', null, null);
  add(
    'tinyClipOnnxVsTfjs',
    'tiny CLIP full training step speed-up, onnxruntime vs TF.js wasm (TF.js ms / onnx ms)',
    ENGINE.onnx,
    'clipStep',
    'speedup',
    3,
    null,
    ENGINE.wasm,
  );
  add(
    'tinyClipOnnxVsTorch',
    'tiny CLIP full training step, onnxruntime / PyTorch',
    ENGINE.onnx,
    'clipStep',
    'ratio',
    null,
    null,
  );
  add(
    'tinyClipTfjsVsTorch',
    'tiny CLIP full training step, TF.js wasm / PyTorch',
    ENGINE.wasm,
    'clipStep',
    'ratio',
    null,
    null,
  );
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Report

/** @param {number | null | undefined} x @param {number} [digits] */
const fmt = (x, digits = 0) =>
  x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits);
/** Milliseconds, 3 significant digits for small values. @param {number | null | undefined} x */
const fmtMs = (x) =>
  x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(x < 10 ? 2 : x < 100 ? 1 : 0);
/** @param {number} n */
const num = (n) => n.toLocaleString('en-US');

/** @param {any} r */
function markdown(r) {
  const L = [];
  L.push(`# Engine speed: ${MODEL.name}`, '');
  L.push('Reproduce (from the repository root):', '', '```sh', r.reproduce, '```', '');
  L.push(
    `This run: \`${r.command}\`, started ${r.date}${QUICK ? ' (**--quick smoke run: not a measurement to quote**)' : ''}; ${r.durationS} s in all (${Object.entries(
      r.sectionSeconds,
    )
      .map(([k, x]) => `${k} ${x} s`)
      .join(', ')}).`,
    '',
  );
  L.push('## Machine and versions', '');
  L.push('| | |', '|---|---|');
  const m = r.machine;
  L.push(
    `| CPU | ${m.cpuModel}, ${m.logicalCpus} logical CPUs (availableParallelism ${m.availableParallelism}); ${m.simd.join(', ')} |`,
  );
  L.push(`| memory | ${m.memoryGiB} GiB |`);
  L.push(`| OS | ${m.os} |`);
  L.push(`| Node | ${m.node} |`);
  const v = r.versions;
  L.push(
    `| onnxruntime-node | ${v.onnxruntimeNode}, CPU execution provider, ${v.onnxThreads} intra-op threads |`,
  );
  L.push(
    `| TF.js | @tensorflow/tfjs ${v.tfjs}, tfjs-backend-wasm ${v.tfjsBackendWasm} (SIMD ${v.wasmSimd}, ${v.wasmThreads} thread: tfjs disables wasm threads in Node) |`,
  );
  const t = r.torch;
  L.push(
    `| PyTorch | ${
      t.status === 'ok'
        ? `${t.torch} (Debian python3-torch, python ${t.python}), ${t.threads} threads, BLAS ${(
            t.blasLoaded ?? []
          )
            .map((/** @type {string} */ p) => p.split('/').pop())
            .join(', ')}; env ${Object.entries(t.env)
            .map(([k, x]) => `${k}=${x}`)
            .join(' ')}`
        : t.status
    } |`,
  );
  const ld = r.load;
  L.push(
    `| load | 1-min load average ${fmt(ld.atStart.one, 2)} at the start (5-min ${fmt(ld.atStart.five, 2)}, 15-min ${fmt(ld.atStart.fifteen, 2)}; ${
      ld.waitSkipped
        ? 'no waiting: --quick/--no-wait'
        : ld.reachedThreshold
          ? `below ${LOAD_THRESHOLD} after waiting ${ld.waitedS} s`
          : `still >= ${LOAD_THRESHOLD} after waiting ${ld.waitedS} s: numbers may be slow`
    }), ${fmt(ld.atEnd.one, 2)} at the end (includes this run). CPU used by other processes during each measurement: last column below |`,
  );
  L.push('');

  L.push('## Image tower: time per image, ms (min / median)', '');
  L.push(
    `Model: ${r.model.description}; ${num(r.model.parameters)} image-tower parameters, ${fmt(r.model.gflopPerImage, 2)} GFLOP per image forward ` +
      `(${fmt(r.model.gflopPerImagePrompted, 2)} with prompts). Text tower: ${r.model.config.text.width} wide, ${r.model.config.text.layers} layer (unused here).`,
    '',
  );
  L.push(
    `- **forward**: image embeddings only (OnnxClip.encode / TfjsClip + encodeWithTfjs / torch no_grad).`,
    `- **prompts**: one training step of \`rvptObjective({ depth: ${MODEL.depth}, alpha: ${RVPT_ALPHA} })\`: frozen pass (no gradient) + prompted pass + backward to the deep visual prompts [${r.model.promptShape.join(', ')}] (${MODEL.promptLength} prompt tokens from block ${MODEL.depth}), loss CE over a fixed ${MODEL.classes}-class text head + ${RVPT_ALPHA} x feature repulsion; all weights frozen. OnnxTrainer.step / TfjsTrainer.step / torch.autograd.grad.`,
    `- **pixels**: forward + backward to the pixels of loss = sum(image_embeds * r), r fixed random; weights frozen.`,
    `- Each cell: one warm-up call (two at batch 32: the allocators still grow during the second call), then n timed calls (n = "n" column; TF.js gradients: ${PLAN.tfjsGradRepeats(1)} at batch 1, ${PLAN.tfjsGradRepeats(8)} otherwise); the time of one call divided by the batch. TF.js cpu: one call, no warm-up.`,
    '',
  );
  L.push(
    '| engine | threads | batch | n | forward | GFLOP/s | fwd+grad w.r.t. prompts (RVPT step) | fwd+grad w.r.t. pixels | other processes (cores) |',
  );
  L.push('|---|---|---|---|---|---|---|---|---|');
  const engines = [...new Set(timings.map((x) => x.engine))];
  for (const engine of engines) {
    const failed = engine === ENGINE.wasm ? r.failures : [];
    const batches = [
      ...new Set([
        ...timings.filter((x) => x.engine === engine && x.task !== 'clipStep').map((x) => x.batch),
        ...failed.map((/** @type {any} */ x) => x.batch),
      ]),
    ].sort((a, b) => a - b);
    for (const batch of batches) {
      const f = find(engine, 'forward', batch);
      const p = find(engine, 'promptGrad', batch);
      const x = find(engine, 'pixelGrad', batch);
      /** @param {Timing | undefined} q @param {Task} task */
      const cell = (q, task) => {
        if (q) return `${fmtMs(q.minMs)} / ${fmtMs(q.medianMs)}`;
        const f = failed.find((/** @type {any} */ x) => x.batch === batch && x.task === task);
        return f ? (f.error.startsWith('not run') ? 'not run' : '**aborted** (wasm heap)') : '–';
      };
      const reps = [...new Set([f, p, x].filter(Boolean).map((q) => q?.repeats))].join('/');
      const threads = [f, p, x].find(Boolean)?.threads ?? '–';
      const foreign = [f, p, x].filter(Boolean).map((q) => q?.foreignCores ?? 0);
      L.push(
        `| ${engine} | ${threads} | ${batch} | ${reps} | ${cell(f, 'forward')} | ${fmt(f?.gflops, (f?.gflops ?? 10) < 10 ? 1 : 0)} | ${cell(p, 'promptGrad')} | ${cell(x, 'pixelGrad')} | ${fmt(Math.max(...foreign), 2)} |`,
      );
    }
  }
  const firsts = timings.filter(
    (x) => x.engine === ENGINE.onnx && x.firstCallMs !== null && x.task !== 'clipStep',
  );
  if (firsts.length) {
    L.push(
      '',
      `onnxruntime first call (tracing + session build + run), ms per call: ${firsts.map((x) => `${x.task} batch ${x.batch}: ${fmt(x.firstCallMs)}`).join('; ')}.`,
    );
  }
  if (r.tinyClip) {
    const tc = r.tinyClip;
    L.push('', '## Tiny CLIP: one full-weight training step', '');
    L.push(
      `ViT ${tc.config.vision.width} wide x ${tc.config.vision.layers} layers, patch ${tc.config.vision.patchSize} on ${tc.config.vision.imageResolution} px; text ${tc.config.text.width} wide x ${tc.config.text.layers} layers, context ${tc.config.text.contextLength}, vocab ${num(tc.config.text.vocabSize)}; embed ${tc.config.embedDim}. ` +
        `${num(tc.parameters)} trainable parameters (${num(tc.parametersWithoutTokenTable)} without the token table). ` +
        `Batch ${tc.batch} random images and captions; \`contrastiveObjective()\` with \`clipTrainableTensors(weights)\`: forward + gradients for every weight (no optimizer update). ` +
        `PyTorch: the same architecture, torch.autograd.grad over all parameters. Losses at random init: onnx ${fmt(tc.lossOnnx, 4)}, TF.js ${fmt(tc.lossTfjs, 4)}.`,
      '',
    );
    L.push(
      '| engine | threads | batch | n | ms per step (min / median) | ms per image (median) | first call, ms |',
    );
    L.push('|---|---|---|---|---|---|---|');
    for (const q of timings.filter((x) => x.task === 'clipStep')) {
      L.push(
        `| ${q.engine} | ${q.threads} | ${q.batch} | ${q.repeats} | ${fmtMs(q.stepMinMs)} / ${fmtMs(q.stepMedianMs)} | ${fmtMs(q.medianMs)} | ${fmt(q.firstCallMs)} |`,
      );
    }
  }
  for (const f of r.failures) L.push('', `Failed: ${ENGINE.wasm} ${f.task} at batch ${f.batch}: ${f.error}.`);
  for (const s of r.skipped) L.push('', `Skipped: ${s}`);

  L.push('', '## Ratios and targets (medians)', '');
  if (r.ratios.length === 0) L.push(`No ratios (PyTorch: ${r.torch.status}).`);
  else {
    L.push(
      '| ratio | batch | value | target | met? | numerator ms | denominator ms |',
      '|---|---|---|---|---|---|---|',
    );
    for (const q of r.ratios) {
      const met = q.met === null ? '(no target)' : q.met ? 'met' : '**not met**';
      const target = q.target ? `${q.target}${q.aim ? ` (aim ${q.aim})` : ''}` : '–';
      L.push(
        `| ${q.name} | ${q.batch} | **${fmt(q.value, 2)}** | ${target} | ${met} | ${fmtMs(q.numeratorMs)} | ${fmtMs(q.denominatorMs)} |`,
      );
    }
  }

  L.push('', '## Memory', '');
  const o = r.memory.onnx;
  if (o) {
    if (o.plan) L.push(`- onnxruntime plan: ${o.plan}`);
    for (const c of o.checks) {
      L.push(
        `- onnxruntime-node, OnnxTrainer, ${c.steps} consecutive RVPT prompt-gradient steps at batch ${c.batch} (fresh trainer: step 1 builds the session): RSS ${c.rssBeforeMiB} MiB before; ` +
          `${Object.entries(c.rssAtStepMiB)
            .map(([k, x]) => `step ${k}: ${x}`)
            .join(
              ', ',
            )} MiB (max ${c.rssMaxMiB}); growth after step 10: ${c.growthAfterStep10MiB} MiB, slope over the second half ${c.slopeSecondHalfMiBPerStep} MiB/step. ` +
          `**${c.pass ? 'No growth (pass)' : 'GROWS (fail)'}**; ${c.seconds} s, ${fmt(c.stepMedianMs)} ms per step (first ${c.firstStepMs} ms). RSS every 10 steps: ${c.rssEvery10MiB.join(', ')}.`,
      );
    }
  }
  const w = r.memory.tfjsForward;
  if (w) {
    L.push(
      `- TF.js ${w.backend}: ${w.calls} consecutive forward calls (TfjsClip + encodeWithTfjs) at batch ${w.batch}: tf.memory().numTensors ${w.before.numTensors} before, ${w.distinctCounts.join(' / ')} after each call; numBytes ${num(w.before.numBytes)} before, ${num(w.afterLast.numBytes)} after. ` +
        `**${w.pass ? 'Constant (pass)' : 'GROWS (fail)'}** (${w.seconds} s).`,
    );
  }
  const g = r.memory.tfjsTrainer;
  if (g) {
    L.push(
      `- TF.js wasm, TfjsTrainer: ${g.steps} RVPT steps at batch ${g.batch} after a warm-up step: numTensors ${g.before.numTensors} -> ${g.distinctCounts.join(' / ')}, numBytes ${num(g.before.numBytes)} -> ${num(g.afterLast.numBytes)}. **${g.pass ? 'Constant (pass)' : 'GROWS (fail)'}**.`,
    );
  }
  const d = r.memory.tfjsDispose;
  if (d) {
    const left = d.afterDispose.numTensors - d.beforeModel.numTensors;
    const bytes = d.afterDispose.numBytes - d.beforeModel.numBytes;
    L.push(
      `- TF.js wasm, \`TfjsClip.dispose()\`: the model held ${num(d.withModel.numTensors - d.beforeModel.numTensors)} tensors / ${num(d.withModel.numBytes - d.beforeModel.numBytes)} bytes; after dispose ${num(left)} tensors / ${num(bytes)} bytes are still allocated` +
        (left > 0
          ? ' (**not released**: the transposed copies of frozen linear weights that TfjsOps.freezeLinearWeight keeps; TfjsTrainer.dispose() goes through the same path).'
          : ' (all released).'),
    );
  }
  L.push('', `Peak RSS of the benchmark process: ${r.peakRssMiB} MiB.`, '');
  return `${L.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------------------
// Main

async function main() {
  if (!existsSync(join(DIST, 'train', 'onnx-trainer.js'))) {
    console.error(`${relative(process.cwd(), DIST)} is missing or old: run \`npm run build\` first.`);
    process.exit(1);
  }
  /** @param {string} p */
  const load = (p) => import(new URL(`file://${join(DIST, p)}`).href);
  const modules = await Promise.all(
    [
      'clip/load-weights.js',
      'clip/onnx-clip.js',
      'clip/tfjs-clip.js',
      'clip/tfjs-encode.js',
      'clip/clip-forward.js',
      'tensor/backend.js',
      'tensor/ops.js',
      'onnx/session.js',
      'train/onnx-trainer.js',
      'train/tfjs-trainer.js',
      'train/contrastive-objective.js',
      'defenses/rvpt/rvpt-objective.js',
    ].map(load),
  );
  /** @type {any} */
  const E = Object.assign({}, ...modules);

  if (opts.child === 'tfjs-grads') {
    const batch = Number(opts.batch);
    await childTfjsGrads(E, randomWeights(MODEL.config, E.expectedOpenAiShapes, 20261121), batch);
    return;
  }
  if (opts.child) throw new Error(`unknown --child '${opts.child}'`);

  const command = ['node', relative(ROOT, fileURLToPath(import.meta.url)), ...process.argv.slice(2)].join(
    ' ',
  );
  const loadInfo = await waitForQuietMachine();
  const started = new Date();
  const runStart = performance.now();
  const onnxInfo = await E.onnxRuntimeInfo();
  const onnxThreads = onnxInfo.threads;

  log(`building ${MODEL.name} with random weights`);
  const weights = randomWeights(MODEL.config, E.expectedOpenAiShapes, 20261121);
  let visionParams = 0;
  for (const [name, t] of weights.tensors) if (name.startsWith('visual.')) visionParams += t.data.length;

  /** @type {string[]} */
  const skipped = [];
  /** @type {any} */
  const memory = {};
  /** @type {Record<string, number>} */
  const sectionSeconds = {};
  let lapStart = performance.now();
  /** @param {string} name */
  const lap = (name) => {
    sectionSeconds[name] = Math.round((performance.now() - lapStart) / 1000);
    lapStart = performance.now();
  };

  // 1. onnxruntime (before TF.js, so that RSS is onnxruntime's alone)
  if (SECTIONS.has('onnx')) {
    await benchOnnxForward(E, weights, onnxThreads);
    await benchOnnxGrads(E, weights, onnxThreads);
    lap('onnx');
  }
  if (SECTIONS.has('memory')) {
    const steps = PLAN.onnxMemorySteps;
    const batch = PLAN.onnxMemoryBatch;
    const measured = find(ENGINE.onnx, 'promptGrad', batch);
    const projectedS = measured ? (steps * measured.stepMedianMs) / 1000 : null;
    if (projectedS !== null && projectedS > MEMORY_CHECK_BUDGET_S && !QUICK) {
      const plan = `${steps} steps at batch ${batch} would take ~${fmt(projectedS)} s (> ${MEMORY_CHECK_BUDGET_S} s), so ${steps} steps at batch 8 and 20 at batch ${batch}.`;
      log(`onnx memory: ${plan}`);
      memory.onnx = {
        plan,
        checks: [await onnxMemoryCheck(E, weights, steps, 8), await onnxMemoryCheck(E, weights, 20, batch)],
      };
    } else {
      memory.onnx = {
        plan:
          projectedS === null
            ? null
            : `${steps} steps at batch ${batch} (projected ~${fmt(projectedS)} s from the timed steps).`,
        checks: [await onnxMemoryCheck(E, weights, steps, batch)],
      };
    }
    lap('onnxMemory');
  }

  // 2. TF.js wasm: gradients in child processes (fresh heaps), then forward and its leak check here
  /** @type {{ batch: number, task: string, error: string, rssMiB: number | null }[]} */
  let failures = [];
  if (SECTIONS.has('tfjs')) {
    const grads = benchTfjsGradsInChildren();
    failures = grads.failures;
    if (SECTIONS.has('memory') && grads.memory) memory.tfjsTrainer = grads.memory;
    if (!PLAN.tfjsGrad.includes(32) && !QUICK)
      skipped.push(
        'TF.js wasm gradients at batch 32: not run by default (the RVPT step already exceeds the 4 GiB wasm heap at batch 8; the pixel gradient would take minutes per step); --tfjs-b32 tries them.',
      );
  }
  const wantWasm = SECTIONS.has('tfjs') || SECTIONS.has('tiny');
  const wasmReport = wantWasm ? await E.initTfBackend('wasm') : null;
  const wasmThreads = wasmReport?.threads ?? 1;
  if (SECTIONS.has('tfjs')) {
    const fwd = await benchTfjsForward(E, weights, 'wasm', wasmThreads, {
      batches: PLAN.wasmForward,
      warmup: 1,
      repeats: PLAN.repeats,
      leakCheck: SECTIONS.has('memory'),
    });
    if (fwd.memory) memory.tfjsForward = fwd.memory;
    memory.tfjsDispose = fwd.disposal;
    lap('tfjsWasm');
  }

  // 3. Tiny CLIP full-weight training step, onnxruntime vs TF.js wasm
  /** @type {any} */
  let tinyClip = null;
  if (SECTIONS.has('tiny')) {
    tinyClip = await benchTinyClip(E, onnxThreads, wasmThreads);
    lap('tinyClip');
  }

  // 4. PyTorch
  const torch = SECTIONS.has('torch')
    ? benchTorch()
    : { status: `skipped (${opts['skip-torch'] ? '--skip-torch' : '--sections'})` };
  if (SECTIONS.has('torch')) lap('torch');

  // 5. TF.js cpu (pure JS), batch 1, one call
  if (SECTIONS.has('cpu')) {
    await E.initTfBackend('cpu');
    // Pure JS: one thread (the backend report counts cores).
    await benchTfjsForward(E, weights, 'cpu', 1, {
      batches: [1],
      warmup: 0,
      repeats: () => 1,
      leakCheck: false,
    });
    lap('tfjsCpu');
  } else {
    skipped.push(
      `TF.js cpu (pure JS) backend: ${QUICK ? '--quick' : opts['skip-cpu'] ? '--skip-cpu' : '--sections'} (about 30x slower than wasm).`,
    );
  }

  const tfjsPkg = require('@tensorflow/tfjs/package.json');
  const wasmPkg = require('@tensorflow/tfjs-backend-wasm/package.json');
  const result = {
    schema: 'vetbench-engine-speed/2',
    reproduce: `npm run build && node bench/engine-speed.js${QUICK ? ' --quick' : ''}${opts.model !== 'b32' ? ` --model ${opts.model}` : ''}`,
    command,
    quick: QUICK,
    sections: [...SECTIONS],
    date: started.toISOString(),
    durationS: Math.round((performance.now() - runStart) / 1000),
    sectionSeconds,
    machine: machineInfo(),
    load: {
      threshold: LOAD_THRESHOLD,
      atStart: loadInfo.load,
      polls: loadInfo.polls,
      maxWaitS: LOAD_MAX_WAIT_S,
      waitedS: loadInfo.waitedS,
      reachedThreshold: loadInfo.reached,
      waitSkipped: loadInfo.skipped,
      atEnd: readLoad(),
    },
    versions: {
      node: process.version,
      tfjs: tfjsPkg.version,
      tfjsBackendWasm: wasmPkg.version,
      wasmSimd: wasmReport?.simd ?? null,
      wasmThreads,
      onnxruntimeNode: onnxInfo.version,
      onnxProviders: onnxInfo.providers,
      onnxThreads,
      torch: torch.status === 'ok' ? /** @type {any} */ (torch).torch : null,
    },
    model: {
      key: opts.model,
      description: `${VISION.imageResolution} px, patch ${VISION.patchSize}, width ${VISION.width}, ${VISION.layers} layers, ${VISION.heads} heads, embed ${MODEL.config.embedDim}`,
      config: MODEL.config,
      parameters: visionParams,
      gflopPerImage: +gflopPerImage().toFixed(3),
      gflopPerImagePrompted: +gflopPerImage(MODEL.promptLength, MODEL.depth).toFixed(3),
      promptDepth: MODEL.depth,
      promptLength: MODEL.promptLength,
      promptShape: randomPrompts().shape,
      rvptAlpha: RVPT_ALPHA,
      classes: MODEL.classes,
    },
    timings: timings.map((x) => ({
      ...x,
      minMs: +x.minMs.toFixed(2),
      medianMs: +x.medianMs.toFixed(2),
      stepMinMs: +x.stepMinMs.toFixed(1),
      stepMedianMs: +x.stepMedianMs.toFixed(1),
      samplesMs: x.samplesMs.map((s) => +s.toFixed(2)),
      firstCallMs: x.firstCallMs === null ? null : +x.firstCallMs.toFixed(0),
    })),
    ratios: ratios(),
    tinyClip,
    torch,
    memory,
    failures,
    skipped,
    peakRssMiB: +(process.resourceUsage().maxRSS / 1024).toFixed(0),
  };

  mkdirSync(OUT_DIR, { recursive: true });
  const jsonPath = join(OUT_DIR, `${OUT_BASE}.json`);
  const mdPath = join(OUT_DIR, `${OUT_BASE}.md`);
  writeFileSync(`${jsonPath}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
  renameSync(`${jsonPath}.tmp`, jsonPath);
  writeFileSync(`${mdPath}.tmp`, markdown(result));
  renameSync(`${mdPath}.tmp`, mdPath);
  log(`wrote ${relative(process.cwd(), jsonPath)} and ${relative(process.cwd(), mdPath)}`);
  const checks = [...(memory.onnx?.checks ?? []), memory.tfjsForward, memory.tfjsTrainer].filter(Boolean);
  if (checks.some((c) => !c.pass)) {
    console.error('memory check failed');
    process.exitCode = 3;
  }
}

await main();
