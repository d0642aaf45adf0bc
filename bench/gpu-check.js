#!/usr/bin/env node
// @ts-check
/**
 * GPU check, ready for the first machine with a GPU (issue 22). One command:
 *
 *   npm run build && node bench/gpu-check.js
 *
 * Without a GPU it prints one line saying so and exits 0. With one it:
 *   1. runs the engine-speed cells (bench/engine-speed.js: ViT-B/32-shaped image tower, random weights; forward
 *      at batch 1/8/32, RVPT prompt-gradient step at batch 8/32, pixel-gradient step at batch 8) on every
 *      onnxruntime execution provider that can start here (CUDA when its add-on is installed, WebGPU), each in a
 *      child process with VETBENCH_ONNX_PROVIDERS set to that one provider (the engine picks providers once
 *      per process);
 *   2. checks their outputs against the CPU provider run on the same inputs (tolerances below);
 *   3. times an RVPT job of Oxford-Pets size (37 classes x 16 shots = 592 images, batch 32, 50 epochs,
 *      depth 3, b = 50) on each GPU provider, with and without the in-run cache, from a timed fraction (the
 *      one-time precompute plus a few steps), extrapolated to the whole job;
 *   4. writes bench/results/gpu-check.json and .md, and exits 1 if any provider's outputs are out of tolerance
 *      (or a GPU is present but no GPU provider could start), else 0.
 * The whole check is bounded by --budget-s (default 280 s): children get what is left, and a child that runs
 * out of time is recorded as such.
 *
 * Tolerances (fp32 on GPU may use TF32 matmuls and other reduction orders): per-row cosine >= 0.9999 and
 * max |diff| <= 1e-2 x max |cpu| for image embeddings; cosine >= 0.999 for gradients.
 *
 * Options: --budget-s N, --out PREFIX (default bench/results/gpu-check), --providers cuda,webgpu (which to try),
 * --self-test (no GPU needed: a tiny model, and the CPU provider checked against itself as if it were a GPU,
 * so the whole path of this script runs and must pass; writes to --out, default a temporary folder).
 */
import { Buffer } from 'node:buffer';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { clearTimeout, setTimeout } from 'node:timers';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const SCRIPT = fileURLToPath(import.meta.url);
const ROOT = resolve(dirname(SCRIPT), '..');
/** @param {string} p */
const load = (p) => import(join(ROOT, 'dist', 'engine', p));

const { values: opts } = parseArgs({
  options: {
    'budget-s': { type: 'string', default: '280' },
    out: { type: 'string' },
    providers: { type: 'string', default: 'cuda,webgpu' },
    'self-test': { type: 'boolean', default: false },
    // Internal: run the cells in this process on one provider and write them to --child-out.
    child: { type: 'string' },
    'child-out': { type: 'string' },
    'child-budget-s': { type: 'string' },
    'child-reference': { type: 'boolean', default: false },
  },
  strict: true,
});
const selfTest = opts['self-test'] === true;

const TOLERANCE = { embedCosine: 0.9999, embedMaxRel: 1e-2, gradCosine: 0.999 };
/** Oxford-Pets-sized RVPT job. */
const JOB = { classes: 37, shots: 16, epochs: 50, batch: 32, depth: 3, promptLength: 50, alpha: 2 };

const B32 = {
  embedDim: 512,
  vision: { width: 768, layers: 12, heads: 12, patchSize: 32, imageResolution: 224 },
  text: { width: 64, layers: 1, heads: 1, contextLength: 77, vocabSize: 1000 },
};
/** Self-test model: same code paths, seconds on a CPU. */
const TINY = {
  embedDim: 32,
  vision: { width: 64, layers: 4, heads: 2, patchSize: 8, imageResolution: 32 },
  text: { width: 32, layers: 1, heads: 1, contextLength: 77, vocabSize: 1000 },
};
const CONFIG = selfTest ? TINY : B32;
const DEPTH = selfTest ? 1 : JOB.depth;
const PROMPT_LENGTH = selfTest ? 4 : JOB.promptLength;

// ---------------------------------------------------------------------------------------------------------
// Deterministic inputs (same in every child)

/** @param {number} seed */
function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}
/** @param {number} n @param {number} std @param {() => number} next */
function normal(n, std, next) {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(next(), 1e-12);
    out[i] = std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
  }
  return out;
}
/** @param {number} batch @param {number} seed */
function pixels(batch, seed) {
  const r = CONFIG.vision.imageResolution;
  return { data: normal(batch * 3 * r * r, 1, rng(seed)), shape: [batch, 3, r, r] };
}
function prompts() {
  const shape = [CONFIG.vision.layers - DEPTH, PROMPT_LENGTH, CONFIG.vision.width];
  return { data: normal(shape[0] * shape[1] * shape[2], 0.02, rng(7)), shape };
}
/** @param {number} batch */
function rvptBatch(batch) {
  const next = rng(500 + batch);
  const targets = new Float32Array(batch * JOB.classes);
  for (let i = 0; i < batch; i++) targets[i * JOB.classes + Math.floor(next() * JOB.classes)] = 1;
  return {
    pixels: pixels(batch, 200 + batch),
    targets: { data: targets, shape: [batch, JOB.classes] },
    classText: {
      data: normal(JOB.classes * CONFIG.embedDim, 1, rng(11)),
      shape: [JOB.classes, CONFIG.embedDim],
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Child: the cells on one provider

/** @param {number[]} xs */
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;

async function runChild() {
  const provider = /** @type {string} */ (opts.child);
  const outDir = /** @type {string} */ (opts['child-out']);
  const reference = opts['child-reference'] === true;
  const deadline = performance.now() + Number(opts['child-budget-s']) * 1000 - 5000;
  const { onnxRuntimeInfo } = await load('onnx/session.js');
  /** @type {Record<string, unknown>} */
  const report = { provider, cells: [], outputs: {} };
  const save = () => writeFileSync(join(outDir, 'report.json'), JSON.stringify(report, null, 2));
  try {
    report.runtime = await onnxRuntimeInfo(); // throws when the forced provider cannot start
  } catch (e) {
    report.error = `cannot start: ${/** @type {Error} */ (e).message}`;
    save();
    return;
  }
  const { initClipWeights } = await load('clip/init-weights.js');
  const { OnnxClip } = await load('clip/onnx-clip.js');
  const { OnnxTrainer } = await load('train/onnx-trainer.js');
  const { rvptObjective } = await load('defenses/rvpt/rvpt-objective.js');
  const { rvptCachedObjective, computeFrozenFeatures } = await load('defenses/rvpt/rvpt-frozen-cache.js');
  const { encodeImage } = await load('clip/clip-forward.js');
  const { Rng } = await load('util/rng.js');
  const weights = initClipWeights(CONFIG, new Rng(3));
  const cells = /** @type {any[]} */ (report.cells);
  const outputs = /** @type {Record<string, string>} */ (report.outputs);
  /** @param {string} name @param {Float32Array} data */
  const keep = (name, data) => {
    writeFileSync(join(outDir, `${name}.f32`), Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    outputs[name] = `${name}.f32`;
  };
  const repeats = reference ? 0 : selfTest ? 1 : 3; // the CPU run only provides reference outputs
  /** @param {Record<string, unknown>} cell @param {() => Promise<any>} fn */
  const time = async (cell, fn) => {
    if (performance.now() > deadline) {
      cells.push({ ...cell, skipped: 'out of time' });
      save();
      return null;
    }
    const t0 = performance.now();
    const first = await fn();
    const firstMs = performance.now() - t0;
    const times = [];
    for (let i = 0; i < repeats && performance.now() < deadline; i++) {
      const t = performance.now();
      await fn();
      times.push(performance.now() - t);
    }
    cells.push({
      ...cell,
      first_ms: firstMs,
      median_ms: times.length ? median(times) : null,
      repeats: times.length,
    });
    save();
    return first;
  };

  // Forward cells.
  for (const batch of reference ? [8] : [1, 8, 32]) {
    const onnx = new OnnxClip(weights);
    const x = pixels(batch, 100 + batch);
    const out = await time({ task: 'forward', batch }, () =>
      onnx.encode({ pixels: x, outputs: ['image_embeds'] }),
    );
    if (out && batch === 8) keep('forward_b8', out.image_embeds.data);
    await onnx.dispose();
  }
  // Gradient cells: RVPT prompt step, pixel gradient (loss = sum(image_embeds * r)).
  const r = { data: normal(CONFIG.embedDim, 1, rng(3)), shape: [1, CONFIG.embedDim] };
  const rvpt = rvptObjective({ depth: DEPTH, alpha: JOB.alpha, logitScale: weights.logitScale });
  const objective = {
    name: 'gpu-check-grad',
    /** @param {any} ctx */
    build(ctx) {
      if (ctx.vars.prompts) return rvpt.build(ctx);
      const embeds = encodeImage(ctx.clip, ctx.vars.pixels).embeds;
      return { loss: ctx.ops.sum(ctx.ops.mul(embeds, ctx.ops.constant(r)), [0, 1]) };
    },
  };
  const p = prompts();
  for (const batch of reference ? [8] : [8, 32]) {
    const trainer = new OnnxTrainer(objective, weights);
    const rb = rvptBatch(batch);
    const g = await time({ task: 'promptGrad', batch }, () => trainer.step({ prompts: p }, rb));
    if (g && batch === 8) keep('promptGrad_b8', g.grads.prompts.data);
    if (batch === 8) {
      const px = await time({ task: 'pixelGrad', batch }, () => trainer.step({ pixels: rb.pixels }, {}));
      if (px) keep('pixelGrad_b8', px.grads.pixels.data);
    }
    await trainer.dispose();
  }
  // The Oxford-Pets-sized RVPT job, extrapolated from a timed fraction (GPU providers only).
  if (!reference) {
    const images = JOB.classes * JOB.shots;
    const stepsPerEpoch = Math.ceil(images / JOB.batch);
    const totalSteps = stepsPerEpoch * JOB.epochs;
    const options = { depth: DEPTH, alpha: JOB.alpha, logitScale: weights.logitScale };
    const rb = rvptBatch(JOB.batch);
    /** @type {Record<string, unknown>} */
    const job = { images, steps_per_epoch: stepsPerEpoch, total_steps: totalSteps, epochs: JOB.epochs };
    // The in-run cache's one-time precompute, measured on all 592 images (the training batch tiled), as a job
    // would run it (its session build included).
    const rowLength = rb.pixels.data.length / JOB.batch;
    const all = new Float32Array(images * rowLength);
    for (let i = 0; i < images; i++)
      all.set(
        rb.pixels.data.subarray((i % JOB.batch) * rowLength, ((i % JOB.batch) + 1) * rowLength),
        i * rowLength,
      );
    const t0 = performance.now();
    const allFrozen = await computeFrozenFeatures(
      weights,
      { data: all, shape: [images, ...rb.pixels.shape.slice(1)] },
      DEPTH,
      JOB.batch,
    );
    job.precompute_ms = performance.now() - t0;
    const { gatherRows } = await load('tensor/host-tensor.js');
    const firstBatch = Array.from({ length: JOB.batch }, (_, i) => i);
    const frozen = {
      prefix: gatherRows(allFrozen.prefix, firstBatch),
      frozenCls: gatherRows(allFrozen.frozenCls, firstBatch),
    };
    for (const [name, trainer, batch] of /** @type {const} */ ([
      ['uncached', new OnnxTrainer(rvptObjective(options), weights), { pixels: rb.pixels }],
      [
        'cached',
        new OnnxTrainer(rvptCachedObjective(options), weights),
        { prefix: frozen.prefix, frozenCls: frozen.frozenCls },
      ],
    ])) {
      const vars = { prompts: p };
      const b = { ...batch, targets: rb.targets, classText: rb.classText };
      const s0 = performance.now();
      await trainer.step(vars, b);
      const first = performance.now() - s0;
      const times = [];
      const until = Math.min(deadline, performance.now() + 30_000);
      while (times.length < (selfTest ? 3 : 20) && performance.now() < until) {
        const t = performance.now();
        await trainer.step(vars, b);
        times.push(performance.now() - t);
      }
      await trainer.dispose();
      const step = median(times);
      job[name] = {
        first_step_ms: first,
        steps_timed: times.length,
        median_step_ms: step,
        job_minutes:
          ((name === 'cached' ? /** @type {number} */ (job.precompute_ms) : 0) + step * totalSteps) / 60000,
      };
      save();
    }
    report.rvptJob = job;
  }
  save();
}

// ---------------------------------------------------------------------------------------------------------
// Parent

/** Whether this machine has a GPU, and what says so. */
function detectGpu() {
  const evidence = [];
  for (const dev of ['/dev/nvidia0', '/dev/nvidiactl', '/dev/kfd']) if (existsSync(dev)) evidence.push(dev);
  try {
    const dri = readdirSync('/dev/dri').filter((f) => f.startsWith('renderD'));
    evidence.push(...dri.map((f) => `/dev/dri/${f}`));
  } catch {
    // no DRM render nodes
  }
  let names = '';
  try {
    names = execFileSync('nvidia-smi', ['-L'], { encoding: 'utf8', timeout: 10_000 }).trim();
    if (names) evidence.push('nvidia-smi');
  } catch {
    // no NVIDIA driver tools
  }
  return { present: evidence.length > 0, evidence, names };
}

/**
 * @param {string} provider @param {boolean} reference @param {number} budgetS
 * @returns {Promise<any>}
 */
function runProvider(provider, reference, budgetS) {
  const dir = mkdtempSync(join(os.tmpdir(), `vetbench-gpu-check-${provider}-`));
  const args = [SCRIPT, '--child', provider, '--child-out', dir, '--child-budget-s', String(budgetS)];
  if (reference) args.push('--child-reference');
  if (selfTest) args.push('--self-test');
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, args, {
      env: { ...process.env, VETBENCH_ONNX_PROVIDERS: provider },
      stdio: ['ignore', 'inherit', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), budgetS * 1000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      let report = { provider, cells: [], outputs: {} };
      try {
        report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
      } catch {
        // nothing written: the reason is in the exit status / stderr
      }
      if (code !== 0 && !report.error)
        report.error =
          signal === 'SIGKILL'
            ? `killed after its ${budgetS} s budget`
            : `exit ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`;
      resolveRun({ ...report, dir });
    });
  });
}

/** @param {string} dir @param {string} file */
function readF32(dir, file) {
  const b = readFileSync(join(dir, file));
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

/** Per-row cosine (min over rows) and max |a-b| / max |b|. @param {Float32Array} a @param {Float32Array} b @param {number} rows */
function compare(a, b, rows) {
  if (a.length !== b.length) return { ok: false, reason: `length ${a.length} vs ${b.length}` };
  const w = a.length / rows;
  let minCos = 1;
  let maxDiff = 0;
  let maxRef = 0;
  for (let r = 0; r < rows; r++) {
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let j = r * w; j < (r + 1) * w; j++) {
      dot += a[j] * b[j];
      na += a[j] * a[j];
      nb += b[j] * b[j];
      maxDiff = Math.max(maxDiff, Math.abs(a[j] - b[j]));
      maxRef = Math.max(maxRef, Math.abs(b[j]));
    }
    minCos = Math.min(minCos, na === 0 && nb === 0 ? 1 : dot / Math.sqrt(na * nb));
  }
  return { minCos, maxRel: maxDiff / Math.max(maxRef, 1e-30) };
}

async function main() {
  const gpu = detectGpu();
  if (!gpu.present && !selfTest) {
    console.log(
      'gpu-check: no GPU on this machine (no /dev/nvidia*, /dev/kfd, /dev/dri render node or nvidia-smi); nothing to check.',
    );
    return 0;
  }
  const started = performance.now();
  const budget = Number(opts['budget-s']);
  const left = () => budget - (performance.now() - started) / 1000;
  const out =
    opts.out ??
    (selfTest
      ? join(mkdtempSync(join(os.tmpdir(), 'vetbench-gpu-self-test-')), 'gpu-check')
      : join(ROOT, 'bench', 'results', 'gpu-check'));
  const uptime = () => {
    try {
      return execFileSync('uptime', { encoding: 'utf8' }).trim();
    } catch {
      return os.loadavg().join(' ');
    }
  };
  const uptimeStart = uptime();
  console.error(
    `gpu-check: ${selfTest ? 'self-test (CPU as the candidate)' : `GPU evidence: ${gpu.evidence.join(', ')}`}`,
  );
  // The comparison must be able to fail: a copy off by 5% in one row has to be caught.
  const probe = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i + 1));
  const off = Float32Array.from(probe, (v, i) => (i < 8 ? v * 1.05 + 0.05 : v));
  const caught = compare(off, probe, 8);
  if (!('minCos' in caught) || caught.maxRel <= TOLERANCE.embedMaxRel)
    throw new Error('gpu-check: the comparison does not catch a 5% error');
  const reference = await runProvider('cpu', true, Math.min(110, left() * 0.4));
  if (reference.error) throw new Error(`the CPU reference run failed: ${reference.error}`);
  const candidates = selfTest ? ['cpu'] : opts.providers.split(',').map((p) => p.trim());
  const runs = [];
  for (const [i, provider] of candidates.entries()) {
    const share = left() / (candidates.length - i);
    if (share < 20) {
      runs.push({ provider, error: 'no time left in the budget' });
      continue;
    }
    console.error(`gpu-check: ${provider} (${share.toFixed(0)} s)`);
    const run = await runProvider(provider, false, share);
    /** @type {Record<string, any>} */
    const checks = {};
    if (!run.error) {
      for (const [name, rows, kind] of /** @type {const} */ ([
        ['forward_b8', 8, 'embed'],
        ['promptGrad_b8', 1, 'grad'],
        ['pixelGrad_b8', 8, 'grad'],
      ])) {
        if (!run.outputs[name] || !reference.outputs[name]) {
          checks[name] = { ok: false, reason: 'not computed (out of time?)' };
          continue;
        }
        const c = compare(
          readF32(run.dir, run.outputs[name]),
          readF32(reference.dir, reference.outputs[name]),
          rows,
        );
        const ok =
          'minCos' in c &&
          (kind === 'embed'
            ? c.minCos >= TOLERANCE.embedCosine && c.maxRel <= TOLERANCE.embedMaxRel
            : c.minCos >= TOLERANCE.gradCosine);
        checks[name] = { ...c, ok };
      }
    }
    runs.push({ ...run, checks });
  }
  const started_ok = runs.filter((r) => !r.error);
  const failed = runs.filter((r) => !r.error && Object.values(r.checks).some((c) => !c.ok));
  const result = {
    date: new Date().toISOString(),
    self_test: selfTest,
    gpu,
    model: selfTest ? 'tiny (4 blocks, width 64, 32 px)' : 'ViT-B/32-shaped image tower (random init)',
    tolerance: TOLERANCE,
    uptime_start: uptimeStart,
    uptime_end: uptime(),
    wall_s: (performance.now() - started) / 1000,
    reference: { cells: reference.cells, runtime: reference.runtime },
    runs: runs.map((r) =>
      Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'dir' && k !== 'outputs')),
    ),
  };
  writeFileSync(`${out}.json`, `${JSON.stringify(result, null, 2)}\n`);
  const fmt = (/** @type {number | null | undefined} */ x, d = 1) =>
    x === null || x === undefined ? '-' : x.toFixed(d);
  const lines = [
    `# GPU check${selfTest ? ' (self-test: CPU as the candidate)' : ''}`,
    '',
    `\`node bench/gpu-check.js ${process.argv.slice(2).join(' ')}\`, ${result.date.slice(0, 10)}, ${result.model}; ${fmt(result.wall_s, 0)} s in all.`,
    `GPU: ${gpu.names || gpu.evidence.join(', ') || 'none'}. uptime at start \`${uptimeStart}\`, at end \`${result.uptime_end}\`.`,
    `Tolerances vs CPU: embeddings per-row cosine >= ${TOLERANCE.embedCosine} and max |diff| <= ${TOLERANCE.embedMaxRel} x max |cpu|; gradients cosine >= ${TOLERANCE.gradCosine}.`,
    '',
    '| provider | task | batch | first call (ms) | median (ms) | repeats |',
    '| --- | --- | --- | --- | --- | --- |',
    ...runs.flatMap((r) =>
      r.error
        ? [`| ${r.provider} | ${r.error} | | | | |`]
        : r.cells.map(
            (/** @type {any} */ c) =>
              `| ${r.provider} | ${c.task} | ${c.batch} | ${fmt(c.first_ms, 0)} | ${fmt(c.median_ms, 1)} | ${c.skipped ?? c.repeats} |`,
          ),
    ),
    '',
    '| provider | output | min cosine | max rel diff | ok |',
    '| --- | --- | --- | --- | --- |',
    ...runs.flatMap((r) =>
      Object.entries(r.checks ?? {}).map(
        ([k, c]) =>
          `| ${r.provider} | ${k} | ${fmt(c.minCos, 6)} | ${c.maxRel === undefined ? c.reason : c.maxRel.toExponential(2)} | ${c.ok ? 'yes' : '**no**'} |`,
      ),
    ),
    '',
    `RVPT job of Oxford-Pets size (${JOB.classes} x ${JOB.shots} images, batch ${JOB.batch}, ${JOB.epochs} epochs, depth ${DEPTH}, b = ${PROMPT_LENGTH}), extrapolated from the timed steps:`,
    '',
    '| provider | variant | first step (ms) | steps timed | median step (ms) | whole job (min) |',
    '| --- | --- | --- | --- | --- | --- |',
    ...started_ok.flatMap((r) =>
      r.rvptJob
        ? ['uncached', 'cached']
            .filter((v) => r.rvptJob[v])
            .map(
              (v) =>
                `| ${r.provider} | ${v}${v === 'cached' ? ` (+ ${fmt(r.rvptJob.precompute_ms / 1000)} s precompute)` : ''} | ${fmt(r.rvptJob[v].first_step_ms, 0)} | ${r.rvptJob[v].steps_timed} | ${fmt(r.rvptJob[v].median_step_ms)} | ${fmt(r.rvptJob[v].job_minutes, 2)} |`,
            )
        : [`| ${r.provider} | not timed (out of time) | | | | |`],
    ),
    '',
  ];
  writeFileSync(`${out}.md`, lines.join('\n'));
  console.log(lines.join('\n'));
  console.error(`gpu-check: wrote ${out}.json and ${out}.md`);
  if (failed.length > 0) {
    console.error(`gpu-check: outputs out of tolerance on ${failed.map((r) => r.provider).join(', ')}`);
    return 1;
  }
  if (started_ok.length === 0) {
    console.error('gpu-check: a GPU is present but no GPU provider could start (reasons in the table)');
    return 1;
  }
  return 0;
}

if (opts.child) await runChild();
else process.exitCode = await main();
