#!/usr/bin/env node
// @ts-check
/**
 * How close both executors come to the PyTorch reference in ../shared/fixtures/clip-tiny-a (README, "How the
 * engine works"): the largest relative error (max |a - b| / max |ref|, the fixtures' definition) of every
 * forward output and of the gradients through the training-step API, on onnxruntime and TF.js (wasm). The
 * tests (test/engine/clip-fixture.test.ts, onnx-gradients.test.ts) check the same values against their
 * tolerances (1e-4 forward, 1e-3 gradients); this records the errors themselves.
 *
 *   npm run build && node bench/fixture-agreement.js
 *
 * Writes bench/results/fixture-agreement.json and .md. Plain ESM JavaScript: it runs the engine in dist/.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURE = join(ROOT, '..', 'shared', 'fixtures', 'clip-tiny-a');
/** @param {string} p */
const load = (p) => import(join(ROOT, 'dist', 'engine', p));

const { clipLogits, encodeImage, encodeText } = await load('clip/clip-forward.js');
const { ENCODE_OUTPUTS } = await load('clip/encode-program.js');
const { loadClipWeights } = await load('clip/load-weights.js');
const { OnnxClip } = await load('clip/onnx-clip.js');
const { TfjsClip } = await load('clip/tfjs-clip.js');
const { encodeWithTfjs } = await load('clip/tfjs-encode.js');
const { rvptObjective } = await load('defenses/rvpt/rvpt-objective.js');
const { initTfBackend } = await load('tensor/backend.js');
const { readNpyFloat32, readNpyInt32 } = await load('tensor/npy.js');
const { crossEntropyWithTargets, oneHot } = await load('tensor/ops.js');
const { OnnxTrainer } = await load('train/onnx-trainer.js');
const { TfjsTrainer } = await load('train/tfjs-trainer.js');

/** @param {ArrayLike<number>} actual @param {ArrayLike<number>} reference */
function relativeError(actual, reference) {
  if (actual.length !== reference.length) return Infinity;
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < reference.length; i++) {
    if (!Number.isFinite(actual[i])) return Infinity;
    maxDiff = Math.max(maxDiff, Math.abs(actual[i] - reference[i]));
    maxRef = Math.max(maxRef, Math.abs(reference[i]));
  }
  return maxRef === 0 ? maxDiff : maxDiff / maxRef;
}

/** @param {string} name */
const ref = (name) => readNpyFloat32(join(FIXTURE, `${name}.npy`));
/** @param {string} name */
async function text(name) {
  const t = await readNpyInt32(join(FIXTURE, `${name}.npy`));
  return { ids: t.data, rows: t.shape[0] };
}
/** Rows `picks` of a [R, W] tensor. @param {{data: Float32Array, shape: number[]}} t @param {number[]} picks */
function pickRows(t, picks) {
  const w = t.shape[1];
  const out = new Float32Array(picks.length * w);
  picks.forEach((r, i) => out.set(t.data.subarray(r * w, (r + 1) * w), i * w));
  return { data: out, shape: [picks.length, w] };
}

const expected = JSON.parse(readFileSync(join(FIXTURE, 'expected.json'), 'utf8'));
await initTfBackend('wasm');
const weights = await loadClipWeights(join(FIXTURE, 'model.safetensors'));
const inputIds = await text('input_ids');
const ctxIds = await text('ctx_input_ids');

/** @type {{executor: string, kind: 'forward' | 'gradient', output: string, relative_error: number}[]} */
const rows = [];

// Forward outputs.
const onnx = new OnnxClip(weights);
const onnxOut = await onnx.encode({ pixels: await ref('pixels'), text: inputIds, outputs: ENCODE_OUTPUTS });
await onnx.dispose();
const tfjs = new TfjsClip(weights);
const tfjsOut = await encodeWithTfjs(tfjs, {
  pixels: await ref('pixels'),
  text: inputIds,
  outputs: ENCODE_OUTPUTS,
});
tfjs.dispose();
for (const [executor, out] of [
  ['onnxruntime', onnxOut],
  ['tfjs-wasm', tfjsOut],
])
  for (const name of ENCODE_OUTPUTS)
    rows.push({
      executor,
      kind: 'forward',
      output: name,
      relative_error: relativeError(out[name].data, (await ref(name)).data),
    });

// Gradients through the training-step API (the objectives of test/engine/onnx-gradients.test.ts).
const pixelObjective = {
  name: 'logit0',
  /** @param {any} a */
  build({ ops, clip, vars }) {
    const logits = clipLogits(
      ops,
      encodeImage(clip, vars.pixels).embeds,
      encodeText(clip, inputIds),
      weights.logitScale,
    );
    const [n] = ops.shape(logits);
    return { loss: ops.sum(ops.slice(logits, [0, 0], [n, 1]), [0, 1]) };
  },
};
const contextObjective = {
  name: 'ctx',
  /** @param {any} a */
  build({ ops, clip, vars, batch }) {
    const txt = encodeText(clip, ctxIds, { vectors: vars.ctx });
    return {
      loss: crossEntropyWithTargets(
        ops,
        clipLogits(ops, batch.image, txt, weights.logitScale),
        batch.targets,
      ),
    };
  },
};
const { D, alpha, labels, text_rows } = expected.rvpt;
const cases = [
  ['grad_pixels_logit0', pixelObjective, { pixels: await ref('pixels') }, {}, 'pixels'],
  [
    'rvpt_grad_prompts',
    rvptObjective({ depth: D, alpha, logitScale: weights.logitScale }),
    { prompts: await ref('rvpt_prompts') },
    {
      pixels: await ref('pixels'),
      targets: oneHot(labels, text_rows.length),
      classText: pickRows(await ref('text_embeds'), text_rows),
    },
    'prompts',
  ],
  [
    'ctx_grad',
    contextObjective,
    { ctx: await ref('ctx_vectors') },
    { image: await ref('image_embeds'), targets: oneHot(expected.ctx.labels, 4) },
    'ctx',
  ],
];
for (const [executor, make] of [
  ['onnxruntime', (/** @type {any} */ o) => new OnnxTrainer(o, weights)],
  ['tfjs-wasm', (/** @type {any} */ o) => new TfjsTrainer(o, weights)],
]) {
  for (const [name, objective, vars, batch, variable] of cases) {
    const trainer = make(objective);
    const r = await trainer.step(vars, batch);
    rows.push({
      executor,
      kind: 'gradient',
      output: name,
      relative_error: relativeError(r.grads[variable].data, (await ref(name)).data),
    });
    await trainer.dispose();
  }
}

/** @param {'forward' | 'gradient'} kind */
const worst = (kind) => Math.max(...rows.filter((r) => r.kind === kind).map((r) => r.relative_error));
const result = {
  command: 'npm run build && node bench/fixture-agreement.js',
  fixture: '../shared/fixtures/clip-tiny-a',
  date: new Date().toISOString(),
  machine: { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, node: process.version },
  max_relative_error: { forward: worst('forward'), gradient: worst('gradient') },
  rows,
};
const out = join(ROOT, 'bench', 'results', 'fixture-agreement');
writeFileSync(`${out}.json`, `${JSON.stringify(result, null, 2)}\n`);
const fmt = (/** @type {number} */ x) => x.toExponential(1);
writeFileSync(
  `${out}.md`,
  [
    '# Both executors against the PyTorch reference (../shared/fixtures/clip-tiny-a)',
    '',
    `\`${result.command}\`, ${result.date.slice(0, 10)}, ${result.machine.cpu}. Relative error = max |a - b| / max |ref|.`,
    '',
    `Largest forward error: **${fmt(result.max_relative_error.forward)}**; largest gradient error: **${fmt(result.max_relative_error.gradient)}** (test tolerances 1e-4 and 1e-3).`,
    '',
    '| executor | kind | output | relative error |',
    '| -------- | ---- | ------ | -------------- |',
    ...rows.map((r) => `| ${r.executor} | ${r.kind} | ${r.output} | ${fmt(r.relative_error)} |`),
    '',
  ].join('\n'),
);
console.log(
  `forward ${fmt(result.max_relative_error.forward)}, gradient ${fmt(result.max_relative_error.gradient)}`,
);
